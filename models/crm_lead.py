# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .service_offer import OPEN_OFFER_STATES, ROUTING_WRITE
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
    ("done", "Done"),
    ("cancelled", "Cancelled"),
]
OPEN_ROUTING_STATES = ("offered", "accepted")
# states of an inquiry that routing still works on or holds an offer for
LIVE_ROUTING_STATES = ("new", "review", "offered", "accepted")
# Written only by the routing's own methods (see _service_write_routing):
# a plain write, an import or a context key gets a clear error.
ROUTING_FIELDS = frozenset(
    {
        "routing_state",
        "technician_id",
        "offered_at",
        "accepted_at",
        "review_reason",
        "routing_attempts",
        "routing_retry_at",
        "routing_error",
        "service_review_todo",
    }
)
MATCH_METHODS = [
    ("contract", "Contract reference"),
    ("serial", "Serial number"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("manual", "Dispatcher"),
]


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
    equipment_type_id = fields.Many2one("service.equipment.type", tracking=True, check_company=True)
    equipment_received = fields.Char(
        "Equipment (as received)",
        readonly=True,
        help="The equipment an integration named that matched no equipment type.",
    )
    serial_number = fields.Char(index="btree_not_null", tracking=True)
    contract_ref = fields.Char("Contract Reference", help="As given by the customer or the integration.")
    contract_id = fields.Many2one("service.contract", index="btree_not_null", tracking=True, check_company=True)
    equipment_id = fields.Many2one(
        "service.equipment", "Installed Equipment", index="btree_not_null", tracking=True, check_company=True
    )
    service_level_id = fields.Many2one("service.level", "SLA Tier", tracking=True, check_company=True)
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
    # a serial number or contract the request named but whose owner its data
    # (postal code, e-mail) do not confirm: nothing is linked, a dispatcher decides
    match_to_confirm = fields.Boolean(
        "Match to Confirm",
        copy=False,
        readonly=True,
        help="The request named a serial number or contract that its postal code and e-mail do not confirm: "
        "nothing was linked; a dispatcher confirms the suggested match or leaves it.",
    )
    suggested_contract_id = fields.Many2one("service.contract", copy=False, readonly=True, check_company=True)
    suggested_equipment_id = fields.Many2one("service.equipment", copy=False, readonly=True, check_company=True)
    safety_critical = fields.Boolean(compute="_compute_safety_critical", store=True)
    service_history = fields.Text(help="Earlier inquiries of this customer and equipment, filled at intake.")
    service_external_ref = fields.Char(
        "External Reference",
        copy=False,
        index="btree_not_null",
        help="Idempotency key of the integration that sent the inquiry: a retried submission "
        "returns the inquiry it created the first time.",
    )
    service_intake_source = fields.Char(
        "Intake Source",
        copy=False,
        readonly=True,
        help="The integration that sent the inquiry (a code such as webform, or user:<id> of the calling "
        "user): its external references are unique per company and source.",
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
        check_company=True,
        domain="[('is_technician', '=', True)]",
    )
    offered_at = fields.Datetime(copy=False, readonly=True)
    accepted_at = fields.Datetime(copy=False, readonly=True)
    review_reason = fields.Selection(REVIEW_REASONS, copy=False, tracking=True, readonly=True)
    routing_attempts = fields.Integer(
        copy=False, readonly=True, help="Routings of this inquiry that failed; after a few it goes to review."
    )
    routing_retry_at = fields.Datetime(
        "Next Routing Attempt", copy=False, readonly=True, help="When the backstop routes it again."
    )
    routing_error = fields.Char("Last Routing Error", copy=False, readonly=True)
    service_offer_id = fields.Many2one(
        "service.offer", "Open Offer", compute="_compute_service_offer_id", help="The offer accept and decline answer."
    )
    review_note = fields.Char(copy=False, help="What the dispatcher should look at.")
    offer_ids = fields.One2many("service.offer", "lead_id", "Offers", readonly=True)
    routing_log_ids = fields.One2many("service.routing.log", "lead_id", "Routing Decisions", readonly=True)
    declined_technician_ids = fields.Many2many(
        "res.partner", compute="_compute_declined_technician_ids", string="Declined By"
    )

    _sql_constraints = [
        # a unique index on (company, source, external reference), made in
        # crm_lead_intake.py's init(): no source is a source of its own
        (
            "service_external_ref_uniq",
            "",
            "An external reference is used once per company and source.",
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

    @api.depends("service_occasion", "partner_id", "contract_id", "equipment_id", "company_id")
    def _compute_customer_kind(self):
        for lead in self:
            if not lead.service_occasion:
                lead.customer_kind = False
            elif lead.contract_id or lead.equipment_id:
                lead.customer_kind = "existing"
            else:
                installed = lead._service_has_installed_base(lead.partner_id, lead.company_id.id)
                lead.customer_kind = "existing" if installed else "new"

    @api.depends("equipment_type_id.is_safety_critical")
    def _compute_safety_critical(self):
        for lead in self:
            lead.safety_critical = lead.equipment_type_id.is_safety_critical

    @api.depends("offer_ids.state")
    def _compute_service_offer_id(self):
        for lead in self:
            lead.service_offer_id = lead.offer_ids.filtered(lambda o: o.state in OPEN_OFFER_STATES)[:1]

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
        self._service_check_routing_vals(vals_list)
        # a default from the context (a kanban column, a link) sets no routing field either
        defaults = [
            key
            for key, value in self.env.context.items()
            if value and key.startswith("default_") and key.removeprefix("default_") in ROUTING_FIELDS
        ]
        if defaults:
            return self.with_context(**dict.fromkeys(defaults, False)).create(vals_list)
        for vals in vals_list:
            if vals.get("service_occasion"):
                self._service_prepare_vals(vals)
                vals.update(self._service_match_values(vals))
        service = [bool(vals.get("service_occasion")) for vals in vals_list]
        if not any(service):
            return super().create(vals_list)
        if not all(service):
            created = {
                True: iter(self.create([vals for vals, flag in zip(vals_list, service, strict=True) if flag])),
                False: iter(self.create([vals for vals, flag in zip(vals_list, service, strict=True) if not flag])),
            }
            return self.browse([next(created[flag]).id for flag in service])
        for vals in vals_list:
            vals["routing_state"] = "new"
        # a matched customer's contact data stay as they are: the inquiry may
        # come from a tenant or a relative with another phone; other leads
        # keep crm's behaviour
        leads = super(CrmLead, self.with_context(service_keep_partner_contact=True)).create(vals_list)
        leads = leads.with_env(self.env)
        to_route = leads.filtered(lambda lead: lead.routing_state == "new")
        if to_route and not self.env.context.get("service_no_routing"):
            to_route._service_route_safely("create")
        return leads

    def write(self, vals):
        if self.env.context.get("service_routing_write") is not ROUTING_WRITE:
            self._service_check_routing_vals([vals], records=self)
        if "preferred_appointment" in vals or "agreed_appointment" in vals:
            self._service_check_appointments(vals)
        # a lead that becomes a service inquiry is routed like a new one
        to_route = self.filtered(lambda lead: not lead.routing_state) if vals.get("service_occasion") else self.browse()
        closing = {"active", "stage_id", "probability"}.intersection(vals) and self.filtered("routing_state")
        result = super().write(vals)
        if to_route:
            to_route._service_write_routing({"routing_state": "new"})
            if not self.env.context.get("service_no_routing"):
                to_route._service_route_safely("create")
        if closing:
            closing._service_sync_closed()
        return result

    def copy(self, default=None):
        # a copy is a new inquiry nobody asked for yet: a dispatcher decides whether to route it
        copies = super(CrmLead, self.with_context(service_no_routing=True)).copy(default).with_env(self.env)
        for original, new in zip(self, copies, strict=True):
            if new.routing_state == "new":
                new._service_write_routing({"routing_state": "review", "review_reason": "copy", "review_note": False})
                new.sudo().message_post(
                    body=self.env._("Copy of %(lead)s: held for a dispatcher.", lead=original.display_name),
                    subtype_xmlid="mail.mt_note",
                )
        return copies

    @api.ondelete(at_uninstall=False)
    def _unlink_except_routing_history(self):
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT DISTINCT lead_id FROM service_offer WHERE lead_id = ANY(%(ids)s)
               UNION SELECT DISTINCT lead_id FROM service_routing_log WHERE lead_id = ANY(%(ids)s)""",
            {"ids": self.ids},
        )
        kept = self.browse(row[0] for row in self.env.cr.fetchall())
        if kept:
            raise UserError(
                self.env._(
                    "%(leads)s have a routing history and cannot be deleted: mark them lost or archive them.",
                    leads=", ".join(kept[:5].mapped("display_name")),
                )
            )

    def _inverse_phone(self):
        if self.env.context.get("service_keep_partner_contact"):
            return
        return super()._inverse_phone()

    def _inverse_email_from(self):
        if self.env.context.get("service_keep_partner_contact"):
            return
        return super()._inverse_email_from()

    # ------------------------------------------------------------
    # MERGE
    # ------------------------------------------------------------

    def _merge_dependences(self, opportunities):
        """Offers and routing decisions of merged inquiries move to the surviving one."""
        result = super()._merge_dependences(opportunities)
        tails = opportunities - self
        if tails:
            open_offers = tails.sudo().offer_ids.filtered(lambda o: o.state in OPEN_OFFER_STATES)
            if self.sudo().service_offer_id or len(open_offers) > 1:
                open_offers._respond("withdrawn")
            self.env.flush_all()
            self.env.cr.execute("UPDATE service_offer SET lead_id = %s WHERE lead_id = ANY(%s)", (self.id, tails.ids))
            self.env.cr.execute(
                "UPDATE service_routing_log SET lead_id = %s WHERE lead_id = ANY(%s)", (self.id, tails.ids)
            )
            self.env["service.offer"].invalidate_model(["lead_id"])
            self.env["service.routing.log"].invalidate_model(["lead_id"])
            self.invalidate_recordset(["offer_ids", "routing_log_ids", "service_offer_id"])
            tails.invalidate_recordset(["offer_ids", "routing_log_ids", "service_offer_id"])
            self._service_sync_offer()
        return result

    # ------------------------------------------------------------
    # BUSINESS: ROUTING FIELDS
    # ------------------------------------------------------------

    def _service_check_routing_vals(self, vals_list, records=None):
        """Refuse values for routing fields from anyone but the routing itself."""
        for vals in vals_list:
            changed = ROUTING_FIELDS.intersection(vals)
            if records is not None and changed:
                # the same value again (a form sending what it shows) is no change
                changed = {
                    fname
                    for fname in changed
                    for lead in records
                    if self._fields[fname].convert_to_write(lead[fname], lead) != (vals[fname] or False)
                }
            if changed:
                raise UserError(
                    self.env._(
                        "Only the routing sets these fields: %(fields)s. Use Accept, Decline, Assign "
                        "Technician or Route Again.",
                        fields=", ".join(
                            sorted(self._fields[fname]._description_string(self.env) for fname in changed)
                        ),
                    )
                )

    def _service_write_routing(self, vals):
        """The routing's own write of its fields (with the rights it needs); tracked in the chatter.

        An inquiry that goes to review gets a to-do for a dispatcher, one that
        leaves it has its to-do marked done (see crm_lead_backoffice.py).
        """
        leaving_review = self.filtered(lambda lead: lead.routing_state == "review")
        state = vals.get("routing_state")
        if state == "review":
            # its to-do is made by the backstop, woken for it (see _service_make_review_todos)
            vals = dict(vals, service_review_todo=True)
        elif state:
            vals = dict(vals, service_review_todo=False)
        result = self.sudo().with_context(service_routing_write=ROUTING_WRITE).write(vals)
        if state == "review":
            self.env.ref("crm_service_routing.ir_cron_route_pending").sudo()._trigger()
        elif state and leaving_review:
            leaving_review._service_close_review()
        return result

    def _service_write_unoffered(self, routing_state, **values):
        """The routing fields of an inquiry that holds no open offer (any more): ``new`` or ``review``."""
        return self._service_write_routing(
            {
                "routing_state": routing_state,
                "technician_id": False,
                "offered_at": False,
                "accepted_at": False,
                **values,
            }
        )

    def _service_sync_offer(self):
        """Set the routing fields from the open offer (after a merge moved offers around)."""
        for lead in self:
            offer = lead.sudo().service_offer_id
            if offer:
                lead._service_write_routing(
                    {
                        "routing_state": offer.state,
                        "technician_id": offer.technician_id.id,
                        "offered_at": offer.offered_at,
                        "accepted_at": offer.responded_at if offer.state == "accepted" else False,
                    }
                )
            elif lead.routing_state in OPEN_ROUTING_STATES:
                lead._service_write_unoffered("new")
                lead._service_route_safely("rerun")

    def _service_sync_closed(self):
        """Won, lost or archived inquiries release their offers; restored ones come back."""
        for lead in self:
            closed = not lead.active or lead.stage_id.is_won
            if closed and lead.routing_state in LIVE_ROUTING_STATES:
                lead.sudo().offer_ids.filtered(lambda o: o.state == "offered")._respond("cancelled")
                accepted = lead.routing_state == "accepted"
                lead._service_write_routing(
                    {
                        "routing_state": "done" if lead.stage_id.is_won and lead.active else "cancelled",
                        "technician_id": lead.technician_id.id if accepted else False,
                        "routing_retry_at": False,
                    }
                )
            elif not closed and lead.routing_state in ("done", "cancelled"):
                offer = lead.sudo().service_offer_id
                if offer:
                    lead._service_write_routing({"routing_state": "accepted", "technician_id": offer.technician_id.id})
                else:
                    lead._service_write_unoffered("new")
                    if not self.env.context.get("service_no_routing"):
                        lead._service_route_safely("reopen")
