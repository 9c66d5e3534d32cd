# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class CrmLostReason(models.Model):
    _inherit = "crm.lost.reason"

    is_service_reason = fields.Boolean(
        "For Service Jobs",
        help="Offered when a service job is cancelled, instead of the reasons for lost sales opportunities.",
    )
