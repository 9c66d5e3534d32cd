# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The technician portal under generated requests: a clear answer (success,
400, 404 or 409), never a 500, never a success for what was not done, and
nothing changed by a refused request."""

import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.tests import HttpCase, tagged

from .test_portal import ServicePortalCase

# generated examples per route and run (a request each)
ROUTE_EXAMPLES = 25
JSON = {"Accept": "application/json"}
ANSWERS = {200, 303, 400, 404, 409}

# values a hostile client sends in any field
hostile = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.builds(lambda size, char: char * size, st.integers(1990, 2100), st.sampled_from("a<&>\"'\né")),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "²",
            "١٢",
            "1e3",
            "nan",
            "inf",
            "-inf",
            "NaN",
            "1e308",
            "0001-01-01T00:30",
            "9999-12-31T23:59",
            "2030-02-30T10:00",
            "2030-06-01T10:30",
            "2030-06-01",
            "on",
            "capacity",
            "other",
            "repair",
            "\x7f",
            "\x85",
            "\x00",
            "<script>alert(1)</script>",
            "a" * 300,
        ]
    ),
)
bad_ids = st.one_of(
    st.sampled_from(["0", "-1", "²", "٣", "1e3", "01", "2147483648", "99999999999999999999", "%00", "abc", " 1"]),
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
    # a slash is no id but another path: the URL layer answers it (308) before any route
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), min_size=1, max_size=8),
)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestPortalHostile(ServicePortalCase, HttpCase):
    def setUp(self):
        super().setUp()
        self.lead = self._offered_to(self.tech_anna)
        self.offer = self.lead.offer_ids
        self.foreign = self._offered_to(self.tech_carla, zip="85354", city="Freising").offer_ids
        self.authenticate(self.portal_anna.login, self.portal_anna.login)
        self.csrf = self._csrf()

    def _csrf(self):
        page = self.url_open("/my/service").text
        start = page.index('name="csrf_token" value="') + len('name="csrf_token" value="')
        return page[start : page.index('"', start)]

    def _post(self, path, data=None, json_client=True):
        return self.url_open(
            path,
            data={"csrf_token": self.csrf, **(data or {})},
            headers=JSON if json_client else None,
            allow_redirects=False,
        )

    def _snapshot(self):
        self.env.invalidate_all()
        leads = self.lead | self.foreign.lead_id
        return (
            [
                (lead.routing_state, lead.technician_id.id, lead.agreed_appointment, len(lead.message_ids))
                for lead in leads
            ]
            + [(offer.state, offer.decline_note) for offer in self.offer | self.foreign]
            + [
                self.env["service.visit"].search_count([]),
                self.env["crm.lead"].search_count([]),
                (self.tech_anna.service_paused, self.tech_anna.service_away_until),
            ]
        )

    def _assert_clear(self, response, before, what):
        self.assertIn(response.status_code, ANSWERS, f"{what}: {response.status_code} {response.text[:300]}")
        if response.status_code >= 400:
            self.assertEqual(self._snapshot(), before, f"{what}: a refused request changed something")
            if response.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(response.text)
                self.assertFalse(body["ok"])
                self.assertTrue(body["error"])
        elif response.status_code == 200 and response.headers.get("Content-Type", "").startswith("application/json"):
            self.assertTrue(json.loads(response.text)["ok"])

    # ------------------------------------------------------------
    # the findings, one by one
    # ------------------------------------------------------------

    def test_offer_zero_and_odd_ids_are_404(self):
        before = self._snapshot()
        for bad in ("0", "-1", "%C2%B2", "99999999999", "2147483648"):
            for action in ("accept", "decline", "note", "appointment", "visit", "followon"):
                with self.subTest(id=bad, action=action):
                    response = self._post(f"/my/service/offer/{bad}/{action}", {"reason": "capacity", "note": "x"})
                    self.assertEqual(response.status_code, 404, response.text[:200])
                    self.assertEqual(json.loads(response.text)["ok"], False)
                    response = self._post(f"/my/service/offer/{bad}/{action}", json_client=False)
                    self.assertEqual(response.status_code, 404)
            with self.subTest(id=bad, action="page"):
                self.assertEqual(self.url_open(f"/my/service/offer/{bad}", allow_redirects=False).status_code, 404)
        self.assertEqual(self._snapshot(), before)

    def test_out_of_range_appointments_and_amounts_are_400(self):
        self.offer.with_user(self.portal_anna)._service_portal_accept()
        before = self._snapshot()
        base = f"/my/service/offer/{self.offer.id}"
        cases = [
            ("appointment", {"agreed_appointment": "0001-01-01T00:30"}),
            ("appointment", {"agreed_appointment": "9999-12-31T23:59"}),
            ("followon", {"name": "x", "service_occasion": "repair", "preferred_appointment": "0001-01-01T00:30"}),
            ("followon", {"name": "x", "service_occasion": "repair", "equipment_type_id": "²"}),
            ("visit", {"work_done": "ok", "followon_order": "on", "followon_amount": "nan"}),
            ("visit", {"work_done": "ok", "followon_order": "on", "followon_amount": "inf"}),
            ("visit", {"work_done": "ok", "followon_order": "on", "followon_amount": "-5"}),
            ("visit", {"work_done": "ok", "visit_date": "0001-01-01"}),
            ("decline", {"reason": "nonsense"}),
        ]
        for action, data in cases:
            with self.subTest(action=action, data=data):
                response = self._post(f"{base}/{action}", data)
                self.assertIn(response.status_code, (400, 409), response.text[:300])
                self.assertTrue(json.loads(response.text)["error"])
                # a form gets the message back on its page
                response = self._post(f"{base}/{action}", data, json_client=False)
                self.assertEqual(response.status_code, 303)
        # the same values on someone else's offer: 404, as for one that does not exist
        for action, data in cases:
            with self.subTest(action=action, data=data, offer="foreign"):
                response = self._post(f"/my/service/offer/{self.foreign.id}/{action}", data)
                self.assertEqual(response.status_code, 404, response.text[:300])
        self.assertEqual(self._snapshot(), before)

    def test_note_through_a_declined_offer_is_refused(self):
        self.offer.with_user(self.portal_anna)._service_portal_decline("capacity")
        before = self._snapshot()
        response = self._post(f"/my/service/offer/{self.offer.id}/note", {"note": "still here"})
        self.assertEqual(response.status_code, 409)
        self.assertIn("no longer open", json.loads(response.text)["error"])
        self.assertEqual(self._snapshot(), before)

    # ------------------------------------------------------------
    # generated requests, per route
    # ------------------------------------------------------------

    def _run_generated(self, action, offer_id, data, json_client=True):
        before = self._snapshot()
        path = f"/my/service/offer/{quote(offer_id, safe='')}/{action}"
        response = self._post(path, data, json_client=json_client)
        self._assert_clear(response, before, f"POST {path} {data!r}"[:300])
        if offer_id != str(self.offer.id):
            # someone else's offer, or none: 404 whatever the values, nothing to tell them apart
            self.assertEqual(response.status_code, 404, f"POST {path} {data!r}"[:300])
        return response

    def _ids(self):
        return st.one_of(bad_ids, st.sampled_from([str(self.offer.id), str(self.foreign.id)]))

    @settings(max_examples=ROUTE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_generated_accept(self, data):
        offer_id = data.draw(self._ids())
        response = self._run_generated("accept", offer_id, {"x": data.draw(hostile)})
        if response.status_code == 200:
            self.assertEqual(offer_id, str(self.offer.id), "success only for the technician's own offer")

    @settings(max_examples=ROUTE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_generated_decline(self, data):
        values = {"reason": data.draw(hostile), "note": data.draw(hostile)}
        response = self._run_generated("decline", data.draw(self._ids()), values)
        if response.status_code == 200:
            self.assertEqual(self.offer.state, "declined")

    @settings(max_examples=ROUTE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_generated_note(self, data):
        self._run_generated("note", data.draw(self._ids()), {"note": data.draw(hostile)})

    @settings(max_examples=ROUTE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_generated_appointment(self, data):
        if data.draw(st.booleans()) and self.offer.state == "offered":
            self.offer.with_user(self.portal_anna)._service_portal_accept()
        self._run_generated("appointment", data.draw(self._ids()), {"agreed_appointment": data.draw(hostile)})

    @settings(max_examples=ROUTE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_generated_visit(self, data):
        if self.offer.state == "offered":
            self.offer.with_user(self.portal_anna)._service_portal_accept()
        fields = ("visit_date", "work_done", "next_maintenance_date", "followon_order", "followon_amount")
        values = {name: data.draw(hostile) for name in fields if data.draw(st.booleans())}
        self._run_generated("visit", data.draw(self._ids()), values)

    @settings(max_examples=ROUTE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_generated_followon(self, data):
        if self.offer.state == "offered":
            self.offer.with_user(self.portal_anna)._service_portal_accept()
        fields = ("name", "service_occasion", "equipment_type_id", "description", "preferred_appointment")
        values = {name: data.draw(hostile) for name in fields if data.draw(st.booleans())}
        self._run_generated("followon", data.draw(self._ids()), values)

    @settings(max_examples=ROUTE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_generated_availability_and_pages(self, data):
        before = self._snapshot()
        values = {"paused": data.draw(hostile), "away_until": data.draw(hostile)}
        response = self._post("/my/service/availability", values, json_client=False)
        self.assertEqual(response.status_code, 303, response.text[:300])
        if "service_portal_success" not in response.headers.get("Location", ""):
            pass  # the outcome is shown on the list; a refused value changes nothing (checked below)
        offer_id = data.draw(self._ids())
        page = self.url_open(f"/my/service/offer/{quote(offer_id, safe='')}", allow_redirects=False)
        # 301: werkzeug's canonical form of an odd path (an encoded NUL, say), never a page
        self.assertIn(page.status_code, (200, 301, 404), f"GET offer {offer_id!r}: {page.status_code}")
        if page.status_code == 200:
            self.assertEqual(offer_id, str(self.offer.id))
        after = self._snapshot()
        # only the technician's own availability may have changed
        self.assertEqual(after[:-1], before[:-1])
