# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..models.service_offer import DECLINE_REASONS


class CrmLeadDecline(models.TransientModel):
    """Decline an offered inquiry with a reason; it is routed to the next technician."""

    _name = "crm.lead.decline"
    _description = "Decline an Inquiry"

    lead_id = fields.Many2one("crm.lead", "Inquiry", required=True, readonly=True, ondelete="cascade")
    offer_id = fields.Many2one("service.offer", required=True, readonly=True, ondelete="cascade")
    technician_id = fields.Many2one(related="offer_id.technician_id")
    reason = fields.Selection(DECLINE_REASONS, required=True)
    note = fields.Text()

    def action_decline(self):
        self.ensure_one()
        lead = self.lead_id
        lead.action_service_decline(self.reason, self.note, offer_id=self.offer_id.id)
        if lead._service_is_dispatcher():
            return {"type": "ir.actions.act_window_close"}
        # the inquiry went on to another technician: its user may see it no more, so
        # the form is left for the list of the technician's inquiries (never an error page)
        action = self.env["ir.actions.act_window"]._for_xml_id("crm_service_routing.crm_lead_action_service")
        action["target"] = "main"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Declined"),
                "message": self.env._("%(lead)s goes to another technician.", lead=lead.sudo().display_name),
                "type": "success",
                "next": action,
            },
        }
