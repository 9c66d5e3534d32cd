# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .service_level import STRATEGY_SELECTION


class ResCompany(models.Model):
    _inherit = "res.company"

    service_routing_strategy = fields.Selection(
        STRATEGY_SELECTION,
        "Default Routing Strategy",
        default="rotation",
        required=True,
        help="How a technician is chosen among the eligible ones, unless the SLA tier says otherwise.",
    )
    service_response_window_days = fields.Integer(
        "Response Record Window (days)",
        default=90,
        help="Offers of this many past days count for the 'best response record' strategy.",
    )
    service_level_id = fields.Many2one(
        "service.level",
        "Default SLA Tier",
        help="SLA tier of inquiries that name none and match no contract.",
    )
