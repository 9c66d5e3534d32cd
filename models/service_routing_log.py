# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup, escape

from odoo import api, fields, models

from .service_level import STRATEGY_SELECTION

TRIGGERS = [
    ("create", "Inquiry created"),
    ("decline", "Declined"),
    ("reassign", "Reassigned"),
    ("manual", "Dispatcher"),
    ("cron", "Scheduled backstop"),
    ("escalation", "Escalation"),
    ("rerun", "Re-run"),
]
OUTCOMES = [
    ("offered", "Offered"),
    ("review", "Held for review"),
]
REVIEW_REASONS = [
    ("safety_critical", "Safety-critical equipment"),
    ("large_account", "Large account"),
    ("unknown_postal_code", "Unknown postal code"),
    ("unknown_equipment", "Unknown equipment"),
    ("no_candidate", "No eligible technician"),
    ("manual", "Held by a dispatcher"),
]


class ServiceRoutingLog(models.Model):
    """One routing decision, with everything needed to settle a dispute.

    ``decision`` holds the engine's output (ranking with scores, dropped
    candidates with the rule that dropped them) and ``facts`` its input, so a
    decision can be explained and replayed. Written only by the routing
    itself; read-only for everyone but administrators.
    """

    _name = "service.routing.log"
    _description = "Routing Decision"
    _order = "id desc"

    lead_id = fields.Many2one("crm.lead", "Inquiry", required=True, index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    trigger = fields.Selection(TRIGGERS, required=True, readonly=True)
    outcome = fields.Selection(OUTCOMES, required=True, readonly=True)
    technician_id = fields.Many2one("res.partner", readonly=True, index="btree_not_null")
    strategy = fields.Selection(STRATEGY_SELECTION, readonly=True)
    chosen_by = fields.Selection(
        [("contract", "Contract technician"), ("strategy", "Strategy"), ("dispatcher", "Dispatcher")],
        readonly=True,
    )
    review_reason = fields.Selection(REVIEW_REASONS, readonly=True)
    reason = fields.Char(readonly=True, help="The decision in a sentence.")
    candidate_count = fields.Integer("Eligible", readonly=True)
    dropped_count = fields.Integer("Dropped", readonly=True)
    decision = fields.Json(readonly=True)
    facts = fields.Json(readonly=True)
    user_id = fields.Many2one("res.users", "By", readonly=True, default=lambda self: self.env.uid)
    candidates_html = fields.Html("Candidates", compute="_compute_candidates_html", sanitize=False)

    @api.depends("decision")
    def _compute_candidates_html(self):
        partners = (
            self.env["res.partner"]
            .browse(
                {
                    row["id"]
                    for log in self
                    for key in ("ranking", "dropped")
                    for row in (log.decision or {}).get(key, [])
                }
            )
            .with_context(active_test=False)
        )
        names = {p.id: p.display_name for p in partners.exists()}
        for log in self:
            decision = log.decision or {}
            rows = [
                (str(row["rank"]), names.get(row["id"], row["id"]), self.env._("eligible"), row["detail"])
                for row in decision.get("ranking", [])
            ] + [
                (
                    "",
                    names.get(row["id"], row["id"]),
                    self._rule_label(row["rule"]),
                    row["detail"],
                )
                for row in decision.get("dropped", [])
            ]
            if not rows:
                log.candidates_html = Markup("<p>%s</p>") % self.env._("No technician covers this inquiry's area.")
                continue
            body = Markup("").join(
                Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>")
                % (escape(rank), escape(name), escape(rule), escape(detail))
                for rank, name, rule, detail in rows
            )
            log.candidates_html = Markup(
                '<table class="table table-sm o_service_routing_candidates"><thead><tr>'
                "<th>#</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
            ) % (self.env._("Technician"), self.env._("Result"), self.env._("Detail"), body)

    @api.model
    def _rule_label(self, rule):
        """The name of a routing rule (see engine.routing.RULES), for people."""
        return {
            "company": self.env._("Other company"),
            "inactive": self.env._("Not an active technician"),
            "area": self.env._("Service area"),
            "specialization": self.env._("Specialization"),
            "certification": self.env._("SLA certification"),
            "paused": self.env._("Paused"),
            "away": self.env._("Away"),
            "capacity": self.env._("Capacity"),
            "declined": self.env._("Declined before"),
        }.get(rule, rule)
