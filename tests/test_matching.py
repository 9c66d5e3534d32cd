# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Matching a new inquiry to the installed base: contract, serial number, e-mail, phone."""

import datetime

from odoo import fields
from odoo.tests import Form, tagged
from odoo.tools import SQL

from .common import ServiceRoutingCase


@tagged("post_install", "-at_install", "crm_service_routing")
class TestMatching(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        Contract = cls.env["service.contract"]
        # a second customer whose contract has another SLA tier than the company's default
        cls.inn = Partner.create(
            {
                "name": "Gasthaus Alpenblick",
                "is_company": True,
                "email": "info@alpenblick.example",
                "phone": "+49 8031 12345",
                "zip": "81671",
                "country_id": cls.de.id,
            }
        )
        cls.inn_cook = Partner.create(
            {"name": "Koch Alpenblick", "parent_id": cls.inn.id, "email": "kueche@alpenblick.example"}
        )
        cls.inn_contract = Contract.create(
            {
                "name": "SC-2002",
                "partner_id": cls.inn.id,
                "service_level_id": cls.level_premium.id,
                "technician_id": cls.tech_anna.id,
                "date_start": "2024-06-01",
            }
        )
        cls.inn_pv = cls.env["service.equipment"].create(
            {
                "serial_number": "PV-42",
                "equipment_type_id": cls.type_pv.id,
                "partner_id": cls.inn.id,
                "contract_id": cls.inn_contract.id,
            }
        )
        # a former customer whose premium contract has expired
        cls.former = Partner.create({"name": "Weber KG", "email": "weber@example.com"})
        cls.expired_contract = Contract.create(
            {
                "name": "SC-0999",
                "partner_id": cls.former.id,
                "service_level_id": cls.level_premium.id,
                "date_start": "2020-01-01",
                "date_end": "2021-12-31",
            }
        )

    def assertMatch(self, lead, **expected):
        self.assertRecordValues(lead, [expected])

    # ------------------------------------------------------------
    # contract reference
    # ------------------------------------------------------------

    def test_contract_reference(self):
        lead = self._create_inquiry(contract_ref=" sc-2002 ", zip="81671", email_from="tenant@example.org")
        self.assertMatch(
            lead,
            contract_ref="sc-2002",
            contract_id=self.inn_contract.id,
            partner_id=self.inn.id,
            service_level_id=self.level_premium.id,
            customer_kind="existing",
            match_method="contract",
            equipment_id=False,
            review_note=False,
        )

    def test_contract_reference_of_another_company(self):
        other_company = self.env["res.company"].create({"name": "Service Nord GmbH", "country_id": self.de.id})
        self.env["service.contract"].create(
            {
                "name": "SC-3003",
                "partner_id": self.inn.id,
                "service_level_id": self.level_premium.id,
                "company_id": other_company.id,
            }
        )
        lead = self._create_inquiry(contract_ref="SC-3003")
        self.assertMatch(lead, contract_id=False, partner_id=False, match_method=False, customer_kind="new")

    def test_contract_dates_are_days_where_the_user_is(self):
        """A contract starting on the user's today makes an existing customer, one starting on the user's
        tomorrow does not, also while the user's date is not UTC's (one of the two zones always differs)."""
        utc_now = fields.Datetime.now()
        tz = "Pacific/Kiritimati" if utc_now.hour >= 12 else "Etc/GMT+12"  # UTC+14 / UTC-12
        Contract = self.env["service.contract"].with_context(tz=tz)
        today = fields.Date.context_today(Contract, utc_now)
        self.assertNotEqual(today, utc_now.date(), "the zone is chosen so that its date is not UTC's")
        kinds = {}
        for name, start in (("today", today), ("tomorrow", today + datetime.timedelta(days=1))):
            customer = self.env["res.partner"].create(
                {"name": f"Customer from {name}", "email": f"{name}@dates.example"}
            )
            Contract.create(
                {
                    "name": f"SC-DAY-{name}",
                    "partner_id": customer.id,
                    "service_level_id": self.level_standard.id,
                    "date_start": start,
                }
            )
            lead = self.env["crm.lead"].with_context(tz=tz).create(self._inquiry_vals(email_from=customer.email))
            self.assertEqual(lead.partner_id, customer)
            kinds[name] = lead.customer_kind
        self.assertEqual(kinds, {"today": "existing", "tomorrow": "new"})

    def test_contract_reference_is_not_a_pattern(self):
        """What a customer types is a reference, not a search pattern."""
        for ref in ("SC-%", "SC-200_", "%", "sc-2002%"):
            with self.subTest(ref=ref):
                lead = self._create_inquiry(contract_ref=ref)
                self.assertMatch(lead, contract_id=False, partner_id=False, match_method=False)

    def test_expired_contract_links_without_its_tier(self):
        lead = self._create_inquiry(contract_ref="SC-0999")
        self.assertMatch(
            lead,
            contract_id=self.expired_contract.id,
            partner_id=self.former.id,
            match_method="contract",
            customer_kind="existing",
            # the company's default tier, not the expired contract's premium tier
            service_level_id=self.level_standard.id,
        )

    def test_future_contract_links_without_its_tier(self):
        self.inn_contract.date_start = "2999-01-01"
        self.assertEqual(self.inn_contract.state, "future")
        lead = self._create_inquiry(contract_ref="SC-2002")
        self.assertMatch(
            lead,
            contract_id=self.inn_contract.id,
            partner_id=self.inn.id,
            service_level_id=self.level_standard.id,
        )

    def test_values_of_the_caller_are_kept(self):
        lead = self._create_inquiry(
            contract_ref="SC-2002", partner_id=self.customer.id, service_level_id=self.level_standard.id
        )
        self.assertMatch(
            lead,
            contract_id=self.inn_contract.id,
            partner_id=self.customer.id,
            service_level_id=self.level_standard.id,
        )
        typed = self._create_inquiry(serial_number="PV-42", equipment_type_id=self.type_hp_air.id)
        self.assertMatch(typed, equipment_id=self.inn_pv.id, equipment_type_id=self.type_hp_air.id)

    # ------------------------------------------------------------
    # serial number
    # ------------------------------------------------------------

    def test_serial_number(self):
        lead = self._create_inquiry(serial_number=" pv-42", equipment_type_id=False, zip="81671")
        self.assertMatch(
            lead,
            serial_number="PV-42",
            equipment_id=self.inn_pv.id,
            contract_id=self.inn_contract.id,
            equipment_type_id=self.type_pv.id,
            partner_id=self.inn.id,
            service_level_id=self.level_premium.id,
            match_method="serial",
            customer_kind="existing",
        )

    def test_serial_number_without_contract(self):
        boiler = self.env["service.equipment"].create(
            {"serial_number": "GB-7", "equipment_type_id": self.type_gas.id, "partner_id": self.inn.id}
        )
        lead = self._create_inquiry(serial_number="gb-7", equipment_type_id=False)
        self.assertMatch(
            lead,
            equipment_id=boiler.id,
            contract_id=False,
            equipment_type_id=self.type_gas.id,
            partner_id=self.inn.id,
            match_method="serial",
            customer_kind="existing",
            service_level_id=self.level_standard.id,
            safety_critical=True,
        )

    def test_conflicting_serial_and_contract(self):
        lead = self._create_inquiry(contract_ref="SC-1001", serial_number="PV-42", zip="81675")
        self.assertMatch(
            lead,
            contract_id=self.contract.id,
            equipment_id=self.inn_pv.id,
            partner_id=self.customer.id,
            match_method="contract",
        )
        self.assertEqual(
            lead.review_note,
            "Serial number PV-42 belongs to Gasthaus Alpenblick, contract SC-1001 to Familie Huber.",
        )
        consistent = self._create_inquiry(contract_ref="SC-2002", serial_number="PV-42")
        self.assertMatch(consistent, contract_id=self.inn_contract.id, equipment_id=self.inn_pv.id, review_note=False)

    # ------------------------------------------------------------
    # e-mail and phone
    # ------------------------------------------------------------

    def test_email(self):
        lead = self._create_inquiry(email_from='"Wirt" <INFO@Alpenblick.example>')
        self.assertMatch(
            lead,
            partner_id=self.inn.id,
            match_method="email",
            customer_kind="existing",
            contract_id=False,
            service_level_id=self.level_standard.id,
        )

    def test_email_of_a_contact_person(self):
        lead = self._create_inquiry(email_from="kueche@alpenblick.example")
        self.assertMatch(lead, partner_id=self.inn_cook.id, match_method="email")
        self.assertEqual(lead.customer_kind, "existing", "the company of the contact has a contract")

    def test_email_of_a_technician_is_no_customer(self):
        lead = self._create_inquiry(email_from="anna@tech.example.com")
        self.assertMatch(lead, partner_id=False, match_method=False, customer_kind="new")

    def test_phone(self):
        earlier = self._create_inquiry(email_from="info@alpenblick.example", phone="+49 8031 12345")
        self.assertEqual(earlier.partner_id, self.inn)
        lead = self._create_inquiry(email_from=False, phone="08031 / 12 345")
        self.assertEqual(lead.phone_sanitized, earlier.phone_sanitized)
        self.assertMatch(lead, partner_id=self.inn.id, match_method="phone", customer_kind="existing")
        # e-mail wins over phone
        mixed = self._create_inquiry(email_from="huber@example.com", phone="08031 12345")
        self.assertMatch(mixed, partner_id=self.customer.id, match_method="email")

    def test_phone_needs_an_earlier_inquiry_of_a_known_customer(self):
        # an earlier inquiry without customer tells nothing
        self._create_inquiry(email_from="unknown@example.org", phone="0171 2345678")
        lead = self._create_inquiry(email_from=False, phone="+49 171 2345678")
        self.assertMatch(lead, partner_id=False, match_method=False, customer_kind="new")

    def test_phone_of_an_earlier_inquiry_in_another_company(self):
        other_company = self.env["res.company"].create({"name": "Service Nord GmbH", "country_id": self.de.id})
        self._create_inquiry(email_from="info@alpenblick.example", phone="+49 8031 12345", company_id=other_company.id)
        lead = self._create_inquiry(email_from=False, phone="08031 12345")
        self.assertMatch(lead, partner_id=False, match_method=False)

    def test_no_match_is_a_new_customer(self):
        lead = self._create_inquiry(
            serial_number="UNKNOWN-1", contract_ref="SC-9999", email_from="neu@example.org", phone="089 111222"
        )
        self.assertMatch(
            lead,
            partner_id=False,
            contract_id=False,
            equipment_id=False,
            match_method=False,
            customer_kind="new",
            service_level_id=self.level_standard.id,
            service_history=False,
        )

    # ------------------------------------------------------------
    # the customer's own contact data
    # ------------------------------------------------------------

    def test_matched_customer_contact_data_are_kept(self):
        by_contract = self._create_inquiry(
            contract_ref="SC-2002", email_from="tenant@example.org", phone="+49 170 9876543"
        )
        by_serial = self._create_inquiry(serial_number="PV-42", email_from="son@example.org", phone="0171 1112223")
        by_email = self._create_inquiry(email_from="info@alpenblick.example", phone="0171 4445556")
        for lead in (by_contract, by_serial, by_email):
            self.assertEqual(lead.partner_id, self.inn)
        self.assertRecordValues(self.inn, [{"email": "info@alpenblick.example", "phone": "+49 8031 12345"}])
        # the inquiry keeps who actually wrote
        self.assertRecordValues(
            by_contract | by_serial,
            [
                {"email_from": "tenant@example.org", "phone": "+49 170 9876543"},
                {"email_from": "son@example.org", "phone": "0171 1112223"},
            ],
        )

    # ------------------------------------------------------------
    # the dispatcher corrects the match
    # ------------------------------------------------------------

    def test_dispatcher_sets_the_contract(self):
        lead = self._create_inquiry(email_from="neu@example.org")
        self.assertEqual(lead.customer_kind, "new")
        with Form(lead.with_user(self.user_dispatcher)) as form:
            form.contract_id = self.inn_contract
            self.assertEqual(form.partner_id, self.inn)
            self.assertEqual(form.service_level_id, self.level_premium)
            self.assertEqual(form.match_method, "manual")
            self.assertEqual(form.customer_kind, "existing")
        self.assertMatch(
            lead,
            contract_id=self.inn_contract.id,
            partner_id=self.inn.id,
            service_level_id=self.level_premium.id,
            customer_kind="existing",
            match_method="manual",
        )

    def test_dispatcher_sets_an_expired_contract(self):
        lead = self._create_inquiry(email_from="neu@example.org")
        with Form(lead.with_user(self.user_dispatcher)) as form:
            form.contract_id = self.expired_contract
            self.assertEqual(form.partner_id, self.former)
            self.assertEqual(form.service_level_id, self.level_standard, "an expired contract brings no tier")
        self.assertMatch(lead, contract_id=self.expired_contract.id, service_level_id=self.level_standard.id)

    def test_dispatcher_sets_the_equipment(self):
        lead = self._create_inquiry(email_from="neu@example.org", serial_number="PV-4Z")
        self.assertFalse(lead.equipment_id)
        with Form(lead.with_user(self.user_dispatcher)) as form:
            form.equipment_id = self.inn_pv
            self.assertEqual(form.serial_number, "PV-42")
            self.assertEqual(form.equipment_type_id, self.type_pv)
            self.assertEqual(form.partner_id, self.inn)
            self.assertEqual(form.contract_id, self.inn_contract)
        self.assertMatch(
            lead,
            equipment_id=self.inn_pv.id,
            serial_number="PV-42",
            equipment_type_id=self.type_pv.id,
            partner_id=self.inn.id,
            contract_id=self.inn_contract.id,
            customer_kind="existing",
            match_method="manual",
        )

    def test_dispatcher_equipment_keeps_a_chosen_contract(self):
        lead = self._create_inquiry(contract_ref="SC-1001", zip="81675")
        with Form(lead.with_user(self.user_dispatcher)) as form:
            form.equipment_id = self.inn_pv
            self.assertEqual(form.contract_id, self.contract, "the contract already set stays")

    def test_dispatcher_overrides_the_customer_kind(self):
        lead = self._create_inquiry(contract_ref="SC-2002")
        with Form(lead.with_user(self.user_dispatcher)) as form:
            form.customer_kind = "new"
        self.assertEqual(lead.customer_kind, "new")
        self.assertEqual(lead.contract_id, self.inn_contract)

    # ------------------------------------------------------------
    # scale
    # ------------------------------------------------------------

    def _plan(self, model, domain):
        """The plan of the look-up ``domain`` of ``model`` as matching runs it (search, limit 1), with
        sequential scans priced out: a plan that still reads the whole table has no index to use."""
        query = self.env[model]._search(domain, limit=1)
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        try:
            self.env.cr.execute(SQL("EXPLAIN %s", query.select()))
            return "\n".join(row[0] for row in self.env.cr.fetchall())
        finally:
            self.env.cr.execute("SET LOCAL enable_seqscan = on")

    def test_customer_look_ups_of_the_intake_are_indexed(self):
        """Every intake looks its customer up by e-mail, and a named contract by its reference in any
        case: neither reads every partner or contract of the manufacturer's customer base."""
        Lead = self.env["crm.lead"]
        company_id = self.env.company.id
        plan = self._plan("res.partner", Lead._service_email_customer_domain("info@alpenblick.example", company_id))
        self.assertNotIn("Seq Scan on res_partner", plan)
        self.assertIn("res_partner__email_normalized_index", plan)
        # the reference's own term: with a few contracts, the company's index is the cheaper one
        (reference,) = [
            term for term in Lead._service_contract_ref_domain("sc-2002", company_id) if term[0] != "company_id"
        ]
        plan = self._plan("service.contract", [reference])
        self.assertNotIn("Seq Scan on service_contract", plan)
        self.assertIn("service_contract__reference_key_index", plan)
        # the look-ups the plans are of find what they should
        self.assertEqual(self._create_inquiry(contract_ref="sc-2002").contract_id, self.inn_contract)
        self.assertEqual(self._create_inquiry(email_from="INFO@alpenblick.example").partner_id, self.inn)
