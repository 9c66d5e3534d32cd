# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import uuid

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..engine import lifecycle
from .service_constants import (
    DECLINE_NOTE_MAX,
    DECLINE_REASONS,
    ENGINE_RULED,
    OFFER_STATES,
    OPEN_OFFER_STATES,
    ROUTING_WRITE,
)


class ServiceOffer(models.Model):
    """One offer of an inquiry to one technician, and its answer.

    The offer is the truth of routing: an inquiry has at most one open offer
    (offered or accepted), enforced by a unique index; accepting or declining
    names the offer it answers, and fails cleanly once that offer is no
    longer open. The inquiry's routing fields mirror its open offer and are
    written only by the routing's own methods. Closed offers are the history
    that acceptance rates and response times are computed from.
    """

    _name = "service.offer"
    _description = "Inquiry Offer"
    _order = "offered_at desc, id desc"
    _rec_name = "lead_id"
    _check_company_auto = True

    lead_id = fields.Many2one(
        "crm.lead", "Inquiry", required=True, index=True, ondelete="restrict", readonly=True, check_company=True
    )
    # indexed by service_offer_technician_history_idx (technician_id, offered_at, id), see init()
    technician_id = fields.Many2one(
        "res.partner", required=True, ondelete="restrict", readonly=True, check_company=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    state = fields.Selection(OFFER_STATES, required=True, default="offered", readonly=True, index=True)
    offered_at = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    responded_at = fields.Datetime(readonly=True, help="When the technician accepted or declined.")
    closed_at = fields.Datetime(readonly=True, help="When the offer stopped being open (answered no, or ended).")
    response_hours = fields.Float("Hours to Respond", readonly=True, aggregator="avg")
    decline_reason = fields.Selection(DECLINE_REASONS, readonly=True)
    decline_note = fields.Text(readonly=True)
    routing_log_id = fields.Many2one("service.routing.log", "Routing Decision", readonly=True, ondelete="set null")
    answered_by_id = fields.Many2one("res.users", readonly=True)
    override_note = fields.Char(
        readonly=True,
        help="Set when a dispatcher offered the job against a routing rule: which rule, and who decided.",
    )

    # what each state implies (see engine/lifecycle.py)
    _sql_constraints = [
        (name, f"CHECK({check})", "An offer's state and its answer disagree: " + name)
        for name, check in lifecycle.OFFER_CHECKS.items()
    ]

    def init(self):
        # best response reads the recent offers of each technician, rotation its last one
        # in a company (both from the index alone); at most one open offer per inquiry
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS service_offer_technician_history_idx
                   ON service_offer (technician_id, offered_at, id) INCLUDE (state, response_hours, company_id);
               DROP INDEX IF EXISTS service_offer_technician_record_idx;
               DROP INDEX IF EXISTS service_offer__technician_id_index;
               CREATE UNIQUE INDEX IF NOT EXISTS service_offer_lead_open_uniq
                   ON service_offer (lead_id) WHERE state IN ('offered', 'accepted')"""
        )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        """Offers are made by the routing only (crm.lead._service_offer): deadline, pending
        notification and token are set in the same INSERT."""
        if self.env.context.get("service_routing_write") is not ROUTING_WRITE:
            raise UserError(self.env._("Offers are made by the routing: use Assign Technician or Route Again."))
        for vals in vals_list:
            vals.setdefault("access_token", str(uuid.uuid4()))
            if vals.get("state", lifecycle.O_OFFERED) == lifecycle.O_OFFERED and vals.get("lead_id"):
                vals.update(self._service_escalation_values(vals))
            vals.update(self._service_notify_create_values(vals))
        offers = super().create(vals_list)
        offers._service_escalation_after_create()
        return offers

    def _check_company(self, fnames=None):
        # the engine's company rule held for these already (crm.lead._service_engine_ruled)
        if self.env.context.get("service_engine_ruled") is ENGINE_RULED:
            return None
        return super()._check_company(fnames)

    def write(self, vals):
        if self.env.context.get("service_routing_write") is not ROUTING_WRITE:
            raise UserError(self.env._("Offers are answered with Accept or Decline, never edited."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Offers are the history of routing and cannot be deleted."))

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_accept(self):
        """The technician (or a dispatcher for them) accepts these offers."""
        for offer in self:
            offer._check_answer_access()
            offer = offer.sudo()  # checked just above
            offer._lock_open((lifecycle.O_OFFERED,), "accept")
            lead = offer.lead_id
            lead._service_transition("accept")
            # the chatter shows the acceptance once: the tracked change of the routing
            # state, with its subtype (crm.lead._track_subtype), signed by the technician
            lead._track_set_author(offer._service_author())
            lead._track_set_log_message(
                self.env._("Accepted by %(technician)s.", technician=offer.technician_id.display_name)
            )
        return True

    def action_decline(self, reason, note=False):
        """The technician declines with a reason; the inquiry is routed to the next one."""
        reason, note = self._check_decline_input(reason, note)
        for offer in self:
            offer._check_answer_access()
            offer = offer.sudo()  # checked just above
            offer._lock_open(OPEN_OFFER_STATES, "decline")
            lead = offer.lead_id
            lead._service_transition("decline", offer_values={"decline_reason": reason, "decline_note": note or False})
            reason_label = dict(self._fields["decline_reason"]._description_selection(self.env))[reason]
            body = self.env._(
                "Declined by %(technician)s: %(reason)s.",
                technician=offer.technician_id.display_name,
                reason=reason_label,
            )
            lead.message_post(
                body=Markup("%s<br/>%s") % (body, note) if note else body,
                subtype_xmlid="mail.mt_note",
                author_id=offer._service_author().id,
            )
            lead._service_route_safely("decline")
        return True

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _check_decline_input(self, reason, note):
        """(reason, note) checked: a known reason code, and a note in words when the reason is 'other'."""
        reasons = dict(DECLINE_REASONS)
        if not isinstance(reason, str) or reason not in reasons:
            raise ValidationError(
                self.env._(
                    "Unknown decline reason %(reason)s; use one of: %(reasons)s.",
                    reason=repr(reason)[:50],
                    reasons=", ".join(reasons),
                )
            )
        note = self._service_clean_text(note, DECLINE_NOTE_MAX, self.env._("decline note"))
        if reason == "other" and not note:
            raise ValidationError(self.env._("Say why you decline when the reason is 'Other'."))
        return reason, note

    @api.model
    def _service_clean_text(self, text, limit, what):
        """``text`` stripped, or a clear error for what no person would type."""
        if text is None or text is False:
            return ""
        if not isinstance(text, str):
            raise ValidationError(self.env._("The %(what)s must be text.", what=what))
        text = text.strip()
        if len(text) > limit:
            raise ValidationError(
                self.env._("The %(what)s is too long: at most %(max)s characters.", what=what, max=limit)
            )
        if any((ord(char) < 32 and char not in "\n\t\r") or 0x7F <= ord(char) <= 0x9F for char in text):
            raise ValidationError(self.env._("The %(what)s contains control characters.", what=what))
        return text

    def _check_answer_access(self):
        """The current user may answer: a dispatcher, or whoever may see the offer on the portal
        (its technician's users, or the holder of its token while it is open)."""
        self.ensure_one()
        if self.env["crm.lead"]._service_is_dispatcher():
            self.lead_id.check_access("write")
            return
        try:
            self._service_check_portal_access(self.env.context.get("service_access_token"))
        except AccessError:
            raise AccessError(self.env._("Only the technician the inquiry is offered to can answer it.")) from None

    def _lock_open(self, states, verb):
        """Lock this offer's row and check it is still open: a concurrent answer serialises here.

        Under REPEATABLE READ, an offer answered by a transaction that
        committed after this one began raises a serialization failure: the
        request is retried on fresh data and then fails below with a clear
        message, instead of acting on the next technician's offer.
        """
        self.ensure_one()
        self.env.flush_all()
        self.env.cr.execute("SELECT state FROM service_offer WHERE id = %s FOR UPDATE", (self.id,))
        row = self.env.cr.fetchone()
        state = row and row[0]
        if state not in states:
            labels = dict(self._fields["state"]._description_selection(self.env))
            raise UserError(
                self.env._(
                    "You cannot %(verb)s the offer of %(lead)s to %(technician)s: it is no longer open (%(state)s).",
                    verb=self.env._("accept") if verb == "accept" else self.env._("decline"),
                    lead=self.sudo().lead_id.display_name,
                    technician=self.sudo().technician_id.display_name,
                    state=labels.get(state) or self.env._("gone"),
                )
            )

    def _service_transition(self, event, **values):
        """Move each offer by ``event`` (see engine/lifecycle.py); the only writer of ``state``.

        Called by crm.lead._service_transition, which moves the inquiry with
        it. The answer (accept, decline) is timed and signed; an offer that
        closes gets its closing time, and its deadline, escalation and
        follow-up stop (escalation and notification add their values through
        the hooks below). An event the state does not allow is a clear error.
        """
        now = fields.Datetime.now()
        labels = dict(self._fields["state"]._description_selection(self.env))
        for offer in self:
            try:
                target = lifecycle.offer_target(event, offer.state)
            except lifecycle.IllegalTransition:
                raise UserError(
                    self.env._(
                        "The offer of %(lead)s to %(technician)s cannot be %(event)s: it is %(state)s.",
                        lead=offer.sudo().lead_id.display_name,
                        technician=offer.sudo().technician_id.display_name,
                        event=self._service_event_label(event),
                        state=labels.get(offer.state, offer.state),
                    )
                ) from None
            vals = {"state": target, **values}
            if event in ("accept", "decline"):
                vals.update(
                    responded_at=now,
                    response_hours=(now - offer.offered_at).total_seconds() / 3600.0,
                    answered_by_id=self.env.uid,
                )
            vals["closed_at"] = False if target in OPEN_OFFER_STATES else now
            vals.update(offer._service_escalation_transition_values(target, now))
            vals.update(offer._service_notify_transition_values(event, target))
            offer._service_write(vals)
        self._service_after_transition()
        return True

    def _service_write(self, vals):
        """The routing's own write of offer fields (with the rights it needs)."""
        return self.sudo().with_context(service_routing_write=ROUTING_WRITE).write(vals)

    @api.model
    def _service_event_label(self, event):
        return {
            "accept": self.env._("accepted"),
            "decline": self.env._("declined"),
            "withdraw": self.env._("withdrawn"),
            "expire": self.env._("passed on"),
            "done": self.env._("marked done"),
            "cancel": self.env._("cancelled"),
            "restore": self.env._("restored"),
        }.get(event, event)
