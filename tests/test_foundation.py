# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Service context, installed base, technician profiles, geodata, intake and access."""

import datetime
import tempfile
from types import SimpleNamespace
from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from odoo.addons.crm_service_routing.models import service_batch
from odoo.addons.crm_service_routing.models.service_batch import run_locked_batches

from .common import ServiceRoutingCase, service_request


def future(days=7):
    return fields.Datetime.now().replace(microsecond=0) + datetime.timedelta(days=days)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestServiceContext(ServiceRoutingCase):
    def test_equipment_types(self):
        self.assertEqual(self.type_hp_air.complete_name, "Heat Pump / Air/Water Heat Pump")
        self.assertEqual(self.type_hp_air._ancestor_ids(), {self.type_heatpump.id, self.type_hp_air.id})
        lower = self.env["service.equipment.type"].create({"name": "Wallbox", "code": " wb-11 "})
        self.assertEqual(lower.code, "WB-11")
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.env["service.equipment.type"].create({"name": "Other", "code": "WB-11"})

    def test_equipment_type_cycle(self):
        with self.assertRaises(UserError):
            self.type_heatpump.parent_id = self.type_hp_air

    def test_safety_critical_is_inherited(self):
        child = self.env["service.equipment.type"].create(
            {"name": "Gas Hybrid", "code": "GAS-HY", "parent_id": self.type_gas.id}
        )
        self.assertTrue(child.is_safety_critical)
        lead = self._create_inquiry(equipment_type_id=child.id)
        self.assertTrue(lead.safety_critical)
        self.type_gas.safety_critical = False
        self.assertFalse(lead.safety_critical)

    def test_service_level_constraints(self):
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.env["service.level"].create({"name": "Broken", "code": "BROKEN", "response_hours": 0})

    def test_contract_state_and_dates(self):
        Contract = self.env["service.contract"]
        today = fields.Date.today()
        old = Contract.create(
            {
                "name": "SC-OLD",
                "partner_id": self.customer.id,
                "service_level_id": self.level_standard.id,
                "date_start": today - datetime.timedelta(days=400),
                "date_end": today - datetime.timedelta(days=35),
            }
        )
        later = Contract.create(
            {
                "name": "SC-LATER",
                "partner_id": self.customer.id,
                "service_level_id": self.level_standard.id,
                "date_start": today + datetime.timedelta(days=10),
            }
        )
        self.assertEqual((old.state, later.state, self.contract.state), ("expired", "future", "valid"))
        mine = Contract.search([("partner_id", "=", self.customer.id), ("state", "=", "valid")])
        self.assertEqual(mine, self.contract)
        self.assertEqual(Contract.search([("id", "in", (old | later).ids), ("state", "!=", "expired")]), later)
        with self.assertRaisesRegex(ValidationError, "ends before it starts"):
            later.date_end = today
        with self.assertRaisesRegex(ValidationError, "is not a technician"):
            old.technician_id = self.customer

    def test_equipment_constraints(self):
        other = self.env["res.partner"].create({"name": "Somebody Else"})
        with self.assertRaisesRegex(ValidationError, "belongs to Somebody Else"):
            self.env["service.equipment"].create(
                {
                    "serial_number": "HP-0002",
                    "equipment_type_id": self.type_hp_air.id,
                    "partner_id": other.id,
                    "contract_id": self.contract.id,
                }
            )
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.env["service.equipment"].create(
                {"serial_number": "hp-0001", "equipment_type_id": self.type_hp_air.id, "partner_id": other.id}
            )

    def test_service_areas(self):
        Area = self.env["service.area"]
        prefix = Area.create(
            {"technician_id": self.tech_anna.id, "country_id": self.de.id, "zip_from": "90", "zip_to": "91"}
        )
        self.assertEqual((prefix.zip_from_key, prefix.zip_to_key), ("90", "91~"))
        hits = {row[0] for row in Area._hits(self.de.id, "91999", None, None)}
        self.assertIn(self.tech_anna.id, hits)
        self.assertNotIn(self.tech_anna.id, {row[0] for row in Area._hits(self.de.id, "92000", None, None)})
        with self.assertRaisesRegex(ValidationError, "ends before it starts"):
            prefix.zip_to = "89"
        with self.assertRaisesRegex(ValidationError, "99999 is unknown in Germany"):
            Area.create(
                {
                    "technician_id": self.tech_anna.id,
                    "country_id": self.de.id,
                    "kind": "radius",
                    "base_zip": "99999",
                    "radius_km": 20,
                }
            )
        radius = self.tech_carla.service_area_ids
        self.assertAlmostEqual(radius.base_latitude, 48.4, delta=0.1)
        self.assertLess(radius.bbox_south, radius.base_latitude)
        self.assertGreater(radius.bbox_east, radius.base_longitude)

    def test_technician_profile(self):
        with self.assertRaisesRegex(ValidationError, "capacity of at least one"):
            self.tech_anna.service_capacity = 0
        # a salesman edits customers, not technician profiles
        customer = self.env["res.partner"].with_user(self.user_salesman).create({"name": "New Customer"})
        customer.write({"phone": "+49 89 1", "is_technician": False})
        with self.assertRaises(AccessError):
            customer.write({"is_technician": True})
        with self.assertRaises(AccessError):
            self.tech_anna.with_user(self.user_salesman).write({"service_paused": True})
        self.tech_anna.with_user(self.user_dispatcher).write({"service_paused": True})
        self.assertTrue(self.tech_anna.service_paused)

    def test_appointments(self):
        with self.assertRaisesRegex(ValidationError, "lies in the past"):
            self._create_inquiry(preferred_appointment=fields.Datetime.now() - datetime.timedelta(hours=2))
        lead = self._create_inquiry(preferred_appointment=future())
        lead.agreed_appointment = future(3)
        with self.assertRaisesRegex(ValidationError, "Agreed Appointment .* lies in the past"):
            lead.agreed_appointment = fields.Datetime.now() - datetime.timedelta(days=1)

    def test_plain_create_validates_postal_code(self):
        with self.assertRaisesRegex(ValidationError, "8033 is not a valid postal code for Germany"):
            self._create_inquiry(zip="8033")
        self.assertEqual(self._create_inquiry(zip=" 80 331").zip, "80331")


