# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Service context on crm.lead, the configuration models and the postal geodata."""

import datetime
import tempfile

from psycopg2 import IntegrityError

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.crm_service_routing.models.service_area import AREAS_AT

from .common import ServiceRoutingCase


def in_days(days, hour=None):
    """A datetime ``days`` from now, whole seconds (as stored)."""
    when = fields.Datetime.now().replace(microsecond=0) + datetime.timedelta(days=days)
    return when.replace(hour=hour, minute=0, second=0) if hour is not None else when


@tagged("post_install", "-at_install", "crm_service_routing")
class TestServiceContextFields(ServiceRoutingCase):
    """The service fields of an inquiry and how they are derived."""

    def test_service_fields_are_stored(self):
        preferred, agreed = in_days(3, hour=9), in_days(4, hour=14)
        lead = self._create_inquiry(
            service_occasion="maintenance",
            serial_number="HP-0001",
            contract_ref="SC-1001",
            service_level_id=self.level_premium.id,
            preferred_appointment=preferred,
            agreed_appointment=agreed,
            zip="81675",
        )
        self.assertRecordValues(
            lead,
            [
                {
                    "service_occasion": "maintenance",
                    "equipment_type_id": self.type_hp_air.id,
                    "serial_number": "HP-0001",
                    "contract_ref": "SC-1001",
                    "contract_id": self.contract.id,
                    "equipment_id": self.equipment.id,
                    "service_level_id": self.level_premium.id,
                    "preferred_appointment": preferred,
                    "agreed_appointment": agreed,
                    "customer_kind": "existing",
                    "match_method": "contract",
                    "safety_critical": False,
                }
            ],
        )
        self.assertIsInstance(lead.preferred_appointment, datetime.datetime, "a datetime, not a date")
        self.assertEqual(lead.agreed_appointment.hour, 14)

    def test_serial_number_is_normalised(self):
        lead = self._create_inquiry(serial_number="  ab-123x ")
        self.assertEqual(lead.serial_number, "AB-123X")
        lead.serial_number = " zz-9 "
        self.assertEqual(lead.serial_number, "ZZ-9")
        self.assertEqual(self.env["crm.lead"].search([("serial_number", "=", "ZZ-9")]), lead)

    def test_appointment_in_the_past_on_create(self):
        Lead = self.env["crm.lead"]
        before = Lead.search_count([])
        past = fields.Datetime.now() - datetime.timedelta(hours=2)
        with self.assertRaisesMessage(ValidationError, "Preferred Appointment .* lies in the past"):
            self._create_inquiry(preferred_appointment=past)
        with self.assertRaisesMessage(ValidationError, "Agreed Appointment .* lies in the past"):
            self._create_inquiry(agreed_appointment=fields.Datetime.to_string(past))
        self.assertEqual(Lead.search_count([]), before, "a refused inquiry is not saved")
        lead = self._create_inquiry(preferred_appointment=in_days(1))
        self.assertTrue(lead.preferred_appointment)

    def test_appointment_in_the_past_on_write(self):
        agreed = in_days(3)
        lead = self._create_inquiry(preferred_appointment=in_days(2))
        lead.agreed_appointment = agreed
        yesterday = fields.Datetime.now() - datetime.timedelta(days=1)
        with self.assertRaisesMessage(ValidationError, "Agreed Appointment .* lies in the past"):
            lead.write({"agreed_appointment": yesterday})
        with self.assertRaisesMessage(ValidationError, "Preferred Appointment .* lies in the past"):
            lead.write({"preferred_appointment": yesterday})
        self.assertEqual(lead.agreed_appointment, agreed, "the refused value was not written")
        # clearing an appointment is always allowed
        lead.agreed_appointment = False
        self.assertFalse(lead.agreed_appointment)

    def test_customer_kind_is_derived(self):
        new = self._create_inquiry()
        self.assertFalse(new.partner_id)
        self.assertEqual(new.customer_kind, "new")
        # a known partner without contract or equipment is still a new customer
        prospect = self.env["res.partner"].create({"name": "Interessent", "email": "prospect@example.com"})
        lead = self._create_inquiry(email_from="prospect@example.com")
        self.assertEqual(lead.partner_id, prospect)
        self.assertEqual(lead.customer_kind, "new")
        # equipment alone (no contract) makes an existing customer
        self.env["service.equipment"].create(
            {"serial_number": "PV-PROS-1", "equipment_type_id": self.type_pv.id, "partner_id": prospect.id}
        )
        again = self._create_inquiry(email_from="prospect@example.com")
        self.assertEqual(again.customer_kind, "existing")
        # linking a contract later makes the customer existing
        new.contract_id = self.contract
        self.assertEqual(new.customer_kind, "existing")

    def test_customer_kind_follows_the_installed_base(self):
        """Computed from the installed base as it is: a later change of it shows, as far as it
        goes back to the inquiry's date."""
        today = fields.Date.context_today(self.env["crm.lead"])
        prospect = self.env["res.partner"].create({"name": "Interessentin", "email": "later@example.com"})
        lead = self._create_inquiry(email_from="later@example.com")
        self.assertEqual((lead.partner_id, lead.customer_kind), (prospect, "new"))
        # a contract that starts after the inquiry was no contract of its customer then
        contract = self.env["service.contract"].create(
            {
                "name": "SC-LATER",
                "partner_id": prospect.id,
                "service_level_id": self.level_standard.id,
                "date_start": today + datetime.timedelta(days=1),
            }
        )
        self.assertEqual(lead.customer_kind, "new")
        # one that turns out to go back further (an import, a correction) was
        contract.date_start = today - datetime.timedelta(days=400)
        self.assertEqual(lead.customer_kind, "existing")
        contract.action_archive()
        self.assertEqual(lead.customer_kind, "new")
        # equipment installed at a contact of the customer's company, since long
        company = self.env["res.partner"].create({"name": "Interessentin GmbH", "is_company": True})
        prospect.parent_id = company
        equipment = self.env["service.equipment"].create(
            {
                "serial_number": "PV-LATER-1",
                "equipment_type_id": self.type_pv.id,
                "partner_id": self.env["res.partner"].create({"name": "Hausmeister", "parent_id": company.id}).id,
                "install_date": today - datetime.timedelta(days=30),
            }
        )
        self.assertEqual(lead.customer_kind, "existing")
        equipment.unlink()
        self.assertEqual(lead.customer_kind, "new")
        # the dispatcher links the inquiry to the customer's contract: existing
        contract.action_unarchive()
        contract.date_start = today + datetime.timedelta(days=1)
        self.assertEqual(lead.customer_kind, "new")
        lead.contract_id = contract
        self.assertEqual(lead.customer_kind, "existing")
        # and the customer kind is what the reports group by
        self.env.flush_all()
        self.env.cr.execute("SELECT customer_kind FROM crm_lead WHERE id = %s", [lead.id])
        self.assertEqual(self.env.cr.fetchone()[0], "existing")

    def test_dispatcher_overrides_customer_kind(self):
        lead = self._create_inquiry(contract_ref="SC-1001", zip="81675")
        self.assertEqual(lead.customer_kind, "existing")
        lead.with_user(self.user_dispatcher).write({"customer_kind": "new"})
        lead.invalidate_recordset()
        self.assertEqual(lead.customer_kind, "new", "the dispatcher's correction is stored")
        self.assertEqual(lead.contract_id, self.contract, "the match itself stays")

    def test_match_method(self):
        self.assertEqual(self._create_inquiry(contract_ref="SC-1001").match_method, "contract")
        self.assertEqual(self._create_inquiry(serial_number="HP-0001").match_method, "serial")
        self.assertEqual(self._create_inquiry(email_from="huber@example.com").match_method, "email")
        self.assertFalse(self._create_inquiry().match_method)

    def test_safety_critical_from_equipment_type(self):
        self.assertTrue(self._create_inquiry(equipment_type_id=self.type_gas.id).safety_critical)
        self.assertFalse(self._create_inquiry(equipment_type_id=self.type_pv.id).safety_critical)
        self.assertFalse(self._create_inquiry(equipment_type_id=False).safety_critical)

    def test_safety_critical_inherited_from_parent_type(self):
        hybrid = self.env["service.equipment.type"].create(
            {"name": "Gas Hybrid", "code": "GAS-HY", "parent_id": self.type_gas.id}
        )
        self.assertFalse(hybrid.safety_critical)
        self.assertTrue(hybrid.is_safety_critical)
        lead = self._create_inquiry(equipment_type_id=hybrid.id)
        self.assertTrue(lead.safety_critical)
        # a parent that becomes safety-critical makes its children's inquiries so
        heat_pump_lead = self._create_inquiry(equipment_type_id=self.type_hp_air.id)
        self.assertFalse(heat_pump_lead.safety_critical)
        self.type_heatpump.safety_critical = True
        self.assertTrue(self.type_hp_air.is_safety_critical)
        self.assertTrue(heat_pump_lead.safety_critical)
        # and stops being it
        self.type_gas.safety_critical = False
        self.assertFalse(lead.safety_critical)
        # changing the inquiry's type recomputes the flag
        lead.equipment_type_id = self.type_pv
        heat_pump_lead.equipment_type_id = self.type_gas
        self.assertFalse(lead.safety_critical)
        self.assertFalse(heat_pump_lead.safety_critical)

    def test_service_history_from_earlier_inquiries(self):
        first = self._create_inquiry(serial_number="HP-0001", zip="81675")
        self.assertFalse(first.service_history, "nothing before the first inquiry")
        second = self._create_inquiry(serial_number="HP-0001", zip="81675", service_occasion="maintenance")
        history = second.service_history.splitlines()
        self.assertEqual(len(history), 1)
        self.assertIn(fields.Date.to_string(first.create_date.date()), history[0])
        self.assertIn("Repair", history[0])
        self.assertIn("HP-0001", history[0])
        self.assertEqual(first.technician_id, self.tech_bernd, "offered to the contract technician")
        self.assertIn("(Bernd Service GmbH)", history[0])
        third = self._create_inquiry(serial_number="HP-0001", zip="81675", service_occasion="extension")
        self.assertEqual(len(third.service_history.splitlines()), 2)
        self.assertIn("Maintenance", third.service_history.splitlines()[0], "newest first")
        # another customer's inquiries never show up
        stranger = self._create_inquiry(email_from="stranger@example.org")
        self.assertFalse(stranger.service_history)
        # a history given by the caller is kept, after the earlier inquiries
        given = self._create_inquiry(serial_number="HP-0001", service_history="Imported from the old system")
        self.assertEqual(given.service_history_given, "Imported from the old system")
        self.assertEqual(given.service_history.splitlines()[-1], "Imported from the old system")
        self.assertEqual(len(given.service_history.splitlines()), 4, "three earlier inquiries and the given text")
        # computed from the earlier inquiries, not kept: a later change shows
        first.service_occasion = "maintenance"
        third.invalidate_recordset(["service_history"])  # read again, as the next request does
        self.assertIn("Maintenance", third.service_history.splitlines()[-1], "the first inquiry, as it is now")
        self.assertFalse(first.service_history, "a later inquiry is no history of an earlier one")
        linked = self._create_inquiry(email_from="nobody@example.org")
        self.assertFalse(linked.service_history)
        linked.equipment_id = first.equipment_id
        self.assertEqual(len(linked.service_history.splitlines()), 4, "linked to the equipment: its history")

    def test_service_history_of_the_customer(self):
        """Without equipment the customer's earlier inquiries are listed."""
        self._create_inquiry(email_from="huber@example.com", equipment_type_id=self.type_pv.id)
        lead = self._create_inquiry(email_from="huber@example.com", service_occasion="installation")
        self.assertEqual(lead.partner_id, self.customer)
        self.assertIn("PV System", lead.service_history)

    def test_external_ref_unique_per_company(self):
        lead = self._create_inquiry(service_external_ref="EXT-1")
        self.assertEqual(lead.company_id, self.company)
        # refused by the key's unique constraint, also when the company is only computed (not given)
        with self.assertRaisesRegex(ValidationError, "used once per company and source"):
            self._create_inquiry(service_external_ref="EXT-1")
        with self.assertRaisesRegex(ValidationError, "used once per company and source"):
            self._create_inquiry(service_external_ref="EXT-1", company_id=self.company.id)
        other_company = self.env["res.company"].create({"name": "Service Nord GmbH", "country_id": self.de.id})
        elsewhere = self._create_inquiry(service_external_ref="EXT-1", company_id=other_company.id)
        self.assertEqual(elsewhere.service_external_ref, "EXT-1")
        self.assertNotEqual(elsewhere, lead)
        self.assertFalse(lead.copy().service_external_ref, "a copy is another inquiry")

    def test_non_service_lead_is_untouched(self):
        Lead = self.env["crm.lead"]
        lead = Lead.create(
            {
                "name": "Quote for a new kitchen",
                "email_from": "huber@example.com",
                "zip": "8033",  # not a German postal code: not ours to check on sales leads
                "country_id": self.de.id,
                "serial_number": "x-1",
            }
        )
        self.assertRecordValues(
            lead,
            [
                {
                    "routing_state": False,
                    "customer_kind": False,
                    "match_method": False,
                    "technician_id": False,
                    "service_level_id": False,
                    "contract_id": False,
                    "zip": "8033",
                }
            ],
        )
        self.assertFalse(lead.routing_log_ids)
        self.assertFalse(lead.offer_ids)

    def test_mixed_batch_keeps_crm_behaviour_for_sales_leads(self):
        """crm writes a lead's contact data to its partner; a service inquiry does not."""
        prospect = self.env["res.partner"].create({"name": "Prospect", "email": "old@example.com"})
        sales, service = self.env["crm.lead"].create(
            [
                {"name": "Sales lead", "partner_id": prospect.id, "email_from": "new@example.com"},
                self._inquiry_vals(contract_ref="SC-1001", email_from="tenant@example.org"),
            ]
        )
        self.assertFalse(sales.routing_state)
        self.assertEqual(prospect.email, "new@example.com", "crm's own behaviour for sales leads")
        self.assertIn(service.routing_state, ("review", "offered"))
        self.assertEqual(service.partner_id, self.customer)
        self.assertEqual(self.customer.email, "huber@example.com")
        self.assertEqual(service.email_from, "tenant@example.org")

    def test_lead_becomes_service_inquiry(self):
        lead = self.env["crm.lead"].create({"name": "Call back", "zip": "80331", "country_id": self.de.id})
        self.assertFalse(lead.routing_state)
        lead.write({"service_occasion": "maintenance", "equipment_type_id": self.type_heatpump.id})
        self.assertIn(lead.routing_state, ("offered", "review"))
        self.assertTrue(lead.routing_log_ids, "routed like a new inquiry")
        self.assertEqual(lead.customer_kind, "new")


