# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .service_escalation_stage import ESCALATION_ACTIONS


class CrmLead(models.Model):
    """Escalation and follow-up as the inquiry shows them; what counts as activity on it."""

    _inherit = "crm.lead"

    service_answer_deadline = fields.Datetime(
        "Answer Deadline", compute="_compute_service_escalation", help="The open offer should be accepted by then."
    )
    service_next_escalation_at = fields.Datetime("Next Escalation", compute="_compute_service_escalation")
    service_next_escalation_action = fields.Selection(
        ESCALATION_ACTIONS, "Next Escalation Stage", compute="_compute_service_escalation"
    )
    service_followup_due_at = fields.Datetime("Follow-up Due", compute="_compute_service_escalation")
    service_activity_at = fields.Datetime(
        "Last Service Activity",
        copy=False,
        readonly=True,
        help="Last message, activity done, appointment or visit on the accepted inquiry: the follow-up counts from it.",
    )

    @api.depends(
        "offer_ids.state",
        "offer_ids.answer_deadline",
        "offer_ids.next_escalation_at",
        "offer_ids.next_escalation_stage_id",
        "offer_ids.followup_due_at",
    )
    def _compute_service_escalation(self):
        for lead in self:
            offer = lead.sudo().service_offer_id
            lead.service_answer_deadline = offer.answer_deadline
            lead.service_next_escalation_at = offer.next_escalation_at
            lead.service_next_escalation_action = offer.next_escalation_stage_id.action
            lead.service_followup_due_at = offer.followup_due_at

    def _service_activity_values(self, vals):
        """Hook of write (crm_lead.py): an appointment or a visit is activity on the inquiry."""
        if self._service_activity_fields().intersection(vals):
            return dict(vals, service_activity_at=fields.Datetime.now())
        return vals

    def message_post(self, **kwargs):
        message = super().message_post(**kwargs)
        if kwargs.get("message_type", "notification") in ("comment", "email") or kwargs.get("mail_activity_type_id"):
            self._service_note_activity()
        return message

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _service_activity_fields(self):
        """Fields whose change is activity on an inquiry (appointment, visit documentation)."""
        return {"agreed_appointment"} | {name for name in self._fields if name.startswith(("service_visit_", "visit_"))}

    def _service_note_activity(self):
        accepted = self.filtered(lambda lead: lead.routing_state == "accepted")
        if accepted:
            accepted.sudo().with_context(tracking_disable=True).write({"service_activity_at": fields.Datetime.now()})