@tagged("post_install", "-at_install", "crm_service_routing")
class TestMatching(ServiceRoutingCase):
    def test_contract_match(self):
        lead = self._create_inquiry(contract_ref=" SC-1001 ", zip="81675", email_from="tenant@example.org")
        self.assertRecordValues(
            lead,
            [
                {
                    "contract_id": self.contract.id,
                    "partner_id": self.customer.id,
                    "service_level_id": self.level_standard.id,
                    "customer_kind": "existing",
                    "match_method": "contract",
                }
            ],
        )
        # the customer's own data are not overwritten by the inquiry's contact
        self.assertEqual(self.customer.email, "huber@example.com")

    def test_serial_match(self):
        lead = self._create_inquiry(serial_number="hp-0001", equipment_type_id=False, zip="81675")
        self.assertRecordValues(
            lead,
            [
                {
                    "serial_number": "HP-0001",
                    "equipment_id": self.equipment.id,
                    "contract_id": self.contract.id,
                    "equipment_type_id": self.type_hp_air.id,
                    "partner_id": self.customer.id,
                    "match_method": "serial",
                    "customer_kind": "existing",
                }
            ],
        )

    def test_email_and_phone_match(self):
        by_email = self._create_inquiry(email_from="HUBER@example.com")
        self.assertEqual((by_email.partner_id, by_email.match_method), (self.customer, "email"))
        self.assertEqual(by_email.customer_kind, "existing", "the Hubers have a contract")
        by_phone = self._create_inquiry(email_from=False, phone="089 1234567")
        self.assertEqual((by_phone.partner_id, by_phone.match_method), (self.customer, "phone"))
        self.assertIn("Repair", by_phone.service_history, "the inquiry matched by e-mail is in the history")

    def test_no_match_is_new(self):
        lead = self._create_inquiry(serial_number="UNKNOWN-1", contract_ref="SC-9999")
        self.assertFalse(lead.partner_id)
        self.assertFalse(lead.match_method)
        self.assertEqual(lead.customer_kind, "new")
        self.assertEqual(lead.service_level_id, self.level_standard, "the company's default tier")

    def test_expired_contract_links_without_tier(self):
        self.contract.write(
            {"date_start": "2020-01-01", "date_end": "2021-01-01", "service_level_id": self.level_premium.id}
        )
        lead = self._create_inquiry(contract_ref="SC-1001", zip="81675")
        self.assertEqual(lead.contract_id, self.contract)
        self.assertEqual(lead.service_level_id, self.level_standard)
        self.assertEqual(lead.routing_log_ids.chosen_by, "strategy", "an expired contract names no technician")

    def test_conflicting_serial_and_contract(self):
        other = self.env["res.partner"].create({"name": "Meier"})
        self.env["service.equipment"].create(
            {"serial_number": "PV-7", "equipment_type_id": self.type_pv.id, "partner_id": other.id}
        )
        lead = self._create_inquiry(contract_ref="SC-1001", serial_number="PV-7", zip="81675")
        self.assertEqual(lead.partner_id, self.customer)
        self.assertIn("belongs to Meier", lead.review_note)

    def test_history(self):
        self._create_inquiry(serial_number="HP-0001", zip="81675")
        lead = self._create_inquiry(serial_number="HP-0001", zip="81675", service_occasion="maintenance")
        self.assertIn("Repair", lead.service_history)
        self.assertIn("HP-0001", lead.service_history)

    def test_dispatcher_corrects_the_match(self):
        lead = self._create_inquiry()
        self.assertEqual(lead.customer_kind, "new")
        with Form(lead.with_user(self.user_dispatcher)) as form:
            form.equipment_id = self.equipment
            self.assertEqual(form.partner_id, self.customer)
            self.assertEqual(form.contract_id, self.contract)
            self.assertEqual(form.match_method, "manual")
        self.assertEqual(lead.customer_kind, "existing")
        lead.with_user(self.user_dispatcher).customer_kind = "new"
        self.assertEqual(lead.customer_kind, "new")


