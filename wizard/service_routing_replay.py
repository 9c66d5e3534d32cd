# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError

from ..engine import routing as engine


class ServiceRoutingReplay(models.TransientModel):
    """Dry run: replay today's rules against past inquiries and list what would change.

    Nothing is offered, logged or written on the inquiries.
    """

    _name = "service.routing.replay"
    _description = "Replay Routing (Dry Run)"

    lead_ids = fields.Many2many("crm.lead", string="Inquiries", domain="[('service_occasion', '!=', False)]")
    mode = fields.Selection(
        [
            ("facts", "Same facts, current rules"),
            ("current", "Current data and rules"),
        ],
        default="facts",
        required=True,
        help="Same facts: the candidates as they were at the last decision, ranked by today's strategy "
        "and rules. Current data: technicians, areas and loads as they are now.",
    )
    line_ids = fields.One2many("service.routing.replay.line", "wizard_id", "Results", readonly=True)
    changed_count = fields.Integer(compute="_compute_changed_count")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if self.env.context.get("active_model") == "crm.lead" and self.env.context.get("active_ids"):
            values["lead_ids"] = [fields.Command.set(self.env.context["active_ids"])]
        return values

    @api.depends("line_ids.changed")
    def _compute_changed_count(self):
        for wizard in self:
            wizard.changed_count = len(wizard.line_ids.filtered("changed"))

    def action_replay(self):
        self.ensure_one()
        self.env["crm.lead"]._service_check_dispatcher()
        leads = self.lead_ids.filtered("service_occasion")
        if not leads:
            raise UserError(self.env._("Choose the service inquiries to replay."))
        today = fields.Date.context_today(self)
        lines = []
        for lead in leads:
            # the latest decision, whatever order the cache holds the logs in
            last = lead.routing_log_ids.sorted("id", reverse=True)[:1]
            if self.mode == "facts":
                if not last.facts:
                    continue
                inquiry, candidates = engine.facts_from_json(last.facts)
            else:
                inquiry, candidates = lead._service_gather_facts()
            decision = engine.decide(inquiry, candidates, lead._service_strategy(), today)
            new_outcome = "offered" if decision.technician_id else "review"
            changed = (last.technician_id.id or None) != decision.technician_id or (
                last.outcome or False
            ) != new_outcome
            lines.append(
                fields.Command.create(
                    {
                        "lead_id": lead.id,
                        "old_outcome": last.outcome or False,
                        "old_technician_id": last.technician_id.id or False,
                        "new_outcome": new_outcome,
                        "new_technician_id": decision.technician_id or False,
                        "new_review_reason": decision.review_reason or False,
                        "changed": changed,
                    }
                )
            )
        # the lines of an earlier run are this wizard's own: replaced, whoever runs it
        self.line_ids.unlink()
        self.line_ids = lines
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Replay Routing (Dry Run)"),
            "res_model": self._name,
            "views": [(False, "form")],
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }


class ServiceRoutingReplayLine(models.TransientModel):
    _name = "service.routing.replay.line"
    _description = "Replayed Routing Decision"
    _order = "changed desc, lead_id"

    wizard_id = fields.Many2one("service.routing.replay", required=True, ondelete="cascade")
    lead_id = fields.Many2one("crm.lead", "Inquiry", readonly=True)
    old_outcome = fields.Selection([("offered", "Offered"), ("review", "Review")], "Was", readonly=True)
    old_technician_id = fields.Many2one("res.partner", "Was Offered To", readonly=True)
    new_outcome = fields.Selection([("offered", "Offered"), ("review", "Review")], "Would Be", readonly=True)
    new_technician_id = fields.Many2one("res.partner", "Would Be Offered To", readonly=True)
    new_review_reason = fields.Selection(
        lambda self: self.env["service.routing.log"]._fields["review_reason"].selection, readonly=True
    )
    changed = fields.Boolean(readonly=True)
