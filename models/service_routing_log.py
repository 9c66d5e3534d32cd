# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging

from markupsafe import Markup, escape

try:
    # optional (requirements.txt): writes a decision's JSON ten times as fast as json.dumps
    import orjson
except ImportError:  # pragma: no cover - the standard library serves, slower
    orjson = None

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date, formatLang

from ..engine import routing as engine
from .service_constants import ENGINE_RULED, REVIEW_REASONS, ROUTING_WRITE, TRIGGERS
from .service_format import format_minutes
from .service_level import STRATEGY_SELECTION

_logger = logging.getLogger(__name__)


class AuditJson(fields.Json):
    """A JSON column of an append-only record, taken into the cache as it was written.

    ``fields.Json`` copies a value on its way into the cache (``json.loads(json.dumps(value))``),
    so that whoever wrote it may change it afterwards without changing the cache. A routing
    decision's facts and ranking are built for the one record that stores them and never
    changed after (``service.routing.log`` refuses every write): the copy of some 40 KB of
    JSON for each decision among 200 technicians was a tenth of the routing's time. Reads
    still get a copy (``convert_to_record``), and JSON text read from the database is parsed
    as usual.

    Stored as ``json``, the text as written, not ``jsonb``: the log is written at every routing
    and read back one decision at a time, never searched or indexed by its content, and
    parsing 45 KB of text into ``jsonb`` is most of the insert: 0.38 ms per decision as ``jsonb``
    against 0.15 ms as ``json``, lz4-compressed alike (measured on the logs of 2,000 decisions
    among 50,000 technicians)."""

    column_type = ("json", "json")

    def convert_to_cache(self, value, record, validate=True):
        if not value:
            return None
        if isinstance(value, dict | list):
            return value
        return super().convert_to_cache(value, record, validate=validate)

    def convert_to_column(self, value, record, values=None, validate=True):
        if not value:
            return None
        return json_text(value)


def json_text(value):
    """``value`` as compact JSON text (no blank after a separator): through orjson where it is
    installed (0.06 ms for the facts and ranking of a decision among 200 technicians, against
    0.6 ms), else, or for what orjson refuses (an integer beyond 64 bits), through json.dumps."""
    if orjson is not None:
        try:
            return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            _logger.debug("JSON written by json.dumps: orjson refused it", exc_info=True)
    return json.dumps(value, separators=(",", ":"))


