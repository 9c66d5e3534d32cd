# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import logging

from odoo import api, fields, models

from ..engine import escalation as engine
from ..engine import routing as routing_engine
from .service_batch import run_locked_batches, wake_cron
from .service_constants import CONCURRENCY_ERRORS, OPEN_OFFER_STATES
from .service_outbox import Outbox

_logger = logging.getLogger(__name__)

# a stage whose action failed is tried again this much later
RETRY_DELAY = datetime.timedelta(hours=1)
# the moments this transaction has woken the escalation action for (cursor postcommit data: kept
# across savepoints, cleared by commit and rollback)
WAKE_KEY = "crm_service_routing.escalation_woken"
# while set (a list), the moments an escalation batch plans are gathered there and woken for once, at its end
WAKE_LATER_KEY = "crm_service_routing.escalation_wake_later"
# attempts of a batch whose reassignments find nobody else for some inquiries (kept at the next attempt)
BATCH_ATTEMPTS = 3


class _KeepOffers(Exception):
    """Raised inside a savepoint to undo reassignments that found nobody else (``args[0]``: the inquiries' ids)."""


class ServiceOffer(models.Model):
    """Answer deadline, escalation ladder and follow-up of an offer.

    An open offer knows when it must be answered (``answer_deadline``), which
    stage of its tier's ladder comes next and when (``next_escalation_*``);
    an accepted one when its follow-up falls due (``followup_due_at``). The
    scheduled action reads only what is due, through partial indexes, and is
    woken for the next due moment instead of polling.
    """

    _inherit = "service.offer"

    service_level_id = fields.Many2one("service.level", "SLA Tier", readonly=True, index="btree_not_null")
    answer_deadline = fields.Datetime(readonly=True, help="The technician should accept by then (SLA tier).")
    escalation_step = fields.Integer(readonly=True, help="Stages of the escalation ladder this offer has passed.")
    escalation_stage_id = fields.Many2one(
        "service.escalation.stage", "Last Escalation", readonly=True, ondelete="set null"
    )
    next_escalation_at = fields.Datetime("Next Escalation", readonly=True)
    next_escalation_stage_id = fields.Many2one("service.escalation.stage", readonly=True, ondelete="set null")
    next_escalation_action = fields.Selection(
        related="next_escalation_stage_id.action", string="Next Escalation Action"
    )
    followup_due_at = fields.Datetime("Follow-up Due", readonly=True)
    followup_count = fields.Integer("Follow-ups Sent", readonly=True)

    # what the mail templates show, as plain text: the templates use only these
    # placeholders (see mail_allowed_qweb_expressions), so anyone who may edit
    # a template can, and they render without compiling QWeb for every mail
    service_deadline_text = fields.Char(compute="_compute_service_texts")
    service_offered_text = fields.Char(compute="_compute_service_texts")
    service_accepted_text = fields.Char(compute="_compute_service_texts")
    service_inquiry_url = fields.Char(compute="_compute_service_texts")

    @api.depends_context("lang", "service_reader_tz")
    @api.depends("answer_deadline", "offered_at", "responded_at", "technician_id.tz")
    def _compute_service_texts(self):
        reader_tz = self.env.context.get("service_reader_tz")
        for offer in self:
            # the reader's time zone and language: the technician's, or the channel manager's a mail
            # to them is rendered with (service_offer_notify)
            tz = reader_tz or offer._service_reader_tz()
            for fname, value in (
                ("service_deadline_text", offer.answer_deadline),
                ("service_offered_text", offer.offered_at),
                ("service_accepted_text", offer.responded_at if offer.state == "accepted" else False),
            ):
                offer[fname] = offer._service_format_time(value, tz=tz)
            lead = offer.lead_id
            offer.service_inquiry_url = lead and f"{lead.get_base_url()}/mail/view?model=crm.lead&res_id={lead.id}"

    def mail_allowed_qweb_expressions(self):
        return (
            *super().mail_allowed_qweb_expressions(),
            "object.lead_id.name",
            "object.lead_id.zip",
            "object.lead_id.city",
            "object.lead_id.phone",
            "object.technician_id.id",
            "object.technician_id.name",
            "object.service_level_id.name",
            "object.company_id.name",
            "object.service_deadline_text",
            "object.service_offered_text",
            "object.service_accepted_text",
            "object.service_inquiry_url",
        )

    def init(self):
        res = super().init()
        # the scheduled action reads only what is due
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS service_offer_escalation_due_idx
                   ON service_offer (next_escalation_at, id)
                WHERE state = 'offered' AND next_escalation_at IS NOT NULL;
               CREATE INDEX IF NOT EXISTS service_offer_followup_due_idx
                   ON service_offer (followup_due_at, id)
                WHERE state = 'accepted' AND followup_due_at IS NOT NULL"""
        )
        return res

    # ------------------------------------------------------------
    # BUSINESS: PLANNING
    # ------------------------------------------------------------

    @api.model
    def _service_escalation_values(self, vals):
        """Deadline and first ladder stage of a new offer."""
        lead = self.env["crm.lead"].sudo().browse(vals["lead_id"])
        company = lead.company_id or self.env.company
        level = lead.service_level_id or company.service_level_id
        if not level:
            return {}
        offered_at = fields.Datetime.to_datetime(vals.get("offered_at")) or fields.Datetime.now()
        calendar = level._service_calendar(company)
        ladder = level._service_ladder()
        values = {
            "service_level_id": level.id,
            "answer_deadline": level._service_add_hours(calendar, offered_at, level.response_hours),
            "escalation_step": 0,
        }
        if ladder:
            values["next_escalation_stage_id"] = ladder[0].id
            values["next_escalation_at"] = level._service_add_hours(calendar, offered_at, ladder[0].after_hours)
        return values

    def _service_followup_values(self, since):
        """When the follow-up of this accepted offer falls due, counted from ``since``."""
        self.ensure_one()
        level = self.service_level_id
        if not level or not level.followup_hours:
            return {"followup_due_at": False}
        calendar = level._service_calendar(self.company_id or self.env.company)
        return {"followup_due_at": level._service_add_hours(calendar, since, level.followup_hours)}

    def _service_escalation_after_create(self):
        """New offers: the scheduled action runs now for an offer mail, else at the first ladder stage."""
        if any(self.mapped("service_notify")):
            # an offer mail to send: the scheduled action runs now, and plans its next run itself
            self._service_wake(fields.Datetime.now())
        else:
            self._service_wake(min(filter(None, self.mapped("next_escalation_at")), default=None))

    def _service_escalation_transition_values(self, target, now):
        """Hook of _service_transition: an accepted offer's follow-up starts, a closed one's clocks stop."""
        self.ensure_one()
        if target == "accepted":
            return {"followup_count": 0, "next_escalation_at": False, **self._service_followup_values(now)}
        if target not in OPEN_OFFER_STATES:
            return {"next_escalation_at": False, "next_escalation_stage_id": False, "followup_due_at": False}
        return {}

    def _service_after_transition(self):
        """Hook of _service_transition: wake the scheduled action for what the offers now wait for."""
        if any(self.mapped("service_notify")):
            self._service_wake(fields.Datetime.now())
        else:
            self._service_wake(min(filter(None, self.mapped("followup_due_at")), default=None))

    @api.model
    def _service_wake(self, at):
        """Wake the escalation action at ``at``, unless it runs by then anyway (``wake_cron``); one trigger
        per transaction."""
        if not at:
            return
        later = self.env.cr.postcommit.data.get(WAKE_LATER_KEY)
        if later is not None:
            later.append(at)
            return
        # {moment: trigger id} this transaction woke it for; one undone with a savepoint no longer counts
        woken = self.env.cr.postcommit.data.setdefault(WAKE_KEY, {})
        earlier = [trigger_id for moment, trigger_id in woken.items() if moment <= at]
        trigger = wake_cron(self.env, "crm_service_routing.ir_cron_service_escalate", at, made=earlier)
        if trigger:
            woken[at] = trigger.id

    @api.model
    def _service_next_due(self):
        """The next moment an escalation, a follow-up or a notification falls due, or None."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT LEAST(
                   (SELECT min(next_escalation_at) FROM service_offer
                     WHERE state = 'offered' AND next_escalation_at IS NOT NULL),
                   (SELECT min(followup_due_at) FROM service_offer
                     WHERE state = 'accepted' AND followup_due_at IS NOT NULL),
                   (SELECT %s::timestamp
                     WHERE EXISTS (SELECT 1 FROM service_offer WHERE service_notify IS NOT NULL)))""",
            (fields.Datetime.now(),),
        )
        return self.env.cr.fetchone()[0]

    # ------------------------------------------------------------
    # BUSINESS: SCHEDULED ACTION
    # ------------------------------------------------------------

    @api.model
    def _cron_escalate(self, batch_size=200):
        """Scheduled action: escalate unanswered offers, follow up accepted ones, send what offers left to tell,
        sleep until the next due one."""
        # the triggers that woke this run are used up by it: what it plans is woken anew
        self.env.cr.postcommit.data.pop(WAKE_KEY, None)
        escalated = self._escalate(batch_size=batch_size)
        followed = self._follow_up(batch_size=batch_size)
        self._service_send_notifications(batch_size=batch_size)
        self._service_wake(self._service_next_due())
        return escalated, followed

    @api.model
    def _escalate(self, batch_size=200, now=None):
        """Fire the due ladder stages of open offers, in batches; returns the offers acted on."""
        return self._service_run_batches("escalation", batch_size, now)

    @api.model
    def _follow_up(self, batch_size=200, now=None):
        """Follow up accepted offers whose inquiry has had no activity; returns the offers looked at."""
        return self._service_run_batches("followup", batch_size, now)

    @api.model
    def _service_run_batches(self, kind, batch_size, now):
        """Lock due offers batch by batch (skipping those another run holds) and act on them."""

        def step():
            moment = now or fields.Datetime.now()
            offers = self._service_lock_due(kind, batch_size, moment)
            if offers and kind == "escalation":
                offers._service_escalate_batch(moment)
            elif offers and kind == "followup":
                offers._service_follow_up_batch(moment)
            elif offers:
                offers._service_notify_batch()
            return offers, None

        return self.browse().union(*(offers for offers, _result in run_locked_batches(self.env, step, batch_size)))

    @api.model
    def _service_lock_due(self, kind, batch_size, now):
        self.env.flush_all()
        if kind == "escalation":
            query = """SELECT id FROM service_offer
                        WHERE state = 'offered' AND next_escalation_at IS NOT NULL AND next_escalation_at <= %s
                        ORDER BY next_escalation_at, id LIMIT %s FOR UPDATE SKIP LOCKED"""
        elif kind == "followup":
            query = """SELECT id FROM service_offer
                        WHERE state = 'accepted' AND followup_due_at IS NOT NULL AND followup_due_at <= %s
                        ORDER BY followup_due_at, id LIMIT %s FOR UPDATE SKIP LOCKED"""
        else:
            # what created and closed offers left to tell: due at once
            self.env.cr.execute(
                """SELECT id FROM service_offer WHERE service_notify IS NOT NULL
                    ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
                (batch_size,),
            )
            return self.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        self.env.cr.execute(query, (now, batch_size))
        return self.sudo().browse([row[0] for row in self.env.cr.fetchall()])

    # ------------------------------------------------------------
    # BUSINESS: ESCALATION
    # ------------------------------------------------------------

    def _service_escalate_batch(self, now):
        """Fire the due stages of this locked batch with set-based writes; if the batch fails, offer by
        offer, and an offer whose stage fails alone is tried again after RETRY_DELAY."""
        plans = self._service_escalation_plans(now)
        offers = self.browse(list(plans))
        try:
            if offers._service_escalate_guarded(plans, now):
                return
        except CONCURRENCY_ERRORS:
            _logger.info("Escalation of offers %s met a concurrent change; offer by offer.", offers.ids)
        except Exception:
            _logger.exception("Escalation of offers %s failed; offer by offer.", offers.ids)
        for offer in offers:
            try:
                if offer._service_escalate_guarded(plans, now):
                    continue
            except CONCURRENCY_ERRORS:
                _logger.info("Escalation of offer %s met a concurrent change; left for the next run.", offer.id)
                continue
            except Exception:
                _logger.exception("Escalation of offer %s failed; retried later.", offer.id)
            offer._service_write({"next_escalation_at": now + RETRY_DELAY})

    def _service_escalation_plans(self, now):
        """{offer id: (stages that fire now, the offer's ladder values after them)}; an offer whose
        ladder cannot be read is tried again after RETRY_DELAY."""
        ladders = {}
        plans = {}
        for offer in self:
            level = offer.service_level_id
            key = (level.id, offer.company_id.id)
            if key not in ladders:
                ladders[key] = (level._service_ladder(), level._service_calendar(offer.company_id or self.env.company))
            ladder, calendar = ladders[key]
            try:
                fired = offer._service_due_steps(ladder, calendar, now)
                plans[offer.id] = (
                    [ladder[index] for index in fired],
                    offer._service_ladder_values(ladder, calendar, fired),
                )
            except Exception:
                _logger.exception("Escalation of offer %s failed; retried later.", offer.id)
                offer._service_write({"next_escalation_at": now + RETRY_DELAY})
        return plans

    def _service_due_steps(self, ladder, calendar, now):
        """Indices of this offer's ladder stages that fire now (see engine.due_steps)."""
        self.ensure_one()
        level = self.service_level_id
        return engine.due_steps(
            ladder,
            self.escalation_step,
            lambda index: level._service_add_hours(calendar, self.offered_at, ladder[index].after_hours),
            now,
        )

    def _service_ladder_values(self, ladder, calendar, fired):
        """Where this offer's ladder stands once the stages ``fired`` have fired (a review stage's
        transition records it)."""
        self.ensure_one()
        if fired and ladder[fired[-1]].action == engine.ACTION_REVIEW:
            return {}
        step = fired[-1] + 1 if fired else self.escalation_step
        vals = {"escalation_step": step}
        if fired:
            vals["escalation_stage_id"] = ladder[fired[-1]].id
        if step < len(ladder):
            vals["next_escalation_stage_id"] = ladder[step].id
            vals["next_escalation_at"] = self.service_level_id._service_add_hours(
                calendar, self.offered_at, ladder[step].after_hours
            )
        else:
            vals.update(next_escalation_stage_id=False, next_escalation_at=False)
        return vals

    def _service_escalate_guarded(self, plans, now):
        """Fire the planned stages of these offers in a savepoint, with what they send; True when done.

        A reassignment that finds no other technician undoes the attempt, which
        is made again with the offers of those inquiries kept; the escalation
        action is woken once, for the earliest moment the attempt planned.
        """
        kept = set()
        data = self.env.cr.postcommit.data
        for _attempt in range(BATCH_ATTEMPTS):
            outbox = Outbox()
            later = data[WAKE_LATER_KEY] = []
            try:
                with self.env.cr.savepoint():
                    self._service_escalate_set(plans, now, outbox, kept)
                    outbox.flush(self.env)
            except _KeepOffers as keep:
                kept.update(keep.args[0])
                continue
            finally:
                data.pop(WAKE_LATER_KEY, None)
            self._service_wake(min(later, default=None))
            return True
        return False

    def _service_escalate_set(self, plans, now, outbox, kept):
        """Fire the planned stages of these offers: bookkeeping and mails for the whole set, the
        reassignments through the routing inquiry by inquiry. ``kept``: ids of the inquiries whose
        offer stays open at a reassignment (nobody else); raises _KeepOffers with the new ones."""
        reassign, review, updates = {}, {}, {}
        for offer in self:
            fired, vals = plans[offer.id]
            lead = offer.lead_id
            for stage in fired:
                if stage.action == engine.ACTION_REASSIGN:
                    reassign[offer] = stage
                elif stage.action == engine.ACTION_REVIEW:
                    review[offer] = stage
                elif stage.action == engine.ACTION_REMIND:
                    outbox.mail("crm_service_routing.mail_template_offer_reminder", offer)
                    outbox.note(
                        lead,
                        self.env._(
                            "Escalation after %(hours)s h without acceptance: reminder sent to %(technician)s.",
                            hours=format(stage.after_hours, "g"),
                            technician=offer.technician_id.display_name,
                        ),
                    )
                else:
                    outbox.notify(
                        offer,
                        "crm_service_routing.mail_template_escalation_manager",
                        self.env._("Unanswered inquiry: %(lead)s", lead=lead.display_name),
                    )
            if vals:
                key = tuple(sorted(vals.items()))
                updates[key] = updates.get(key, self.browse()) | offer
        # the ladder of every offer in one write per set of values (one UPDATE at the flush)
        for key, offers in updates.items():
            offers._service_write(dict(key))
        self._service_to_review(review, outbox)
        self._service_reassign(reassign, outbox, kept)

    @api.model
    def _service_to_review(self, stages, outbox):
        """Move the inquiries of ``stages`` ({offer: review stage}) to the review queue, per stage."""
        by_stage = {}
        for offer, stage in stages.items():
            by_stage.setdefault(stage, self.browse())
            by_stage[stage] |= offer
        for stage, offers in by_stage.items():
            technicians = {offer: offer.technician_id for offer in offers}
            offers.lead_id._service_transition(
                "review", review_reason="unanswered", offer_values={"escalation_stage_id": stage.id}
            )
            for offer in offers:
                outbox.note(
                    offer.lead_id,
                    self.env._(
                        "Escalation after %(hours)s h: not answered by %(technician)s, moved to the review queue.",
                        hours=format(stage.after_hours, "g"),
                        technician=technicians[offer].display_name,
                    ),
                )

    @api.model
    def _service_reassign(self, stages, outbox, kept):
        """Offer the inquiries of ``stages`` ({offer: reassign stage}) to the next eligible technician.

        All the offers expire in one transition, then the routing decides each
        inquiry, and their decisions are written together. An inquiry in
        ``kept`` keeps its offer (nobody else, found by an earlier attempt);
        raises _KeepOffers with the inquiries for which the routing finds
        nobody else now.
        """
        moving = {}
        for offer, stage in stages.items():
            if offer.lead_id.id in kept:
                outbox.note(
                    offer.lead_id,
                    self.env._(
                        "Escalation after %(hours)s h: no other eligible technician, the offer to %(technician)s "
                        "stays open.",
                        hours=format(stage.after_hours, "g"),
                        technician=offer.technician_id.display_name,
                    ),
                )
            else:
                moving[offer] = (stage, offer.lead_id, offer.technician_id)
        if not moving:
            return
        # the escalation's own note says who had it and who has it now: no tracking messages beside it
        leads = self.env["crm.lead"].union(*(lead for _stage, lead, _technician in moving.values()))
        leads = leads.with_context(tracking_disable=True)
        leads._service_transition("expire")
        # each decided and claimed on its own (a claim sees the ones before it), then written together
        decided = leads._service_decide_batch()
        nobody = [
            lead.id
            for lead, decision, *_facts in decided
            if not decision.technician_id and decision.review_reason == routing_engine.REVIEW_NO_CANDIDATE
        ]
        if nobody:
            raise _KeepOffers(nobody)
        leads._service_write_decisions(decided, "escalation")
        leads.invalidate_recordset(["offer_ids", "service_offer_id"])
        # who has each inquiry now, in one query
        new_offers = self.search([("lead_id", "in", leads.ids), ("state", "in", list(OPEN_OFFER_STATES))])
        technicians = {offer.lead_id.id: offer.technician_id for offer in new_offers}
        for stage, lead, technician in moving.values():
            new = technicians.get(lead.id)
            outbox.note(
                lead,
                self.env._(
                    "Escalation after %(hours)s h without acceptance: reassigned from %(old)s to %(new)s.",
                    hours=format(stage.after_hours, "g"),
                    old=technician.display_name,
                    new=new.display_name if new else self.env._("the review queue"),
                ),
            )
        # the new offers' mails, and the withdrawal mails of these ones, go out with the offers' notifications

    # ------------------------------------------------------------
    # BUSINESS: FOLLOW-UP
    # ------------------------------------------------------------

    def _service_follow_up_batch(self, now):
        outbox = Outbox()
        for offer in self:
            level = offer.service_level_id
            if not level.followup_hours:
                offer._service_write({"followup_due_at": False})
                continue
            calendar = level._service_calendar(offer.company_id or self.env.company)
            lead = offer.lead_id
            last = max(filter(None, [offer.responded_at, lead.service_activity_at]))
            decision = engine.followup_decision(
                level._service_add_hours(calendar, last, level.followup_hours), now, offer.followup_count
            )
            if decision == engine.FOLLOWUP_WAIT:
                # activity since: the clock starts again from it
                offer._service_write({"followup_count": 0, **offer._service_followup_values(last)})
            elif decision == engine.FOLLOWUP_REMIND:
                offer._service_write({"followup_count": 1, **offer._service_followup_values(now)})
                offer._service_schedule_technician_activity(outbox)
                outbox.mail("crm_service_routing.mail_template_followup_reminder", offer)
                outbox.note(
                    lead,
                    self.env._(
                        "No activity for %(hours)s h since acceptance: follow-up sent to %(technician)s.",
                        hours=format(level.followup_hours, "g"),
                        technician=offer.technician_id.display_name,
                    ),
                )
            elif decision == engine.FOLLOWUP_NOTIFY:
                offer._service_write({"followup_count": 2, "followup_due_at": False})
                outbox.notify(
                    offer,
                    "crm_service_routing.mail_template_followup_manager",
                    self.env._("Accepted inquiry without activity: %(lead)s", lead=lead.display_name),
                )
            else:
                offer._service_write({"followup_due_at": False})
        outbox.flush(self.env)

    def _service_schedule_technician_activity(self, outbox):
        self.ensure_one()
        lead = self.lead_id
        # the technician's own user (an internal one first), else the inquiry's salesperson
        acting = self._service_technician_users().get(self.technician_id.id, self.env["res.users"])
        user = acting.sorted(lambda u: (u.share, u.id))[:1] or lead.user_id
        if not user:
            return
        outbox.activity(
            lead,
            user,
            self.env._("Follow up the inquiry"),
            note=self.env._("No activity on this accepted inquiry yet: call the customer and agree an appointment."),
        )