@tagged("post_install", "-at_install", "crm_service_routing")
class TestGeodata(ServiceRoutingCase):
    def test_locate(self):
        Postal = self.env["service.postal.code"]
        lat, lon = Postal._locate(self.de, "80331")
        self.assertAlmostEqual(lat, 48.14, delta=0.05)
        self.assertAlmostEqual(lon, 11.57, delta=0.05)
        self.assertIsNone(Postal._locate(self.de, "99999"), "unknown codes are not guessed")
        self.assertIsNone(Postal._locate(self.de, False))

    def test_lookup_never_loads_a_country(self):
        Postal = self.env["service.postal.code"]
        self.assertFalse(Postal._is_loaded(self.at))
        self.assertIsNone(Postal._locate(self.at, "1010"), "queued for the loader, not loaded")
        self.assertFalse(Postal._is_loaded(self.at))
        Postal._load_countries(["AT"])
        self.assertTrue(Postal._locate(self.at, "1010"))
        self.assertTrue(Postal._is_loaded(self.at))

    def test_missing_file(self):
        with tempfile.TemporaryDirectory() as empty:
            self.env["ir.config_parameter"].set_param("crm_service_routing.geonames_dir", empty)
            with self.assertRaisesRegex(UserError, "No GeoNames file for AT in " + empty):
                self.env["service.postal.code"]._load_countries(["AT"])
            self.assertIsNone(self.env["service.postal.code"]._locate(self.at, "1010"))