OUTCOMES = [
    ("offered", "Offered"),
    ("review", "Held for review"),
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
    override_rules = fields.Char(
        "Overridden Rules",
        readonly=True,
        help="Set when a dispatcher offered the job against routing rules (codes, comma-separated).",
    )
    # the decision as a code and its parameters (names, counts, rule codes), rendered
    # in the reader's language by _compute_reason: never a sentence frozen in the
    # language of whoever triggered the routing
    reason_data = fields.Json("Reason (codes)", readonly=True)
    reason = fields.Char(compute="_compute_reason", help="The decision in a sentence, in your language.")
    candidate_count = fields.Integer("Eligible", readonly=True)
    dropped_count = fields.Integer("Dropped", readonly=True)
    # the engine's output and input: they name competing technicians, for dispatchers only; tens of
    # kilobytes each at scale, read together where one is read (the candidates, a replay), never
    # with the log's other fields (its sentence, its technician)
    decision = AuditJson(readonly=True, prefetch="audit", groups="crm_service_routing.group_service_dispatcher")
    facts = AuditJson(readonly=True, prefetch="audit", groups="crm_service_routing.group_service_dispatcher")
    user_id = fields.Many2one("res.users", "By", readonly=True, default=lambda self: self.env.uid)
    candidates_html = fields.Html(
        "Candidates",
        compute="_compute_candidates_html",
        sanitize=False,
        groups="crm_service_routing.group_service_dispatcher",
    )

    def init(self):
        # a decision among hundreds of technicians stores tens of KB of facts and ranking, compressed on
        # their way into the table: lz4 (where PostgreSQL has it) in half the time pglz takes, for a
        # third more room; rows written before keep theirs
        # (set once: the ALTER locks the table, at every update of the addon otherwise)
        self.env.cr.execute(
            """SELECT 'lz4' = ANY(enumvals) AND EXISTS (
                          SELECT 1 FROM pg_attribute
                           WHERE attrelid = 'service_routing_log'::regclass AND attname IN ('facts', 'decision')
                             AND attcompression IS DISTINCT FROM 'l')
                 FROM pg_settings WHERE name = 'default_toast_compression'"""
        )
        if self.env.cr.fetchone()[0]:
            self.env.cr.execute(
                """ALTER TABLE service_routing_log ALTER COLUMN facts SET COMPRESSION lz4,
                                                  ALTER COLUMN decision SET COMPRESSION lz4"""
            )

    @api.depends("lead_id", "create_date")
    def _compute_display_name(self):
        for log in self:
            when = format_minutes(self.env, log.create_date) if log.create_date else ""
            log.display_name = self.env._(
                "Decision of %(when)s on %(inquiry)s", when=when, inquiry=log.lead_id.sudo().display_name or ""
            )

    @api.depends_context("lang")
    @api.depends("reason_data")
    def _compute_reason(self):
        for log in self:
            log.reason = self._render_reason(log.reason_data or {})

    @api.depends_context("lang")
    @api.depends("decision", "facts")
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
            inquiry, candidates = (
                engine.facts_from_json(log.facts) if log.facts and log.facts.get("inquiry") else (None, [])
            )
            by_id = {c.id: c for c in candidates}
            strategy = decision.get("strategy")

            def explain(row, rule=None, inquiry=inquiry, by_id=by_id, strategy=strategy):
                candidate = by_id.get(row["id"])
                if candidate is None or inquiry is None:
                    return row.get("detail") or ""
                return self._explain_candidate(strategy, inquiry, candidate, rule=rule)

            rows = [
                (str(row["rank"]), names.get(row["id"], row["id"]), self.env._("Eligible"), explain(row))
                for row in decision.get("ranking", [])
            ] + [
                ("", names.get(row["id"], row["id"]), self._rule_label(row["rule"]), explain(row, row["rule"]))
                for row in decision.get("dropped", [])
            ]
            if not rows:
                log.candidates_html = Markup("<p>%s</p>") % self.env._(
                    "No technician has a service area that covers this inquiry's postal code."
                )
                continue
            body = Markup("").join(
                Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>")
                % (escape(rank), escape(name), escape(rule), escape(detail))
                for rank, name, rule, detail in rows
            )
            log.candidates_html = Markup(
                '<table class="table table-sm o_service_routing_candidates"><thead><tr>'
                "<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
            ) % (self.env._("Rank"), self.env._("Technician"), self.env._("Result"), self.env._("Why"), body)

    # ------------------------------------------------------------
    # CRUD: append-only
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if self.env.context.get("service_routing_write") is not ROUTING_WRITE:
            raise UserError(self.env._("Routing decisions are written by the routing only."))
        for vals in vals_list:
            # the engine writes decision and facts without nulls already (engine.routing._to_json)
            if "reason_data" in vals:
                vals["reason_data"] = _json_without_nulls(vals["reason_data"])
        logs = super().create(vals_list)
        # inserted: out of the cache. A decision among 200 technicians is some 10,000 Python objects,
        # which would live on to the end of the transaction and make the interpreter's garbage
        # collector scan all of its memory every few dozen routings of a batch (read back from the
        # table where a decision is shown)
        logs.invalidate_recordset(["facts", "decision"], flush=False)
        return logs

    def _check_company(self, fnames=None):
        # the engine's company rule held for these already (crm.lead._service_engine_ruled)
        if self.env.context.get("service_engine_ruled") is ENGINE_RULED:
            return None
        return super()._check_company(fnames)

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
            "excluded": self.env._("Passed over on Route Again"),
            "safety_training": self.env._("Not trained for safety-critical equipment"),
        }.get(rule, rule)

    # ------------------------------------------------------------
    # BUSINESS: EXPLANATIONS, in the reader's language
    # ------------------------------------------------------------

    @api.model
    def _reason_data(self, decision, inquiry, chosen_by, names, busy=(), override=None):
        """The codes and parameters a decision's sentence is rendered from (see _render_reason).

        ``override``: {"rules": [rule codes], "user": name} when a dispatcher
        offered the job against the rules that would have dropped the technician.
        """
        data = {"strategy": decision.strategy, "count": len(decision.ranking)}
        if decision.technician_id:
            data["code"] = {"contract": "offered_contract", "dispatcher": "offered_dispatcher"}.get(
                chosen_by, "offered_strategy"
            )
            data["technician"] = str(names.get(decision.technician_id, decision.technician_id))
        else:
            data["code"] = "review"
            data["review_reason"] = decision.review_reason
        if decision.contract_note and chosen_by != "contract":
            contract_id = inquiry.contract_technician_id
            dropped = {d.id: d.rule for d in decision.dropped}
            if any(r.id == contract_id for r in decision.ranking):
                data["contract"] = {"status": "eligible"}
            elif contract_id in dropped:
                data["contract"] = {"status": "dropped", "rule": dropped[contract_id]}
            else:
                data["contract"] = {"status": "missing"}
        if busy:
            data["busy"] = [str(names.get(tid, tid)) for tid in busy]
        excluded = sorted(inquiry.excluded_technician_ids) if inquiry else ()
        if excluded:
            data["excluded"] = [str(names.get(tid, tid)) for tid in excluded]
        if override:
            data["override"] = override
        return data

    @api.model
    def _render_reason(self, data):
        """A decision's sentence from its codes (see _reason_data), in the current language."""
        if not data:
            return ""
        strategies = dict(self._fields["strategy"]._description_selection(self.env))
        reasons = dict(self._fields["review_reason"]._description_selection(self.env))
        code = data.get("code")
        if code == "offered_contract":
            text = self.env._("Offered to %(name)s, the customer's contract technician.", name=data.get("technician"))
        elif code == "offered_dispatcher":
            text = self.env._("Offered to %(name)s by a dispatcher.", name=data.get("technician"))
        elif code == "offered_strategy":
            text = self.env._(
                "Offered to %(name)s: first of %(count)s eligible technicians by %(strategy)s.",
                name=data.get("technician"),
                count=data.get("count", 0),
                strategy=strategies.get(data.get("strategy"), data.get("strategy") or ""),
            )
        else:
            reason = data.get("review_reason")
            text = self.env._(
                "Held for a dispatcher: %(reason)s.", reason=reasons.get(reason, reason or self.env._("unknown"))
            )
        contract = data.get("contract") or {}
        if contract.get("status") == "eligible":
            text += " " + self.env._("The contract technician was eligible.")
        elif contract.get("status") == "missing":
            text += " " + self.env._("The contract technician does not cover this inquiry.")
        elif contract.get("status") == "dropped":
            text += " " + self.env._(
                "The contract technician was passed over: %(rule)s.", rule=self._rule_label(contract.get("rule"))
            )
        if data.get("busy"):
            text += " " + self.env._(
                "Passed over, being offered another inquiry at the same moment: %(names)s.",
                names=", ".join(data["busy"]),
            )
        if data.get("excluded"):
            text += " " + self.env._(
                "Not offered again to %(names)s, who had the job when it was routed again.",
                names=", ".join(data["excluded"]),
            )
        override = data.get("override")
        if override:
            text += " " + self.env._(
                "Override by %(user)s: %(rules)s.",
                user=override.get("user") or "",
                rules=", ".join(self._rule_label(rule) for rule in override.get("rules") or ()),
            )
        return text

    @api.model
    def _explain_candidate(self, strategy, inquiry, candidate, rule=None):
        """Why ``candidate`` (an engine.Candidate) ranks where it does, or the rule that dropped it,
        in words a dispatcher uses and in the current language."""
        if rule:
            return self._explain_dropped(inquiry, candidate, rule)
        return self._explain_ranked(strategy, inquiry, candidate)

    @api.model
    def _explain_dropped(self, inquiry, candidate, rule):
        if rule == engine.RULE_COMPANY:
            return self.env._("Works for another company")
        if rule == engine.RULE_INACTIVE:
            return self.env._("Archived, or no longer a technician")
        if rule == engine.RULE_AREA:
            radius = [hit for hit in candidate.area_hits if hit.kind == "radius"]
            if radius:
                nearest = min(radius, key=lambda hit: float("inf") if hit.distance_km is None else hit.distance_km)
                if nearest.distance_km is None:
                    return self.env._(
                        "Distance unknown; travels up to %(radius)s km",
                        radius=formatLang(self.env, nearest.radius_km, digits=0),
                    )
                return self.env._(
                    "%(distance)s km away; travels up to %(radius)s km",
                    distance=formatLang(self.env, nearest.distance_km, digits=0),
                    radius=formatLang(self.env, nearest.radius_km, digits=0),
                )
            return self.env._("Does not cover this postal code")
        if rule == engine.RULE_SPECIALIZATION:
            if inquiry.safety_critical:
                return self.env._("Not trained for this safety-critical equipment")
            return self.env._("Not trained for this equipment")
        if rule == engine.RULE_CERTIFICATION:
            return self.env._("Not certified for this SLA tier")
        if rule == engine.RULE_PAUSED:
            return self.env._("Paused: takes no new jobs")
        if rule == engine.RULE_AWAY:
            return self.env._("Away until %(date)s", date=format_date(self.env, candidate.away_until))
        if rule == engine.RULE_CAPACITY:
            return self.env._(
                "Fully booked: %(open)s of %(capacity)s jobs open",
                open=candidate.open_count,
                capacity=candidate.capacity,
            )
        if rule == engine.RULE_DECLINED:
            return self.env._("Declined this inquiry before")
        if rule == engine.RULE_EXCLUDED:
            return self.env._("Had the job when a dispatcher routed it again")
        return self._rule_label(rule)

    @api.model
    def _explain_ranked(self, strategy, inquiry, candidate):
        """What the strategy ranks an eligible candidate by."""
        load = self.env._("%(open)s of %(capacity)s jobs open", open=candidate.open_count, capacity=candidate.capacity)
        if strategy == engine.STRATEGY_LEAST_LOADED:
            return load
        if strategy == engine.STRATEGY_NEAREST:
            distance = engine.distance_km(inquiry, candidate)
            if distance is None:
                return self.env._("Distance unknown; %(load)s", load=load)
            return self.env._(
                "%(distance)s km away; %(load)s", distance=formatLang(self.env, distance, digits=0), load=load
            )
        if strategy == engine.STRATEGY_BEST_RESPONSE:
            if not candidate.offers_answered:
                return self.env._("No answered offers yet; %(load)s", load=load)
            if candidate.mean_accept_hours is None:
                return self.env._(
                    "Accepted %(accepted)s of %(answered)s offers; %(load)s",
                    accepted=candidate.offers_accepted,
                    answered=candidate.offers_answered,
                    load=load,
                )
            return self.env._(
                "Accepted %(accepted)s of %(answered)s offers, on average within %(hours)s h; %(load)s",
                accepted=candidate.offers_accepted,
                answered=candidate.offers_answered,
                hours=formatLang(self.env, candidate.mean_accept_hours, digits=1),
                load=load,
            )
        # fair rotation: whose turn it is
        credit = candidate.rotation_credit or 0.0
        if credit > 0.005:
            share = self.env._("%(jobs)s jobs behind their fair share", jobs=formatLang(self.env, credit, digits=1))
        elif credit < -0.005:
            share = self.env._("%(jobs)s jobs ahead of their fair share", jobs=formatLang(self.env, -credit, digits=1))
        else:
            share = self.env._("has had their fair share")
        if candidate.last_offered_at:
            last = self.env._(
                "last job offered %(when)s",
                when=format_minutes(self.env, candidate.last_offered_at),
            )
        else:
            last = self.env._("never offered a job yet")
        return self.env._("%(share)s, %(last)s; %(load)s", share=share, last=last, load=load)


def _json_without_nulls(value):
    """``value`` without null members, so that XML-RPC (which has no null) can read it back."""
    if isinstance(value, dict):
        return {key: _json_without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_json_without_nulls(item) for item in value if item is not None]
    return value
