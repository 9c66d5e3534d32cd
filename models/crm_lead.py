# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..engine import lifecycle
from ..engine.postal import is_valid_postal_code, normalize_postal_code
from .service_batch import WAKE_CRON_FUNCTION, wake_cron
from .service_constants import (  # noqa: F401 - the selections are imported from here too
    ENGINE_RULED,
    LIVE_ROUTING_STATES,
    MATCH_METHODS,
    OPEN_OFFER_STATES,
    OPEN_ROUTING_STATES,
    REVIEW_REASONS,
    ROUTING_FIELDS,
    ROUTING_STATES,
    ROUTING_WRITE,
    SERVICE_OCCASIONS,
)

_logger = logging.getLogger(__name__)

# the backstop makes the to-dos of inquiries held for review this long after the first of them at most: a
# stream of them (every technician of an area full) is one run of the backstop every half a minute, not
# one per inquiry
REVIEW_TODO_DELAY = datetime.timedelta(seconds=30)
# precommit data: ids of the inquiries whose tracked routing is their creation message
# (see CrmLead._service_defers_creation_message)
CREATION_DEFERRED = "crm_service_routing.creation_deferred"


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
        help="Existing: the inquiry names a contract or installed equipment, or its customer had one (of the "
        "inquiry's company) by the inquiry's date. Computed from the match and the installed base, again "
        "whenever they change; a dispatcher may correct it.",
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
    service_history = fields.Text(
        compute="_compute_service_history",
        inverse="_inverse_service_history",
        compute_sudo=True,
        help="Earlier inquiries of this equipment (or else of this customer), newest first, then the history "
        "given with the inquiry.",
    )
    service_history_given = fields.Text(
        "Given History", copy=False, help="A history given with the inquiry (an import, an integration)."
    )
    service_external_ref = fields.Char(
        "External Reference",
        compute="_compute_service_external_ref",
        inverse="_inverse_service_external_ref",
        search="_search_service_external_ref",
        help="Idempotency key of the integration that sent the inquiry (kept as a service.intake.key): "
        "a retried submission returns the inquiry it created the first time. A merged inquiry holds "
        "the keys of the inquiries merged into it.",
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
    routing_state = fields.Selection(
        ROUTING_STATES,
        copy=False,
        index="btree_not_null",
        tracking=True,
        group_expand="_service_expand_routing_states",
    )
    routing_state_date = fields.Datetime(
        "Routing State Since", copy=False, readonly=True, help="When the inquiry entered its routing state."
    )
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
        # what each routing state implies (see engine/lifecycle.py)
        *(
            (name, f"CHECK({check})", "An inquiry's routing state and its routing fields disagree: " + name)
            for name, check in lifecycle.LEAD_CHECKS.items()
        ),
    ]

    def init(self):
        res = super().init()
        # the open inquiries of a technician, counted at every routing
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS crm_lead_technician_open_idx
                   ON crm_lead (technician_id) WHERE routing_state IN ('offered', 'accepted') AND active"""
        )
        # the statement that wakes the addon's scheduled actions (service_batch.wake_cron)
        self.env.cr.execute(WAKE_CRON_FUNCTION)
        return res

    @api.depends("service_occasion", "partner_id.commercial_partner_id", "contract_id", "equipment_id", "company_id")
    def _compute_customer_kind(self):
        """From the match and the customer's installed base (crm_lead_matching.py), which tells its
        inquiries when it changes (service.installed.base.mixin)."""
        service = self.filtered("service_occasion")
        (self - service).customer_kind = False
        linked = service.filtered(lambda lead: lead.contract_id or lead.equipment_id)
        linked.customer_kind = "existing"
        existing = (service - linked)._service_with_installed_base()
        for lead in service - linked:
            lead.customer_kind = "existing" if lead in existing else "new"

    @api.depends(
        "service_occasion",
        "partner_id.commercial_partner_id",
        "equipment_id",
        "company_id",
        "service_history_given",
    )
    def _compute_service_history(self):
        for lead in self:
            earlier = lead.service_occasion and lead._service_history_text(
                lead.partner_id, lead.equipment_id, company_id=lead.company_id.id, before_id=lead.id or None
            )
            lead.service_history = "\n".join(filter(None, [earlier, lead.service_history_given])) or False

    def _inverse_service_history(self):
        for lead in self:
            lead.service_history_given = lead.service_history
        # shown again with the earlier inquiries
        self.invalidate_recordset(["service_history"])

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
        if self.env.context.get("service_engine_ruled") is ENGINE_RULED:
            # the engine offered an active technician only (crm.lead._service_engine_ruled)
            return
        for lead in self:
            if lead.technician_id and not lead.technician_id.is_technician:
                raise ValidationError(
                    self.env._("%(partner)s is not a service technician.", partner=lead.technician_id.display_name)
                )

    def _check_company(self, fnames=None):
        """The routing's write of a decision of its engine (crm.lead._service_engine_ruled) changes the
        routing fields only, and the engine's company rule held for its technician: for an inquiry of a
        company, the ORM checks the routing fields but the technician, and does not read it again. An
        inquiry of no company keeps the ORM's check of the technician, stricter than the rule (a
        technician of no company only)."""
        context = self.env.context
        if (
            context.get("service_engine_ruled") is ENGINE_RULED
            and context.get("service_routing_write") is ROUTING_WRITE
            and all(lead.company_id for lead in self)
        ):
            fnames = [name for name in (fnames or ROUTING_FIELDS) if name in ROUTING_FIELDS - {"technician_id"}]
            if not fnames:
                return None
        return super()._check_company(fnames)

    @api.constrains("zip", "country_id", "service_occasion")
    def _check_service_postal_code(self):
        """A service inquiry's postal code fits its country, however it is written."""
        for lead in self.filtered(lambda lead: lead.service_occasion and lead.zip and lead.country_id):
            if not is_valid_postal_code(lead.country_id.code, normalize_postal_code(lead.zip)):
                raise ValidationError(
                    self.env._(
                        "%(zip)s is not a valid postal code for %(country)s.",
                        zip=lead.zip,
                        country=lead.country_id.name,
                    )
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
        service = [bool(vals.get("service_occasion")) for vals in vals_list]
        if not any(service):
            return super().create(vals_list)
        # completed below: the caller's dictionaries stay as they were
        vals_list = [dict(vals) for vals in vals_list]
        if not all(service):
            created = {
                True: iter(self.create([vals for vals, flag in zip(vals_list, service, strict=True) if flag])),
                False: iter(self.create([vals for vals, flag in zip(vals_list, service, strict=True) if not flag])),
            }
            return self.browse([next(created[flag]).id for flag in service])
        for vals in vals_list:
            self._service_prepare_vals(vals)  # crm_lead_matching.py
            vals.update(self._service_match_values(vals))  # crm_lead_matching.py
            vals.update(self._service_team_values(vals))  # crm_lead_backoffice.py
            vals.update(self._service_open_values(self._service_unique_for(vals)))  # crm_lead_uniqueness.py
        # a matched customer's contact data stay as they are: the inquiry may
        # come from a tenant or a relative with another phone; other leads
        # keep crm's behaviour
        context = {"service_keep_partner_contact": True}
        routed_now = not self.env.context.get("service_no_routing")
        # the creation message is posted with the routing's (see _service_defers_creation_message)
        deferred = routed_now and self._service_defers_creation_message()
        if deferred:
            context["mail_create_nolog"] = True
        leads = super(CrmLead, self.with_context(**context)).create(vals_list)
        leads = leads.with_env(self.env)
        if routed_now:
            to_route = leads.filtered(lambda lead: lead.routing_state == lifecycle.NEW)
            to_route.with_context(service_creation_deferred=deferred)._service_route_safely("create")
        if deferred:
            # those whose routing changed nothing tracked: not routed, or left new by a failed routing
            routed = to_route.filtered(lambda lead: lead.routing_state != lifecycle.NEW)
            (leads - routed)._service_post_creation_message()
        leads.filtered("service_unique_lead_id")._service_note_linked()
        return leads

    def write(self, vals):
        if self.env.context.get("service_routing_write") is not ROUTING_WRITE:
            self._service_check_routing_vals([vals], records=self)
            vals = self._service_prepare_write(vals)  # crm_lead_backoffice.py
            vals = self._service_activity_values(vals)  # crm_lead_escalation.py
            if "preferred_appointment" in vals or "agreed_appointment" in vals:
                self._service_check_appointments(vals)  # crm_lead_matching.py
        # a lead that becomes a service inquiry is routed like a new one
        to_open = self.filtered(lambda lead: not lead.routing_state) if vals.get("service_occasion") else self.browse()
        closing = {"active", "stage_id", "probability"}.intersection(vals) and self.filtered("routing_state")
        corrected = self._service_corrected(vals)  # crm_lead_backoffice.py
        result = super().write(vals)
        if to_open:
            to_open._service_transition("open")
            if not self.env.context.get("service_no_routing"):
                to_open._service_route_safely("create")
        if closing:
            closing._service_sync_closed()
        if corrected:
            corrected._service_transition("retry")
            corrected._service_route_safely("update")
        if vals.get("agreed_appointment"):
            self._service_notify_customer("appointment")  # crm_lead_customer_notice.py
        return result

    def copy(self, default=None):
        # a copy is a new inquiry nobody asked for yet: a dispatcher decides whether to route it
        copies = (
            super(CrmLead, self.with_context(service_no_routing=True, service_no_link=True))
            .copy(default)
            .with_env(self.env)
        )
        for original, new in zip(self, copies, strict=True):
            if new.routing_state == "new":
                new._service_transition("review", review_reason="copy")
                new.review_note = False
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

    @api.model
    def _merge_get_fields(self):
        return super()._merge_get_fields() + [
            "service_occasion",
            "equipment_type_id",
            "serial_number",
            "contract_ref",
            "contract_id",
            "equipment_id",
            "service_level_id",
            "preferred_appointment",
            "agreed_appointment",
            "service_history_given",
        ]

    def _merge_dependences(self, opportunities):
        """Everything of the merged inquiries moves to the surviving one: offers, routing decisions,
        visits, intake keys (a retried request answers with the survivor), follow-on links."""
        result = super()._merge_dependences(opportunities)
        tails = (opportunities - self).sudo()
        if not tails:
            return result
        head = self.sudo()
        tails_open = tails.filtered(lambda lead: lead.service_offer_id)
        if head.service_offer_id or len(tails_open) > 1:
            for tail in tails_open:
                tail._service_transition("withdraw")
        self.env.flush_all()
        for model_name, fname in self._service_lead_references():
            model = self.env[model_name]
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET %s = %s WHERE %s = ANY(%s)",
                    SQL.identifier(model._table),
                    SQL.identifier(fname),
                    head.id,
                    SQL.identifier(fname),
                    tails.ids,
                )
            )
            model.invalidate_model([fname])
        self.env.invalidate_all()
        if head.routing_state in (lifecycle.NEW, lifecycle.REVIEW) and head.service_offer_id:
            head._service_transition("merge")
        # a merged inquiry is closed, not deleted with its history
        return result

    @api.model
    def _service_lead_references(self):
        """(model, field) of the addon's stored links to an inquiry, which a merge moves to the survivor."""
        references = []
        for model_name, model in self.env.registry.items():
            if not (model_name.startswith("service.") or model_name == "crm.lead"):
                continue
            if model._abstract or model._transient or not model._auto or getattr(model, "_service_merge_stays", False):
                continue
            for fname, field in model._fields.items():
                if (
                    field.type == "many2one"
                    and field.comodel_name == "crm.lead"
                    and field.store
                    and (model_name != "crm.lead" or fname.startswith("service_"))
                ):
                    references.append((model_name, fname))
        return references

    # ------------------------------------------------------------
    # MAIL
    # ------------------------------------------------------------

    def _track_subtype(self, init_values):
        # an acceptance is the tracked change offered -> accepted: one message with its
        # own subtype, which the internal followers (and the team's, if they chose it) get
        self.ensure_one()
        if init_values.get("routing_state") == "offered" and self.routing_state == "accepted":
            return self.env.ref("crm_service_routing.mt_lead_service_accepted")
        if init_values.get("routing_state") == lifecycle.NEW and self.id in self.env.cr.precommit.data.get(
            CREATION_DEFERRED, ()
        ):
            # the routing of a new inquiry, tracked with its creation (see _service_defers_creation_message)
            return self.env.ref("crm_service_routing.mt_lead_service_received")
        return super()._track_subtype(init_values)

    def _service_defers_creation_message(self):
        """Whether service inquiries created now get one message for their creation and their routing at
        arrival, not two: the routing's tracking (state and technician, and its sentence) is posted after
        the creation's sentence, with the internal subtype *Inquiry Received* (which the team's followers
        get by default, as crm's creation subtype). Only where both messages would be posted: not where
        the caller asked for no creation message or no tracking."""
        context = self.env.context
        return not (context.get("mail_create_nolog") or context.get("tracking_disable") or context.get("mail_notrack"))

    def _service_post_creation_message(self):
        """The creation message as mail.thread posts it (for an inquiry whose routing at arrival does not
        post it, see create)."""
        for lead in self:
            lead.sudo().message_post(
                subtype_id=lead._creation_subtype().id,
                author_id=self.env.user.partner_id.id,
                body=Markup('<div summary="o_mail_notification"><p>%s</p></div>') % lead._creation_message(),
            )

    # ------------------------------------------------------------
    # LIFE CYCLE: the one writer of the routing state
    # ------------------------------------------------------------

    @api.model
    def _service_open_values(self, unique_lead_id=False):
        """The routing fields of a new service inquiry, set in its INSERT: event ``open``, or
        ``open_linked`` for a repeat of the open inquiry ``unique_lead_id``."""
        target, _offer_event = lifecycle.lead_target("open_linked" if unique_lead_id else "open", None)
        vals = {"routing_state": target, "routing_state_date": fields.Datetime.now()}
        if unique_lead_id:
            vals["service_unique_lead_id"] = unique_lead_id
        return vals

    def _service_transition(self, event, expected=None, offer_values=None, **values):
        """Move each inquiry by ``event`` (see engine/lifecycle.py), and its open offer with it.

        The table says which states the event may leave, which it enters and
        what happens to the open offer; the routing fields each state implies
        are set here (and checked by PostgreSQL). ``expected``: the states the
        caller saw (a dialog): if the inquiry has moved on since, a clear error.
        ``offer_values`` go to the offer's transition, ``values`` to the inquiry.
        """
        now = fields.Datetime.now()
        labels = dict(self._fields["routing_state"]._description_selection(self.env))
        for lead in self:
            offer = lead.sudo().service_offer_id
            state = lead.routing_state or None
            try:
                target, offer_event = lifecycle.lead_target(event, state, offer.state or None)
            except lifecycle.IllegalTransition:
                raise UserError(
                    self.env._(
                        "%(lead)s cannot be %(event)s: it is %(state)s.",
                        lead=lead.display_name,
                        event=self._service_event_label(event),
                        state=labels.get(state) or self.env._("not a service inquiry"),
                    )
                ) from None
            if expected is not None and state not in expected:
                raise UserError(
                    self.env._(
                        "%(lead)s has changed in the meantime: it is %(state)s now. Look at it again.",
                        lead=lead.display_name,
                        state=labels.get(state, state),
                    )
                )
            if offer_event:
                offer._service_transition(offer_event, **(offer_values or {}))
                lead.invalidate_recordset(["service_offer_id"])
            lead._service_write_routing({**lead._service_state_values(target, state, now), **values})
            lead._service_after_transition(event, target)
        return True

    def _service_after_transition(self, event, target):
        """What follows a transition beyond the routing fields: the customer hears of an acceptance
        (crm_lead_customer_notice.py)."""
        if event == "accept":
            self._service_notify_customer("accepted")

    def _service_state_values(self, target, state, now):
        """The routing fields state ``target`` implies, coming from ``state``."""
        self.ensure_one()
        vals = {"routing_state": target, "routing_state_date": now}
        if target in (lifecycle.NEW, lifecycle.REVIEW, lifecycle.LINKED):
            vals.update(
                technician_id=False,
                offered_at=False,
                accepted_at=False,
                review_reason=False,
                routing_retry_at=False,
                routing_error=False,
            )
        elif target == lifecycle.OFFERED:
            # technician and time of the new offer come from the caller (or the adopted offer)
            offer = self.sudo().service_offer_id
            vals.update(accepted_at=False, review_reason=False, routing_retry_at=False, routing_error=False)
            if offer:
                vals.update(technician_id=offer.technician_id.id, offered_at=offer.offered_at)
        elif target == lifecycle.ACCEPTED:
            offer = self.sudo().service_offer_id
            vals.update(
                technician_id=offer.technician_id.id,
                offered_at=offer.offered_at,
                accepted_at=offer.responded_at or now,
                review_reason=False,
            )
        else:  # done, cancelled: an accepted job keeps its technician
            vals.update(review_reason=False, routing_retry_at=False)
            if state != lifecycle.ACCEPTED:
                vals.update(technician_id=False, offered_at=False, accepted_at=False)
        return vals

    @api.model
    def _service_event_label(self, event):
        return {
            "open": self.env._("opened"),
            "offer": self.env._("offered"),
            "accept": self.env._("accepted"),
            "decline": self.env._("declined"),
            "withdraw": self.env._("withdrawn from its technician"),
            "expire": self.env._("passed on"),
            "review": self.env._("held for review"),
            "retry": self.env._("routed again"),
            "win": self.env._("marked done"),
            "lose": self.env._("cancelled"),
            "reopen": self.env._("reopened"),
            "restore": self.env._("restored"),
            "merge": self.env._("merged"),
            "open_linked": self.env._("linked"),
            "link": self.env._("linked to another inquiry"),
            "unlink": self.env._("unlinked"),
        }.get(event, event)

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

        Only _service_transition changes the state through it; the routing's
        bookkeeping (failed attempts) writes its other fields. An inquiry that
        goes to review gets a to-do for a dispatcher, one that leaves it has
        its to-do marked done (see crm_lead_backoffice.py).
        """
        leaving_review = self.filtered(lambda lead: lead.routing_state == lifecycle.REVIEW)
        state = vals.get("routing_state")
        if state == lifecycle.REVIEW:
            # its to-do is made by the backstop, woken for it (see _service_make_review_todos) within
            # REVIEW_TODO_DELAY
            vals = dict(vals, service_review_todo=True)
        elif state:
            vals = dict(vals, service_review_todo=False)
        result = self.sudo().with_context(service_routing_write=ROUTING_WRITE).write(vals)
        if state == lifecycle.REVIEW:
            wake_cron(self.env, "crm_service_routing.ir_cron_route_pending", fields.Datetime.now() + REVIEW_TODO_DELAY)
        elif state and leaving_review:
            leaving_review._service_close_review()
        return result

    def _service_sync_closed(self):
        """Won, lost or archived inquiries end their offers; reopened ones get their accepted job back,
        or are routed again."""
        for lead in self:
            won = lead.stage_id.is_won
            closed = not lead.active or won
            if closed and lead.routing_state in (*LIVE_ROUTING_STATES, lifecycle.LINKED):
                lead._service_transition("win" if won and lead.active else "lose")
            elif not closed and lead.routing_state in lifecycle.LEAD_CLOSED_STATES:
                last = lead.sudo().offer_ids.sorted("id")[-1:]
                if last.state in (lifecycle.O_DONE, lifecycle.O_CANCELLED) and last.responded_at:
                    last._service_transition("restore")
                    lead.invalidate_recordset(["service_offer_id"])
                    lead._service_transition("restore")
                else:
                    lead._service_transition("reopen")
                    if not self.env.context.get("service_no_routing"):
                        lead._service_route_safely("reopen")
