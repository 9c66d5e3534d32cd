# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""An inquiry's way from creation to acceptance, on a real database."""

import json
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from odoo.addons.crm_service_routing.engine import routing
from odoo.addons.crm_service_routing.models import service_rotation_entry, service_routing_log

from .common import ServiceRoutingCase


@tagged("post_install", "-at_install", "crm_service_routing")
class TestRoutingFlow(ServiceRoutingCase):
    def test_log_json_written_compact_and_read_back(self):
        """The log's JSON text is compact whichever writer serves (orjson where installed), what orjson
        refuses (an integer beyond 64 bits, a key that is a number) is written by json.dumps, and a
        decision's facts read back as the engine wrote them."""
        value = {"a": [1, 2.5, None, "ü"], "b": {"c": True}}
        self.assertEqual(json.loads(service_routing_log.json_text(value)), value)
        self.assertNotIn(" ", service_routing_log.json_text(value))
        self.assertEqual(json.loads(service_routing_log.json_text({"big": 2**70})), {"big": 2**70})
        self.assertEqual(json.loads(service_routing_log.json_text({7: "x"})), {"7": "x"})
        with patch.object(service_routing_log, "orjson", None):
            self.assertEqual(service_routing_log.json_text(value), json.dumps(value, separators=(",", ":")))
        lead = self.env["crm.lead"].create(self._inquiry_vals(zip="81675"))
        log = lead.routing_log_ids
        self.env.invalidate_all()
        inquiry, candidates = routing.facts_from_json(log.facts)
        self.assertEqual(
            log.technician_id.id, routing.decide(inquiry, candidates, log.strategy, fields.Date.today()).technician_id
        )
        self.assertEqual([r["id"] for r in log.decision["ranking"]][:1], [log.technician_id.id])

    def test_routed_on_creation(self):
        lead = self._create_inquiry()
        self.assertEqual(lead.routing_state, "offered")
        self.assertIn(lead.technician_id, self.tech_anna | self.tech_carla, "Bernd covers 81xxx only")
        self.assertTrue(lead.offered_at)
        self.assertEqual(lead.offer_ids.mapped("state"), ["offered"])
        self.assertEqual(lead.offer_ids.technician_id, lead.technician_id)
        log = lead.routing_log_ids
        self.assertEqual(len(log), 1)
        self.assertRecordValues(
            log,
            [
                {
                    "trigger": "create",
                    "outcome": "offered",
                    "technician_id": lead.technician_id.id,
                    "strategy": "rotation",
                    "chosen_by": "strategy",
                    "candidate_count": 2,
                    "dropped_count": 0,
                }
            ],
        )
        self.assertEqual({row["id"] for row in log.decision["ranking"]}, {self.tech_anna.id, self.tech_carla.id})
        self.assertIn(lead.technician_id.name, log.reason)
        # the stored facts replay to the stored decision
        inquiry, candidates = routing.facts_from_json(log.facts)
        replay = routing.decide(inquiry, candidates, "rotation", fields.Date.today())
        self.assertEqual(replay.technician_id, lead.technician_id.id)

    def test_non_service_lead_untouched(self):
        lead = self.env["crm.lead"].create({"name": "Sales lead", "zip": "80331"})
        self.assertFalse(lead.routing_state)
        self.assertFalse(lead.routing_log_ids)

    def test_rotation_is_fair(self):
        technicians = [self._create_inquiry(zip="81675").technician_id for _i in range(9)]
        # Anna's and Bernd's ranges and Carla's radius all cover 81675: they take turns
        self.assertEqual(set(technicians), {self.tech_anna, self.tech_bernd, self.tech_carla})
        for start in range(3):
            self.assertEqual(technicians[start::3], [technicians[start]] * 3)

    def test_a_batch_folds_the_rotation_ledger(self):
        """Inquiries routed in one call take turns as single ones do, and leave each credit in one entry."""
        techs = self.tech_anna | self.tech_bernd | self.tech_carla
        leads = self.env["crm.lead"].create([self._inquiry_vals(zip="81675") for _i in range(12)])
        self.assertEqual(set(leads.mapped("routing_state")), {"offered"})
        for tech in techs:
            self.assertEqual(len(leads.filtered(lambda lead, tech=tech: lead.technician_id == tech)), 4)
        self.env.cr.execute(
            """SELECT technician_id, count(*), sum(change) FROM service_rotation_entry
                WHERE technician_id = ANY(%s) AND company_id = %s GROUP BY technician_id""",
            (techs.ids, self.env.company.id),
        )
        ledger = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        self.assertEqual(set(ledger), set(techs.ids))
        for tech in techs:
            entries, credit = ledger[tech.id]
            self.assertEqual(entries, 1, "folded at the end of the batch")
            # owed a third of each of the 12 offers, got 4 of them
            self.assertAlmostEqual(credit, 0.0)

    def test_a_batch_reads_each_technician_once_and_its_own_claims(self):
        """A batch's candidates are read in one query, and each decision sees the load the claims before
        it took, as one query per inquiry would: the facts stored with each decision say so."""
        techs = self.tech_anna | self.tech_bernd | self.tech_carla
        techs.write({"service_capacity": 100})
        self.tech_anna.service_capacity = 2
        with self.capture_queries("service_candidate_facts(") as queries:
            leads = self.env["crm.lead"].create([self._inquiry_vals(zip="81675") for _i in range(12)])
        self.assertEqual(len(queries), 1, "one candidates query for the batch")
        self.assertEqual(set(leads.mapped("routing_state")), {"offered"})
        self.assertEqual(len(leads.filtered(lambda lead: lead.technician_id == self.tech_anna)), 2)
        taken = dict.fromkeys(techs.ids, 0)
        previous = None
        for lead in leads.sorted("id"):
            _inquiry, candidates = routing.facts_from_json(lead.routing_log_ids.facts)
            self.assertEqual({c.id: c.open_count for c in candidates}, taken, lead.name)
            # and the offer before it as its technician's last one
            if previous:
                self.assertEqual(max(candidates, key=lambda c: c.last_offer_seq).id, previous, lead.name)
            taken[lead.technician_id.id] += 1
            previous = lead.technician_id.id
        self.assertEqual(taken[self.tech_anna.id], 2)
        # and the full technician was left out, not offered beyond its capacity
        self.assertEqual(sorted(taken.values()), [2, 5, 5])

    def test_a_batch_decision_that_cannot_be_written_gives_back_its_claim(self):
        """A batch whose decisions fail to be written together writes them one by one; the inquiry whose
        own one fails stays new with its error, its technician's slot and rotation credit given back."""
        CrmLead = type(self.env["crm.lead"])
        transition = CrmLead._service_transition
        vals_list = [self._inquiry_vals(zip="81675", name=f"Batch {index}") for index in range(10)]
        vals_list[3]["name"] = "Unwritable"

        def failing_transition(records, event, *args, **kwargs):
            if event == "offer" and "Unwritable" in records.mapped("name"):
                raise ValidationError("The offer of this inquiry cannot be written.")
            return transition(records, event, *args, **kwargs)

        with (
            patch.object(CrmLead, "_service_transition", failing_transition),
            mute_logger("odoo.addons.crm_service_routing.models.crm_lead_routing"),
        ):
            leads = self.env["crm.lead"].create(vals_list)
        failed = leads.filtered(lambda lead: lead.name == "Unwritable")
        routed = leads - failed
        self.assertEqual(set(routed.mapped("routing_state")), {"offered"})
        self.assertEqual(len(routed.offer_ids), 9)
        self.assertEqual(len(routed.routing_log_ids), 9)
        self.assertRecordValues(failed, [{"routing_state": "new", "routing_attempts": 1, "technician_id": False}])
        self.assertIn("cannot be written", failed.routing_error)
        self.assertFalse(failed.offer_ids)
        self.env.cr.execute("SELECT lead_id FROM service_technician_slot WHERE lead_id = ANY(%s)", (leads.ids,))
        self.assertEqual({row[0] for row in self.env.cr.fetchall()}, set(routed.ids))
        techs = self.tech_anna | self.tech_bernd | self.tech_carla
        # each of the 9 offers owed a third to each of the three and was paid to one, 3 each: every credit
        # is 0 again; the tenth decision's credit, not given back, would leave its technician at -2/3
        self.env.cr.execute(
            """SELECT technician_id, sum(change) FROM service_rotation_entry
                WHERE company_id = %s AND technician_id = ANY(%s) GROUP BY technician_id""",
            (self.env.company.id, techs.ids),
        )
        for _tech_id, credit in self.env.cr.fetchall():
            self.assertAlmostEqual(credit, 0.0)
        # and the 9 offers still took turns
        self.assertEqual(
            sorted(len(routed.filtered(lambda lead, tech=tech: lead.technician_id == tech)) for tech in techs),
            [3, 3, 3],
        )

    def test_a_long_ledger_wakes_the_fold(self):
        Entry = self.env["service.rotation.entry"]
        for _i in range(service_rotation_entry.FOLD_AT + 1):
            Entry._append(self.env.company.id, {self.tech_anna.id: 0.01})
        cron = self.env.ref("crm_service_routing.ir_cron_fold_rotation")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self.patch(service_rotation_entry, "_fold_woken", {})
        lead = self._create_inquiry(zip="81675")
        self.assertEqual(lead.routing_state, "offered")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]) - triggers)
        # the credit read is the sum of the entries: Anna's is largest, rotation serves her first
        self.assertEqual(lead.technician_id, self.tech_anna)
        # woken once, not at every routing
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self._create_inquiry(zip="81675")
        self.assertFalse(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]) - triggers)

    def test_fold_sums_each_technician_and_drops_the_deleted(self):
        # neither the technician nor the company is a foreign key of the ledger: the fold drops them
        self.env.cr.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'service_rotation_entry'::regclass AND contype = 'f'"
        )
        self.assertFalse(self.env.cr.fetchall())
        Entry = self.env["service.rotation.entry"]
        gone = self.env["res.partner"].create({"name": "Left the network", "is_technician": True})
        company = self.env.company.id
        Entry._append(company, {self.tech_anna.id: 0.5, self.tech_bernd.id: -0.25, gone.id: 0.75})
        Entry._append(company, {self.tech_anna.id: 0.25, self.tech_bernd.id: -0.5, gone.id: 0.25})
        closed = self.env["res.company"].create({"name": "Closed Branch"})
        Entry._append(closed.id, {self.tech_anna.id: 2.0})
        gone.unlink()
        closed.unlink()
        Entry._fold()
        self.env.cr.execute(
            """SELECT technician_id, company_id, count(*), sum(change) FROM service_rotation_entry
                WHERE technician_id = ANY(%s) GROUP BY 1, 2""",
            ([self.tech_anna.id, self.tech_bernd.id, gone.id],),
        )
        self.assertEqual(
            {row[:2]: (row[2], round(row[3], 6)) for row in self.env.cr.fetchall()},
            {(self.tech_anna.id, company): (1, 0.75), (self.tech_bernd.id, company): (1, -0.75)},
        )

    def test_last_offer_is_the_one_the_ledger_recorded(self):
        """A technician's last offer in the company is recorded in the rotation ledger with the credit it
        paid, kept by the fold; offers made in the same second are told apart by their number."""
        with freeze_time("2026-06-05 08:00:00"):
            routed = [self._create_inquiry(zip="81675") for _i in range(3)]
            self.env["service.rotation.entry"]._fold()
            fourth = self._create_inquiry(zip="81675")
        _inquiry, candidates = routing.facts_from_json(fourth.routing_log_ids.facts)
        facts = {c.id: c for c in candidates}
        self.assertEqual(len({lead.technician_id for lead in routed}), 3)
        for lead in routed:
            self.assertEqual(facts[lead.technician_id.id].last_offered_at, lead.offer_ids.offered_at, lead.name)
        numbers = [facts[lead.technician_id.id].last_offer_seq for lead in routed]
        self.assertTrue(all(numbers), numbers)
        self.assertEqual(numbers, sorted(set(numbers)), "numbered in their order")
        # all three even again: the least recently offered takes the fourth
        self.assertEqual(fourth.technician_id, routed[0].technician_id)

    def test_ledger_takes_the_last_offers_made_before_it_recorded_them(self):
        """Upgrading from a ledger without offers: each technician's last offer, from the offers, once."""
        first = self._create_inquiry(zip="81675")
        second = self._create_inquiry(zip="81675")
        Entry = self.env["service.rotation.entry"]
        self.env.cr.execute("UPDATE service_rotation_entry SET offer_seq = NULL, offered_at = NULL")
        self.env.cr.execute(
            "UPDATE service_offer SET offered_at = offered_at - interval '1 day' WHERE id = %s", (first.offer_ids.id,)
        )
        self.env.invalidate_all()

        def recorded():
            self.env.cr.execute(
                """SELECT technician_id, offer_seq, offered_at FROM service_rotation_entry
                    WHERE offer_seq IS NOT NULL AND company_id = %s AND technician_id = ANY(%s)""",
                (self.env.company.id, (first | second).technician_id.ids),
            )
            return {row[0]: row[1:] for row in self.env.cr.fetchall()}

        Entry.init()
        seeded = recorded()
        self.assertEqual(
            seeded,
            {
                first.technician_id.id: (seeded[first.technician_id.id][0], first.offer_ids.offered_at),
                second.technician_id.id: (seeded[second.technician_id.id][0], second.offer_ids.offered_at),
            },
        )
        # before every offer recorded from now on, and in the order the offers were made
        self.assertLess(seeded[first.technician_id.id][0], seeded[second.technician_id.id][0])
        self.assertLess(seeded[second.technician_id.id][0], 0)
        Entry.init()
        self.assertEqual(recorded(), seeded, "taken once")

    def test_filters_drop_with_the_rule(self):
        self.tech_carla.service_paused = True
        self.tech_anna.service_away_until = fields.Date.today()
        lead = self._create_inquiry(zip="81675", equipment_type_id=self.type_pv.id)
        # PV: Anna lacks the specialization (and is away), Carla is paused and too far; Bernd takes it
        self.assertEqual(lead.technician_id, self.tech_bernd)
        self.assertEqual(
            {(row["id"], row["rule"]) for row in lead.routing_log_ids.decision["dropped"]},
            {(self.tech_anna.id, "specialization"), (self.tech_carla.id, "paused")},
        )
        self.assertIn("Anna Technik", lead.routing_log_ids.candidates_html)

    def test_capacity_and_review_when_nobody_is_left(self):
        self.tech_anna.service_capacity = 1
        self.tech_carla.service_capacity = 1
        first = self._create_inquiry()
        second = self._create_inquiry()
        self.assertNotEqual(first.technician_id, second.technician_id)
        third = self._create_inquiry()
        self.assertEqual(third.routing_state, "review")
        self.assertEqual(third.review_reason, "no_candidate")
        self.assertEqual({row["rule"] for row in third.routing_log_ids.decision["dropped"]}, {"capacity"})
        self.assertEqual(self.tech_anna.service_open_count, 1)

    def test_won_inquiries_free_capacity(self):
        self.tech_anna.service_capacity = 1
        self.tech_carla.service_paused = True
        first = self._create_inquiry()
        self.assertEqual(first.technician_id, self.tech_anna)
        self.assertEqual(self._create_inquiry().routing_state, "review", "Anna is at capacity")
        first.action_service_accept(offer_id=first.service_offer_id.id)
        first.action_set_won()
        self.assertEqual(self.tech_anna.service_open_count, 0)
        self.assertEqual(self._create_inquiry().technician_id, self.tech_anna, "a won inquiry is no longer open")

    def test_premium_needs_certification(self):
        lead = self._create_inquiry(service_level_id=self.level_premium.id)
        self.assertEqual(lead.technician_id, self.tech_anna)
        dropped = {row["id"]: row["rule"] for row in lead.routing_log_ids.decision["dropped"]}
        self.assertEqual(dropped, {self.tech_carla.id: "certification"})

    def test_qualifications_follow_either_side_of_the_relation(self):
        """The routing reads specializations and certifications from the technician's row
        (service_qualification_key): a change made from the tier's side, or to the
        relation by a command, routes at once."""
        key = f"{self.type_heatpump.id}/{self.level_premium.id}"
        self.assertEqual(self.tech_anna.service_qualification_key, key)
        # the tier's list of certified technicians: Carla joins, Anna leaves
        self.level_premium.technician_ids = [(4, self.tech_carla.id), (3, self.tech_anna.id)]
        self.assertEqual(self.tech_anna.service_qualification_key, f"{self.type_heatpump.id}/")
        lead = self._create_inquiry(zip="81675", service_level_id=self.level_premium.id)
        self.assertEqual(lead.technician_id, self.tech_carla)
        dropped = {row["id"]: row["rule"] for row in lead.routing_log_ids.decision["dropped"]}
        self.assertEqual(dropped, {self.tech_anna.id: "certification", self.tech_bernd.id: "certification"})
        _inquiry, candidates = routing.facts_from_json(lead.routing_log_ids.facts)
        self.assertEqual(
            {c.id: c.certification_ids for c in candidates},
            {self.tech_anna.id: set(), self.tech_bernd.id: set(), self.tech_carla.id: {self.level_premium.id}},
        )
        # an archived type still counts as the relation holds it (the key computed again after the archiving);
        # no type nor tier: none stored
        self.type_pv.active = False
        self.tech_bernd.service_level_ids = [(4, self.level_standard.id)]
        self.assertEqual(
            self.tech_bernd.service_qualification_key,
            f"{self.type_heatpump.id},{self.type_pv.id}/{self.level_standard.id}",
        )
        self.tech_bernd.write({"service_equipment_type_ids": [(5,)], "service_level_ids": [(5,)]})
        self.assertFalse(self.tech_bernd.service_qualification_key)
        lead = self._create_inquiry(zip="81675", equipment_type_id=self.type_heatpump.id)
        self.assertNotEqual(lead.technician_id, self.tech_bernd)
        dropped = {row["id"]: row["rule"] for row in lead.routing_log_ids.decision["dropped"]}
        self.assertEqual(dropped[self.tech_bernd.id], "specialization")
        # a partner that is no technician keeps none
        self.tech_bernd.write({"is_technician": False, "service_equipment_type_ids": [(4, self.type_pv.id)]})
        self.assertFalse(self.tech_bernd.service_qualification_key)

    def test_contract_technician_first(self):
        lead = self._create_inquiry(serial_number="hp-0001", zip="81675", email_from="other@example.org")
        self.assertEqual(lead.customer_kind, "existing")
        self.assertEqual(lead.match_method, "serial")
        self.assertEqual((lead.contract_id, lead.equipment_id), (self.contract, self.equipment))
        self.assertEqual(lead.technician_id, self.tech_bernd)
        self.assertEqual(lead.routing_log_ids.chosen_by, "contract")
        # paused: the strategy chooses, and the log says why not the contract technician
        # (the first job is done: the next one of the customer is no repeat of it)
        lead.action_set_won()
        self.tech_bernd.service_paused = True
        lead2 = self._create_inquiry(contract_ref="SC-1001", zip="81675")
        self.assertEqual(lead2.technician_id, self.tech_anna)
        self.assertIn("The contract technician was passed over: Paused.", lead2.routing_log_ids.reason)

    def test_strategy_per_tier_overrides_company(self):
        self.company.service_routing_strategy = "nearest"
        lead = self._create_inquiry(zip="85354", equipment_type_id=self.type_heatpump.id)
        self.assertEqual(lead.technician_id, self.tech_carla, "Carla's base is 85354")
        self.level_standard.routing_strategy = "least_loaded"
        self._create_inquiry(zip="80331")  # Anna or Carla gets one more open inquiry
        lead2 = self._create_inquiry(zip="80331")
        self.assertEqual(lead2.routing_log_ids.strategy, "least_loaded")

    def test_least_loaded_counts_open_inquiries(self):
        self.company.service_routing_strategy = "least_loaded"
        self.tech_carla.service_capacity = 2
        # Anna (capacity 5) and Carla (capacity 2) cover 80331: the lower share of capacity in use wins
        first = self._create_inquiry()
        second = self._create_inquiry()
        self.assertEqual(first.technician_id | second.technician_id, self.tech_anna | self.tech_carla)
        third = self._create_inquiry()
        self.assertEqual(third.technician_id, self.tech_anna, "1/5 of Anna's capacity is used, 1/2 of Carla's")
        ranking = {row["id"]: row["score"] for row in third.routing_log_ids.decision["ranking"]}
        self.assertEqual(ranking, {self.tech_anna.id: 0.2, self.tech_carla.id: 0.5})

    def test_best_response_record(self):
        # history: Carla declined twice, Anna accepted twice
        for _i in range(2):
            lead = self._create_inquiry()
            while lead.technician_id == self.tech_anna:
                lead.action_service_accept(offer_id=lead.service_offer_id.id)
                lead = self._create_inquiry()
            lead.action_service_decline("capacity", offer_id=lead.service_offer_id.id)
            if lead.technician_id == self.tech_anna:
                lead.action_service_accept(offer_id=lead.service_offer_id.id)
        self.level_standard.routing_strategy = "best_response"
        self.assertEqual(self._create_inquiry().technician_id, self.tech_anna)
        detail = {row["id"]: row["detail"] for row in self._create_inquiry().routing_log_ids.decision["ranking"]}
        self.assertIn("accepted 0 of 2", detail[self.tech_carla.id])

    def test_other_company_technician_is_dropped(self):
        other = self.env["res.company"].create({"name": "Other GmbH"})
        self.tech_carla.company_id = other
        lead = self._create_inquiry()
        self.assertEqual(lead.technician_id, self.tech_anna)
        dropped = {row["id"]: row["rule"] for row in lead.routing_log_ids.decision["dropped"]}
        self.assertEqual(dropped, {self.tech_carla.id: "company"})

    def test_review_queue(self):
        gas = self._create_inquiry(equipment_type_id=self.type_gas.id)
        self.assertEqual((gas.routing_state, gas.review_reason), ("review", "safety_critical"))
        self.assertFalse(gas.technician_id)
        self.customer.is_large_account = True
        big = self._create_inquiry(contract_ref="SC-1001", zip="81675")
        self.assertEqual((big.routing_state, big.review_reason), ("review", "large_account"))
        nowhere = self._create_inquiry(zip="10115", city="Berlin")
        self.assertEqual(nowhere.review_reason, "no_candidate")

    def test_accept(self):
        lead = self._create_inquiry(zip="81675", equipment_type_id=self.type_pv.id)
        self.assertEqual(lead.technician_id, self.tech_bernd)
        with self.assertRaises(AccessError):
            lead.with_user(self.user_salesman).action_service_accept(offer_id=lead.service_offer_id.id)
        # a contact of the service-partner company acts for it once linked to it
        contact = self.env["res.partner"].create({"name": "Bernd's fitter", "parent_id": self.tech_bernd.id})
        fitter = self.env["res.users"].create(
            {
                "name": "Fitter",
                "login": "fitter",
                "partner_id": contact.id,
                "groups_id": [(6, 0, [self.ref("sales_team.group_sale_salesman")])],
            }
        )
        with self.assertRaises(AccessError):
            lead.with_user(fitter).sudo(False).action_service_accept(offer_id=lead.service_offer_id.id)
        fitter.service_technician_id = self.tech_bernd
        lead.with_user(fitter).sudo(False).action_service_accept(offer_id=lead.service_offer_id.id)
        self.assertEqual(lead.routing_state, "accepted")
        self.assertTrue(lead.accepted_at)
        self.assertEqual(lead.offer_ids.state, "accepted")
        self.assertTrue(lead.offer_ids.responded_at)
        with self.assertRaises(UserError):
            lead.action_service_accept(offer_id=lead.service_offer_id.id)

    def test_decline_routes_on(self):
        lead = self._create_inquiry(zip="81675")
        first = lead.technician_id
        with self.assertRaises(ValidationError):
            lead.action_service_decline("other", offer_id=lead.service_offer_id.id)
        with self.assertRaises(ValidationError):
            lead.action_service_decline("bored", offer_id=lead.service_offer_id.id)
        lead.action_service_decline("capacity", offer_id=lead.service_offer_id.id)
        second = lead.technician_id
        self.assertTrue(second)
        self.assertNotEqual(first, second)
        self.assertEqual(lead.routing_state, "offered")
        self.assertEqual(lead.declined_technician_ids, first)
        declined = lead.offer_ids.filtered(lambda o: o.state == "declined")
        self.assertEqual((declined.technician_id, declined.decline_reason), (first, "capacity"))
        self.assertEqual(lead.routing_log_ids[0].trigger, "decline")
        lead.action_service_decline("other", "Customer wants a weekend slot", offer_id=lead.service_offer_id.id)
        self.assertEqual(lead.routing_state, "offered")
        lead.action_service_decline("specialization", offer_id=lead.service_offer_id.id)
        self.assertEqual(lead.routing_state, "review", "all three technicians of 81675 declined")
        self.assertEqual(len(lead.declined_technician_ids), 3)
        self.assertEqual(lead.review_reason, "no_candidate")
        self.assertEqual({row["rule"] for row in lead.routing_log_ids[0].decision["dropped"]}, {"declined"})

    def test_cron_backstop(self):
        lead = self.env["crm.lead"].with_context(service_no_routing=True).create(self._inquiry_vals())
        self.assertEqual(lead.routing_state, "new")
        self.env["crm.lead"]._route_pending()
        self.assertEqual(lead.routing_state, "offered")
        self.assertEqual(lead.routing_log_ids.trigger, "cron")
        # a fresh 'no candidate' review is not retried at once, an old one is
        stuck = self._create_inquiry(zip="10115")
        self.env["crm.lead"]._route_pending()
        self.assertEqual(len(stuck.routing_log_ids), 1)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET routing_state_date = now() at time zone 'UTC' - interval '2 hours' WHERE id = %s",
            (stuck.id,),
        )
        self.env["crm.lead"]._route_pending()
        self.assertEqual(len(stuck.routing_log_ids), 2)

    def test_assign_wizard(self):
        gas = self._create_inquiry(equipment_type_id=self.type_gas.id)
        with self.assertRaises(AccessError):
            Form(self.env["crm.lead.assign"].with_user(self.user_salesman).with_context(default_lead_id=gas.id))
        wizard = Form(self.env["crm.lead.assign"].with_user(self.user_dispatcher).with_context(default_lead_id=gas.id))
        self.assertFalse(wizard.technician_id, "a safety-critical inquiry has no automatic choice")
        wizard.technician_id = self.tech_bernd
        record = wizard.save()
        results = {line.technician_id: line.result for line in record.line_ids}
        # Anna's range and Carla's radius cover 80331 but neither services gas boilers; Bernd's range
        # does not cover it: the dispatcher may still choose him, once confirmed (he is not trained for gas)
        self.assertEqual(results, {self.tech_anna: "Specialization", self.tech_carla: "Specialization"})
        self.assertTrue(record.needs_confirmation)
        with self.assertRaisesMessage(UserError, "not trained for Gas Boiler"):
            record.action_assign()
        self.assertEqual(gas.routing_state, "review")
        record.confirm_unqualified = True
        record.action_assign()
        self.assertEqual((gas.routing_state, gas.technician_id), ("offered", self.tech_bernd))
        log = gas.routing_log_ids[0]
        self.assertEqual((log.trigger, log.chosen_by, log.user_id), ("manual", "dispatcher", self.user_dispatcher))
        # reassigning withdraws the earlier offer
        record2 = Form(self.env["crm.lead.assign"].with_context(default_lead_id=gas.id)).save()
        record2.technician_id = self.tech_anna
        record2.confirm_unqualified = True
        record2.action_assign()
        self.assertEqual(
            sorted(gas.offer_ids.mapped(lambda o: (o.technician_id.name, o.state))),
            [("Anna Technik", "offered"), ("Bernd Service GmbH", "withdrawn")],
        )

    def test_replay_dry_run(self):
        leads = self._create_inquiry() | self._create_inquiry() | self._create_inquiry(zip="85354")
        logs_before = self.env["service.routing.log"].search_count([])
        offers = {lead: lead.technician_id for lead in leads}
        self.company.service_routing_strategy = "nearest"
        wizard = self.env["service.routing.replay"].create({"lead_ids": [(6, 0, leads.ids)], "mode": "facts"})
        wizard.action_replay()
        self.assertEqual(len(wizard.line_ids), 3)
        for line in wizard.line_ids:
            self.assertEqual(line.old_technician_id, offers[line.lead_id])
            self.assertEqual(line.changed, line.new_technician_id != line.old_technician_id)
        # 'nearest' sends the Munich inquiries to Anna (base 80331), the Freising one to Carla
        by_lead = {line.lead_id: line.new_technician_id for line in wizard.line_ids}
        self.assertEqual(list(by_lead.values()).count(self.tech_anna), 2)
        self.assertEqual(self.env["service.routing.log"].search_count([]), logs_before, "a dry run logs nothing")
        self.assertEqual({lead: lead.technician_id for lead in leads}, offers, "a dry run offers nothing")
        # current data: pause whoever holds the Freising inquiry
        freising = leads[2]
        freising.technician_id.service_paused = True
        wizard2 = self.env["service.routing.replay"].create({"lead_ids": [(6, 0, freising.ids)], "mode": "current"})
        wizard2.action_replay()
        self.assertTrue(wizard2.line_ids.changed)

    def test_mixed_batch_keeps_crm_behaviour(self):
        partner = self.env["res.partner"].create({"name": "Lead Partner", "phone": "+49 89 111"})
        leads = self.env["crm.lead"].create(
            [
                {"name": "Sales", "partner_id": partner.id, "phone": "+49 89 222"},
                self._inquiry_vals(partner_id=self.customer.id, phone="+49 89 333"),
            ]
        )
        self.assertEqual(leads.mapped("name"), ["Sales", "Heat pump makes noise"], "order of the values is kept")
        self.assertFalse(leads[0].routing_state)
        self.assertEqual(leads[1].routing_state, "offered")
        self.assertEqual(partner.phone, "+49 89 222", "crm updates the partner of a sales lead")
        self.assertEqual(self.customer.phone, "+49 89 1234567", "an inquiry leaves its customer's phone alone")

    def test_technician_declines_through_the_wizard(self):
        lead = self._create_inquiry(zip="81675", equipment_type_id=self.type_pv.id)
        self.assertEqual(lead.technician_id, self.tech_bernd)
        contact = self.env["res.partner"].create({"name": "Bernd's dispatcher", "parent_id": self.tech_bernd.id})
        user = self.env["res.users"].create(
            {
                "name": "Bernd Office",
                "login": "bernd-office",
                "partner_id": contact.id,
                "service_technician_id": self.tech_bernd.id,
                "groups_id": [(6, 0, [self.ref("sales_team.group_sale_salesman")])],
            }
        )
        as_tech = lead.with_user(user)
        self.assertEqual(as_tech.name, lead.name, "a technician's user reads the inquiries offered to it")
        wizard = (
            self.env["crm.lead.decline"]
            .with_user(user)
            .create(
                {
                    "lead_id": lead.id,
                    "offer_id": lead.service_offer_id.id,
                    "reason": "specialization",
                    "note": "No PV fitter free",
                }
            )
        )
        wizard.action_decline()
        self.assertNotEqual(lead.technician_id, self.tech_bernd)
        self.assertEqual(lead.offer_ids.filtered(lambda o: o.state == "declined").decline_note, "No PV fitter free")
        with self.assertRaises(AccessError):
            lead.with_user(user).action_service_accept(offer_id=lead.service_offer_id.id)