@tagged("post_install", "-at_install", "crm_service_routing")
class TestIntake(ServiceRoutingCase):
    def request(self, **values):
        # a customer's e-mail as typed, the equipment by its code in lower case, and a phone
        return service_request(
            **{"name": None, "equipment": "hp-aw", "email": "Eva.Neu@Example.org", "phone": "089 7654321", **values}
        )

    def submit(self, **values):
        return self.env["crm.lead"].submit_service_request(self.request(**values))

    def test_good_request(self):
        when = future(5)
        result = self.submit(external_ref="WEB-1", preferred_appointment=when.isoformat() + "+02:00")
        lead = self.env["crm.lead"].browse(result["id"])
        self.assertEqual(result["status"], "created")
        self.assertEqual(result["routing_state"], "offered")
        self.assertTrue(lead.technician_id)
        self.assertEqual(lead.customer_kind, "new")
        self.assertEqual(lead.phone, "+49897654321")
        self.assertEqual(lead.email_from, "eva.neu@example.org")
        self.assertEqual(lead.equipment_type_id, self.type_hp_air)
        self.assertEqual(lead.preferred_appointment, when - datetime.timedelta(hours=2))
        self.assertEqual(lead.name, "Repair – Air/Water Heat Pump – 80331 München")

    def test_bad_requests_save_nothing(self):
        Lead = self.env["crm.lead"]
        cases = [
            ({"colour": "red"}, "Unknown fields in the service request: colour"),
            ({"service_occasion": None}, "service occasion is missing"),
            ({"zip": None}, "postal code of the service site is missing"),
            ({"zip": "8033"}, "8033 is not a valid postal code for Germany"),
            ({"email": "not-an-address"}, "not-an-address is not a valid e-mail address"),
            ({"phone": "12"}, "12 is not a valid phone number for Germany"),
            ({"email": None, "phone": None}, "Send an e-mail address or a phone number"),
            ({"country": "XX"}, "Unknown country XX"),
            ({"service_level": "PLATINUM"}, "Unknown SLA tier PLATINUM"),
            ({"preferred_appointment": "2020-01-01T10:00:00"}, "lies in the past"),
            ({"preferred_appointment": "next tuesday"}, "next tuesday is not a date and time"),
            ({"zip": 80331}, "The field zip must be text"),
        ]
        before = Lead.search_count([])
        for values, message in cases:
            with self.subTest(values=values), self.assertRaisesRegex(ValidationError, message):
                self.submit(**values)
        with self.assertRaisesRegex(ValidationError, "must be a dictionary"):
            Lead.submit_service_request(["repair"])
        self.assertEqual(Lead.search_count([]), before)

    def test_unroutable_is_kept_for_review(self):
        unknown_zip = self.submit(zip="99999")
        self.assertEqual(
            (unknown_zip["routing_state"], unknown_zip["review_reason"]), ("review", "unknown_postal_code")
        )
        unknown_equipment = self.submit(equipment="FLUX-CAPACITOR")
        self.assertEqual(unknown_equipment["review_reason"], "unknown_equipment")
        lead = self.env["crm.lead"].browse(unknown_equipment["id"])
        self.assertEqual(lead.equipment_received, "FLUX-CAPACITOR")
        self.assertFalse(lead.equipment_type_id)

    def test_idempotency(self):
        first = self.submit(external_ref="RETRY-1")
        again = self.submit(external_ref="RETRY-1")
        self.assertEqual(again["status"], "duplicate")
        with self.assertRaisesRegex(ValidationError, "already used for another request"):
            self.submit(external_ref="RETRY-1", description="another request")
        self.assertEqual(again["id"], first["id"])
        self.assertEqual(self.env["crm.lead"].search_count([("service_external_ref", "=", "RETRY-1")]), 1)
        other_company = self.env["res.company"].create({"name": "Other GmbH", "country_id": self.de.id})
        self.env.user.company_ids |= other_company
        elsewhere = (
            self.env["crm.lead"]
            .with_company(other_company)
            .submit_service_request(self.request(external_ref="RETRY-1"))
        )
        self.assertEqual(elsewhere["status"], "created")
        self.assertNotEqual(elsewhere["id"], first["id"])

    def test_external_ref_unique_in_database(self):
        first = self.submit(external_ref="DB-1")
        source = self.env["crm.lead"].browse(first["id"]).service_intake_source
        with self.assertRaisesRegex(ValidationError, "used once per company and source"):
            self._create_inquiry(service_external_ref="DB-1", service_intake_source=source, company_id=self.company.id)
        self.assertEqual(self.env["crm.lead"].search_count([("service_external_ref", "=", "DB-1")]), 1)

    def test_batch(self):
        results = self.env["crm.lead"].submit_service_requests(
            [self.request(external_ref="B-1"), self.request(zip="1"), self.request(external_ref="B-1")]
        )
        self.assertEqual([r["status"] for r in results], ["created", "error", "duplicate"])
        self.assertIn("1 is not a valid postal code", results[1]["error"])
        self.assertEqual(results[1]["index"], 1)
        self.assertEqual(results[0]["id"], results[2]["id"])


