# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine.escalation import ACTION_REASSIGN, ACTION_REVIEW

ESCALATION_ACTIONS = [
    ("remind", "Remind the technician"),
    ("reassign", "Reassign to the next technician"),
    ("notify", "Notify the channel manager"),
    ("review", "Move to the review queue"),
]


class ServiceEscalationStage(models.Model):
    """One stage of an SLA tier's escalation ladder: after N hours without acceptance, do something."""

    _name = "service.escalation.stage"
    _inherit = ["service.cache.mixin"]
    _description = "Escalation Stage"
    # the ladders are kept for the registry (service.level._service_ladder_of)
    _service_cache_fields = frozenset({"level_id", "after_hours", "action", "sequence"})
    _order = "level_id, after_hours, sequence, id"

    level_id = fields.Many2one("service.level", "SLA Tier", required=True, index=True, ondelete="cascade")
    sequence = fields.Integer(default=10)
    after_hours = fields.Float(
        "After (hours)",
        required=True,
        aggregator=None,
        help="Hours without acceptance since the offer, in the tier's working hours if it has a calendar.",
    )
    action = fields.Selection(ESCALATION_ACTIONS, required=True)
    response_hours = fields.Float(related="level_id.response_hours", string="Response Window (hours)", aggregator=None)
    window_note = fields.Char("Against the Response Window", compute="_compute_window_note")

    _sql_constraints = [
        ("after_hours_positive", "CHECK(after_hours > 0)", "An escalation stage comes after a positive delay."),
    ]

    @api.depends("after_hours", "action", "level_id.response_hours", "level_id.escalation_stage_ids.after_hours")
    def _compute_window_note(self):
        for stage in self:
            window = stage.level_id.response_hours
            reassign = stage.level_id.escalation_stage_ids.filtered(
                lambda s, stage=stage: s.action == ACTION_REASSIGN and s.after_hours < stage.after_hours
            )
            if not window or not stage.after_hours:
                stage.window_note = False
            elif stage.after_hours < window:
                stage.window_note = self.env._(
                    "%(hours)s h before the window ends", hours=format(window - stage.after_hours, "g")
                )
            elif stage.after_hours == window:
                stage.window_note = self.env._("when the window ends")
            else:
                stage.window_note = self.env._(
                    "%(hours)s h after the window ended", hours=format(stage.after_hours - window, "g")
                )
            if stage.window_note and reassign:
                stage.window_note = self.env._(
                    "%(note)s; only when nobody else could take it at the reassignment", note=stage.window_note
                )

    @api.constrains("level_id", "after_hours", "action", "sequence")
    def _check_reachable(self):
        """Every stage of a ladder can run: none follows a move to the review queue (which ends the
        offer whatever happens), and no stage repeats another at the same hour."""
        labels = dict(ESCALATION_ACTIONS)
        for level in self.level_id:
            # the stages as they are now, not the ladder kept for the registry (cleared after the write)
            ladder = level._service_ladder_stages()
            seen = set()
            for index, stage in enumerate(ladder):
                if (stage.after_hours, stage.action) in seen:
                    raise ValidationError(
                        self.env._(
                            'SLA tier %(tier)s: "%(stage)s" is in the ladder twice.',
                            tier=level.display_name,
                            stage=stage.display_name,
                        )
                    )
                seen.add((stage.after_hours, stage.action))
                if stage.action == ACTION_REVIEW and ladder[index + 1 :]:
                    raise ValidationError(
                        self.env._(
                            'SLA tier %(tier)s: "%(stage)s" would never run. After %(hours)s h the inquiry '
                            "moves to the review queue (%(action)s) and its offer ends there.",
                            tier=level.display_name,
                            stage=ladder[index + 1].display_name,
                            hours=format(stage.after_hours, "g"),
                            action=labels[stage.action],
                        )
                    )

    def _compute_display_name(self):
        labels = dict(ESCALATION_ACTIONS)
        for stage in self:
            stage.display_name = self.env._(
                "%(action)s after %(hours)s h",
                action=labels.get(stage.action, ""),
                hours=format(stage.after_hours, "g"),
            )
