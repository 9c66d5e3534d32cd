# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class CrmLeadLink(models.TransientModel):
    """Dispatcher: link a repeat to the unique inquiry it repeats, or unlink it, with a reason."""

    _name = "crm.lead.link"
    _description = "Link or Unlink a Repeated Inquiry"

    lead_id = fields.Many2one("crm.lead", "Inquiry", required=True, readonly=True, ondelete="cascade")
    # "unlink" would hide the ORM method of that name (the wizard could no longer be deleted)
    undo_link = fields.Boolean("Unlink", readonly=True)
    partner_id = fields.Many2one(related="lead_id.partner_id")
    unique_lead_id = fields.Many2one(
        "crm.lead",
        "Unique Inquiry",
        domain="[('id', '!=', lead_id), ('service_unique_lead_id', '=', False), "
        "('routing_state', 'in', ('new', 'review', 'offered', 'accepted'))]",
        help="The open inquiry this one repeats: it is handled and counted there.",
    )
    reason = fields.Char(required=True, help="Kept in the chatter of both inquiries.")

    @api.model
    def _action_open(self, lead, unlink=False):
        lead._service_check_dispatcher()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Unlink Repeat") if unlink else self.env._("Link as Repeat"),
            "res_model": self._name,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_lead_id": lead.id, "default_undo_link": unlink},
        }

    def action_confirm(self):
        self.ensure_one()
        if self.undo_link:
            self.lead_id.action_service_unlink(self.reason)
        else:
            self.lead_id.action_service_link(self.unique_lead_id.id, self.reason)
        return {"type": "ir.actions.act_window_close"}
