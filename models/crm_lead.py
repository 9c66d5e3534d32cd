# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .service_routing_log import REVIEW_REASONS

_logger = logging.getLogger(__name__)

try:
    import phonenumbers
except ImportError:  # pragma: no cover - declared in external_dependencies
    phonenumbers = None

SERVICE_OCCASIONS = [
    ("repair", "Repair"),
    ("maintenance", "Maintenance"),
    ("extension", "Extension"),
    ("installation", "Installation"),
    ("assembly", "Assembly"),
    ("other", "Other"),
]
ROUTING_STATES = [
    ("new", "New"),
    ("review", "In Review"),
    ("offered", "Offered"),
    ("accepted", "Accepted"),
]
OPEN_ROUTING_STATES = ("offered", "accepted")
MATCH_METHODS = [
    ("contract", "Contract reference"),
    ("serial", "Serial number"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("manual", "Dispatcher"),
]


# Keys an integration may send to submit_service_request(), and what they become.
class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "service.code.mixin"]
    _code_fields = ("serial_number",)

    # ------------------------------------------------------------
    # SERVICE CONTEXT
    # ------------------------------------------------------------
    service_occasion = fields.Selection(
        SERVICE_OCCASIONS, tracking=True, index="btree_not_null", help="Set on service inquiries only."
    )
    equipment_type_id = fields.Many2one("service.equipment.type", tracking=True)
    equipment_received = fields.Char(
        "Equipment (as received)",
        readonly=True,
        help="The equipment an integration named that matched no equipment type.",
    )
    serial_number = fields.Char(index="btree_not_null", tracking=True)
    contract_ref = fields.Char("Contract Reference", help="As given by the customer or the integration.")
    contract_id = fields.Many2one("service.contract", index="btree_not_null", tracking=True)
    equipment_id = fields.Many2one("service.equipment", "Installed Equipment", index="btree_not_null", tracking=True)
    service_level_id = fields.Many2one("service.level", "SLA Tier", tracking=True)
    preferred_appointment = fields.Datetime()
    agreed_appointment = fields.Datetime(tracking=True)
    customer_kind = fields.Selection(
        [("existing", "Existing Customer"), ("new", "New Customer")],
        compute="_compute_customer_kind",
        store=True,
        readonly=False,
        tracking=True,
        help="Existing: the customer has a contract or installed equipment. Derived from the match; "
        "a dispatcher may correct it.",
    )
    match_method = fields.Selection(MATCH_METHODS, "Matched By", readonly=True)
    safety_critical = fields.Boolean(compute="_compute_safety_critical", store=True)
    service_history = fields.Text(help="Earlier inquiries of this customer and equipment, filled at intake.")
    service_external_ref = fields.Char(
        "External Reference",
        copy=False,
        index="btree_not_null",
        help="Idempotency key of the integration that sent the inquiry: a retried submission "
        "returns the inquiry it created the first time.",
    )
    is_large_account = fields.Boolean(related="partner_id.commercial_partner_id.is_large_account")

    # ------------------------------------------------------------
    # ROUTING
    # ------------------------------------------------------------
    routing_state = fields.Selection(ROUTING_STATES, copy=False, index="btree_not_null", tracking=True)
    technician_id = fields.Many2one(
        "res.partner",
        copy=False,
        index="btree_not_null",
        tracking=True,
        domain="[('is_technician', '=', True)]",
    )
    offered_at = fields.Datetime(copy=False, readonly=True)
    accepted_at = fields.Datetime(copy=False, readonly=True)
    review_reason = fields.Selection(REVIEW_REASONS, copy=False, tracking=True)
    review_note = fields.Char(copy=False, help="What the dispatcher should look at.")
    offer_ids = fields.One2many("service.offer", "lead_id", "Offers", readonly=True)
    routing_log_ids = fields.One2many("service.routing.log", "lead_id", "Routing Decisions", readonly=True)
    declined_technician_ids = fields.Many2many(
        "res.partner", compute="_compute_declined_technician_ids", string="Declined By"
    )

    _sql_constraints = [
        (
            "service_external_ref_uniq",
            "unique(company_id, service_external_ref)",
            "An external reference is used once per company.",
        ),
    ]

    def init(self):
        res = super().init()
        # the open inquiries of a technician, counted at every routing
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS crm_lead_technician_open_idx
                   ON crm_lead (technician_id) WHERE routing_state IN ('offered', 'accepted') AND active"""
        )
        return res

    @api.depends("service_occasion", "partner_id", "contract_id", "equipment_id")
    def _compute_customer_kind(self):
        for lead in self:
            if not lead.service_occasion:
                lead.customer_kind = False
            elif lead.contract_id or lead.equipment_id:
                lead.customer_kind = "existing"
            else:
                lead.customer_kind = "existing" if lead._service_has_installed_base(lead.partner_id) else "new"

    @api.depends("equipment_type_id.is_safety_critical")
    def _compute_safety_critical(self):
        for lead in self:
            lead.safety_critical = lead.equipment_type_id.is_safety_critical

    @api.depends("offer_ids.state")
    def _compute_declined_technician_ids(self):
        for lead in self:
            lead.declined_technician_ids = lead.offer_ids.filtered(lambda o: o.state == "declined").technician_id

    @api.onchange("contract_id")
    def _onchange_contract_id(self):
        if self.contract_id:
            self.match_method = "manual"
            self.partner_id = self.contract_id.partner_id
            if self.contract_id.state == "valid":
                self.service_level_id = self.contract_id.service_level_id

    @api.onchange("equipment_id")
    def _onchange_equipment_id(self):
        if self.equipment_id:
            self.match_method = "manual"
            self.serial_number = self.equipment_id.serial_number
            self.equipment_type_id = self.equipment_id.equipment_type_id
            self.partner_id = self.equipment_id.partner_id
            if self.equipment_id.contract_id and not self.contract_id:
                self.contract_id = self.equipment_id.contract_id

    @api.constrains("technician_id")
    def _check_technician_id(self):
        if self.env.context.get("service_routing_offer"):
            return  # the routing offers technicians only
        for lead in self:
            if lead.technician_id and not lead.technician_id.is_technician:
                raise ValidationError(
                    self.env._("%(partner)s is not a service technician.", partner=lead.technician_id.display_name)
                )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("service_occasion"):
                self._service_prepare_vals(vals)
                vals.update(self._service_match_values(vals))
                vals.setdefault("routing_state", "new")
        # a matched customer's contact data stay as they are: the inquiry may
        # come from a tenant or a relative with another phone; other leads
        # keep crm's behaviour
        service = [bool(vals.get("service_occasion")) for vals in vals_list]
        if all(service):
            leads = super(CrmLead, self.with_context(service_keep_partner_contact=True)).create(vals_list)
            leads = leads.with_env(self.env)
        elif not any(service):
            return super().create(vals_list)
        else:
            created = {
                True: iter(self.create([vals for vals, flag in zip(vals_list, service, strict=True) if flag])),
                False: iter(super().create([vals for vals, flag in zip(vals_list, service, strict=True) if not flag])),
            }
            return self.browse([next(created[flag]).id for flag in service])
        to_route = leads.filtered(lambda lead: lead.routing_state == "new")
        if to_route and not self.env.context.get("service_no_routing"):
            to_route._service_route_safely("create")
        return leads

    def write(self, vals):
        if "preferred_appointment" in vals or "agreed_appointment" in vals:
            self._service_check_appointments(vals)
        # a lead that becomes a service inquiry is routed like a new one
        to_route = self.filtered(lambda lead: not lead.routing_state) if vals.get("service_occasion") else self.browse()
        result = super().write(vals)
        if to_route:
            to_route.write({"routing_state": "new"})
            if not self.env.context.get("service_no_routing"):
                to_route._service_route_safely("create")
        return result

    def _inverse_phone(self):
        if self.env.context.get("service_keep_partner_contact"):
            return
        return super()._inverse_phone()

    def _inverse_email_from(self):
        if self.env.context.get("service_keep_partner_contact"):
            return
        return super()._inverse_email_from()
