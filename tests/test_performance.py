# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Query budgets of the hot paths: routing one inquiry, accept, decline, one escalation batch (of
reminders, and of reminders, notices and reassignments).

The budgets are the numbers tools/bench.sh and tools/bench_escalation.sh
report; a change that adds a query per inquiry or per offer fails here.
"""

import datetime

from odoo import Command
from odoo.tests import freeze_time, tagged

from .common import ServiceRoutingCase, service_request

T0 = datetime.datetime(2026, 6, 1, 8, 0)

# routing one inquiry that exists already (the backstop's case), technicians and offers read
# from the database: the same whether 3 or 23 technicians cover it. In a batch: postal code
# and areas, candidates, the claim with its rotation credits, the decision, the offer, the
# escalation's wake-up, the inquiry. The chosen technician is not read again: the engine's rules
# (an active technician of the inquiry's company) are the ORM's company and technician checks.
ROUTE_QUERIES = 7
# the first of a transaction reads once what the next ones find in the cache: the user and the
# inquiry's customer (the tiers' ladders are kept for the registry)
ROUTE_QUERIES_FIRST = 8
# the answer, the inquiry accepted, its follow-up's wake-up in one query (service_batch.wake_cron), and
# the customer's message recorded (crm_lead_customer_notice.py)
ACCEPT_QUERIES = 16
DECLINE_QUERIES = 30  # the answer, then the inquiry routed to the next technician
# one escalation batch of reminders: a fixed part (with the technicians' country, for the time zone
# of the mails); the writes, mails and notes of the batch are set-based: nothing more per due offer
ESCALATION_BATCH_QUERIES = 24
ESCALATION_QUERIES_PER_OFFER = 0
# a batch of reminders, channel-manager notices and reassignments: the fixed part (routing read cold
# once; the reassigned inquiries' slots and declines, their postal code and candidates read once for
# the batch), and the claim of each reassigned inquiry, which stays inquiry by inquiry
ESCALATION_MIXED_BATCH_QUERIES = 67
# a service request over RPC, beyond the queries of a plain lead creation: its key reserved and
# linked, its customer matched (its country, equipment type and service team are cached by the
# process), its routing (as above, the escalation's wake-up made in the statement that decides it),
# the tracking of its routing state, its customer's notice
INTAKE_QUERIES_BEYOND_A_CREATION = 13
ESCALATION_QUERIES_PER_REASSIGN = 1


@tagged("post_install", "-at_install", "crm_service_routing")
class TestQueryBudgets(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Lead = cls.env["crm.lead"].with_context(service_no_routing=True)
        # warm the caches the first routing of a process fills (ir.model, templates, the cron)
        cls.env["crm.lead"].create(cls._inquiry_vals(cls)).action_set_lost()

    def _pending(self, first=False):
        # as the backstop and the benchmark find it: created, its own fields read (prefetched with
        # its batch); after another one of the batch, or the first of a transaction
        self.Lead.create(self._inquiry_vals())._service_route("cron")
        self.env.flush_all()
        if first:
            self.env.invalidate_all()
        lead = self.Lead.create(self._inquiry_vals())
        self.env.flush_all()
        return lead

    def test_kept_plans_read_by_key(self):
        """The database functions of the hot paths keep their plans for the life of a connection: each
        refuses sequential scans, or a plan made while offers, slots or areas were few (a new database)
        would scan the whole table, for each candidate, as they grow."""
        functions = (
            "service_candidate_facts",
            "service_area_hits_at",
            "service_rotation_credit",
            "service_technician_slot_claim",
            "service_technician_slot_sync",
            "service_inquiry_offer_stat_refresh",
            "service_inquiry_offer_stat_refresh_one",
        )
        self.env.cr.execute("SELECT proname, proconfig FROM pg_proc WHERE proname = ANY(%s)", (list(functions),))
        settings = dict(self.env.cr.fetchall())
        self.assertEqual(set(settings), set(functions))
        for name, config in settings.items():
            self.assertIn("enable_seqscan=off", config or [], name)

    def test_route_one_inquiry(self):
        lead = self._pending()
        with self.assertQueryCount(ROUTE_QUERIES):
            lead._service_route("cron")
            self.env.flush_all()
        self.assertEqual(lead.routing_state, "offered")

    def test_route_the_first_inquiry_of_a_transaction(self):
        lead = self._pending(first=True)
        with self.assertQueryCount(ROUTE_QUERIES_FIRST):
            lead._service_route("cron")
            self.env.flush_all()
        self.assertEqual(lead.routing_state, "offered")

    def test_route_one_inquiry_does_not_grow_with_technicians(self):
        for index in range(20):
            self._make_technician(f"Extra {index}", "80331", [("range", "80000", "80999")], [self.type_heatpump], [])
        lead = self._pending()
        with self.assertQueryCount(ROUTE_QUERIES):
            lead._service_route("cron")
            self.env.flush_all()
        self.assertEqual(lead.routing_state, "offered")

    def test_accept_and_decline(self):
        lead = self._pending()
        lead._service_route("cron")
        self.env.flush_all()
        self.env.invalidate_all()
        offer_id = lead.service_offer_id.id
        self.env.invalidate_all()
        with self.assertQueryCount(DECLINE_QUERIES):
            lead.action_service_decline("capacity", offer_id=offer_id)
            self.env.flush_all()
        self.assertEqual(lead.routing_state, "offered")
        offer_id = lead.service_offer_id.id
        self.env.invalidate_all()
        with self.assertQueryCount(ACCEPT_QUERIES):
            lead.action_service_accept(offer_id=offer_id)
            self.env.flush_all()
        self.assertEqual(lead.routing_state, "accepted")

    def test_intake_beyond_a_plain_creation(self):
        Lead = self.env["crm.lead"]

        def queries(call):
            self.env.flush_all()
            self.env.invalidate_all()
            # as in a request of its own: nothing noted by an earlier call of the transaction
            self.env.cr.postcommit.clear()
            before = self.env.cr.sql_log_count
            result = call()
            self.env.flush_all()
            return self.env.cr.sql_log_count - before, result

        for number in range(3):
            plain, _lead = queries(lambda: Lead.create({"name": "Sales lead", "email_from": "buyer@example.org"}))
            request = service_request(external_ref=f"BUDGET-{number}")
            intake, answer = queries(lambda request=request: Lead.submit_service_request(request))
            self.assertEqual(answer["routing_state"], "offered")
        # the third of each (the first two warmed what a process reads once)
        self.assertLessEqual(intake - plain, INTAKE_QUERIES_BEYOND_A_CREATION, f"{intake} against {plain}")

    def test_escalation_batch_queries_per_offer(self):
        level = self.env.ref("crm_service_routing.service_level_standard")
        level.write({"resource_calendar_id": False})
        self.company.service_calendar_id = False
        self.tech_anna.service_capacity = 100
        self.tech_anna.write({"service_level_ids": [Command.link(level.id)]})
        counts = {}
        for size in (2, 8):
            with freeze_time(T0):
                leads = self.env["crm.lead"].create(
                    [self._inquiry_vals(service_level_id=level.id) for _i in range(size)]
                )
                self.env["service.offer"]._service_send_notifications()
            self.assertEqual(set(leads.mapped("routing_state")), {"offered"})
            self.env.flush_all()
            self.env.invalidate_all()
            first_stage = level._service_ladder()[0]
            budget = ESCALATION_BATCH_QUERIES + ESCALATION_QUERIES_PER_OFFER * size
            with (
                freeze_time(T0 + datetime.timedelta(hours=first_stage.after_hours)),
                self.assertQueryCount(budget),
            ):
                done = self.env["service.offer"]._escalate()
                self.env.flush_all()
            self.assertEqual(done, leads.service_offer_id)
            counts[size] = len(done)
        self.assertEqual(counts, {2: 2, 8: 8})

    def test_escalation_mixed_batch_queries(self):
        """One batch of reminders, channel-manager notices and reassignments: the bookkeeping is set-based,
        only the routing of each reassigned inquiry costs queries per offer."""
        level = self.env["service.level"].create(
            {
                "name": "Mixed Ladder",
                "code": "T-MIXED",
                "response_hours": 24,
                "escalation_user_id": self.user_manager.id,
                "escalation_stage_ids": [
                    Command.create({"after_hours": 1, "action": "remind"}),
                    Command.create({"after_hours": 2, "action": "notify"}),
                    Command.create({"after_hours": 3, "action": "reassign"}),
                ],
            }
        )
        self.company.service_calendar_id = False
        (self.tech_anna | self.tech_carla).write({"service_capacity": 100})
        counts = {}
        start = T0
        for size in (1, 4):
            # offered 1 h, 2 h and 3 h before the run: a reminder; a notice; a reassignment
            leads = {}
            for hours in (1, 2, 3):
                with freeze_time(start - datetime.timedelta(hours=hours)):
                    leads[hours] = self.env["crm.lead"].create(
                        [self._inquiry_vals(service_level_id=level.id) for _i in range(size)]
                    )
                    self.env["service.offer"]._service_send_notifications()
            offers = self.env["service.offer"].union(*(batch.service_offer_id for batch in leads.values()))
            self.assertEqual(len(offers), 3 * size)
            reassigned = leads[3].service_offer_id
            self.env.flush_all()
            self.env.invalidate_all()
            budget = (
                ESCALATION_MIXED_BATCH_QUERIES
                + ESCALATION_QUERIES_PER_OFFER * 3 * size
                + ESCALATION_QUERIES_PER_REASSIGN * size
            )
            with freeze_time(start), self.assertQueryCount(budget):
                done = self.env["service.offer"]._escalate()
                self.env.flush_all()
            self.assertEqual(done, offers)
            self.assertEqual(set(leads[1].service_offer_id.mapped("escalation_step")), {1})
            self.assertEqual(set(leads[2].service_offer_id.mapped("escalation_step")), {2})
            self.assertEqual(set(reassigned.mapped("state")), {"expired"})
            self.assertEqual(set(leads[3].mapped("routing_state")), {"offered"})
            for hours in (2, 3):
                manager = leads[hours].activity_ids.filtered(lambda a: a.user_id == self.user_manager)
                self.assertEqual(len(manager), size)
            counts[size] = len(done)
            # out of the next round's way
            with freeze_time(start):
                for batch in leads.values():
                    batch.action_set_lost()
            start += datetime.timedelta(days=1)
        self.assertEqual(counts, {1: 3, 4: 12})


@tagged("post_install", "-at_install", "crm_service_routing")
class TestOfferStatStorage(ServiceRoutingCase):
    def test_offer_facts_rewritten_in_their_page(self):
        """An inquiry's offer facts, rewritten at every change of its offers, stay in their page however
        full the table (a heap-only update: no index written), where the page was filled by inserts."""
        leads = (
            self.env["crm.lead"]
            .with_context(tracking_disable=True, mail_create_nolog=True)
            .create([{"name": f"Filler {number}"} for number in range(400)])
        )
        cr = self.env.cr
        # rows as the triggers insert them, in order: the first pages are filled as far as the table lets them
        cr.execute(
            "INSERT INTO service_inquiry_offer_stat (lead_id, offer_count) SELECT id, 0 FROM unnest(%s::int[]) id",
            [leads.ids],
        )
        cr.execute(
            "SELECT count(DISTINCT (ctid::text::point)[0]) FROM service_inquiry_offer_stat WHERE lead_id = ANY(%s)",
            [leads.ids],
        )
        self.assertGreater(cr.fetchone()[0], 1, "the rows fill more than one page")

        def hot_updates():
            cr.execute(
                """SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables
                    WHERE relname = 'service_inquiry_offer_stat'"""
            )
            return cr.fetchone() or (0, 0)

        before = hot_updates()
        # the first inquiry's row, in the first page: its offer made, then answered
        for offers in (1, 2):
            cr.execute(
                "UPDATE service_inquiry_offer_stat SET offer_count = %s, last_technician_id = %s WHERE lead_id = %s",
                [offers, self.tech_anna.id, leads[0].id],
            )
        updated, hot = (after - first for after, first in zip(hot_updates(), before, strict=True))
        self.assertEqual(updated, 2)
        self.assertEqual(hot, 2, "both rewrites stayed in the row's page")


@tagged("post_install", "-at_install", "crm_service_routing")
class TestDecisionStorage(ServiceRoutingCase):
    def test_sentence_read_without_the_decision(self):
        """A decision's sentence, read where the inquiry's messages show it (Route Again, a dispatch), leaves
        its decision and facts, tens of kilobytes each at scale, in the database; reading one brings both."""
        log = self._create_inquiry().routing_log_ids.sudo()
        self.env.invalidate_all()
        cache = self.env.cache
        self.assertTrue(log.reason)
        self.assertTrue(cache.contains(log, log._fields["reason_data"]))
        self.assertFalse(cache.contains(log, log._fields["facts"]), "the facts are left out")
        self.assertFalse(cache.contains(log, log._fields["decision"]), "the decision is left out")
        with self.assertQueryCount(1):
            self.assertTrue(log.facts["candidates"]["id"], "a decision among candidates")
            self.assertTrue(cache.contains(log, log._fields["decision"]), "read with the facts")
