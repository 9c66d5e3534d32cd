# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.osv import expression


class ServiceContract(models.Model):
    """A service or maintenance contract of a customer."""

    _name = "service.contract"
    _description = "Service Contract"
    _inherit = ["mail.thread", "service.installed.base.mixin"]
    _order = "date_start desc, id desc"
    _check_company_auto = True
    _installed_base_fields = ("partner_id", "company_id", "active", "date_start")

    name = fields.Char("Reference", required=True, tracking=True, index=True)
    # the reference as a request may type it, in any case: the intake looks a contract up by its index
    # (crm.lead's _service_contract_ref_domain), where an =ilike on the reference read every contract
    reference_key = fields.Char(compute="_compute_reference_key", store=True, index=True)
    partner_id = fields.Many2one(
        "res.partner", "Customer", required=True, index=True, tracking=True, ondelete="restrict", check_company=True
    )
    service_level_id = fields.Many2one("service.level", "SLA Tier", required=True, tracking=True, check_company=True)
    technician_id = fields.Many2one(
        "res.partner",
        "Contract Technician",
        domain="[('is_technician', '=', True)]",
        tracking=True,
        check_company=True,
        help="Offered this customer's inquiries first, when eligible.",
    )
    date_start = fields.Date("Valid From", required=True, default=fields.Date.context_today)
    date_end = fields.Date("Valid To")
    state = fields.Selection(
        [("future", "Not Yet Valid"), ("valid", "Valid"), ("expired", "Expired")],
        compute="_compute_state",
        search="_search_state",
    )
    equipment_ids = fields.One2many("service.equipment", "contract_id", "Installed Equipment")
    equipment_count = fields.Integer(compute="_compute_equipment_count")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    active = fields.Boolean(default=True)
    note = fields.Html()

    _sql_constraints = [
        ("name_company_uniq", "unique(name, company_id)", "A contract reference must be unique per company."),
    ]

    @api.depends("name")
    def _compute_reference_key(self):
        for contract in self:
            contract.reference_key = contract._service_reference_key(contract.name)

    @api.model
    def _service_reference_key(self, reference):
        """A contract reference as compared: trimmed, in lower case."""
        return (reference or "").strip().lower() or False

    @api.depends("date_start", "date_end")
    @api.depends_context("date")
    def _compute_state(self):
        today = fields.Date.context_today(self)
        for contract in self:
            if contract.date_start and contract.date_start > today:
                contract.state = "future"
            elif contract.date_end and contract.date_end < today:
                contract.state = "expired"
            else:
                contract.state = "valid"

    def _search_state(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise NotImplementedError(self.env._("Unsupported search on contract state."))
        today = fields.Date.context_today(self)
        domains = {
            "future": [("date_start", ">", today)],
            "expired": [("date_end", "<", today)],
            "valid": [
                ("date_start", "<=", today),
                "|",
                ("date_end", "=", False),
                ("date_end", ">=", today),
            ],
        }
        values = {value} if isinstance(value, str) else set(value)
        if operator in ("!=", "not in"):
            values = set(domains) - values
        if not values:
            return [(0, "=", 1)]
        return expression.OR([domains[val] for val in sorted(values)])

    def _compute_equipment_count(self):
        counts = dict(
            self.env["service.equipment"]._read_group([("contract_id", "in", self.ids)], ["contract_id"], ["__count"])
        )
        for contract in self:
            contract.equipment_count = counts.get(contract, 0)

    @api.constrains("date_start", "date_end")
    def _check_dates(self):
        for contract in self:
            if contract.date_end and contract.date_end < contract.date_start:
                raise ValidationError(self.env._("Contract %(ref)s ends before it starts.", ref=contract.name))

    @api.constrains("technician_id")
    def _check_technician(self):
        for contract in self:
            if contract.technician_id and not contract.technician_id.is_technician:
                raise ValidationError(
                    self.env._(
                        "%(partner)s is not a technician and cannot be the technician of contract %(ref)s.",
                        partner=contract.technician_id.display_name,
                        ref=contract.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name"):
                vals["name"] = vals["name"].strip()
        return super().create(vals_list)

    def action_view_equipment(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crm_service_routing.service_equipment_action")
        action["domain"] = [("contract_id", "=", self.id)]
        action["context"] = {"default_contract_id": self.id, "default_partner_id": self.partner_id.id}
        return action
