# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import dataclasses
import datetime
import functools
import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..engine import lifecycle
from ..engine import routing as engine
from .crm_lead import CREATION_DEFERRED
from .res_partner import parse_qualification_key
from .service_constants import CONCURRENCY_ERRORS, ENGINE_RULED, LIVE_ROUTING_STATES, ROUTING_WRITE

_logger = logging.getLogger(__name__)

# failed routings of one inquiry before it goes to review; the backstop
# waits 2, 4, 8, 16 minutes between them
MAX_ROUTING_ATTEMPTS = 5
# inquiries routed in one call from which their decisions are written together (a log INSERT,
# an offer INSERT), and the rotation ledger is folded before the call ends
BATCH_ROUTING = 10
# a postal-code range that contains the inquiry's code: all alike, hundreds per routing at scale
RANGE_HIT = engine.AreaHit("range")


class CandidateFacts:
    """The candidates' facts of inquiries decided one after another and written together (a batch).

    One query per inquiry would read each technician again for every
    inquiry of an area. Here a technician is read once per batch (one query
    for those not read yet), and the batch's own claims are carried into
    what it read: a slot taken, and the one the inquiry gave up, count in
    the load; the rotation credits paid, and the offer as the technician's
    last one, count in the rotation. The offers themselves are written after
    the batch. Read the facts of a batch's inquiries through this object
    only, after the writes that precede the batch (see
    ``_service_gather_facts``).
    """

    OPEN_COUNT, LAST_OFFERED_AT, LAST_OFFER_SEQ, ROTATION, DECLINED = 10, 11, 15, 16, 17

    def __init__(self, leads):
        self.leads = leads
        self.rows = {}  # (company id, lead's company id or 0, with_stats) -> {technician id: row as a list}
        self.slots = None  # lead id -> (technician id, company id or 0) of the slot it holds
        self.declined = None  # lead id -> technicians that declined it or let it expire
        self.located = {}  # (country id, postal code, extra technician ids) -> (point, areas)

    def locate(self, country, code, extra):
        key = (country.id, code, frozenset(extra))
        if key not in self.located:
            self.located[key] = country.env["service.area"]._locate_hits(country, code, extra)
        return self.located[key]

    def candidate_rows(self, lead, technician_ids, company, with_stats):
        """The rows of ``lead._service_candidate_rows`` for ``lead``, from what the batch read."""
        if self.slots is None:
            self._read_inquiries(lead.env)
        lead_company = lead.company_id.id or 0
        known = self.rows.setdefault((company.id, lead_company, bool(with_stats)), {})
        missing = set(technician_ids) - set(known)
        if missing:
            for row in lead._service_candidate_rows(missing, company, with_stats, lead_id=0):
                known[row[0]] = list(row)
        own = self.slots.get(lead.id)
        declined = self.declined.get(lead.id, ())
        rows = []
        for technician_id in sorted(technician_ids):
            if technician_id not in known:
                continue
            row = list(known[technician_id])
            if own == (technician_id, lead_company):
                row[self.OPEN_COUNT] -= 1
            row[self.DECLINED] = technician_id in declined
            rows.append(row)
        return rows

    def _read_inquiries(self, env):
        """The slots the batch's inquiries hold and the technicians they were declined by, in one query."""
        env.cr.execute(
            """SELECT 'slot', lead_id, technician_id, COALESCE(company_id, 0)
                 FROM service_technician_slot WHERE lead_id = ANY(%(leads)s)
               UNION ALL
               SELECT 'declined', lead_id, technician_id, 0
                 FROM service_offer WHERE lead_id = ANY(%(leads)s) AND state IN ('declined', 'expired')""",
            {"leads": self.leads.ids},
        )
        self.slots, self.declined = {}, {}
        for kind, lead_id, technician_id, company_id in env.cr.fetchall():
            if kind == "slot":
                self.slots[lead_id] = (technician_id, company_id)
            else:
                self.declined.setdefault(lead_id, set()).add(technician_id)

    def claimed(self, lead, tried, decision):
        """``lead`` claimed ``decision``'s technician (``tried``: a claim was made, which gives up the
        inquiry's slot even when it took none): the load and rotation the next decisions read."""
        if not tried or self.slots is None:
            return
        released = self.slots.pop(lead.id, None)
        taken = None
        if decision.technician_id:
            taken = self.slots[lead.id] = (decision.technician_id, lead.company_id.id or 0)
        rotation_company = (lead.company_id or lead.env.company).id
        credits = engine.rotation_credits(decision) if decision.technician_id else {}
        for (company_id, lead_company, _stats), known in self.rows.items():
            for slot, change in ((released, -1), (taken, 1)):
                if slot and slot[1] == lead_company and slot[0] in known:
                    known[slot[0]][self.OPEN_COUNT] += change
            if company_id == rotation_company:
                for technician_id, change in credits.items():
                    if technician_id in known:
                        row = known[technician_id]
                        row[self.ROTATION] = (row[self.ROTATION] or 0.0) + change
                if decision.technician_id in known:
                    # the ledger numbered the offer after every one read before it
                    row = known[decision.technician_id]
                    row[self.LAST_OFFER_SEQ] = max((r[self.LAST_OFFER_SEQ] or 0) for r in known.values()) + 1
                    row[self.LAST_OFFERED_AT] = fields.Datetime.now()


