# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

ESCALATION_ACTIONS = [
    ("remind", "Remind the technician"),
    ("reassign", "Reassign to the next technician"),
    ("notify", "Notify the channel manager"),
    ("review", "Move to the review queue"),
]


class ServiceEscalationStage(models.Model):
    """One stage of an SLA tier's escalation ladder: after N hours without acceptance, do something."""

    _name = "service.escalation.stage"
    _description = "Escalation Stage"
    _order = "level_id, after_hours, sequence, id"

    level_id = fields.Many2one("service.level", "SLA Tier", required=True, index=True, ondelete="cascade")
    sequence = fields.Integer(default=10)
    after_hours = fields.Float(
        "After (hours)",
        required=True,
        help="Hours without acceptance since the offer, in the tier's working hours if it has a calendar.",
    )
    action = fields.Selection(ESCALATION_ACTIONS, required=True)

    _sql_constraints = [
        ("after_hours_positive", "CHECK(after_hours > 0)", "An escalation stage comes after a positive delay."),
    ]

    def _compute_display_name(self):
        labels = dict(ESCALATION_ACTIONS)
        for stage in self:
            stage.display_name = self.env._(
                "%(action)s after %(hours)s h",
                action=labels.get(stage.action, ""),
                hours=format(stage.after_hours, "g"),
            )