@tagged("post_install", "-at_install", "crm_service_routing")
class TestAccess(ServiceRoutingCase):
    def test_configuration_by_group(self):
        type_vals = {"name": "Lift", "code": "LIFT"}
        with self.assertRaises(AccessError):
            self.env["service.equipment.type"].with_user(self.user_salesman).create(type_vals)
        with self.assertRaises(AccessError):
            self.env["service.equipment.type"].with_user(self.user_dispatcher).create(type_vals)
        self.env["service.equipment.type"].with_user(self.user_manager).create(type_vals)
        with self.assertRaises(AccessError):
            self.env["service.level"].with_user(self.user_dispatcher).create({"name": "X", "code": "X"})
        self.assertTrue(self.env["service.level"].with_user(self.user_salesman).search([]))

    def test_installed_base_by_group(self):
        contract_vals = {
            "name": "SC-2",
            "partner_id": self.customer.id,
            "service_level_id": self.level_standard.id,
        }
        with self.assertRaises(AccessError):
            self.env["service.contract"].with_user(self.user_salesman).create(contract_vals)
        contract = self.env["service.contract"].with_user(self.user_dispatcher).create(contract_vals)
        with self.assertRaises(AccessError):
            contract.with_user(self.user_dispatcher).unlink()
        contract.with_user(self.user_manager).unlink()
        self.assertEqual(self.contract.with_user(self.user_salesman).name, "SC-1001")
        with self.assertRaises(AccessError):
            self.contract.with_user(self.user_internal).read(["name"])

    def test_decisions_are_read_only(self):
        lead = self._create_inquiry()
        log = lead.routing_log_ids
        with self.assertRaises(AccessError):
            log.with_user(self.user_salesman).read(["reason"])
        for user in (self.user_dispatcher, self.user_manager):
            self.assertTrue(log.with_user(user).reason)
            with self.assertRaises(UserError):
                log.with_user(user).write({"reason": "forged"})
            with self.assertRaises(UserError):
                lead.offer_ids.with_user(user).write({"state": "accepted"})
            with self.assertRaises(UserError):
                log.with_user(user).unlink()
        with self.assertRaises(UserError):
            self.env["service.routing.log"].with_user(self.user_dispatcher).create(
                {"lead_id": lead.id, "trigger": "manual", "outcome": "review"}
            )

    def test_multi_company(self):
        other_company = self.env["res.company"].create({"name": "Other GmbH"})
        hidden = self.env["service.contract"].create(
            {
                "name": "SC-OTHER",
                "partner_id": self.customer.id,
                "service_level_id": self.level_standard.id,
                "company_id": other_company.id,
            }
        )
        visible = self.env["service.contract"].with_user(self.user_dispatcher).search([("name", "like", "SC-")])
        self.assertIn(self.contract, visible)
        self.assertNotIn(hidden, visible)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestLockedBatches(ServiceRoutingCase):
    def _steps(self, sizes):
        """A step that hands out batches of the given sizes, counting its calls."""
        calls = []

        def step():
            size = sizes[len(calls)] if len(calls) < len(sizes) else 0
            calls.append(size)
            return self.env["res.partner"].browse(range(1, size + 1)), size

        return step, calls

    def test_batches_until_one_is_not_full(self):
        step, calls = self._steps([3, 3, 1, 3])
        batches = run_locked_batches(self.env, step, 3, commit=False)
        self.assertEqual([result for _records, result in batches], [3, 3, 1])
        self.assertEqual(calls, [3, 3, 1])

    def test_out_of_time_leaves_the_rest_to_the_next_run(self):
        cron = self.env.ref("crm_service_routing.ir_cron_send_customer_notices")
        Trigger = self.env["ir.cron.trigger"].sudo()
        before = Trigger.search_count([("cron_id", "=", cron.id)])
        step, calls = self._steps([3, 3, 3])
        env = self.env(context=dict(self.env.context, cron_id=cron.id))
        batches = run_locked_batches(env, step, 3, commit=False, time_budget=0)
        self.assertEqual(len(batches), 1, "no batch after the budget is spent")
        self.assertEqual(calls, [3])
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), before + 1, "woken for the rest")

    def test_no_batch_is_taken_that_would_end_past_the_budget(self):
        """Batches of 4 s in a budget of 10 s: two, the run ending at 8 s; a third would end at 12 s."""
        clock = [1000.0]
        batches_taken = []

        def step():
            clock[0] += 4.0
            batches_taken.append(clock[0])
            return self.env["res.partner"].browse([1, 2, 3]), clock[0]

        fake_time = SimpleNamespace(monotonic=lambda: clock[0])
        with patch.object(service_batch, "time", fake_time):
            batches = run_locked_batches(self.env, step, 3, commit=False, time_budget=10)
        self.assertEqual([ended - 1000.0 for _records, ended in batches], [4.0, 8.0])
        self.assertEqual(len(batches_taken), 2)
        # with room for one more, it is taken
        clock[0] = 1000.0
        batches_taken.clear()
        with patch.object(service_batch, "time", fake_time):
            batches = run_locked_batches(self.env, step, 3, commit=False, time_budget=12.5)
        self.assertEqual([ended - 1000.0 for _records, ended in batches], [4.0, 8.0, 12.0])
