# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..engine.routing import STRATEGIES

STRATEGY_SELECTION = [
    ("rotation", "Fair rotation"),
    ("least_loaded", "Least loaded"),
    ("best_response", "Best response record"),
    ("nearest", "Nearest"),
]
assert {key for key, _label in STRATEGY_SELECTION} == set(STRATEGIES)


class ServiceLevel(models.Model):
    """An SLA tier: how fast an inquiry must be answered and who may take it."""

    _name = "service.level"
    _inherit = ["service.company.code.mixin"]
    _description = "SLA Tier"
    _code_fields = ("code",)
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, help="Used by integrations to name the SLA tier of an inquiry.")
    sequence = fields.Integer(default=10)
    response_hours = fields.Float(
        "Response Window (hours)",
        default=24.0,
        required=True,
        help="Time within which a technician must accept an inquiry of this tier.",
    )
    certification_required = fields.Boolean(help="Only technicians certified for this tier are offered its inquiries.")
    routing_strategy = fields.Selection(
        STRATEGY_SELECTION,
        help="How a technician is chosen among the eligible ones. Empty: the company's default.",
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True, help="Leave empty to share the tier between companies.")
    technician_ids = fields.Many2many(
        "res.partner",
        "res_partner_service_level_rel",
        "service_level_id",
        "partner_id",
        string="Certified Technicians",
    )

    _sql_constraints = [
        # a unique index on (company, code), made in init(): a shared record
        # (no company) counts as company 0
        ("code_uniq", "", "The code of an SLA tier must be unique per company."),
        ("response_hours_positive", "CHECK(response_hours > 0)", "The response window must be positive."),
    ]
