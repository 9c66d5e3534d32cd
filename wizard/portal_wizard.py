# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class PortalWizardUser(models.TransientModel):
    _inherit = "portal.wizard.user"

    def action_grant_access(self):
        """Invited to the portal, a technician (or a contact of a service-partner company) acts for it."""
        result = super().action_grant_access()
        partner = self.partner_id
        technician = partner if partner.is_technician else partner.parent_id.filtered("is_technician")
        user = self.sudo().with_context(active_test=False).partner_id.user_ids[:1]
        if technician and user and not user.service_technician_id:
            user.write({"service_technician_id": technician.id})
        return result
