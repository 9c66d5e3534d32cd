# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import functools

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

# Fields of the technician profile: only dispatchers change them.
TECHNICIAN_FIELDS = {
    "is_technician",
    "service_area_ids",
    "service_equipment_type_ids",
    "service_level_ids",
    "service_capacity",
    "service_paused",
    "service_away_until",
    "is_large_account",
}


def qualification_key(type_ids, level_ids):
    """A technician's specializations and certifications as one string, ``"3,7/2"`` (type ids,
    then SLA tier ids), or False for none: see ``service_qualification_key``."""
    types, levels = ",".join(map(str, sorted(type_ids))), ",".join(map(str, sorted(level_ids)))
    return f"{types}/{levels}" if types or levels else False


@functools.lru_cache(maxsize=4096)
def parse_qualification_key(key):
    """(specialization ids, certification ids) of a ``qualification_key``, as frozensets.

    Technicians share a few combinations, so that each is parsed once per process."""
    types, _sep, levels = (key or "").partition("/")
    return (
        frozenset(int(i) for i in types.split(",") if i),
        frozenset(int(i) for i in levels.split(",") if i),
    )


class ResPartner(models.Model):
    _inherit = "res.partner"

    # the intake matches a new inquiry's customer by this address (crm.lead's _service_match_values): an
    # index, where mail's definition has none and the look-up read every partner (about 45 ms with 300,000)
    email_normalized = fields.Char(index="btree_not_null")

    # technician profile
    is_technician = fields.Boolean(
        "Service Technician",
        index="btree_not_null",
        help="A technician or service-partner company that can be offered service inquiries. "
        "Its contacts with portal access log in as the technician.",
    )
    service_area_ids = fields.One2many("service.area", "technician_id", "Service Areas")
    service_equipment_type_ids = fields.Many2many(
        "service.equipment.type",
        "res_partner_service_equipment_type_rel",
        "partner_id",
        "equipment_type_id",
        string="Specializations",
        help="Equipment the technician is qualified for; a parent type covers its children.",
    )
    service_level_ids = fields.Many2many(
        "service.level",
        "res_partner_service_level_rel",
        "partner_id",
        "service_level_id",
        string="SLA Certifications",
    )
    # the two above as the routing reads them, in the technician's own row, as parent_path keeps
    # a path: a code covered by hundreds of technicians is routed reading one row of each, not
    # also two relation tables (a third of the candidates' query at 50,000 technicians)
    service_qualification_key = fields.Char(compute="_compute_service_qualification_key", store=True)
    service_capacity = fields.Integer(
        "Max Open Inquiries",
        default=10,
        help="No new inquiry is offered while the technician has this many offered or accepted ones.",
    )
    service_paused = fields.Boolean("Paused", help="Receives no new inquiries until un-paused.")
    service_away_until = fields.Date("Away Until", help="Receives no new inquiries up to and including this day.")
    # a technician's base, read by the routing's candidates query; nothing for other partners
    service_latitude = fields.Float(digits=(10, 6), compute="_compute_service_location", store=True)
    service_longitude = fields.Float(digits=(10, 6), compute="_compute_service_location", store=True)
    service_user_ids = fields.Many2many(
        "res.users",
        compute="_compute_service_user_ids",
        inverse="_inverse_service_user_ids",
        string="Acting Users",
        help="Portal or internal users who answer offers for this technician and see its inquiries.",
    )
    service_open_count = fields.Integer("Open Inquiries", compute="_compute_service_open_count")
    # customer side
    is_large_account = fields.Boolean(
        "Large Account", help="Inquiries of this customer are held for a dispatcher's review."
    )
    service_contract_ids = fields.One2many("service.contract", "partner_id", "Service Contracts")
    service_equipment_ids = fields.One2many("service.equipment", "partner_id", "Installed Equipment")
    service_equipment_count = fields.Integer("Equipment", compute="_compute_service_equipment_count")

    @api.depends("is_technician", "zip", "country_id")
    def _compute_service_location(self):
        """A technician's base: the centroid of its postal code (radius areas keep their own).

        Only technicians are located: any other partner keeps what it holds
        (nothing; a former technician's base goes with the flag, see write()),
        so that a customer's address change writes no coordinates.
        """
        postal = self.env["service.postal.code"]
        technicians = self.filtered("is_technician")
        # the countries of technicians and companies are queued for loading, never loaded here
        referring = technicians.filtered("country_id")
        companies = (self - technicians).filtered(lambda partner: partner.is_company and partner.country_id)
        if companies.ids:
            company_model = self.env["res.company"].sudo().with_context(active_test=False)
            referring |= company_model.search([("partner_id", "in", companies.ids)]).partner_id
        self.env["service.postal.country"]._request(referring.country_id)
        for partner in technicians:
            point = postal._locate(partner.country_id, partner.zip) if partner.zip and partner.country_id else None
            partner.service_latitude, partner.service_longitude = point or (0.0, 0.0)
        for partner in self - technicians:
            if not partner.id:  # a new record in a form: nothing stored to keep
                partner.service_latitude = partner.service_longitude = 0.0

    @api.depends("is_technician", "service_equipment_type_ids", "service_level_ids")
    def _compute_service_qualification_key(self):
        """Technicians only (any other partner is never a candidate); archived types and tiers
        count as the relation tables hold them."""
        for partner in self.with_context(active_test=False):
            partner.service_qualification_key = partner.is_technician and qualification_key(
                [i for i in partner.service_equipment_type_ids._origin.ids if i],
                [i for i in partner.service_level_ids._origin.ids if i],
            )

    def _compute_service_user_ids(self):
        users = self.env["res.users"].sudo().with_context(active_test=False)
        acting = users.search([("service_technician_id", "in", self.ids)]) if self.ids else users
        by_technician = {}
        for user in acting:
            by_technician.setdefault(user.service_technician_id.id, []).append(user.id)
        for partner in self:
            partner.service_user_ids = users.browse(by_technician.get(partner.id, []))

    def _inverse_service_user_ids(self):
        self._check_technician_profile_access()
        users = self.env["res.users"].sudo().with_context(active_test=False)
        for partner in self:
            current = users.search([("service_technician_id", "=", partner.id)])
            (current - partner.service_user_ids).write({"service_technician_id": False})
            (partner.service_user_ids.sudo() - current).write({"service_technician_id": partner.id})

    def _compute_service_open_count(self):
        counts = dict(
            self.env["crm.lead"]._read_group(
                [
                    ("technician_id", "in", self.ids),
                    ("routing_state", "in", ("offered", "accepted")),
                ],
                ["technician_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.service_open_count = counts.get(partner, 0)

    def _compute_service_equipment_count(self):
        counts = dict(
            self.env["service.equipment"]._read_group(
                [("partner_id", "child_of", self.commercial_partner_id.ids)],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.service_equipment_count = sum(
                count for owner, count in counts.items() if owner.commercial_partner_id == partner.commercial_partner_id
            )

    @api.constrains("service_capacity", "is_technician")
    def _check_service_capacity(self):
        for partner in self:
            if partner.is_technician and partner.service_capacity < 1:
                raise ValidationError(
                    self.env._(
                        "%(technician)s needs a capacity of at least one open inquiry; pause the "
                        "technician to stop new inquiries.",
                        technician=partner.display_name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        if any(self._technician_profile_changes(vals) for vals in vals_list):
            self._check_technician_profile_access()
        partners = super().create(vals_list)
        if any(vals.get("is_technician") for vals in vals_list):
            self.env.registry.clear_cache()
        return partners

    def write(self, vals):
        partners = self
        changes = self._technician_profile_changes(vals)
        if changes:
            self._check_technician_profile_access()
        if (
            vals
            and not self.env.su
            and set(vals) <= TECHNICIAN_FIELDS
            and (changes or self.env.user.has_group("crm_service_routing.group_service_dispatcher"))
            and self.sudo().user_ids
        ):
            # base refuses changes to an internal user's contact to all but user
            # administrators; the technician profile is the dispatcher's to keep,
            # also when a form saves a field with the value it already has
            self.check_access("write")
            partners = self.sudo()
        if "is_technician" in vals and not vals["is_technician"]:
            # a partner that is no technician has no base (the compute leaves others as they are)
            vals = dict(vals, service_latitude=0.0, service_longitude=0.0)
        result = super(ResPartner, partners).write(vals)
        if "is_technician" in vals:
            # record rules read who acts for a technician (res.users.service_technician_ids)
            self.env.registry.clear_cache()
        return result

    def _technician_profile_changes(self, vals):
        """Whether ``vals`` change a technician profile field of ``self`` (or set one on a new partner)."""
        for fname in TECHNICIAN_FIELDS.intersection(vals):
            field = self._fields[fname]
            value = vals[fname]
            if field.type in ("one2many", "many2many"):
                if value and value != [fields.Command.set([])] and value != [(6, 0, [])]:
                    return True
                continue
            records = self or [self.new({})]
            for record in records:
                current = (
                    record[fname]
                    if self
                    else field.convert_to_record(
                        field.convert_to_cache(self.default_get([fname]).get(fname, False), record), record
                    )
                )
                if field.convert_to_record(field.convert_to_cache(value, record), record) != current:
                    return True
        return False

    def _check_technician_profile_access(self):
        if self.env.su or self.env.user.has_group("crm_service_routing.group_service_dispatcher"):
            return
        raise AccessError(self.env._("Only service dispatchers can change technician profiles."))

    def action_view_service_inquiries(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crm_service_routing.crm_lead_action_service")
        action["domain"] = [("technician_id", "=", self.id)]
        action["context"] = {"search_default_open_inquiries": 1}
        return action
