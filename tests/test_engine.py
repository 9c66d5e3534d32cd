# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The decision core, without a database."""

import datetime
import json
import os
import random
import tempfile

from odoo.tests import BaseCase, tagged

from odoo.addons.crm_service_routing.engine import lifecycle, postal, routing

TODAY = datetime.date(2026, 5, 4)
T0 = datetime.datetime(2026, 5, 1, 8, 0)


def range_contains(zip_from, zip_to, code):
    """How the range index reads a range: its stored bounds around the normalised code."""
    low, high = postal.range_keys(zip_from, zip_to)
    return low <= postal.normalize_postal_code(code) <= high


def inquiry(**values):
    base = {"company_id": 1, "equipment_type_ids": frozenset({10, 11}), "latitude": 48.14, "longitude": 11.58}
    base.update(values)
    return routing.Inquiry(**base)


def candidate(id_, **values):
    base = {
        "id": id_,
        "name": f"T{id_}",
        "company_id": 1,
        "area_hits": (routing.AreaHit("range"),),
        "specialization_ids": frozenset({10}),
        "capacity": 10,
    }
    base.update(values)
    return routing.Candidate(**base)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestFilters(BaseCase):
    def assertDropped(self, cand, rule, inq=None):
        decision = routing.decide(inq or inquiry(), [cand], routing.STRATEGY_ROTATION, TODAY)
        self.assertEqual([(d.id, d.rule) for d in decision.dropped], [(cand.id, rule)])
        self.assertIsNone(decision.technician_id)
        self.assertEqual(decision.review_reason, routing.REVIEW_NO_CANDIDATE)

    def test_eligible(self):
        decision = routing.decide(inquiry(), [candidate(1)], routing.STRATEGY_ROTATION, TODAY)
        self.assertEqual(decision.technician_id, 1)
        self.assertEqual(decision.chosen_by, routing.CHOSEN_STRATEGY)
        self.assertFalse(decision.dropped)

    def test_company(self):
        self.assertDropped(candidate(1, company_id=2), routing.RULE_COMPANY)
        # a technician of no company serves every company
        decision = routing.decide(inquiry(), [candidate(1, company_id=None)], routing.STRATEGY_ROTATION, TODAY)
        self.assertEqual(decision.technician_id, 1)

    def test_inactive(self):
        self.assertDropped(candidate(1, active=False), routing.RULE_INACTIVE)

    def test_area(self):
        self.assertDropped(candidate(1, area_hits=()), routing.RULE_AREA)
        far = routing.AreaHit("radius", distance_km=30.01, radius_km=30)
        self.assertDropped(candidate(1, area_hits=(far,)), routing.RULE_AREA)
        edge = routing.AreaHit("radius", distance_km=30.0, radius_km=30)
        decision = routing.decide(inquiry(), [candidate(1, area_hits=(far, edge))], routing.STRATEGY_ROTATION, TODAY)
        self.assertEqual(decision.technician_id, 1, "a radius covers up to and including its edge")
        dropped = routing.decide(inquiry(), [candidate(1, area_hits=(far,))], routing.STRATEGY_ROTATION, TODAY).dropped
        self.assertIn("30.0 km away", dropped[0].detail)

    def test_specialization(self):
        self.assertDropped(candidate(1, specialization_ids=frozenset({99})), routing.RULE_SPECIALIZATION)
        # an inquiry without equipment type asks for no specialization
        decision = routing.decide(
            inquiry(equipment_type_ids=frozenset()),
            [candidate(1, specialization_ids=frozenset())],
            routing.STRATEGY_ROTATION,
            TODAY,
        )
        self.assertEqual(decision.technician_id, 1)

    def test_certification(self):
        self.assertDropped(candidate(1), routing.RULE_CERTIFICATION, inquiry(required_certification_id=7))
        cert = candidate(1, certification_ids=frozenset({7}))
        decision = routing.decide(inquiry(required_certification_id=7), [cert], routing.STRATEGY_ROTATION, TODAY)
        self.assertEqual(decision.technician_id, 1)

    def test_paused_away(self):
        self.assertDropped(candidate(1, paused=True), routing.RULE_PAUSED)
        self.assertDropped(candidate(1, away_until=TODAY), routing.RULE_AWAY)
        back = candidate(1, away_until=TODAY - datetime.timedelta(days=1))
        self.assertEqual(routing.decide(inquiry(), [back], routing.STRATEGY_ROTATION, TODAY).technician_id, 1)

    def test_capacity(self):
        self.assertDropped(candidate(1, capacity=3, open_count=3), routing.RULE_CAPACITY)
        room = candidate(1, capacity=3, open_count=2)
        self.assertEqual(routing.decide(inquiry(), [room], routing.STRATEGY_ROTATION, TODAY).technician_id, 1)

    def test_declined(self):
        self.assertDropped(candidate(1), routing.RULE_DECLINED, inquiry(declined_technician_ids=frozenset({1})))

    def test_first_failing_rule_is_reported(self):
        cand = candidate(1, area_hits=(), paused=True, open_count=10)
        self.assertDropped(cand, routing.RULE_AREA)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestStrategies(BaseCase):
    def rank(self, strategy, candidates, inq=None):
        decision = routing.decide(inq or inquiry(), candidates, strategy, TODAY)
        return [r.id for r in decision.ranking]

    def test_rotation(self):
        cands = [
            candidate(1, last_offered_at=T0, last_offer_seq=40),
            candidate(2, last_offered_at=T0, last_offer_seq=12),
            candidate(3),
        ]
        # never offered first, then the one whose last offer is oldest, even within the same second
        self.assertEqual(self.rank(routing.STRATEGY_ROTATION, cands), [3, 2, 1])

    def test_rotation_serves_the_largest_credit_first(self):
        cands = [
            candidate(1, rotation_credit=0.5, last_offer_seq=1),
            candidate(2, rotation_credit=1.25, last_offer_seq=90),
            candidate(3, rotation_credit=-0.5),
        ]
        self.assertEqual(self.rank(routing.STRATEGY_ROTATION, cands), [2, 1, 3])

    def test_rotation_credits(self):
        decision = routing.decide(inquiry(), [candidate(1), candidate(2), candidate(3)], "rotation", TODAY)
        changes = routing.rotation_credits(decision)
        self.assertEqual(decision.technician_id, 1)
        self.assertAlmostEqual(changes[1], 1 / 3 - 1)
        self.assertAlmostEqual(changes[2], 1 / 3)
        self.assertAlmostEqual(sum(changes.values()), 0.0, msg="credits neither appear nor vanish")
        held = routing.decide(inquiry(safety_critical=True), [candidate(1)], "rotation", TODAY)
        self.assertEqual(routing.rotation_credits(held), {})

    def test_rotation_is_fair_over_overlapping_sets(self):
        """Technician 1 shares inquiries with 2 alone and with 3, 4, 5 together: it gets its fair share."""
        credit, last, got = (
            dict.fromkeys(range(1, 6), 0.0),
            dict.fromkeys(range(1, 6), 0),
            dict.fromkeys(range(1, 6), 0),
        )
        expected = dict.fromkeys(range(1, 6), 0.0)
        sets = [(1, 2), (1, 3, 4, 5)] * 60
        for seq, members in enumerate(sets, start=1):
            cands = [candidate(t, rotation_credit=credit[t], last_offer_seq=last[t]) for t in members]
            decision = routing.decide(inquiry(), cands, routing.STRATEGY_ROTATION, TODAY)
            for tech, change in routing.rotation_credits(decision).items():
                credit[tech] += change
            last[decision.technician_id] = seq
            got[decision.technician_id] += 1
            for t in members:
                expected[t] += 1 / len(members)
        for tech in expected:
            self.assertLessEqual(abs(got[tech] - expected[tech]), 1.0, f"technician {tech}: {got} vs {expected}")

    def test_least_loaded(self):
        cands = [
            candidate(1, capacity=10, open_count=5),
            candidate(2, capacity=4, open_count=1),
            candidate(3, capacity=2, open_count=0),
        ]
        self.assertEqual(self.rank(routing.STRATEGY_LEAST_LOADED, cands), [3, 2, 1])

    def test_best_response(self):
        cands = [
            candidate(1, offers_answered=10, offers_accepted=9, mean_accept_hours=2.0),
            candidate(2, offers_answered=10, offers_accepted=9, mean_accept_hours=30.0),
            candidate(3),  # no record: neutral
            candidate(4, offers_answered=10, offers_accepted=1, mean_accept_hours=1.0),
        ]
        self.assertEqual(self.rank(routing.STRATEGY_BEST_RESPONSE, cands), [1, 2, 3, 4])
        self.assertAlmostEqual(routing.acceptance_score(candidate(3)), 0.25)

    def test_nearest(self):
        munich = (48.137, 11.575)
        cands = [
            candidate(1, latitude=48.40, longitude=11.74),  # Freising, ~32 km
            candidate(2, latitude=48.15, longitude=11.60),  # in town
            candidate(3),  # base unknown: last
            candidate(4, area_hits=(routing.AreaHit("radius", distance_km=10.0, radius_km=50),)),
        ]
        inq = inquiry(latitude=munich[0], longitude=munich[1])
        self.assertEqual(self.rank(routing.STRATEGY_NEAREST, cands, inq), [2, 4, 1, 3])

    def test_ties_are_deterministic(self):
        cands = [candidate(i) for i in range(1, 8)]
        expected = self.rank(routing.STRATEGY_LEAST_LOADED, cands)
        self.assertEqual(expected, list(range(1, 8)), "ties end on the id")
        for seed in range(5):
            shuffled = cands[:]
            random.Random(seed).shuffle(shuffled)
            for strategy in routing.STRATEGIES:
                self.assertEqual(self.rank(strategy, shuffled), self.rank(strategy, cands))

    def test_duplicates_are_counted_once(self):
        decision = routing.decide(inquiry(), [candidate(1), candidate(1)], routing.STRATEGY_ROTATION, TODAY)
        self.assertEqual(len(decision.ranking), 1)

    def test_unknown_strategy(self):
        with self.assertRaises(ValueError):
            routing.decide(inquiry(), [candidate(1)], "coin_toss", TODAY)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestChoice(BaseCase):
    def test_contract_technician_first(self):
        inq = inquiry(existing_customer=True, contract_technician_id=2)
        cands = [candidate(1), candidate(2, last_offered_at=T0, last_offer_seq=3)]
        decision = routing.decide(inq, cands, routing.STRATEGY_ROTATION, TODAY)
        self.assertEqual((decision.technician_id, decision.chosen_by), (2, routing.CHOSEN_CONTRACT))
        self.assertEqual(decision.ranking[0].id, 1, "the ranking itself is the strategy's")

    def test_contract_technician_dropped(self):
        inq = inquiry(existing_customer=True, contract_technician_id=2)
        decision = routing.decide(inq, [candidate(1), candidate(2, paused=True)], routing.STRATEGY_ROTATION, TODAY)
        self.assertEqual((decision.technician_id, decision.chosen_by), (1, routing.CHOSEN_STRATEGY))
        self.assertIn("paused", decision.contract_note)
        decision = routing.decide(inq, [candidate(1)], routing.STRATEGY_ROTATION, TODAY)
        self.assertEqual(decision.contract_note, "contract technician is not a candidate")

    def test_contract_only_for_existing_customers(self):
        inq = inquiry(existing_customer=False, contract_technician_id=2)
        decision = routing.decide(inq, [candidate(1), candidate(2)], routing.STRATEGY_ROTATION, TODAY)
        self.assertEqual(decision.technician_id, 1)
        self.assertIsNone(decision.contract_note)

    def test_review_reasons(self):
        cands = [candidate(1)]
        cases = [
            (inquiry(safety_critical=True, large_account=True), routing.REVIEW_SAFETY),
            (inquiry(large_account=True, equipment_known=False), routing.REVIEW_LARGE_ACCOUNT),
            (inquiry(equipment_known=False, postal_code_known=False), routing.REVIEW_UNKNOWN_EQUIPMENT),
            (inquiry(postal_code_known=False), routing.REVIEW_UNKNOWN_POSTAL_CODE),
        ]
        for inq, reason in cases:
            decision = routing.decide(inq, cands, routing.STRATEGY_ROTATION, TODAY)
            self.assertIsNone(decision.technician_id)
            self.assertEqual(decision.review_reason, reason)
            self.assertEqual([r.id for r in decision.ranking], [1], "held inquiries still show their candidates")

    def test_all_at_capacity(self):
        cands = [candidate(i, capacity=1, open_count=1) for i in (1, 2, 3)]
        decision = routing.decide(inquiry(), cands, routing.STRATEGY_LEAST_LOADED, TODAY)
        self.assertEqual(decision.review_reason, routing.REVIEW_NO_CANDIDATE)
        self.assertEqual({d.rule for d in decision.dropped}, {routing.RULE_CAPACITY})

    def test_no_candidates(self):
        decision = routing.decide(inquiry(), [], routing.STRATEGY_NEAREST, TODAY)
        self.assertEqual((decision.technician_id, decision.review_reason), (None, routing.REVIEW_NO_CANDIDATE))

    def test_facts_stored_as_objects_read_back(self):
        """Decisions stored before the candidates were stored by column: a list of objects, members
        at their default left out."""
        stored = {
            "inquiry": {"company_id": 1, "equipment_type_ids": [3], "existing_customer": True},
            "candidates": [
                {"id": 1, "name": "Anna", "last_offered_at": "2026-11-20T08:00:00", "away_until": "2026-11-01"},
                {"id": 2, "area_hits": [{"kind": "radius", "distance_km": 12.5, "radius_km": 20.0}]},
                {"id": 5, "specialization_ids": [3, 4], "rotation_credit": -0.5},
            ],
        }
        inq, cands = routing.facts_from_json(stored)
        self.assertEqual(inq.equipment_type_ids, frozenset({3}))
        self.assertEqual(
            cands,
            [
                routing.Candidate(
                    1,
                    name="Anna",
                    last_offered_at=datetime.datetime(2026, 11, 20, 8),
                    away_until=datetime.date(2026, 11, 1),
                ),
                routing.Candidate(2, area_hits=(routing.AreaHit("radius", 12.5, 20.0),)),
                routing.Candidate(5, specialization_ids=frozenset({3, 4}), rotation_credit=-0.5),
            ],
        )
        # stored again, by column, it reads back the same
        self.assertEqual(routing.facts_from_json(routing.facts_to_json(inq, cands)), (inq, cands))

    def test_facts_round_trip(self):
        inq = inquiry(existing_customer=True, contract_technician_id=2, declined_technician_ids=frozenset({5}))
        cands = [
            candidate(1, last_offered_at=T0, away_until=TODAY - datetime.timedelta(days=3)),
            candidate(2, area_hits=(routing.AreaHit("radius", 12.5, 20.0),), offers_answered=4, offers_accepted=3),
            candidate(5),
        ]
        data = routing.facts_to_json(inq, cands)
        # by column; members at their default for every candidate are left out
        self.assertEqual(data["candidates"]["id"], [1, 2, 5])
        self.assertEqual(data["candidates"]["offers_answered"], [0, 4, 0])
        self.assertEqual(data["candidates"]["area_hits"][1], [["radius", 12.5, 20.0]])
        # no null anywhere: XML-RPC has none
        self.assertNotIn("null", json.dumps(data["candidates"]))
        self.assertNotIn("paused", data["candidates"])
        self.assertNotIn("mean_accept_hours", data["candidates"])
        inq2, cands2 = routing.facts_from_json(json.loads(json.dumps(data)))
        self.assertEqual(inq2, inq)
        self.assertEqual(cands2, cands)
        self.assertEqual(routing.facts_from_json(routing.facts_to_json(inq, [])), (inq, []))
        for strategy in routing.STRATEGIES:
            self.assertEqual(
                routing.decide(inq2, cands2, strategy, TODAY).to_json(),
                routing.decide(inq, cands, strategy, TODAY).to_json(),
            )


