# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError


class ServiceEquipmentType(models.Model):
    """A kind of installed product; a parent groups a brand or product line.

    A technician specialised in a parent type is qualified for its children.
    """

    _name = "service.equipment.type"
    _inherit = ["service.company.code.mixin", "service.cache.mixin"]
    _description = "Equipment Type"
    # what the intake's cache of codes (_service_codes) reads of a type
    _service_cache_fields = frozenset({"code", "company_id", "active"})
    _code_fields = ("code",)
    _parent_name = "parent_id"
    _parent_store = True
    _rec_names_search = ["complete_name", "name", "code"]
    _order = "complete_name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, help="Used by integrations to name the equipment type of an inquiry.")
    complete_name = fields.Char(compute="_compute_complete_name", recursive=True, store=True)
    parent_id = fields.Many2one(
        "service.equipment.type", "Parent Type", index=True, ondelete="restrict", check_company=True
    )
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many("service.equipment.type", "parent_id", "Child Types")
    safety_critical = fields.Boolean(
        help="Inquiries for this equipment (or a child type) are held for a dispatcher's review "
        "before any technician gets them."
    )
    is_safety_critical = fields.Boolean(
        "Safety-Critical (inherited)",
        compute="_compute_is_safety_critical",
        recursive=True,
        store=True,
    )
    description = fields.Text(translate=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True, help="Leave empty to share the type between companies.")

    _sql_constraints = [
        # a unique index on (company, code), made in init(): a shared record
        # (no company) counts as company 0
        ("code_uniq", "", "The code of an equipment type must be unique per company."),
    ]

    @api.depends("name", "parent_id.complete_name")
    def _compute_complete_name(self):
        for type_ in self:
            type_.complete_name = f"{type_.parent_id.complete_name} / {type_.name}" if type_.parent_id else type_.name

    @api.depends("name", "parent_id")
    @api.depends_context("lang")
    def _compute_display_name(self):
        # the stored complete name is for sorting; people read the names in their language
        for type_ in self:
            names, current = [], type_
            while current:
                names.append(current.name or "")
                current = current.parent_id
            type_.display_name = " / ".join(reversed(names))

    @api.depends("safety_critical", "parent_id.is_safety_critical")
    def _compute_is_safety_critical(self):
        for type_ in self:
            type_.is_safety_critical = type_.safety_critical or type_.parent_id.is_safety_critical

    @api.constrains("parent_id")
    def _check_parent_id(self):
        if self._has_cycle():
            raise ValidationError(self.env._("An equipment type cannot be its own ancestor."))

    def _ancestor_ids(self):
        """Ids of this type and its ancestors."""
        self.ensure_one()
        return frozenset(int(part) for part in (self.parent_path or "").split("/") if part) | {self.id}

    # ------------------------------------------------------------
    # INTAKE: the type an integration names
    # ------------------------------------------------------------

    @api.model
    @tools.ormcache("company_id")
    def _service_codes(self, company_id):
        """{code: id} of the active types of ``company_id`` and the shared ones: every intake that
        names its equipment looks its code up, and types change seldom. Cached per process, the
        cache cleared when a type is made, deleted or changes its code, company or activity (a code
        names one type across a company and the shared ones, see service.company.code.mixin)."""
        types = self.sudo().with_context(active_test=True).search([("company_id", "in", [company_id, False])])
        return {type_.code: type_.id for type_ in types}

    @api.model
    def _service_intake_type(self, company_id, name):
        """The active type of ``company_id`` (its own or a shared one) that ``name`` names: by its
        code whatever the case (from the cache), else by its name in the current language (a search,
        its own first)."""
        type_id = self._service_codes(company_id).get(name.upper())
        if type_id:
            return self.browse(type_id)
        return self.search(
            [("company_id", "in", [company_id, False]), ("name", "=ilike", tools.escape_psql(name))],
            limit=1,
            order="company_id, id",
        )