@tagged("post_install", "-at_install", "crm_service_routing")
class TestServiceConfig(ServiceRoutingCase):
    """Equipment types, SLA tiers, contracts, installed base, areas and technician profiles."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Service Süd AG", "country_id": cls.de.id})

    # equipment types

    def test_equipment_type_code(self):
        Type = self.env["service.equipment.type"]
        wallbox = Type.create({"name": "Wallbox", "code": " wb-11 "})
        self.assertEqual(wallbox.code, "WB-11")
        wallbox.code = "wb-22"
        self.assertEqual(wallbox.code, "WB-22")
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            Type.create({"name": "Other Wallbox", "code": "Wb-22"})
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.type_pv.write({"code": "hp"})

    def test_equipment_type_hierarchy(self):
        Type = self.env["service.equipment.type"]
        model = Type.create({"name": "Model X", "code": "HP-AW-X", "parent_id": self.type_hp_air.id})
        self.assertEqual(self.type_hp_air.complete_name, "Heat Pump / Air/Water Heat Pump")
        self.assertEqual(model.complete_name, "Heat Pump / Air/Water Heat Pump / Model X")
        self.assertEqual(model.display_name, model.complete_name)
        self.assertEqual(model._ancestor_ids(), {self.type_heatpump.id, self.type_hp_air.id, model.id})
        self.assertEqual(self.type_pv._ancestor_ids(), {self.type_pv.id})
        self.type_heatpump.name = "Heat Pumps"
        self.assertEqual(model.complete_name, "Heat Pumps / Air/Water Heat Pump / Model X")
        # moving a branch moves its ancestors
        model.parent_id = self.type_pv
        self.assertEqual(model._ancestor_ids(), {self.type_pv.id, model.id})

    def test_equipment_type_cycle_refused(self):
        model = self.env["service.equipment.type"].create(
            {"name": "Model X", "code": "HP-AW-X", "parent_id": self.type_hp_air.id}
        )
        with self.assertRaises(UserError):
            self.type_heatpump.parent_id = model
        with self.assertRaises(UserError):
            self.type_pv.parent_id = self.type_pv
        self.assertFalse(self.type_heatpump.parent_id)
        self.assertFalse(self.type_pv.parent_id)

    # SLA tiers

    def test_service_level_code_unique(self):
        Level = self.env["service.level"]
        self.assertEqual(Level.create({"name": "Silver", "code": " t-silver"}).code, "T-SILVER")
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            Level.create({"name": "Copy of Gold", "code": "t-gold"})

    def test_service_level_response_hours_positive(self):
        Level = self.env["service.level"]
        for hours in (0, -4):
            with self.subTest(hours=hours), self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
                Level.create({"name": "Broken", "code": "BROKEN", "response_hours": hours})
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.level_premium.write({"response_hours": 0})
        self.assertEqual(Level.create({"name": "Fast", "code": "FAST", "response_hours": 0.5}).response_hours, 0.5)

    # contracts

    def _contract(self, name, **values):
        return self.env["service.contract"].create(
            {
                "name": name,
                "partner_id": self.customer.id,
                "service_level_id": self.level_standard.id,
                **values,
            }
        )

    def test_contract_dates(self):
        today = fields.Date.context_today(self.env["service.contract"])
        with self.assertRaisesMessage(ValidationError, "SC-BAD ends before it starts"):
            self._contract("SC-BAD", date_start=today, date_end=today - datetime.timedelta(days=1))
        one_day = self._contract("SC-DAY", date_start=today, date_end=today)
        self.assertEqual(one_day.state, "valid")
        with self.assertRaisesMessage(ValidationError, "ends before it starts"):
            one_day.date_start = today + datetime.timedelta(days=1)

    def test_contract_technician_must_be_a_technician(self):
        with self.assertRaisesMessage(ValidationError, "Familie Huber is not a technician"):
            self._contract("SC-T1", technician_id=self.customer.id)
        with self.assertRaisesMessage(ValidationError, "is not a technician and cannot be the technician of contract"):
            self.contract.technician_id = self.customer
        self.contract.technician_id = self.tech_anna
        self.assertEqual(self.contract.technician_id, self.tech_anna)

    def test_contract_reference_unique_and_trimmed(self):
        contract = self._contract("  SC-2000 ")
        self.assertEqual(contract.name, "SC-2000")
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self._contract("SC-2000")
        elsewhere = self._contract("SC-2000", company_id=self.other_company.id)
        self.assertEqual(elsewhere.company_id, self.other_company)

    def test_contract_state_and_search(self):
        Contract = self.env["service.contract"]
        today = fields.Date.context_today(self.env["service.contract"])
        expired = self._contract(
            "SC-OLD", date_start=today - datetime.timedelta(days=400), date_end=today - datetime.timedelta(days=1)
        )
        future = self._contract("SC-LATER", date_start=today + datetime.timedelta(days=10))
        ending_today = self._contract("SC-TODAY", date_start=today - datetime.timedelta(days=30), date_end=today)
        valid = self.contract | ending_today
        self.assertEqual(
            [c.state for c in (expired, future, self.contract, ending_today)], ["expired", "future", "valid", "valid"]
        )
        mine = [("partner_id", "=", self.customer.id)]
        self.assertEqual(Contract.search(mine + [("state", "=", "valid")]), valid)
        self.assertEqual(Contract.search(mine + [("state", "=", "expired")]), expired)
        self.assertEqual(Contract.search(mine + [("state", "=", "future")]), future)
        self.assertEqual(Contract.search(mine + [("state", "!=", "expired")]), valid | future)
        self.assertEqual(Contract.search(mine + [("state", "in", ["future", "expired"])]), expired | future)
        self.assertEqual(Contract.search(mine + [("state", "not in", ["valid"])]), expired | future)
        self.assertFalse(Contract.search(mine + [("state", "in", [])]))

    # installed equipment

    def test_equipment_serial_unique_per_company(self):
        Equipment = self.env["service.equipment"]
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            Equipment.create(
                {"serial_number": " hp-0001 ", "equipment_type_id": self.type_hp_air.id, "partner_id": self.customer.id}
            )
        elsewhere = Equipment.create(
            {
                "serial_number": "hp-0001",
                "equipment_type_id": self.type_hp_air.id,
                "partner_id": self.customer.id,
                "company_id": self.other_company.id,
            }
        )
        self.assertEqual(elsewhere.serial_number, "HP-0001")
        self.assertEqual(elsewhere.display_name, "HP-0001 (Air/Water Heat Pump)")

    def test_equipment_contract_of_the_same_customer(self):
        Equipment = self.env["service.equipment"]
        other = self.env["res.partner"].create({"name": "Somebody Else"})
        with self.assertRaisesMessage(ValidationError, "HP-0002 belongs to Somebody Else but contract SC-1001"):
            Equipment.create(
                {
                    "serial_number": "HP-0002",
                    "equipment_type_id": self.type_hp_air.id,
                    "partner_id": other.id,
                    "contract_id": self.contract.id,
                }
            )
        with self.assertRaisesMessage(ValidationError, "belongs to Somebody Else"):
            self.equipment.partner_id = other
        # a contact of the customer is the same customer
        son = self.env["res.partner"].create({"name": "Max Huber", "parent_id": self.customer.id})
        at_son = Equipment.create(
            {
                "serial_number": "HP-0003",
                "equipment_type_id": self.type_hp_air.id,
                "partner_id": son.id,
                "contract_id": self.contract.id,
            }
        )
        self.assertEqual(at_son.contract_id, self.contract)
        self.assertEqual(self.contract.equipment_count, 2)

    # service areas

    def _hits(self, code, country=None):
        country = country or self.de
        return {row[0] for row in self.env["service.area"]._hits(country.id, code, None, None)}

    def test_area_range_is_a_prefix_range(self):
        dora = self._make_technician("Dora Franken", "90402", [("range", "90", "91")], [self.type_pv], [])
        area = dora.service_area_ids
        self.assertEqual((area.zip_from_key, area.zip_to_key), ("90", "91~"))
        for code in ("90000", "90402", "91999"):
            self.assertIn(dora.id, self._hits(code), code)
        for code in ("89999", "92000"):
            self.assertNotIn(dora.id, self._hits(code), code)
        self.assertNotIn(dora.id, self._hits("9040", self.at), "a range belongs to its country")
        # one prefix without an end: the prefix alone
        single = self.env["service.area"].create({"technician_id": dora.id, "country_id": self.de.id, "zip_from": "85"})
        self.assertEqual(single.display_name, "DE 85")
        self.assertIn(dora.id, self._hits("85354"))
        self.assertNotIn(dora.id, self._hits("86000"))
        # the fixture's full codes: 80000..81999
        self.assertIn(self.tech_anna.id, self._hits("81999"))
        self.assertNotIn(self.tech_anna.id, self._hits("82000"))

    def test_area_range_end_before_start(self):
        Area = self.env["service.area"]
        vals = {"technician_id": self.tech_anna.id, "country_id": self.de.id}
        with self.assertRaisesMessage(ValidationError, "The range 81–80 ends before it starts"):
            Area.create(dict(vals, zip_from="81", zip_to="80"))
        with self.assertRaisesMessage(ValidationError, "ends before it starts"):
            self.tech_anna.service_area_ids.zip_to = "79999"
        with self.assertRaisesMessage(ValidationError, "80!1 is not a postal code or postal-code prefix"):
            Area.create(dict(vals, zip_from="80!1"))

    def test_area_radius_needs_a_known_base(self):
        Area = self.env["service.area"]
        vals = {"technician_id": self.tech_anna.id, "country_id": self.de.id, "kind": "radius", "radius_km": 20}
        with self.assertRaisesMessage(ValidationError, "Postal code 99999 is unknown in Germany"):
            Area.create(dict(vals, base_zip="99999"))
        area = Area.create(dict(vals, base_zip="80331"))
        self.assertAlmostEqual(area.base_latitude, 48.13, delta=0.05)
        self.assertAlmostEqual(area.base_longitude, 11.57, delta=0.05)
        self.assertTrue(area.bbox_south < area.base_latitude < area.bbox_north)
        self.assertTrue(area.bbox_west < area.base_longitude < area.bbox_east)
        self.assertEqual(area.display_name, "DE 80331 + 20.0 km")
        with self.assertRaisesMessage(ValidationError, "Postal code 00000 is unknown in Germany"):
            area.base_zip = "00000"

    def test_area_radius_found_through_its_index(self):
        """The radius areas of a point are read from the GiST index of their boxes, not from all of them."""
        near = self.env["service.area"].create(
            {
                "technician_id": self.tech_anna.id,
                "country_id": self.de.id,
                "kind": "radius",
                "base_zip": "80331",
                "radius_km": 15,
            }
        )
        far = self.env["service.area"].create(
            {
                "technician_id": self.tech_bernd.id,
                "country_id": self.de.id,
                "kind": "radius",
                "base_zip": "10115",
                "radius_km": 15,
            }
        )
        point, areas = self.env["service.area"]._locate_hits(self.de, "80335", [self.tech_bernd.id])
        radius = {(row[0], row[4]) for row in areas if row[1] == "radius"}
        self.assertIn((self.tech_anna.id, near.radius_km), radius)
        self.assertIn((self.tech_bernd.id, far.radius_km), radius, "a named technician's far area, for its distance")
        self.env.flush_all()
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute(
            "EXPLAIN SELECT * FROM (" + AREAS_AT % {"lat": "%(lat)s::float", "lon": "%(lon)s::float"} + ") a",
            {"country": self.de.id, "zip": "80335", "lat": point[0], "lon": point[1], "techs": [0]},
        )
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.env.cr.execute("SET LOCAL enable_seqscan = on")
        self.assertRegex(plan, r"Index Cond: \(box\(point\(bbox_west")

    def test_area_radius_bounds(self):
        area = self.tech_carla.service_area_ids
        for radius in (0, -5, 1000.5):
            with self.subTest(radius=radius), self.assertRaisesMessage(ValidationError, "between 0 and 1000 km"):
                area.radius_km = radius
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.env["service.area"].create(
                {
                    "technician_id": self.tech_anna.id,
                    "country_id": self.de.id,
                    "kind": "radius",
                    "base_zip": "80331",
                    "radius_km": 0,
                }
            )
        area.radius_km = 1000
        self.assertEqual(area.radius_km, 1000)
        small = area.bbox_north - area.bbox_south
        area.radius_km = 10
        self.assertLess(area.bbox_north - area.bbox_south, small, "the box follows the radius")

    # technician profile

    def test_technician_capacity(self):
        with self.assertRaisesMessage(ValidationError, "Anna Technik needs a capacity of at least one"):
            self.tech_anna.service_capacity = 0
        with self.assertRaisesMessage(ValidationError, "capacity of at least one"):
            self._make_technician("Zero Cap", "80331", [], [], [], service_capacity=0)
        # a customer's capacity is nobody's concern; turning it into a technician is
        customer = self.env["res.partner"].create({"name": "Customer", "service_capacity": 0})
        with self.assertRaisesMessage(ValidationError, "capacity of at least one"):
            customer.is_technician = True
        self.tech_anna.service_capacity = 1
        self.assertEqual(self.tech_anna.service_capacity, 1)

    def test_technician_location(self):
        self.assertAlmostEqual(self.tech_anna.service_latitude, 48.13, delta=0.05)
        self.tech_anna.zip = "85354"
        self.assertAlmostEqual(self.tech_anna.service_latitude, 48.4, delta=0.1)
        self.assertFalse(self.customer.service_latitude, "customers are not located")

    def test_only_technicians_hold_coordinates(self):
        """A customer's address change writes no coordinates; a technician that stops being one
        loses its base."""
        Partner = self.env["res.partner"]
        customer = Partner.create({"name": "Kundin", "zip": "80331", "country_id": self.de.id})
        self.env.flush_all()
        self.env.cr.execute("SELECT service_latitude, service_longitude FROM res_partner WHERE id = %s", [customer.id])
        self.assertFalse(any(self.env.cr.fetchone()), "a new customer is not located")
        # nothing written when its address changes: a value put there stays as it is
        self.env.cr.execute("UPDATE res_partner SET service_latitude = 1.5 WHERE id = %s", [customer.id])
        customer.invalidate_recordset(["service_latitude"])
        customer.write({"zip": "85354"})
        customer.country_id = self.env.ref("base.at")
        self.env.flush_all()
        self.env.cr.execute("SELECT service_latitude FROM res_partner WHERE id = %s", [customer.id])
        self.assertEqual(self.env.cr.fetchone()[0], 1.5)
        # a technician is located, and loses its base when it is none any more
        customer.write({"is_technician": True, "country_id": self.de.id, "zip": "80331"})
        self.assertAlmostEqual(customer.service_latitude, 48.13, delta=0.05)
        customer.is_technician = False
        self.env.flush_all()
        self.env.cr.execute("SELECT service_latitude, service_longitude FROM res_partner WHERE id = %s", [customer.id])
        self.assertFalse(any(self.env.cr.fetchone()))
        self.assertEqual((customer.service_latitude, customer.service_longitude), (0.0, 0.0))

    def test_only_dispatchers_change_technician_profiles(self):
        Partner = self.env["res.partner"].with_user(self.user_salesman)
        # a salesman keeps editing customers ...
        customer = Partner.create({"name": "New Customer", "is_technician": False, "service_capacity": 10})
        customer.write({"phone": "+49 89 1", "is_technician": False})
        self.tech_anna.with_user(self.user_salesman).write({"phone": "+49 89 2"})
        self.assertEqual(self.tech_anna.phone, "+49 89 2")
        # ... but not technician profiles
        with self.assertRaisesMessage(AccessError, "Only service dispatchers"):
            customer.write({"is_technician": True})
        forbidden = [
            {"is_technician": False},
            {"service_capacity": 3},
            {"service_paused": True},
            {"service_away_until": fields.Date.today()},
            {"service_equipment_type_ids": [Command.link(self.type_pv.id)]},
            {"service_level_ids": [Command.link(self.level_premium.id)]},
            {"service_area_ids": [Command.create({"country_id": self.de.id, "zip_from": "10"})]},
            {"is_large_account": True},
        ]
        for vals in forbidden:
            with self.subTest(vals=vals), self.assertRaisesMessage(AccessError, "Only service dispatchers"):
                self.tech_anna.with_user(self.user_salesman).write(vals)
        with self.assertRaisesMessage(AccessError, "Only service dispatchers"):
            Partner.create({"name": "Self-made Technician", "is_technician": True})
        self.assertFalse(self.tech_anna.service_paused)
        self.assertEqual(self.tech_anna.service_capacity, 5)
        # a dispatcher may
        self.tech_anna.with_user(self.user_dispatcher).write({"service_paused": True, "service_capacity": 3})
        self.assertRecordValues(self.tech_anna, [{"service_paused": True, "service_capacity": 3}])
        new_tech = (
            self.env["res.partner"]
            .with_user(self.user_dispatcher)
            .create({"name": "Dispatcher-made Technician", "is_technician": True})
        )
        self.assertTrue(new_tech.is_technician)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestPostalGeodata(ServiceRoutingCase):
    """GeoNames centroids, loaded from the configured folder."""

    def test_country_loaded_by_the_fixture(self):
        Postal = self.env["service.postal.code"]
        self.assertTrue(Postal._is_loaded(self.de))
        count = Postal.search_count([("country_id", "=", self.de.id)])
        self.assertGreater(count, 1000, "the sample shipped with the addon")
        status = self.env["service.postal.country"].search([("country_id", "=", self.de.id)])
        self.assertEqual((status.state, status.record_count), ("loaded", count))
        munich = Postal.search([("country_id", "=", self.de.id), ("name", "=", "80331")])
        self.assertEqual(len(munich), 1)
        self.assertEqual(munich.place_name, "München")
        self.assertEqual(munich.display_name, "DE 80331 München")

    def test_locate_known_code(self):
        lat, lon = self.env["service.postal.code"]._locate(self.de, "80331")
        self.assertAlmostEqual(lat, 48.1345, delta=0.01)
        self.assertAlmostEqual(lon, 11.571, delta=0.01)
        # the key is normalised like an inquiry's postal code
        self.assertEqual(self.env["service.postal.code"]._locate(self.de, " 80 331 "), (lat, lon))
        hamburg = self.env["service.postal.code"]._locate(self.de, "20095")
        self.assertAlmostEqual(hamburg[0], 53.55, delta=0.05)

    def test_locate_unknown_code(self):
        Postal = self.env["service.postal.code"]
        # 99999 and 00000 are well-formed German codes that GeoNames does not list
        self.assertIsNone(Postal._locate(self.de, "99999"))
        self.assertIsNone(Postal._locate(self.de, "00000"))
        self.assertIsNone(Postal._locate(self.de, False))
        self.assertIsNone(Postal._locate(self.env["res.country"], "80331"))

    def test_explicit_load_of_another_country(self):
        Postal = self.env["service.postal.code"]
        self.assertFalse(Postal._is_loaded(self.at))
        self.assertIsNone(Postal._locate(self.at, "1010"), "a lookup never loads")
        Postal._load_countries(["AT"])
        lat, lon = Postal._locate(self.at, "1010")
        self.assertAlmostEqual(lat, 48.2077, delta=0.01)
        self.assertAlmostEqual(lon, 16.3705, delta=0.01)
        self.assertTrue(Postal._is_loaded(self.at))
        self.assertGreater(Postal.search_count([("country_id", "=", self.at.id)]), 10)
        # the same code means another place in another country
        self.assertIsNone(Postal._locate(self.de, "1010"))

    def test_reload_replaces_rows(self):
        Postal = self.env["service.postal.code"]
        count = Postal.search_count([("country_id", "=", self.de.id)])
        result = Postal._load_countries(["de"])
        self.assertEqual(result, {"DE": count})
        self.assertEqual(Postal.search_count([("country_id", "=", self.de.id)]), count, "no duplicates")

    def test_missing_file(self):
        Postal = self.env["service.postal.code"]
        de_count = Postal.search_count([("country_id", "=", self.de.id)])
        with tempfile.TemporaryDirectory() as empty:
            self.env["ir.config_parameter"].sudo().set_param("crm_service_routing.geonames_dir", empty)
            self.assertEqual(Postal._geonames_dir(), empty)
            with self.assertRaisesMessage(UserError, f"No GeoNames file for AT in {empty}"):
                Postal._load_countries(["AT"])
            # a failed reload keeps the data already loaded
            with self.assertRaisesMessage(UserError, "No GeoNames file for DE"):
                Postal._load_countries(["DE"])
            self.assertEqual(Postal.search_count([("country_id", "=", self.de.id)]), de_count)
            # a lookup does not fail on it: the code is unknown
            self.assertIsNone(Postal._locate(self.at, "1010"))
            self.assertEqual(Postal._load_countries(["AT"], raise_if_missing=False), {"AT": 0})
            self.assertFalse(Postal._is_loaded(self.at))

    def test_unknown_country_code(self):
        with self.assertRaisesMessage(UserError, "Unknown country code QQ"):
            self.env["service.postal.code"]._load_countries(["QQ"])