@tagged("post_install", "-at_install", "crm_service_routing")
class TestPostal(BaseCase):
    def test_normalize_and_validate(self):
        self.assertEqual(postal.normalize_postal_code(" 80 331 "), "80331")
        self.assertEqual(postal.normalize_postal_code("sw1a 1aa"), "SW1A1AA")
        self.assertTrue(postal.is_valid_postal_code("DE", "80331"))
        self.assertFalse(postal.is_valid_postal_code("DE", "8033"))
        self.assertTrue(postal.is_valid_postal_code("AT", "1010"))
        self.assertTrue(postal.is_valid_postal_code("GB", "SW1A1AA"))
        self.assertTrue(postal.is_valid_postal_code("NL", "1012AB"))
        self.assertFalse(postal.is_valid_postal_code("DE", ""))

    def test_lookup_key(self):
        self.assertEqual(postal.lookup_key("GB", "SW1A 1AA"), "SW1A")
        self.assertEqual(postal.lookup_key("DE", "80331"), "80331")

    def test_ranges(self):
        self.assertTrue(range_contains("80", "81", "81999"))
        self.assertTrue(range_contains("80000", "81999", "81999"))
        self.assertFalse(range_contains("80000", "81999", "82000"))
        self.assertFalse(range_contains("80", "81", "79999"))
        self.assertTrue(range_contains("80331", None, "80331"))
        self.assertFalse(range_contains("80331", None, "80332"))

    def test_distance_and_box(self):
        munich, berlin = (48.137, 11.575), (52.520, 13.405)
        self.assertAlmostEqual(postal.haversine_km(*munich, *berlin), 504, delta=3)
        self.assertEqual(postal.haversine_km(*munich, *munich), 0)
        south, west, north, east = postal.bounding_box(*munich, 50)
        for bearing_point in ((munich[0] + 0.449, munich[1]), (munich[0], munich[1] + 0.672)):
            self.assertLessEqual(postal.haversine_km(*munich, *bearing_point), 50.1)
            self.assertTrue(south <= bearing_point[0] <= north and west <= bearing_point[1] <= east)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestLifecycleTable(BaseCase):
    """The transition table: every event names known states, and what it allows is what callers rely on."""

    def test_table_names_known_states(self):
        for event, (sources, target, offer_events) in lifecycle.LEAD_TRANSITIONS.items():
            with self.subTest(event=event):
                self.assertTrue(set(sources) <= {None, *lifecycle.LEAD_STATES})
                self.assertIn(target, (*lifecycle.LEAD_STATES, lifecycle.OFFER_STATE))
                self.assertTrue(set(offer_events) <= set(lifecycle.OFFER_OPEN_STATES))
                self.assertTrue(set(offer_events.values()) <= set(lifecycle.OFFER_TRANSITIONS))
        for event, (sources, target) in lifecycle.OFFER_TRANSITIONS.items():
            with self.subTest(offer_event=event):
                self.assertTrue(set(sources) <= set(lifecycle.OFFER_STATES))
                self.assertIn(target, lifecycle.OFFER_STATES)

    def test_closing_ends_the_accepted_offer(self):
        self.assertEqual(lifecycle.lead_target("win", "accepted", "accepted"), ("done", "done"))
        self.assertEqual(lifecycle.lead_target("lose", "accepted", "accepted"), ("cancelled", "cancel"))
        self.assertEqual(lifecycle.lead_target("lose", "offered", "offered"), ("cancelled", "cancel"))
        self.assertEqual(lifecycle.lead_target("win", "review", None), ("done", None))

    def test_illegal_transitions(self):
        for event, state, offer_state in (
            ("decline", "done", None),  # a won job cannot be declined
            ("decline", "cancelled", None),
            ("accept", "accepted", "accepted"),
            ("offer", "offered", "offered"),  # a second offer needs the first withdrawn
            ("reopen", "new", None),
            ("merge", "new", None),  # nothing to take over
            ("open", "new", None),
        ):
            with self.subTest(event=event, state=state), self.assertRaises(lifecycle.IllegalTransition):
                lifecycle.lead_target(event, state, offer_state)
        for event, state in (("accept", "declined"), ("decline", "done"), ("expire", "accepted"), ("done", "offered")):
            with self.subTest(offer_event=event, state=state), self.assertRaises(lifecycle.IllegalTransition):
                lifecycle.offer_target(event, state)

    def test_merge_takes_over_the_open_offer(self):
        self.assertEqual(lifecycle.lead_target("merge", "new", "accepted"), ("accepted", None))
        self.assertEqual(lifecycle.lead_target("merge", "review", "offered"), ("offered", None))


