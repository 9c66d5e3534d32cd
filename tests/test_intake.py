# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Intake from integrations: submit_service_request(s) and plain create."""

import datetime
from contextlib import contextmanager

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import ServiceRoutingCase, in_days, service_request

# what a caller learns: nothing of the customer, contract or technician matched
RESULT_KEYS = {
    "id",
    "status",
    "external_ref",
    "unique_inquiry_id",
    "routing_state",
    "review_reason",
}


@tagged("post_install", "-at_install", "crm_service_routing")
class TestIntake(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Lead = cls.env["crm.lead"]

    @contextmanager
    def assertNoNewLead(self):
        before = self.Lead.with_context(active_test=False).search_count([])
        yield
        self.assertEqual(self.Lead.with_context(active_test=False).search_count([]), before, "nothing was saved")

    def request(self, **values):
        # a customer's e-mail as typed, the equipment by its code in lower case, and a phone
        return service_request(
            **{"name": None, "equipment": "hp-aw", "email": "Eva.Neu@Example.org", "phone": "089 7654321", **values}
        )

    def submit(self, **values):
        return self.Lead.submit_service_request(self.request(**values))

    # ------------------------------------------------------------
    # good requests
    # ------------------------------------------------------------

    def test_good_request(self):
        when = in_days(5)
        result = self.submit(
            external_ref="WEB-1",
            description="Loud humming since Monday",
            preferred_appointment=when.strftime("%Y-%m-%dT%H:%M:%S+02:00"),
        )
        self.assertEqual(set(result), RESULT_KEYS)
        lead = self.Lead.browse(result["id"])
        self.assertTrue(lead.exists())
        self.assertEqual(
            {key: value for key, value in result.items() if key != "id"},
            {
                "status": "created",
                "external_ref": "WEB-1",
                "routing_state": "offered",
                "review_reason": False,
                "unique_inquiry_id": False,
            },
        )
        self.assertIn(lead.technician_id, self.tech_anna | self.tech_carla, "a technician of 80331")
        self.assertEqual((lead.customer_kind, lead.match_method), ("new", False))
        self.assertRecordValues(
            lead,
            [
                {
                    "service_occasion": "repair",
                    "service_external_ref": "WEB-1",
                    "name": "Repair – Air/Water Heat Pump – 80331 München",
                    "description": "<p>Loud humming since Monday</p>",
                    "contact_name": "Eva Neu",
                    "email_from": "eva.neu@example.org",
                    "phone": "+49897654321",
                    "zip": "80331",
                    "city": "München",
                    "country_id": self.de.id,
                    "company_id": self.company.id,
                    "equipment_type_id": self.type_hp_air.id,
                    "equipment_received": False,
                    "service_level_id": self.level_standard.id,
                    "routing_state": "offered",
                    # 09:30 at +02:00 is 07:30 UTC
                    "preferred_appointment": when - datetime.timedelta(hours=2),
                }
            ],
        )

    def test_existing_customer_by_contract(self):
        result = self.submit(contract="sc-1001", zip="81675", email="mieter@example.org", equipment=None)
        self.assertEqual(set(result), RESULT_KEYS, "no customer data in the result")
        lead = self.Lead.browse(result["id"])
        self.assertRecordValues(
            lead,
            [
                {
                    "partner_id": self.customer.id,
                    "customer_kind": "existing",
                    "match_method": "contract",
                    "service_level_id": self.level_standard.id,
                    "technician_id": self.tech_bernd.id,  # the contract technician first
                    "match_to_confirm": False,
                }
            ],
        )
        self.assertEqual(lead.contract_id, self.contract)
        self.assertEqual(lead.contract_ref, "sc-1001")

    def test_existing_customer_by_serial(self):
        result = self.submit(serial_number=" hp-0001 ", equipment=None, zip="81675")
        lead = self.Lead.browse(result["id"])
        self.assertEqual((lead.match_method, lead.partner_id), ("serial", self.customer))
        self.assertRecordValues(
            lead,
            [
                {
                    "serial_number": "HP-0001",
                    "equipment_id": self.equipment.id,
                    "equipment_type_id": self.type_hp_air.id,
                    "contract_id": self.contract.id,
                }
            ],
        )

    def test_named_sla_tier_and_equipment_by_name(self):
        result = self.submit(service_level="t-gold", equipment="pv system")
        lead = self.Lead.browse(result["id"])
        self.assertEqual(lead.service_level_id, self.level_premium)
        self.assertEqual(lead.equipment_type_id, self.type_pv)

    def test_postal_code_is_normalised(self):
        lead = self.Lead.browse(self.submit(zip=" 80-331 ")["id"])
        self.assertEqual(lead.zip, "80331")
        lead = self.Lead.browse(self.submit(zip="8 0 3 3 1", country="de")["id"])
        self.assertEqual((lead.zip, lead.country_id), ("80331", self.de))

    def test_other_country(self):
        self.env["service.postal.code"]._load_countries(["AT"])
        result = self.submit(zip="1010", country="at", phone="01 5123456", city="Wien")
        lead = self.Lead.browse(result["id"])
        self.assertEqual(lead.country_id, self.at)
        self.assertEqual(lead.phone, "+4315123456")
        # Vienna is known (Austria's postal data are loaded) but nobody covers it; the caller
        # is told "review", as for every reason its request does not show
        self.assertEqual((result["routing_state"], result["review_reason"]), ("review", "review"))
        self.assertEqual(lead.review_reason, "no_candidate")

    def test_phone_is_normalised_to_e164(self):
        for phone in ("089 7654321", "089/765 43 21", "0049 89 7654321", "+49 (89) 7654321", "+49-89-7654321"):
            with self.subTest(phone=phone):
                lead = self.Lead.browse(self.submit(phone=phone)["id"])
                self.assertEqual(lead.phone, "+49897654321")
        lead = self.Lead.browse(self.submit(phone="0171 2345678", email=None)["id"])
        self.assertEqual(lead.phone, "+491712345678")
        self.assertFalse(lead.email_from)

    def test_appointment_with_offset_is_converted_to_utc(self):
        when = in_days(10, hour=12, minute=0)
        day = when.strftime("%Y-%m-%dT%H:%M:%S")
        for text, expected in (
            (day + "+02:00", when - datetime.timedelta(hours=2)),
            (day + "-05:00", when + datetime.timedelta(hours=5)),
            (day + "Z", when),
            (day + "+00:00", when),
            (day, when),  # no offset: UTC
            (day + ".123456+01:00", when - datetime.timedelta(hours=1)),
            (when.strftime("%Y-%m-%d %H:%M"), when),
        ):
            with self.subTest(text=text):
                lead = self.Lead.browse(self.submit(preferred_appointment=text)["id"])
                self.assertEqual(lead.preferred_appointment, expected)

    def test_empty_values_are_ignored(self):
        result = self.submit(street="", description=False, phone=None)
        lead = self.Lead.browse(result["id"])
        self.assertEqual(result["status"], "created")
        self.assertFalse(lead.street)
        self.assertFalse(lead.phone)

    def test_salesman_as_integration_user(self):
        result = self.Lead.with_user(self.user_salesman).submit_service_request(self.request(external_ref="SALES-1"))
        lead = self.Lead.browse(result["id"])
        self.assertEqual(result["status"], "created")
        self.assertEqual(lead.create_uid, self.user_salesman)
        self.assertEqual(lead.type, "opportunity", "no lead stage for users without leads")
        self.assertEqual(lead.service_external_ref, "SALES-1")

    # ------------------------------------------------------------
    # bad requests: a clear error, nothing saved
    # ------------------------------------------------------------

    def test_bad_requests_save_nothing(self):
        cases = [
            ({"colour": "red"}, r"Unknown fields in the service request: colour\. Allowed: .*external_ref"),
            ({"colour": "red", "size": "L"}, "Unknown fields in the service request: colour, size"),
            ({"service_occasion": None}, "The service occasion is missing; send one of: repair, maintenance"),
            ({"service_occasion": ""}, "The service occasion is missing"),
            ({"zip": None}, "The postal code of the service site is missing"),
            ({"zip": "  "}, "The postal code of the service site is missing"),
            ({"zip": "8033"}, "8033 is not a valid postal code for Germany"),
            ({"zip": "803311"}, "803311 is not a valid postal code for Germany"),
            ({"zip": "ABCDE"}, "ABCDE is not a valid postal code for Germany"),
            ({"zip": "80331", "country": "AT", "phone": None}, "80331 is not a valid postal code for Austria"),
            ({"phone": "089 7654321", "country": "AT"}, "089 7654321 is not a valid phone number for Austria"),
            ({"email": "not-an-address"}, "not-an-address is not a valid e-mail address"),
            ({"email": "eva@"}, "eva@ is not a valid e-mail address"),
            ({"phone": "12"}, "12 is not a valid phone number for Germany"),
            ({"phone": "call me"}, "call me is not a valid phone number for Germany"),
            ({"email": None, "phone": None}, "Send an e-mail address or a phone number"),
            ({"email": "", "phone": ""}, "Send an e-mail address or a phone number"),
            ({"country": "XX"}, "Unknown country XX; send an ISO 3166 code such as DE"),
            # a name is no code, even when its first letters are one (GE is Georgia)
            ({"country": "Germany"}, "Unknown country Germany"),
            ({"country": "Austria"}, "Unknown country Austria"),
            ({"service_level": "PLATINUM"}, "Unknown SLA tier PLATINUM; known tiers: .*T-BASIC"),
            ({"preferred_appointment": "2020-01-01T10:00:00+01:00"}, "Preferred Appointment 2020-01-01 09:00:00 lies"),
            ({"preferred_appointment": "next tuesday"}, "preferred_appointment: next tuesday is not a date and time"),
            ({"preferred_appointment": "2030-02-30T10:00:00"}, "is not a date and time"),
            ({"zip": 80331}, "The field zip must be text"),
            ({"name": ["Repair"]}, "The field name must be text"),
            ({"email": True}, "The field email must be text"),
        ]
        for values, message in cases:
            with (
                self.subTest(values=values),
                self.assertNoNewLead(),
                self.assertRaisesMessage(ValidationError, message),
            ):
                self.submit(**values)

    def test_unknown_occasion(self):
        with self.assertNoNewLead(), self.assertRaisesMessage(ValidationError, "Unknown service occasion party"):
            self.submit(service_occasion="party")

    def test_wildcards_are_not_patterns(self):
        """Codes are compared as sent, never as search patterns."""
        with self.assertNoNewLead():
            with self.assertRaisesMessage(ValidationError, "Unknown country %"):
                self.submit(country="%")
            with self.assertRaisesMessage(ValidationError, "Unknown SLA tier T-%"):
                self.submit(service_level="T-%")
        result = self.submit(equipment="H_")
        lead = self.Lead.browse(result["id"])
        self.assertFalse(lead.equipment_type_id)
        self.assertEqual(lead.equipment_received, "H_")

    def test_not_a_dictionary(self):
        for values in (["repair"], "repair", None, 42):
            with (
                self.subTest(values=values),
                self.assertNoNewLead(),
                self.assertRaisesMessage(ValidationError, "A service request must be a dictionary of values"),
            ):
                self.Lead.submit_service_request(values)

    # ------------------------------------------------------------
    # valid but unroutable: kept and held for review
    # ------------------------------------------------------------

    def test_unknown_postal_code_is_held_for_review(self):
        result = self.submit(zip="99999")
        lead = self.Lead.browse(result["id"])
        self.assertEqual(result["status"], "created")
        self.assertEqual((result["routing_state"], result["review_reason"]), ("review", "unknown_postal_code"))
        self.assertFalse(self.Lead.browse(result["id"]).technician_id)
        self.assertRecordValues(lead, [{"zip": "99999", "routing_state": "review", "technician_id": False}])
        self.assertEqual(lead.routing_log_ids.outcome, "review")

    def test_unknown_equipment_is_held_for_review(self):
        result = self.submit(equipment="Flux Capacitor")
        lead = self.Lead.browse(result["id"])
        self.assertEqual((result["routing_state"], result["review_reason"]), ("review", "unknown_equipment"))
        self.assertRecordValues(
            lead,
            [
                {
                    "equipment_type_id": False,
                    "equipment_received": "Flux Capacitor",
                    "name": "Repair – Flux Capacitor – 80331 München",
                }
            ],
        )

    def test_codes_are_looked_up_as_they_are_now(self):
        """The country, equipment type and service team an intake looks up are cached by the
        process: each change is seen by the next request of the same process."""
        Type = self.env["service.equipment.type"]
        first = self.Lead.browse(self.submit(equipment="stirling engine")["id"])
        self.assertEqual(first.equipment_received, "stirling engine", "no such type yet")
        self.assertEqual(first.team_id, self.env["crm.team"]._service_team())
        stirling = Type.create({"name": "Stirling Engine", "code": "STIRLING"})
        self.assertEqual(self.Lead.browse(self.submit(equipment="stirling engine")["id"]).equipment_type_id, stirling)
        stirling.code = "STIRLING-2"
        stirling.name = "Hot Air Engine"
        self.assertEqual(self.Lead.browse(self.submit(equipment="stirling-2")["id"]).equipment_type_id, stirling)
        renamed = self.Lead.browse(self.submit(equipment="stirling engine")["id"])
        self.assertEqual(renamed.equipment_received, "stirling engine")
        # by its name in another language as soon as it is translated
        self.env["res.lang"]._activate_lang("de_DE")
        German = self.Lead.with_context(lang="de_DE")
        german = German.submit_service_request(self.request(equipment="heißluftmotor"))
        self.assertFalse(self.Lead.browse(german["id"]).equipment_type_id)
        stirling.update_field_translations("name", {"de_DE": "Heißluftmotor"})
        german = German.submit_service_request(self.request(equipment="heißluftmotor"))
        self.assertEqual(self.Lead.browse(german["id"]).equipment_type_id, stirling)
        stirling.active = False
        self.assertFalse(self.Lead.browse(self.submit(equipment="stirling-2")["id"]).equipment_type_id)
        # a company's own type comes before a shared one of the same name
        Type.create({"name": "Fuel Cell", "code": "FUEL-SHARED"})
        self.assertEqual(
            self.Lead.browse(self.submit(equipment="fuel cell")["id"]).equipment_type_id.code, "FUEL-SHARED"
        )
        own = Type.create({"name": "Fuel Cell", "code": "FUEL-OWN", "company_id": self.env.company.id})
        self.assertEqual(self.Lead.browse(self.submit(equipment="fuel cell")["id"]).equipment_type_id, own)
        # a new service team of the company takes the next inquiries
        team = self.env["crm.team"].create(
            {"name": "Kundendienst Süd", "is_service_team": True, "company_id": self.env.company.id, "sequence": 0}
        )
        self.assertEqual(self.Lead.browse(self.submit()["id"]).team_id, team)
        team.is_service_team = False
        self.assertNotEqual(self.Lead.browse(self.submit()["id"]).team_id, team)
        with self.assertRaisesRegex(ValidationError, "Unknown country XX"):
            self.submit(country="XX")
        at = self.submit(country="at", zip="1010", phone="+43 1 5321234")
        self.assertEqual(self.Lead.browse(at["id"]).country_id.code, "AT")

    # ------------------------------------------------------------
    # idempotency
    # ------------------------------------------------------------

    def test_retry_returns_the_first_inquiry(self):
        first = self.submit(external_ref="RETRY-1", description="first")
        again = self.submit(external_ref=" RETRY-1 ", description="first")
        self.assertEqual(first["status"], "created")
        self.assertEqual(again["status"], "duplicate")
        self.assertEqual(again["id"], first["id"])
        self.assertEqual(again["routing_state"], first["routing_state"])
        leads = self.Lead.search([("service_external_ref", "=", "RETRY-1")])
        self.assertEqual(leads.ids, [first["id"]])
        self.assertEqual(leads.description, "<p>first</p>", "a retry changes nothing")
        # also once the inquiry is archived
        leads.action_archive()
        self.assertEqual(self.submit(external_ref="RETRY-1", description="first")["id"], first["id"])

    def test_same_reference_in_another_company(self):
        first = self.submit(external_ref="REF-7")
        other_company = self.env["res.company"].create({"name": "Other GmbH", "country_id": self.de.id})
        self.env.user.company_ids |= other_company
        elsewhere = self.Lead.with_company(other_company).submit_service_request(self.request(external_ref="REF-7"))
        self.assertEqual(elsewhere["status"], "created")
        self.assertNotEqual(elsewhere["id"], first["id"])
        self.assertEqual(self.Lead.browse(elsewhere["id"]).company_id, other_company)
        self.assertEqual(
            self.Lead.with_company(other_company).submit_service_request(self.request(external_ref="REF-7"))["id"],
            elsewhere["id"],
        )
        self.assertEqual(self.Lead.search_count([("service_external_ref", "=", "REF-7")]), 2)

    def test_no_reference_no_deduplication(self):
        first, second = self.submit(), self.submit()
        self.assertEqual((first["status"], second["status"]), ("created", "created"))
        self.assertNotEqual(first["id"], second["id"])

    # ------------------------------------------------------------
    # batch
    # ------------------------------------------------------------

    def test_batch(self):
        before = self.Lead.search_count([])
        results = self.Lead.submit_service_requests(
            [
                self.request(external_ref="B-1"),
                self.request(zip="1"),
                "not a request",
                self.request(external_ref="B-1"),
                self.request(external_ref="B-2", preferred_appointment="2001-01-01T00:00:00"),
                self.request(external_ref="B-3", zip="99999"),
                self.request(service_occasion="party"),
            ]
        )
        self.assertEqual(
            [r["status"] for r in results], ["created", "error", "error", "duplicate", "error", "created", "error"]
        )
        errors = {r["index"]: r["error"] for r in results if r["status"] == "error"}
        self.assertEqual(set(errors), {1, 2, 4, 6})
        self.assertIn("1 is not a valid postal code for Germany", errors[1])
        self.assertIn("must be a dictionary", errors[2])
        self.assertIn("lies in the past", errors[4])
        self.assertIn("Unknown service occasion party", errors[6])
        self.assertEqual(results[3]["id"], results[0]["id"])
        self.assertEqual(results[5]["review_reason"], "unknown_postal_code")
        self.assertEqual(self.Lead.search_count([]), before + 2)
        self.assertFalse(self.Lead.search([("service_external_ref", "=", "B-2")]))
        self.assertEqual(self.Lead.browse(results[0]["id"]).routing_state, "offered", "each one is routed")

    def test_batch_input(self):
        self.assertEqual(self.Lead.submit_service_requests([]), [])
        with self.assertNoNewLead():
            for values in ({"service_occasion": "repair"}, "repair", None):
                with (
                    self.subTest(values=values),
                    self.assertRaisesMessage(ValidationError, "Service requests must be a list of dictionaries"),
                ):
                    self.Lead.submit_service_requests(values)

    # ------------------------------------------------------------
    # plain create, as an XML-RPC integration calls it
    # ------------------------------------------------------------

    def test_plain_create_validates(self):
        Lead = self.Lead.with_user(self.user_salesman)
        with self.assertNoNewLead():
            with self.assertRaisesMessage(ValidationError, "8033 is not a valid postal code for Germany"):
                Lead.create(self._inquiry_vals(zip="8033"))
            with self.assertRaisesMessage(ValidationError, "80331 is not a valid postal code for Austria"):
                Lead.create(self._inquiry_vals(country_id=self.at.id))
            with self.assertRaisesMessage(ValidationError, "Preferred Appointment .* lies in the past"):
                Lead.create(self._inquiry_vals(preferred_appointment="2020-05-04 10:00:00"))
            # a batch create fails as a whole
            with self.assertRaisesMessage(ValidationError, "not a valid postal code"):
                Lead.create([self._inquiry_vals(), self._inquiry_vals(zip="1")])

    def test_plain_create(self):
        lead = self.Lead.with_user(self.user_salesman).create(
            self._inquiry_vals(zip="80-331", serial_number="hp-0001", preferred_appointment=in_days(3))
        )
        self.assertRecordValues(
            lead,
            [
                {
                    "zip": "80331",
                    "serial_number": "HP-0001",
                    "equipment_id": self.equipment.id,
                    "partner_id": self.customer.id,
                    "match_method": "serial",
                    "customer_kind": "existing",
                    "routing_state": "offered",
                    "preferred_appointment": in_days(3),
                }
            ],
        )
