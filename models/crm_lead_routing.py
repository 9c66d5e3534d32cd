# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..engine import routing as engine
from ..engine.postal import normalize_postal_code
from .crm_lead import OPEN_ROUTING_STATES
from .service_offer import DECLINE_REASONS

_logger = logging.getLogger(__name__)


class CrmLead(models.Model):
    """Routing: acceptance, routing orchestration and the backstop cron."""

    _inherit = "crm.lead"

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_service_accept(self):
        """The technician (or a dispatcher for them) accepts the inquiry."""
        for lead in self:
            lead._service_check_technician_access()
            if lead.routing_state != "offered":
                raise UserError(
                    self.env._(
                        "%(lead)s is not offered to a technician and cannot be accepted.", lead=lead.display_name
                    )
                )
            now = fields.Datetime.now()
            offer = lead._service_current_offer()
            offer.sudo()._respond("accepted")
            lead.sudo().write({"routing_state": "accepted", "accepted_at": now})
            lead.sudo().message_post(
                body=self.env._("Accepted by %(technician)s.", technician=lead.technician_id.display_name),
                subtype_xmlid="mail.mt_note",
            )
        return True

    def action_service_decline(self, reason, note=False):
        """The technician declines with a reason; the inquiry is routed to the next one."""
        if reason not in dict(DECLINE_REASONS):
            raise ValidationError(
                self.env._(
                    "Unknown decline reason %(reason)s; use one of: %(reasons)s.",
                    reason=reason,
                    reasons=", ".join(key for key, _label in DECLINE_REASONS),
                )
            )
        if reason == "other" and not (note or "").strip():
            raise ValidationError(self.env._("Say why you decline when the reason is 'Other'."))
        for lead in self:
            lead._service_check_technician_access()
            if lead.routing_state not in OPEN_ROUTING_STATES:
                raise UserError(
                    self.env._(
                        "%(lead)s is not offered to a technician and cannot be declined.", lead=lead.display_name
                    )
                )
            technician = lead.technician_id
            offer = lead._service_current_offer()
            offer.sudo()._respond("declined", decline_reason=reason, decline_note=note or False)
            lead.sudo().write({"routing_state": "new", "technician_id": False, "accepted_at": False})
            lead.sudo().message_post(
                body=self.env._(
                    "Declined by %(technician)s: %(reason)s %(note)s",
                    technician=technician.display_name,
                    reason=dict(DECLINE_REASONS)[reason],
                    note=note or "",
                ),
                subtype_xmlid="mail.mt_note",
            )
            lead.sudo()._service_route("decline")
        return True

    def action_service_reroute(self):
        """Dispatcher: route again now, withdrawing the current offer."""
        self._service_check_dispatcher()
        self._service_withdraw_offers()
        self._service_route("rerun")
        return True

    def action_service_open_assign(self):
        self.ensure_one()
        self._service_check_dispatcher()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Assign Technician"),
            "res_model": "crm.lead.assign",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_id": self.id},
        }

    def action_service_open_decline(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Decline Inquiry"),
            "res_model": "crm.lead.decline",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_id": self.id},
        }

    # ------------------------------------------------------------
    # BUSINESS: ACCESS
    # ------------------------------------------------------------

    def _service_is_dispatcher(self):
        return self.env.su or self.env.user.has_group("crm_service_routing.group_service_dispatcher")

    def _service_check_dispatcher(self):
        if not self._service_is_dispatcher():
            raise AccessError(self.env._("Only service dispatchers can route inquiries by hand."))
        self.check_access("write")

    def _service_check_technician_access(self):
        """The current user acts for the lead's technician, or is a dispatcher."""
        self.ensure_one()
        if self._service_is_dispatcher():
            self.check_access("write")
            return
        user_partner = self.env.user.partner_id
        technician = self.technician_id
        if not technician or (
            user_partner != technician and user_partner.commercial_partner_id != technician.commercial_partner_id
        ):
            raise AccessError(self.env._("Only the technician the inquiry is offered to can answer it."))

    def _service_current_offer(self):
        self.ensure_one()
        return self.offer_ids.filtered(
            lambda o: o.technician_id == self.technician_id and o.state in ("offered", "accepted")
        )[:1]

    # ------------------------------------------------------------
    # BUSINESS: ROUTING
    # ------------------------------------------------------------

    def _service_route_safely(self, trigger):
        """Route, but never lose an inquiry to a routing error: it stays new for the backstop."""
        # the savepoints below flush first: an error in the caller's pending
        # writes (e.g. a duplicate external reference) is the caller's, not a
        # routing error to swallow in an aborted transaction
        self.env.flush_all()
        for lead in self:
            try:
                with self.env.cr.savepoint():
                    lead._service_route(trigger)
            except Exception:
                _logger.exception("Routing of inquiry %s failed; the backstop will retry it.", lead.id)

    def _service_route(self, trigger):
        """Route each inquiry: offer it to the chosen technician or hold it for review.

        Returns {lead id: decision}.
        """
        decisions = {}
        for lead in self:
            inquiry, candidates = lead._service_gather_facts()
            decision = engine.decide(inquiry, candidates, lead._service_strategy(), fields.Date.context_today(lead))
            lead._service_apply_decision(decision, trigger, inquiry, candidates)
            decisions[lead.id] = decision
        return decisions

    def _service_strategy(self):
        self.ensure_one()
        return (
            self.service_level_id.routing_strategy
            or self.company_id.service_routing_strategy
            or (self.env.company.service_routing_strategy)
        )

    def _service_gather_facts(self, extra_technician_ids=()):
        """(engine.Inquiry, [engine.Candidate]) for this inquiry, in a few queries."""
        self.ensure_one()
        # the queries below read offers, loads and areas written through the ORM
        self.env.flush_all()
        company = self.company_id or self.env.company
        point = self.env["service.postal.code"]._locate(self.country_id, self.zip) if self.zip else None
        contract = self.contract_id if self.contract_id.state == "valid" else self.env["service.contract"]
        contract_technician = contract.technician_id
        hits = {}
        if point:
            extra = set(extra_technician_ids) | ({contract_technician.id} if contract_technician else set())
            for tech_id, kind, lat, lon, radius in self.env["service.area"]._hits(
                self.country_id.id, normalize_postal_code(self.zip), point[0], point[1], extra
            ):
                distance = engine.haversine_km(point[0], point[1], lat, lon) if kind == "radius" else None
                hits.setdefault(tech_id, []).append(engine.AreaHit(kind, distance, radius))
        technician_ids = set(hits) | set(extra_technician_ids)
        if contract_technician:
            technician_ids.add(contract_technician.id)
        candidates, declined = self._service_candidates(technician_ids, hits, company)
        level = self.service_level_id
        inquiry = engine.Inquiry(
            company_id=company.id,
            equipment_type_ids=self.equipment_type_id._ancestor_ids() if self.equipment_type_id else frozenset(),
            required_certification_id=level.id if level.certification_required else None,
            latitude=point[0] if point else None,
            longitude=point[1] if point else None,
            existing_customer=self.customer_kind == "existing",
            contract_technician_id=contract_technician.id or None,
            declined_technician_ids=declined,
            safety_critical=self.safety_critical,
            large_account=self.partner_id.commercial_partner_id.is_large_account,
            postal_code_known=bool(point),
            equipment_known=not (self.equipment_received and not self.equipment_type_id),
        )
        return inquiry, candidates

    def _service_candidates(self, technician_ids, hits, company):
        """([engine.Candidate], ids of those who declined this inquiry), in one query."""
        if not technician_ids:
            return [], frozenset()
        since = fields.Datetime.now() - datetime.timedelta(days=company.service_response_window_days or 90)
        self.env.cr.execute(
            """
            SELECT p.id, p.name, p.company_id, p.active AND p.is_technician,
                   ARRAY(SELECT equipment_type_id FROM res_partner_service_equipment_type_rel r
                          WHERE r.partner_id = p.id),
                   ARRAY(SELECT service_level_id FROM res_partner_service_level_rel r
                          WHERE r.partner_id = p.id),
                   p.service_paused, p.service_away_until, p.service_capacity,
                   NULLIF(p.service_latitude, 0), NULLIF(p.service_longitude, 0),
                   (SELECT count(*) FROM crm_lead l
                     WHERE l.technician_id = p.id AND l.active AND l.id != %(lead)s
                       AND l.routing_state IN ('offered', 'accepted') AND COALESCE(l.probability, 0) < 100),
                   last.offered_at,
                   stats.answered, stats.accepted, stats.hours,
                   last.id,
                   p.service_rotation_credit,
                   EXISTS(SELECT 1 FROM service_offer d
                           WHERE d.lead_id = %(lead)s AND d.technician_id = p.id AND d.state = 'declined')
              FROM res_partner p
              LEFT JOIN LATERAL (
                    SELECT o.id, o.offered_at FROM service_offer o
                     WHERE o.technician_id = p.id ORDER BY o.id DESC LIMIT 1
                   ) last ON TRUE
              LEFT JOIN LATERAL (
                    SELECT count(*) FILTER (WHERE o.state IN ('accepted', 'declined')) AS answered,
                           count(*) FILTER (WHERE o.state = 'accepted') AS accepted,
                           avg(o.response_hours) FILTER (WHERE o.state = 'accepted') AS hours
                      FROM service_offer o
                     WHERE o.technician_id = p.id AND o.offered_at >= %(since)s
                   ) stats ON TRUE
             WHERE p.id = ANY(%(ids)s)
            """,
            {"ids": list(technician_ids), "lead": self.id or 0, "since": since},
        )
        rows = self.env.cr.fetchall()
        candidates = [
            engine.Candidate(
                id=row[0],
                name=row[1],
                company_id=row[2],
                active=bool(row[3]),
                area_hits=tuple(hits.get(row[0], ())),
                specialization_ids=frozenset(row[4]),
                certification_ids=frozenset(row[5]),
                paused=bool(row[6]),
                away_until=row[7],
                capacity=row[8] or 0,
                latitude=row[9],
                longitude=row[10],
                open_count=row[11],
                last_offered_at=row[12],
                offers_answered=row[13] or 0,
                offers_accepted=row[14] or 0,
                mean_accept_hours=float(row[15]) if row[15] is not None else None,
                last_offer_seq=row[16] or 0,
                rotation_credit=row[17] or 0.0,
            )
            for row in rows
        ]
        return candidates, frozenset(row[0] for row in rows if row[18])

    def _service_apply_decision(self, decision, trigger, inquiry, candidates, chosen_by=None):
        """Write a decision: an offer to its technician, or the review queue; and its log."""
        self.ensure_one()
        log = self._service_log(decision, trigger, inquiry, candidates, chosen_by=chosen_by)
        if decision.technician_id:
            self._service_offer(decision.technician_id, log)
            self._service_pay_rotation(engine.rotation_credits(decision))
        else:
            self.sudo().with_context(tracking_disable=True).write(
                {
                    "routing_state": "review",
                    "technician_id": False,
                    "review_reason": decision.review_reason,
                }
            )
        return log

    def _service_offer(self, technician_id, log):
        now = fields.Datetime.now()
        self.env["service.offer"].sudo().create(
            {
                "lead_id": self.id,
                "company_id": self.company_id.id,
                "technician_id": technician_id,
                "offered_at": now,
                "routing_log_id": log.id,
            }
        )
        self.sudo().with_context(tracking_disable=True, service_routing_offer=True).write(
            {
                "routing_state": "offered",
                "technician_id": technician_id,
                "offered_at": now,
                "accepted_at": False,
                "review_reason": False,
            }
        )

    def _service_pay_rotation(self, changes):
        """Apply rotation credit changes in one statement (rows in id order, as every routing locks them)."""
        if not changes:
            return
        ids = sorted(changes)
        self.env.cr.execute(
            """UPDATE res_partner p SET service_rotation_credit = COALESCE(p.service_rotation_credit, 0) + c.change
                 FROM unnest(%s::int[], %s::float[]) AS c(id, change)
                WHERE p.id = c.id""",
            (ids, [changes[i] for i in ids]),
        )
        self.env["res.partner"].browse(ids).invalidate_recordset(["service_rotation_credit"])

    def _service_withdraw_offers(self):
        offers = self.offer_ids.filtered(lambda o: o.state in ("offered", "accepted"))
        offers.sudo()._respond("withdrawn")

    def _service_log(self, decision, trigger, inquiry, candidates, chosen_by=None):
        names = {c.id: c.name for c in candidates}
        if decision.technician_id:
            by = chosen_by or decision.chosen_by
            reason = {
                "contract": self.env._("Offered to the contract technician %(name)s."),
                "dispatcher": self.env._("Offered to %(name)s by a dispatcher."),
            }.get(by, self.env._("Offered to %(name)s, first by %(strategy)s of %(count)s eligible."))
            reason = reason % {
                "name": names.get(decision.technician_id, decision.technician_id),
                "strategy": decision.strategy,
                "count": len(decision.ranking),
            }
        else:
            by = None
            reason = dict(self.env["service.routing.log"]._fields["review_reason"]._description_selection(self.env))[
                decision.review_reason
            ]
        if decision.contract_note and by != "contract":
            reason = f"{reason} ({decision.contract_note})"
        return (
            self.env["service.routing.log"]
            .sudo()
            .create(
                {
                    "lead_id": self.id,
                    "company_id": self.company_id.id,
                    "trigger": trigger,
                    "outcome": "offered" if decision.technician_id else "review",
                    "technician_id": decision.technician_id,
                    "strategy": decision.strategy,
                    "chosen_by": by,
                    "review_reason": decision.review_reason,
                    "reason": reason,
                    "candidate_count": len(decision.ranking),
                    "dropped_count": len(decision.dropped),
                    "decision": decision.to_json(),
                    "facts": engine.facts_to_json(inquiry, candidates),
                }
            )
        )

    @api.model
    def _cron_route_pending(self, batch_size=200):
        """Backstop: route inquiries that are new, or held for want of a candidate."""
        return self._route_pending(batch_size=batch_size)

    @api.model
    def _route_pending(self, batch_size=200):
        self.env.cr.execute(
            """SELECT id FROM crm_lead
                WHERE active AND (routing_state = 'new'
                      OR (routing_state = 'review' AND review_reason = 'no_candidate'
                          AND write_date < (now() at time zone 'UTC') - interval '1 hour'))
                ORDER BY id
                LIMIT %s
                FOR UPDATE SKIP LOCKED""",
            (batch_size,),
        )
        leads = self.browse(row[0] for row in self.env.cr.fetchall())
        leads._service_route_safely("cron")
        # a full batch may leave more: the cron runs again at once
        self.env["ir.cron"]._notify_progress(done=len(leads), remaining=int(len(leads) == batch_size))
        return leads
