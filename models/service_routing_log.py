# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import UserError

from .service_level import STRATEGY_SELECTION
from .service_offer import ROUTING_WRITE

TRIGGERS = [
    ("create", "Inquiry created"),
    ("decline", "Declined"),
    ("reassign", "Reassigned"),
    ("manual", "Dispatcher"),
    ("cron", "Scheduled backstop"),
    ("escalation", "Escalation"),
    ("rerun", "Re-run"),
    ("reopen", "Reopened"),
]
OUTCOMES = [
    ("offered", "Offered"),
    ("review", "Held for review"),
]
REVIEW_REASONS = [
    ("safety_critical", "Safety-critical equipment"),
    ("large_account", "Large account"),
    ("unknown_postal_code", "Unknown postal code"),
    ("postal_data_missing", "Postal data not loaded"),
    ("unknown_equipment", "Unknown equipment"),
    ("no_candidate", "No eligible technician"),
    ("manual", "Held by a dispatcher"),
    ("copy", "Copy of another inquiry"),
    ("routing_error", "Routing error"),
    ("match_to_confirm", "Match to confirm"),
    ("unanswered", "Offer not answered"),
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
    _check_company_auto = True

    lead_id = fields.Many2one(
        "crm.lead", "Inquiry", required=True, index=True, ondelete="restrict", readonly=True, check_company=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    trigger = fields.Selection(TRIGGERS, required=True, readonly=True)
    outcome = fields.Selection(OUTCOMES, required=True, readonly=True)
    technician_id = fields.Many2one("res.partner", readonly=True, index="btree_not_null", check_company=True)
    strategy = fields.Selection(STRATEGY_SELECTION, readonly=True)
    chosen_by = fields.Selection(
        [("contract", "Contract technician"), ("strategy", "Strategy"), ("dispatcher", "Dispatcher")],
        readonly=True,
    )
    review_reason = fields.Selection(REVIEW_REASONS, readonly=True)
    reason = fields.Char(readonly=True, help="The decision in a sentence.")
    candidate_count = fields.Integer("Eligible", readonly=True)
    dropped_count = fields.Integer("Dropped", readonly=True)
    # the engine's output and input: they name competing technicians, for dispatchers only
    decision = fields.Json(readonly=True, groups="crm_service_routing.group_service_dispatcher")
    facts = fields.Json(readonly=True, groups="crm_service_routing.group_service_dispatcher")
    user_id = fields.Many2one("res.users", "By", readonly=True, default=lambda self: self.env.uid)
    candidates_html = fields.Html(
        "Candidates",
        compute="_compute_candidates_html",
        sanitize=False,
        groups="crm_service_routing.group_service_dispatcher",
    )

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

    # ------------------------------------------------------------
    # CRUD: append-only
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if self.env.context.get("service_routing_write") is not ROUTING_WRITE:
            raise UserError(self.env._("Routing decisions are written by the routing only."))
        for vals in vals_list:
            for key in ("decision", "facts"):
                if key in vals:
                    vals[key] = _json_without_nulls(vals[key])
        return super().create(vals_list)

    def write(self, vals):
        if self.env.context.get("service_routing_write") is not ROUTING_WRITE:
            raise UserError(self.env._("Routing decisions are an audit trail: they cannot be changed."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Routing decisions are an audit trail: they cannot be deleted."))

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


def _json_without_nulls(value):
    """``value`` without null members, so that XML-RPC (which has no null) can read it back."""
    if isinstance(value, dict):
        return {key: _json_without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_json_without_nulls(item) for item in value if item is not None]
    return value