class CrmLead(models.Model):
    """Routing: acceptance, routing orchestration and the backstop cron."""

    _inherit = "crm.lead"

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_service_accept(self, offer_id=None):
        """Accept the offer named by ``offer_id`` (or the context's ``service_offer_id``)."""
        return self._service_named_offer(offer_id).action_accept()

    def action_service_decline(self, reason, note=False, offer_id=None):
        """Decline the named offer with a reason; the inquiry is routed to the next technician."""
        return self._service_named_offer(offer_id).action_decline(reason, note)

    def action_service_reroute(self):
        """Dispatcher: route again now, withdrawing the current offer.

        An accepted job is withdrawn from its technician only once the
        dispatcher confirmed it (context ``service_reroute_confirmed``, set by
        the confirmation dialog this returns otherwise). Returns a
        notification that says where each inquiry went.
        """
        self._service_check_dispatcher()
        leads = self.filtered(lambda lead: lead.routing_state in LIVE_ROUTING_STATES)
        if not leads:
            raise UserError(
                self.env._("Only open service inquiries are routed again; won, lost or closed ones stay as they are.")
            )
        accepted = leads.filtered(lambda lead: lead.routing_state == "accepted")
        if accepted and not self.env.context.get("service_reroute_confirmed"):
            return self.env["crm.lead.reroute"]._action_confirm(leads)
        for lead in leads:
            previous = lead.sudo().service_offer_id
            previous_state = previous.state
            technician = previous.technician_id
            if previous:
                # an offer accepted since the dispatcher looked is not withdrawn unasked
                confirmed = self.env.context.get("service_reroute_confirmed")
                lead._service_transition("withdraw", expected=None if confirmed else ("offered",))
            lead._service_route("rerun", exclude=technician.ids)
            outcome = lead.sudo().routing_log_ids.sorted("id")[-1:].reason or ""
            if previous_state == "accepted":
                body = self.env._(
                    "Routed again by %(user)s: the job accepted by %(technician)s was withdrawn from them "
                    "and is not offered to them again. %(outcome)s",
                    user=self.env.user.name,
                    technician=technician.display_name,
                    outcome=outcome,
                )
            elif previous:
                body = self.env._(
                    "Routed again by %(user)s: the open offer to %(technician)s was withdrawn and is not "
                    "offered to them again. %(outcome)s",
                    user=self.env.user.name,
                    technician=technician.display_name,
                    outcome=outcome,
                )
            else:
                body = self.env._("Routed again by %(user)s. %(outcome)s", user=self.env.user.name, outcome=outcome)
            lead.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")
        return self._service_routing_feedback(leads)

    def action_service_confirm_match(self):
        """Dispatcher: link the suggested contract and equipment of an inquiry held as 'match to confirm',
        then route it."""
        self._service_check_dispatcher()
        for lead in self.filtered("match_to_confirm"):
            equipment = lead.suggested_equipment_id
            contract = lead.suggested_contract_id
            customer = contract.partner_id or equipment.partner_id
            vals = {
                "match_to_confirm": False,
                "contract_id": contract.id,
                "equipment_id": equipment.id,
                "partner_id": customer.id or lead.partner_id.id,
                "match_method": "manual",
                "review_note": False,
            }
            if equipment and not lead.equipment_type_id:
                vals["equipment_type_id"] = equipment.equipment_type_id.id
            if contract.state == "valid":
                vals["service_level_id"] = contract.service_level_id.id
            lead.write(vals)
            if lead.routing_state == "review" and lead.review_reason == "match_to_confirm":
                lead._service_route("rerun")
        return True

    def action_service_reject_match(self):
        """Dispatcher: the suggested match is not the caller's: route the inquiry without it."""
        self._service_check_dispatcher()
        for lead in self.filtered("match_to_confirm"):
            lead.write({"match_to_confirm": False, "suggested_contract_id": False, "suggested_equipment_id": False})
            if lead.routing_state == "review" and lead.review_reason == "match_to_confirm":
                lead._service_route("rerun")
        return True

    def action_service_open_assign(self):
        self.ensure_one()
        self._service_check_dispatcher()
        return self.env["crm.lead.assign"]._action_open(self)

    def action_service_open_decline(self):
        self.ensure_one()
        offer = self._service_named_offer(None)
        offer._check_answer_access()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Decline Inquiry"),
            "res_model": "crm.lead.decline",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_id": self.id, "default_offer_id": offer.id},
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

    def _service_named_offer(self, offer_id):
        """The offer an answer names: an argument, else the context's ``service_offer_id`` (set by the form).

        An answer never falls back to whatever offer is open now: by then it
        may be another technician's.
        """
        if len(self) != 1:
            raise UserError(self.env._("Answer one inquiry at a time; this call names %(count)s.", count=len(self)))
        offer_id = offer_id or self.env.context.get("service_offer_id")
        if not offer_id:
            raise UserError(
                self.env._("Name the offer you answer (offer_id): %(lead)s may have moved on.", lead=self.display_name)
            )
        if isinstance(offer_id, bool) or not isinstance(offer_id, int) or not 0 < offer_id < 2**31:
            raise ValidationError(self.env._("An offer is named by its id, a number."))
        offer = self.env["service.offer"].browse(offer_id)
        if not offer.exists() or offer.lead_id != self:
            raise UserError(
                self.env._("Offer %(offer)s is not an offer of %(lead)s.", offer=offer_id, lead=self.display_name)
            )
        return offer

    # ------------------------------------------------------------
    # BUSINESS: ROUTING
    # ------------------------------------------------------------

    def _service_route_safely(self, trigger, retry_concurrency=True):
        """Route; a routing error never loses an inquiry: it stays new, and the backstop retries it.

        Concurrency errors are not routing errors: they propagate so that the
        request is retried on fresh data (``retry_concurrency``), or, in the
        backstop, leave the inquiry for its next run. From BATCH_ROUTING
        inquiries on, each is decided (and its technician's slot claimed) on
        its own, and their decisions are written together.
        """
        # the savepoints below flush first: an error in the caller's pending
        # writes (e.g. a duplicate external reference) is the caller's, not a
        # routing error to swallow in an aborted transaction
        self.env.flush_all()
        if len(self) < BATCH_ROUTING:
            for lead in self:
                lead._service_attempt(lambda lead=lead: lead._service_route(trigger), retry_concurrency)
            return
        decided = self._service_decide_batch(attempt=lambda lead, step: lead._service_attempt(step, retry_concurrency))
        if decided:
            self._service_apply_decisions(decided, trigger, retry_concurrency)

    def _service_decide_batch(self, attempt=None):
        """[(lead, decision, inquiry, candidates, busy)]: these inquiries decided and claimed one after
        another, the technicians read once for all of them (CandidateFacts), to be written together.

        ``attempt(lead, step)``: runs a lead's step and returns (done, result), as ``_service_attempt``
        does (an inquiry whose routing fails is left out); without it, an error propagates.
        """
        batch = CandidateFacts(self)
        decided = []
        for lead in self:
            step = functools.partial(lead._service_decide, batch=batch)
            done, result = attempt(lead, step) if attempt else (True, step())
            if done:
                decided.append((lead, *result))
        return decided

    def _service_attempt(self, step, retry_concurrency):
        """(True, ``step()``) run in a savepoint, or (False, None) after a routing error counted on the inquiry."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                return True, step()
        except CONCURRENCY_ERRORS:
            if retry_concurrency:
                raise
            _logger.info("Routing of inquiry %s met a concurrent routing; left for the next run.", self.id)
        except (UserError, ValidationError) as error:
            _logger.info("Routing of inquiry %s failed: %s", self.id, error)
            self._service_routing_failed(error)
        except Exception as error:
            _logger.exception("Routing of inquiry %s failed; the backstop will retry it.", self.id)
            self._service_routing_failed(error)
        return False, None

    def _service_apply_decisions(self, decided, trigger, retry_concurrency):
        """Write the decisions of a batch ([(lead, decision, inquiry, candidates, busy)]) together; if that
        fails, one by one, an inquiry whose decision cannot be written giving back its claim."""
        try:
            with self.env.cr.savepoint():
                self._service_write_decisions(decided, trigger)
            return
        except CONCURRENCY_ERRORS:
            if retry_concurrency:
                raise
        except Exception:
            _logger.info("Routing decisions of %s written one by one after an error.", self.ids, exc_info=True)
        self.env.invalidate_all(flush=False)
        for lead, decision, inquiry, candidates, busy in decided:
            done, _log = lead._service_attempt(
                lambda lead=lead, decision=decision, inquiry=inquiry, candidates=candidates, busy=busy: (
                    lead._service_apply_decision(decision, trigger, inquiry, candidates, busy=busy, rotation_paid=True)
                ),
                retry_concurrency,
            )
            if not done:
                lead._service_release_claim(decision)

    def _service_release_claim(self, decision):
        """Give back what claiming ``decision`` took: the technician's slot, and its rotation credits.

        The ledger keeps the offer the claim recorded as the technician's last
        one: among technicians of equal credit it comes after the others once,
        as if it had had the offer."""
        self.ensure_one()
        if decision.technician_id:
            self.env["service.technician.slot"]._release(self.id)
            self._service_pay_rotation(
                {tech_id: -change for tech_id, change in engine.rotation_credits(decision).items()}
            )

    def _service_routing_failed(self, error):
        """Count a failed routing: retry later with backoff, or hold for review after a few."""
        self.ensure_one()
        attempts = self.routing_attempts + 1
        message = (error.args[0] if isinstance(error, UserError) and error.args else repr(error))[:500]
        if attempts >= MAX_ROUTING_ATTEMPTS:
            self._service_transition(
                "review", routing_attempts=attempts, routing_error=message, review_reason="routing_error"
            )
            return
        retry_at = fields.Datetime.now() + datetime.timedelta(minutes=2**attempts)
        self._service_write_routing(
            {"routing_attempts": attempts, "routing_error": message, "routing_retry_at": retry_at}
        )
        self.env.ref("crm_service_routing.ir_cron_route_pending").sudo()._trigger(at=retry_at)

    def _service_route(self, trigger, exclude=()):
        """Route each inquiry: offer it to the chosen technician or hold it for review.

        ``exclude``: technicians passed over on purpose (Route Again: the one
        who had the job). Returns {lead id: decision}.
        """
        decisions = {}
        for lead in self:
            decision, inquiry, candidates, busy = lead._service_decide(exclude=exclude)
            lead._service_apply_decision(decision, trigger, inquiry, candidates, busy=busy, rotation_paid=True)
            decisions[lead.id] = decision
        return decisions

    def _service_decide(self, exclude=(), batch=None):
        """(decision, inquiry, candidates, busy ids): the facts, the engine's decision and its claim.

        ``batch``: the CandidateFacts of inquiries decided one after another and written together."""
        self.ensure_one()
        inquiry, candidates = self._service_gather_facts(exclude=exclude, batch=batch)
        decision = engine.decide(inquiry, candidates, self._service_strategy(), fields.Date.context_today(self))
        claimed, busy = self._service_claim(decision, candidates)
        if batch is not None:
            batch.claimed(self, bool(decision.technician_id), claimed)
        return claimed, inquiry, candidates, busy

    def _service_claim(self, decision, candidates):
        """(decision, busy ids): a capacity slot of the chosen technician, or of the next ranked one.

        Two routings that chose the same technician at the same moment both
        counted its load in their own snapshot; the slot (see
        service.technician.slot) lets each into free room only. One that
        finds the technician held by another routing right now takes the
        next in its ranking; a contract technician, and the last ranked one,
        are waited for instead. The rotation credits of the decision are
        paid with the claim that makes it.
        """
        self.ensure_one()
        if not decision.technician_id:
            return decision, ()
        Slot = self.env["service.technician.slot"]
        capacity = {c.id: c.capacity for c in candidates}
        order = [decision.technician_id] + [r.id for r in decision.ranking if r.id != decision.technician_id]
        # first each in turn, passing over those another routing holds right now; then those, waited for
        held = []
        attempts = [(technician_id, "try") for technician_id in order]
        if decision.chosen_by == engine.CHOSEN_CONTRACT:
            attempts[0] = (decision.technician_id, "wait")
        while attempts:
            technician_id, lock = attempts.pop(0)
            chosen = decision
            if technician_id != decision.technician_id:
                chosen = dataclasses.replace(decision, technician_id=technician_id, chosen_by=engine.CHOSEN_STRATEGY)
            slot = Slot._claim(
                technician_id,
                self.id,
                company_id=self.company_id.id,
                capacity=capacity.get(technician_id, 0),
                lock=lock,
                rotation=((self.company_id or self.env.company).id, engine.rotation_credits(chosen)),
            )
            if slot is not None and slot >= 0:
                return chosen, tuple(t for t in order[: order.index(technician_id)])
            if slot is not None:
                held.append(technician_id)
            if not attempts and held:
                attempts, held = [(t, "wait") for t in held], []
        return dataclasses.replace(decision, technician_id=None, review_reason=engine.REVIEW_NO_CANDIDATE), tuple(order)

    def _service_strategy(self):
        self.ensure_one()
        return (
            self.service_level_id.routing_strategy
            or self.company_id.service_routing_strategy
            or (self.env.company.service_routing_strategy)
        )

    def _service_gather_facts(self, extra_technician_ids=(), with_stats=None, exclude=(), batch=None):
        """(engine.Inquiry, [engine.Candidate]) for this inquiry, in a few queries.

        The candidates' response record (offers answered and accepted, hours
        to accept) is read when the strategy ranks by it, or ``with_stats``.
        """
        self.ensure_one()
        if with_stats is None:
            with_stats = self._service_strategy() == engine.STRATEGY_BEST_RESPONSE
        # the queries below read offers, loads and areas written through the ORM
        self.env.flush_all()
        company = self.company_id or self.env.company
        contract = self.contract_id if self.contract_id.state == "valid" else self.env["service.contract"]
        contract_technician = contract.technician_id
        extra = set(extra_technician_ids) | ({contract_technician.id} if contract_technician else set())
        if batch is None:
            point, areas = self.env["service.area"]._locate_hits(self.country_id, self.zip, extra)
        else:
            point, areas = batch.locate(self.country_id, self.zip, extra)
        # no point: an unknown code, or a country whose data are not loaded yet (never loaded here)
        Postal = self.env["service.postal.code"]
        data_loaded = bool(point) or not self.country_id or Postal._is_loaded(self.country_id)
        if not data_loaded and "service.postal.country" in self.env:
            self.env["service.postal.country"].sudo()._request(self.country_id)
        hits = {}
        for tech_id, kind, lat, lon, radius in areas:
            if kind == "radius":
                hit = engine.AreaHit(kind, engine.haversine_km(point[0], point[1], lat, lon), radius)
            else:
                hit = RANGE_HIT
            hits.setdefault(tech_id, []).append(hit)
        technician_ids = set(hits) | set(extra_technician_ids)
        if contract_technician:
            technician_ids.add(contract_technician.id)
        candidates, declined = self._service_candidates(
            technician_ids, hits, company, with_stats=with_stats, batch=batch
        )
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
            excluded_technician_ids=frozenset(exclude),
            safety_critical=self.safety_critical,
            match_to_confirm=self.match_to_confirm,
            large_account=self.partner_id.commercial_partner_id.is_large_account,
            postal_code_known=bool(point),
            postal_data_loaded=data_loaded,
            equipment_known=not (self.equipment_received and not self.equipment_type_id),
        )
        return inquiry, candidates

    def _service_candidates(self, technician_ids, hits, company, with_stats=True, batch=None):
        """([engine.Candidate], ids of those who declined this inquiry), in one query (or from ``batch``)."""
        if not technician_ids:
            return [], frozenset()
        if batch is None:
            rows = self._service_candidate_rows(technician_ids, company, with_stats)
        else:
            rows = batch.candidate_rows(self, technician_ids, company, with_stats)
        candidates = []
        for row in rows:
            specialization_ids, certification_ids = parse_qualification_key(row[4])
            candidates.append(
                engine.Candidate(
                    id=row[0],
                    name=row[1],
                    company_id=row[2],
                    active=bool(row[3]),
                    area_hits=tuple(hits.get(row[0], ())),
                    specialization_ids=specialization_ids,
                    certification_ids=certification_ids,
                    paused=bool(row[5]),
                    away_until=row[6],
                    capacity=row[7] or 0,
                    latitude=row[8],
                    longitude=row[9],
                    open_count=row[10],
                    last_offered_at=row[11],
                    offers_answered=row[12] or 0,
                    offers_accepted=row[13] or 0,
                    mean_accept_hours=float(row[14]) if row[14] is not None else None,
                    last_offer_seq=row[15] or 0,
                    rotation_credit=row[16] or 0.0,
                )
            )
        return candidates, frozenset(row[0] for row in rows if row[17])

    def init(self):
        res = super().init()
        # The candidates' facts, one row per technician: the one query of the routing whose cost grows
        # with the technicians covering a postal code. A function, so that its plan is made once per
        # connection, not at every routing (a third of a millisecond with hundreds of candidates);
        # JIT compilation, on by default, would take tens of milliseconds for a few milliseconds
        # of index reads. plpgsql: it reads the rotation ledger's function, made after this one.
        # A plan kept for the life of a connection must not depend on how many rows the tables
        # held when it was made: one made while the offers or slots were few (a new database,
        # or after a purge) would scan the whole table for each candidate as they grow, for as
        # long as the connection lives (measured: 20 to 80 ms instead of 3 for 200 candidates,
        # two thousand offers later). Every read here is by key: no sequential scan.
        self.env.cr.execute(
            SQL(f"""
            CREATE OR REPLACE FUNCTION service_candidate_facts(
                    technician_ids int[], inquiry int, inquiry_company int, company int,
                    with_stats boolean, since timestamp)
               RETURNS TABLE (
                    c_id int, c_name varchar, c_company_id int, c_active boolean, c_qualifications varchar,
                    c_paused boolean, c_away_until date, c_capacity int, c_latitude numeric,
                    c_longitude numeric, c_open_count bigint, c_last_offered_at timestamp,
                    c_answered bigint, c_accepted bigint, c_accept_hours double precision,
                    c_last_offer_id int, c_rotation_credit double precision, c_declined boolean,
                    c_rotation_entries bigint)
               LANGUAGE plpgsql STABLE
               SET jit = off
               SET plan_cache_mode = force_generic_plan
               SET enable_seqscan = off
               AS $$
               BEGIN
               RETURN QUERY
               SELECT p.id, p.name, p.company_id, p.active AND p.is_technician,
                      -- specializations and certifications (res.partner's service_qualification_key)
                      p.service_qualification_key,
                      p.service_paused, p.service_away_until, p.service_capacity,
                      NULLIF(p.service_latitude, 0), NULLIF(p.service_longitude, 0),
                      -- its open inquiries: each holds one capacity slot (service.technician.slot)
                      (SELECT count(*) FROM service_technician_slot s
                        WHERE s.technician_id = p.id AND COALESCE(s.company_id, 0) = COALESCE(inquiry_company, 0)
                          AND s.lead_id != inquiry),
                      rotation.offered_at,
                      stats.answered, stats.accepted, stats.hours,
                      rotation.offer_seq,
                      rotation.credit,
                      COALESCE(p.id = ANY(declined.ids), false),
                      rotation.entries
                 FROM res_partner p
                 -- the technicians that declined this inquiry or let it expire, read once; the state in
                 -- a FILTER, not a condition: the inquiry's own index, never the one on states
                 CROSS JOIN (
                       SELECT array_agg(d.technician_id) FILTER (WHERE d.state IN ('declined', 'expired')) AS ids
                         FROM service_offer d WHERE d.lead_id = inquiry
                      ) declined
                 -- rotation credit, and last offer in this company: the sum of each technician's ledger
                 -- entries and the last offer they record (see service.rotation.entry), not the offers
                 -- themselves, whose history grows
                 LEFT JOIN service_rotation_credit(technician_ids, company) rotation
                        ON rotation.technician_id = p.id
                 -- The technician's offers are read through its own index (technician, time), whatever
                 -- the statistics said when the plan was made: the time is written so that no other
                 -- index of the offers matches it (one on the time alone would read every offer of the
                 -- window for each candidate; with no offers yet, all indexes look alike to the planner).
                 LEFT JOIN LATERAL (
                       SELECT count(*) FILTER (WHERE {lifecycle.OFFER_ANSWERED_SQL}) AS answered,
                              count(*) FILTER (WHERE {lifecycle.OFFER_ACCEPTED_SQL}) AS accepted,
                              avg(o.response_hours) FILTER (WHERE {lifecycle.OFFER_ACCEPTED_SQL}) AS hours
                         FROM service_offer o
                        WHERE with_stats AND o.technician_id = p.id
                          AND (o.technician_id, o.offered_at) >= (p.id, since)
                      ) stats ON TRUE
                WHERE p.id = ANY(technician_ids);
               END
               $$""")
        )
        return res

    def _service_candidate_rows(self, technician_ids, company, with_stats, lead_id=None):
        """The facts of ``technician_ids`` as candidates for this inquiry (``lead_id``: 0 for any
        inquiry of its company, whose own slot and declines the caller accounts for), one row each
        (the database's ``service_candidate_facts``, made in ``init``)."""
        since = fields.Datetime.now() - datetime.timedelta(days=company.service_response_window_days or 90)
        self.env.cr.execute(
            SQL(
                "SELECT * FROM service_candidate_facts(%s, %s, %s, %s, %s, %s)",
                list(technician_ids),
                (self.id or 0) if lead_id is None else lead_id,
                self.company_id.id or None,
                company.id,
                # the response record is read where the strategy ranks by it (a dispatcher's
                # view of the candidates always shows it): it is the one part of the facts
                # whose cost grows with the offer history
                bool(with_stats),
                since,
            )
        )
        rows = self.env.cr.fetchall()
        self.env["service.rotation.entry"]._fold_if_long(max((row[18] or 0 for row in rows), default=0))
        return rows

    def _service_apply_decision(
        self,
        decision,
        trigger,
        inquiry,
        candidates,
        chosen_by=None,
        busy=(),
        override=None,
        override_note=False,
        rotation_paid=False,
    ):
        """Write a decision: an offer to its technician, or the review queue; and its log.

        ``override``: {"rules": [...], "user": name} of a dispatcher who offered
        against the rules; recorded in the log, and ``override_note`` on the offer.
        ``rotation_paid``: the claim paid the decision's rotation credits already.
        A dispatcher's choice was not claimed by the routing: it takes the
        technician's first free slot here, beyond its capacity if need be.
        """
        self.ensure_one()
        if decision.technician_id and chosen_by == "dispatcher":
            # the slot of an offer withdrawn just before is released in the database before this claim
            self.env.flush_all()
            self.env["service.technician.slot"]._claim(
                decision.technician_id, self.id, company_id=self.company_id.id, lock="wait"
            )
        (log,) = self._service_write_decisions(
            [(self, decision, inquiry, candidates, busy)],
            trigger,
            chosen_by=chosen_by,
            override=override,
            override_note=override_note,
        )
        if decision.technician_id and not rotation_paid:
            self._service_pay_rotation(engine.rotation_credits(decision), offered=decision.technician_id)
        return log

    def _service_write_decisions(self, decided, trigger, chosen_by=None, override=None, override_note=False):
        """Write claimed decisions ([(lead, decision, inquiry, candidates, busy)]): their logs in one
        INSERT, their offers in another, then each inquiry's transition; from BATCH_ROUTING decisions on,
        fold the rotation ledger. Returns the logs."""
        ruled = [lead._service_engine_ruled(decision, inquiry, chosen_by) for lead, decision, inquiry, *_r in decided]
        context = {"service_routing_write": ROUTING_WRITE}
        if all(ruled):
            context["service_engine_ruled"] = ENGINE_RULED
        Log = self.env["service.routing.log"].sudo().with_context(**context)
        logs = Log.create(
            [
                lead._service_log_values(
                    decision, trigger, inquiry, candidates, chosen_by=chosen_by, busy=busy, override=override
                )
                for lead, decision, inquiry, candidates, busy in decided
            ]
        )
        now = fields.Datetime.now()
        offered = [(row[0], row[1], log) for row, log in zip(decided, logs, strict=True) if row[1].technician_id]
        if offered:
            # an offer withdrawn just before is closed in the database before the new one opens
            self.env.flush_all()
            self.env["service.offer"].sudo().with_context(**context).create(
                [
                    lead._service_offer_values(decision.technician_id, log, now, override_note=override_note)
                    for lead, decision, log in offered
                ]
            )
        for (lead, decision, *_facts), log, engine_ruled in zip(decided, logs, ruled, strict=True):
            lead._service_note_routing(trigger, log)
            if engine_ruled:
                lead = lead.with_context(service_engine_ruled=ENGINE_RULED)
            if decision.technician_id:
                lead._service_transition("offer", technician_id=decision.technician_id, offered_at=now)
            else:
                lead._service_transition("review", review_reason=decision.review_reason)
        if len(decided) >= BATCH_ROUTING:
            # a batch appends to the rotation ledger faster than its scheduled fold runs, and each of its
            # routings sums what the ones before it appended
            self.env["service.rotation.entry"]._fold_after_batch()
        return logs

    def _service_engine_ruled(self, decision, inquiry, chosen_by=None):
        """Whether ``decision`` is one the engine made for this inquiry in the company it is written in:
        its technician (if any) ranked, i.e. passed every rule of the engine (engine.routing.check:
        an active technician of that company, or of none). A dispatcher's choice is left to the ORM."""
        self.ensure_one()
        if chosen_by or inquiry.company_id != (self.company_id or self.env.company).id:
            return False
        return not decision.technician_id or any(ranked.id == decision.technician_id for ranked in decision.ranking)

    def _service_note_routing(self, trigger, log):
        """Why a new inquiry went where it went: the body of the message that tracks its routing state
        and technician, or a note of its own where tracking is off."""
        if trigger != "create":
            return
        if self.env.context.get("tracking_disable") or self.env.context.get("mail_notrack"):
            self.sudo()._message_log(body=log.reason)
        elif self.env.context.get("service_creation_deferred"):
            # its creation message too (see crm_lead.py): what was created, then where it went
            self.env.cr.precommit.data.setdefault(CREATION_DEFERRED, set()).add(self.id)
            self._track_set_log_message(Markup("<p>%s</p><p>%s</p>") % (self._creation_message(), log.reason))
        else:
            self._track_set_log_message(log.reason)

    def _service_offer_values(self, technician_id, log, now, override_note=False):
        return {
            "lead_id": self.id,
            "company_id": (self.company_id or self.env.company).id,
            "technician_id": technician_id,
            "offered_at": now,
            "routing_log_id": log.id,
            "override_note": override_note,
        }

    def _service_pay_rotation(self, changes, offered=None):
        """Append the rotation credit changes of a decision to the ledger (no row is updated);
        ``offered``: the technician offered the inquiry now, whose last offer the ledger records."""
        self.env["service.rotation.entry"]._append(
            (self.company_id or self.env.company).id,
            changes,
            offered=(offered, fields.Datetime.now()) if offered else None,
        )

    def _service_routing_feedback(self, leads):
        """A notification that says where the inquiries went; the view reloads after it."""
        if len(leads) == 1:
            message = leads.sudo().routing_log_ids.sorted("id")[-1:].reason or leads.display_name
            title = leads.display_name
        else:
            offered = len(leads.filtered(lambda lead: lead.routing_state == "offered"))
            message = self.env._(
                "%(count)s inquiries routed again: %(offered)s offered, %(held)s held for a dispatcher.",
                count=len(leads),
                offered=offered,
                held=len(leads) - offered,
            )
            title = self.env._("Routed again")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": "success" if all(lead.routing_state == "offered" for lead in leads) else "warning",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _service_log_values(self, decision, trigger, inquiry, candidates, chosen_by=None, busy=(), override=None):
        names = {c.id: c.name for c in candidates}
        by = (chosen_by or decision.chosen_by) if decision.technician_id else None
        Log = self.env["service.routing.log"]
        reason_data = Log._reason_data(decision, inquiry, by, names, busy=busy, override=override)
        decision_json = decision.to_json()
        if busy:
            decision_json["busy"] = list(busy)
        return {
            "lead_id": self.id,
            "company_id": (self.company_id or self.env.company).id,
            "trigger": trigger,
            "outcome": "offered" if decision.technician_id else "review",
            "technician_id": decision.technician_id,
            "strategy": decision.strategy,
            "chosen_by": by,
            "review_reason": decision.review_reason,
            "reason_data": reason_data,
            "candidate_count": len(decision.ranking),
            "dropped_count": len(decision.dropped),
            "decision": decision_json,
            "facts": engine.facts_to_json(inquiry, candidates),
            "override_rules": ",".join(override["rules"]) if override else False,
        }

    @api.model
    def _cron_route_pending(self, batch_size=200):
        """Backstop: route inquiries left new (a failed routing, due again), or held for want of a candidate."""
        return self._route_pending(batch_size=batch_size)

    @api.model
    def _route_pending(self, batch_size=200):
        todos = self._service_make_review_todos(batch_size=batch_size)
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT id FROM crm_lead
                WHERE active AND ((routing_state = 'new'
                                   AND (routing_retry_at IS NULL
                                        OR routing_retry_at <= (now() at time zone 'UTC')))
                      OR (routing_state = 'review' AND review_reason = 'no_candidate'
                          AND routing_state_date < (now() at time zone 'UTC') - interval '1 hour'))
                ORDER BY routing_retry_at NULLS FIRST, id
                LIMIT %s
                FOR UPDATE SKIP LOCKED""",
            (batch_size,),
        )
        leads = self.browse(row[0] for row in self.env.cr.fetchall())
        leads._service_route_safely("cron", retry_concurrency=False)
        # a full batch of either may leave more: the cron runs again at once (a stream of inquiries held for
        # review wakes it once, see REVIEW_TODO_DELAY, however many it holds)
        self.env["ir.cron"]._notify_progress(
            done=len(leads) + len(todos), remaining=int(batch_size in (len(leads), len(todos)))
        )
        return leads

    @api.model
    def _service_on_postal_data_loaded(self, country_ids):
        """A country's postal data arrived: inquiries held for want of them are routed by the backstop."""
        leads = self.search(
            [
                ("routing_state", "=", "review"),
                ("review_reason", "=", "postal_data_missing"),
                ("country_id", "in", list(country_ids)),
            ]
        )
        if leads:
            leads._service_transition("retry")
            self.env.ref("crm_service_routing.ir_cron_route_pending").sudo()._trigger()
        return leads