@tagged("post_install", "-at_install", "crm_service_routing")
class TestGeonamesReader(BaseCase):
    """The reader of GeoNames postal-code files, on small files written for the test."""

    def _read(self, text):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "XX.txt")
            with open(path, "w", encoding="utf-8", newline="") as file:
                file.write(text)
            with open(path, encoding="utf-8", newline="") as lines:
                return postal.read_geonames(lines)

    @staticmethod
    def _line(code, place, lat, lon, accuracy="4"):
        return f"DE\t{code}\t{place}\tBayern\tBY\t\t\t\t\t{lat}\t{lon}\t{accuracy}\n"

    def test_one_centroid_per_code_the_mean_of_its_places(self):
        rows = self._read(
            self._line("80331", "München", "48.0", "11.0")
            + self._line("80331", "München Altstadt", "48.2", "11.4")
            + self._line("01067", "Dresden", "51.05", "13.74", accuracy="")
            + self._line("ab10", "Aberdeen", "57.1", "-2.1")
        )
        self.assertEqual([row[0] for row in rows], ["01067", "80331", "AB10"])
        _code, place, lat, lon = rows[1]
        self.assertEqual(place, "München, München Altstadt")
        self.assertAlmostEqual(lat, 48.1)
        self.assertAlmostEqual(lon, 11.2)
        self.assertEqual(rows[0], ("01067", "Dresden", 51.05, 13.74))

    def test_blank_lines_and_lines_without_coordinates_are_skipped(self):
        rows = self._read(
            "\n"
            + self._line("80331", "München", "48.1", "11.5")
            + "   \n"
            + self._line("80333", "München", "", "")
            + self._line("80335", "", "48.14", "11.56")
            + self._line("", "Nowhere", "48.0", "11.0")
        )
        self.assertEqual(rows, [("80331", "München", 48.1, 11.5), ("80335", "", 48.14, 11.56)])

    def test_a_quote_in_a_place_name_is_text(self):
        rows = self._read(self._line("12345", 'Haus "Zur Post"', "50.0", "10.0"))
        self.assertEqual(rows[0][1], 'Haus "Zur Post"')

    def test_bad_lines_are_refused_naming_the_line(self):
        cases = {
            "latitude 'north' is not a number": self._line("80331", "München", "north", "11.5"),
            "latitude '91.5' is out of range": self._line("80331", "München", "91.5", "11.5"),
            "longitude 'inf' is out of range": self._line("80331", "München", "48.1", "inf"),
            "4 fields": "DE\t80331\tMünchen\t48.1\n",
        }
        for message, bad in cases.items():
            with self.subTest(message), self.assertRaisesRegex(postal.GeonamesError, f"line 2: .*{message}"):
                self._read(self._line("01067", "Dresden", "51.05", "13.74") + bad)
