# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What integrations, technicians and attackers send: strict parsers, plain text
kept as typed, answers only through the current offer, clear refusals, no oracle."""

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import html2plaintext

from ..models.service_input import (
    InputRangeError,
    parse_amount,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_id,
    parse_selection,
)
from .common import in_days, service_request
from .test_portal import ServicePortalCase

HOSTILE_TEXT = "<script>alert('x')</script> Pump <noisy> pressure < 2 bar & a<b > c &amp; done"
# the intake: examples generated per run (each in a savepoint, rolled back)
INTAKE_EXAMPLES = 60


def intake_request(**values):
    """The least a request holds: no title, no equipment."""
    return service_request(**{"name": None, "equipment": None, **values})


@tagged("post_install", "-at_install", "crm_service_routing")
class TestSharedParsers(ServicePortalCase):
    def test_ids(self):
        self.assertEqual(parse_id(self.env, "42", "offer"), 42)
        self.assertEqual(parse_id(self.env, 42, "offer"), 42)
        for bad in ("0", 0, "-1", -1, "²", "١٢", "1e3", " 1", "1.0", "", None, True, "2147483648", 2**31, [1]):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                parse_id(self.env, bad, "offer")

    def test_datetimes_in_the_user_zone_and_range(self):
        self.assertEqual(
            parse_datetime(self.env, "2030-06-01T10:30", "Europe/Berlin", "appointment"),
            datetime.datetime(2030, 6, 1, 8, 30),
        )
        self.assertEqual(
            parse_datetime(self.env, "2030-06-01T10:30:00+02:00", "UTC", "appointment"),
            datetime.datetime(2030, 6, 1, 8, 30),
        )
        self.assertFalse(parse_datetime(self.env, "", "Europe/Berlin", "appointment"))
        # the time-zone conversion of these overflowed: now a clear refusal before it
        for bad in ("0001-01-01T00:30", "1899-12-31T23:59", "9999-12-31T23:59:00-05:00", "0001-01-01T00:30:00+01:00"):
            with self.subTest(bad=bad), self.assertRaises(InputRangeError):
                parse_datetime(self.env, bad, "Europe/Berlin", "appointment")
        for bad in ("soon", "2030-02-30T10:00", "2030-06-01", "２０３０-06-01T10:30", "10000-01-01T00:00", 5):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                parse_datetime(self.env, bad, "Europe/Berlin", "appointment")

    def test_dates(self):
        self.assertEqual(parse_date(self.env, "2030-06-01", "visit"), datetime.date(2030, 6, 1))
        for bad in ("0001-01-01", "2030-6-1", "tomorrow", "２０３０-06-01", 20300601):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                parse_date(self.env, bad, "visit")

    def test_amounts(self):
        self.assertEqual(parse_amount(self.env, "250,50", "amount"), 250.5)
        self.assertEqual(parse_amount(self.env, "", "amount"), 0.0)
        for bad in ("nan", "inf", "-inf", "-5", "1e3", "1_000", "١٢", float("nan"), float("inf"), -1.0, 10**13):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                parse_amount(self.env, bad, "amount")

    def test_selection_and_bool(self):
        selection = [("capacity", "No capacity"), ("other", "Other")]
        self.assertEqual(parse_selection(self.env, "capacity", selection, "reason"), "capacity")
        for bad in ("Capacity", "", None, 1, "capacity "):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                parse_selection(self.env, bad, selection, "reason")
        self.assertTrue(parse_bool(self.env, "on", "paused"))
        self.assertFalse(parse_bool(self.env, None, "paused"))
        with self.assertRaises(ValidationError):
            parse_bool(self.env, "maybe", "paused")


@tagged("post_install", "-at_install", "crm_service_routing")
class TestPlainTextKept(ServicePortalCase):
    """Whatever a sender types is kept, character for character, escaped where HTML shows it."""

    def _job(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids.with_user(self.portal_anna)
        offer._service_portal_accept()
        return lead, offer

    def _assert_kept(self, html):
        self.assertIn("&lt;script&gt;", html)
        self.assertNotIn("<script", html)
        self.assertNotIn("<noisy", html)
        self.assertEqual(html2plaintext(html).strip(), HOSTILE_TEXT)

    def test_intake_description(self):
        result = self.env["crm.lead"].submit_service_request(intake_request(description=HOSTILE_TEXT))
        description = self.env["crm.lead"].browse(result["id"]).description
        self._assert_kept(description)
        result = self.env["crm.lead"].submit_service_request(intake_request(description="line 1\nline 2 < 3"))
        self.assertEqual(self.env["crm.lead"].browse(result["id"]).description, "<p>line 1<br>line 2 &lt; 3</p>")

    def test_portal_note_and_visit(self):
        lead, offer = self._job()
        offer._service_portal_post_note(HOSTILE_TEXT)
        notes = lead.message_ids.filtered(lambda m: "Pump" in (m.body or ""))
        self.assertEqual(len(notes), 1)
        self._assert_kept(notes.body)
        visit = offer._service_portal_document_visit({"work_done": HOSTILE_TEXT})
        self.assertEqual(visit.work_done, HOSTILE_TEXT)
        summary = lead.message_ids.filtered(lambda m: "documented by" in (m.body or ""))
        self.assertIn(HOSTILE_TEXT, html2plaintext(summary.body))
        self.assertNotIn("<script", summary.body)

    def test_decline_note(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids
        offer.with_user(self.portal_anna)._service_portal_decline("other", HOSTILE_TEXT)
        self.assertEqual(offer.decline_note, HOSTILE_TEXT)
        message = lead.message_ids.filtered(lambda m: "Declined by" in (m.body or ""))
        self.assertNotIn("<script", message.body)
        self.assertIn(HOSTILE_TEXT, html2plaintext(message.body))


@tagged("post_install", "-at_install", "crm_service_routing")
class TestCurrentOfferOnly(ServicePortalCase):
    """A technician acts on an inquiry only through its current offer."""

    def test_declined_offer_cannot_note_or_act(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids.with_user(self.portal_anna)
        offer._service_portal_decline("capacity")
        self.assertEqual(offer.state, "declined")
        self.assertNotEqual(lead.technician_id, self.tech_anna)
        messages = len(lead.message_ids)
        calls = {
            "note": lambda: offer._service_portal_post_note("I still have a word"),
            "appointment": lambda: offer._service_portal_set_appointment(in_days(2)),
            "visit": lambda: offer._service_portal_document_visit({"work_done": "x"}),
            "followon": lambda: offer._service_portal_create_followon({"name": "x", "service_occasion": "repair"}),
        }
        for name, call in calls.items():
            with self.subTest(name), self.assertRaisesMessage(UserError, "no longer open"):
                call()
        lead.invalidate_recordset()
        self.assertEqual(len(lead.message_ids), messages)
        self.assertFalse(lead.service_visit_ids)
        self.assertFalse(lead.service_followon_ids)

    def test_offered_offer_takes_notes(self):
        lead = self._offered_to(self.tech_anna)
        lead.offer_ids.with_user(self.portal_anna)._service_portal_post_note("Can come on Monday.")
        self.assertTrue(lead.message_ids.filtered(lambda m: "Can come on Monday" in (m.body or "")))


@tagged("post_install", "-at_install", "crm_service_routing")
class TestClearRefusals(ServicePortalCase):
    def test_accept_of_several_inquiries_is_a_clear_error(self):
        first = self._offered_to(self.tech_anna)
        second = self._offered_to(self.tech_anna, zip="80335")
        leads = (first | second).with_user(self.user_dispatcher)
        with self.assertRaisesMessage(UserError, "one inquiry at a time"):
            leads.action_service_accept(first.offer_ids.id)
        with self.assertRaisesMessage(UserError, "one inquiry at a time"):
            leads.action_service_decline("capacity", offer_id=first.offer_ids.id)
        with self.assertRaisesMessage(ValidationError, "named by its id"):
            first.with_user(self.user_dispatcher).action_service_accept(2**40)
        self.assertEqual(first.routing_state, "offered")

    def test_decline_notes_refuse_del_and_c1_controls(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids.with_user(self.portal_anna)
        for bad in ("no\x7fway", "next\x85line", "csi\x9b", "bell\x07"):
            with self.subTest(bad=repr(bad)), self.assertRaisesMessage(ValidationError, "control characters"):
                offer._service_portal_decline("other", bad)
        self.assertEqual(offer.state, "offered")

    def test_dispatcher_saves_an_unchanged_profile_of_a_technician_with_a_user(self):
        internal = new_test_user(
            self.env, login="svc_tech_internal", groups="sales_team.group_sale_salesman", name="Ina Intern"
        )
        internal.partner_id.write({"is_technician": True})
        partner = internal.partner_id.with_user(self.user_dispatcher)
        partner.write({"service_paused": False})
        partner.write({"service_paused": False, "service_capacity": partner.service_capacity})
        partner.write({"service_paused": True})
        self.assertTrue(internal.partner_id.service_paused)
        # a salesman still changes no profile
        with self.assertRaises(AccessError):
            internal.partner_id.with_user(self.user_salesman).write({"service_paused": False})

    def test_portal_technician_reads_its_inquiry_without_a_field_list(self):
        lead = self._offered_to(self.tech_anna)
        values = lead.with_user(self.portal_anna).read()[0]
        self.assertEqual(values["id"], lead.id)
        self.assertIn("service_sla_window", values)
        self.assertNotIn("routing_log_ids", values, "the routing decisions are the back office's")
        # the back office still reads them
        self.assertIn("routing_log_ids", lead.with_user(self.user_dispatcher).read()[0])


@tagged("post_install", "-at_install", "crm_service_routing")
class TestIntakeNoOracle(ServicePortalCase):
    """The review reason told to an integration says nothing of the customer or the set-up."""

    def submit(self, **values):
        return self.env["crm.lead"].submit_service_request(intake_request(**values))

    def test_hidden_reasons_are_told_alike(self):
        results = {}
        self.customer.is_large_account = True
        results["large_account"] = self.submit(email="huber@example.com")
        results["safety_critical"] = self.submit(equipment="GAS")
        results["no_candidate"] = self.submit(zip="10115", city="Berlin")
        for reason, result in results.items():
            with self.subTest(reason=reason):
                self.assertEqual(self.env["crm.lead"].browse(result["id"]).review_reason, reason)
                self.assertEqual((result["routing_state"], result["review_reason"]), ("review", "review"))

    def test_request_reasons_are_told_whoever_the_customer_is(self):
        self.customer.is_large_account = True
        for email in ("huber@example.com", "somebody@example.org"):
            with self.subTest(email=email):
                self.assertEqual(self.submit(email=email, zip="99999")["review_reason"], "unknown_postal_code")
                self.assertEqual(self.submit(email=email, equipment="Perpetuum")["review_reason"], "unknown_equipment")


@tagged("post_install", "-at_install", "crm_service_routing")
class TestIntakeProperties(ServicePortalCase):
    """Generated requests: a clear error or a result, never anything else, nothing saved on refusal."""

    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
        st.builds(lambda size, char: char * size, st.integers(9000, 11000), st.sampled_from("a<&>\né")),
        st.sampled_from(
            [
                "0001-01-01T00:30",
                "9999-12-31T23:59:59-05:00",
                "0001-01-01T00:00:00+14:00",
                "2030-02-30T10:00",
                "\x7f",
                "\x85",
                "\ud800",
                "<script>x</script>",
                "²",
                "nan",
                "DE",
                "80331",
                "repair",
                "GAS",
            ]
        ),
        st.lists(st.text(max_size=3), max_size=2),
        st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    )
    keys = st.sampled_from(
        [
            "service_occasion",
            "description",
            "zip",
            "country",
            "phone",
            "email",
            "preferred_appointment",
            "equipment",
            "service_level",
            "external_ref",
            "source",
            "name",
            "unknown_key",
        ]
    )

    @settings(
        max_examples=INTAKE_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(changes=st.dictionaries(keys, values, min_size=1, max_size=4))
    def test_generated_requests(self, changes):
        Lead = self.env["crm.lead"]
        request = intake_request()
        request.update(changes)
        before = Lead.search_count([])
        try:
            with self.env.cr.savepoint():
                result = Lead.submit_service_request(request)
                self.assertIn(result["status"], ("created", "duplicate"))
                self.assertTrue(Lead.browse(result["id"]).exists())
        except ValidationError as error:
            self.assertTrue(error.args and isinstance(error.args[0], str) and error.args[0])
            self.env.invalidate_all()
            self.assertEqual(Lead.search_count([]), before, "a refused request saved nothing")
        finally:
            self.env.invalidate_all()
