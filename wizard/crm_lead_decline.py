# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..models.service_offer import DECLINE_REASONS


class CrmLeadDecline(models.TransientModel):
    """Decline an offered inquiry with a reason; it is routed to the next technician."""

    _name = "crm.lead.decline"
    _description = "Decline an Inquiry"

    lead_id = fields.Many2one("crm.lead", required=True, readonly=True, ondelete="cascade")
    technician_id = fields.Many2one(related="lead_id.technician_id")
    reason = fields.Selection(DECLINE_REASONS, required=True)
    note = fields.Text()

    def action_decline(self):
        self.ensure_one()
        self.lead_id.action_service_decline(self.reason, self.note)
        return {"type": "ir.actions.act_window_close"}
