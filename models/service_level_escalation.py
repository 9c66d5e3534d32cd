# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime

from odoo import api, fields, models, tools

from ..engine import escalation as engine


class ServiceLevel(models.Model):
    """Escalation ladder, follow-up and working hours of an SLA tier."""

    _inherit = "service.level"

    escalation_stage_ids = fields.One2many("service.escalation.stage", "level_id", "Escalation Ladder")
    followup_hours = fields.Float(
        "Follow-up After (hours)",
        default=48.0,
        help="An accepted inquiry without activity (message, activity done, appointment set, visit documented) "
        "for this long gets a follow-up; 0: none.",
    )
    escalation_user_id = fields.Many2one(
        "res.users", "Channel Manager", help="Gets escalations of this tier as an activity and a mail."
    )
    escalation_group_id = fields.Many2one(
        "res.groups", "Channel Manager Group", help="Its users get escalations of this tier too."
    )
    resource_calendar_id = fields.Many2one(
        "resource.calendar",
        "Working Hours",
        help="Deadlines and escalations of this tier count in these working hours. Empty: the company's, "
        "else wall-clock hours.",
    )

    _sql_constraints = [
        ("followup_hours_positive", "CHECK(followup_hours >= 0)", "The follow-up delay cannot be negative."),
    ]

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _service_ladder(self):
        """The ladder as engine stages, in order."""
        self.ensure_one()
        return list(self._service_ladder_of(self.id))

    @api.model
    @tools.ormcache("level_id")
    def _service_ladder_of(self, level_id):
        """The ladder of a tier, kept for the registry: every offer made reads it for its deadline (two
        queries), and it changes when a manager edits it (see service.escalation.stage)."""
        return tuple(
            engine.Stage(stage.id, stage.after_hours, stage.action)
            for stage in self.sudo().browse(level_id)._service_ladder_stages()
        )

    def _service_ladder_stages(self):
        """The stages of the ladder in the order they run."""
        self.ensure_one()
        return self.escalation_stage_ids.sorted(lambda s: (s.after_hours, s.sequence, s.id))

    def _service_calendar(self, company):
        """The working hours of this tier for ``company``, or an empty recordset (wall-clock hours)."""
        return self.resource_calendar_id or company.service_calendar_id

    def _service_managers(self):
        """The users who get this tier's escalations."""
        users = self.escalation_user_id | self.escalation_group_id.users
        return users.filtered("active")

    @staticmethod
    def _service_add_hours(calendar, start, hours):
        """``start`` + ``hours``: working hours of ``calendar`` (public holidays excluded), else wall-clock."""
        if not calendar:
            return start + datetime.timedelta(hours=hours)
        return calendar.plan_hours(hours, start, compute_leaves=True) or (start + datetime.timedelta(hours=hours))
