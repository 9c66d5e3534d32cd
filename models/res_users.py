# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    service_technician_ids = fields.Many2many(
        "res.partner",
        compute="_compute_service_technician_ids",
        string="Acts for Technicians",
        help="The technician this user is, or the service-partner company it works for.",
    )
    service_technician_only = fields.Boolean(
        compute="_compute_service_technician_ids",
        help="Acts for a technician and is no dispatcher: sees only the service inquiries offered to it.",
    )

    def _compute_service_technician_ids(self):
        for user in self:
            partners = user.partner_id | user.partner_id.commercial_partner_id
            technicians = partners.sudo().filtered("is_technician")
            user.service_technician_ids = technicians
            user.service_technician_only = bool(technicians) and not user.has_group(
                "crm_service_routing.group_service_dispatcher"
            )
