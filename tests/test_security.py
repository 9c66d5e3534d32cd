# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Access rights per group and record rules."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import ServiceRoutingCase


@tagged("post_install", "-at_install", "crm_service_routing")
class TestSecurity(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_system = new_test_user(
            cls.env, login="svc_system", groups="base.group_user,base.group_system", name="Sven System"
        )
        cls.area = cls.tech_anna.service_area_ids
        cls.lead = cls._create_lead()
        cls.log = cls.lead.routing_log_ids
        cls.offer = cls.lead.offer_ids

    @classmethod
    def _create_lead(cls):
        return cls.env["crm.lead"].create(
            {
                "name": "Heat pump makes noise",
                "service_occasion": "repair",
                "contact_name": "Eva Neu",
                "email_from": "eva.neu@example.org",
                "zip": "80331",
                "country_id": cls.de.id,
                "equipment_type_id": cls.type_hp_air.id,
            }
        )

    def _contract_vals(self, name):
        return {"name": name, "partner_id": self.customer.id, "service_level_id": self.level_standard.id}

    def _equipment_vals(self, serial):
        return {"serial_number": serial, "equipment_type_id": self.type_pv.id, "partner_id": self.customer.id}

    def _area_vals(self):
        return {"technician_id": self.tech_bernd.id, "country_id": self.de.id, "zip_from": "82", "zip_to": "82"}

    def assertCanRead(self, user, records):
        for record in records:
            self.assertEqual(record.with_user(user).search([("id", "=", record.id)]), record)
            self.assertTrue(record.with_user(user).read(["display_name"]))

    def assertNoWrite(self, user, records, vals):
        with self.assertRaises(AccessError):
            records.with_user(user).write(vals)

    def assertNoCreate(self, user, model, vals):
        with self.assertRaises(AccessError):
            self.env[model].with_user(user).create(vals)

    def assertNoUnlink(self, user, records):
        with self.assertRaises(AccessError):
            records.with_user(user).unlink()

    # ------------------------------------------------------------
    # configuration and installed base per group
    # ------------------------------------------------------------

    def test_salesman_reads_but_does_not_configure(self):
        user = self.user_salesman
        self.assertCanRead(user, [self.type_hp_air, self.level_premium, self.contract, self.equipment, self.area])
        self.assertNoCreate(user, "service.equipment.type", {"name": "Lift", "code": "LIFT"})
        self.assertNoWrite(user, self.type_pv, {"name": "Solar"})
        self.assertNoUnlink(user, self.type_pv)
        self.assertNoCreate(user, "service.level", {"name": "Silver", "code": "T-SILVER"})
        self.assertNoWrite(user, self.level_premium, {"response_hours": 2})
        self.assertNoCreate(user, "service.contract", self._contract_vals("SC-S1"))
        self.assertNoWrite(user, self.contract, {"technician_id": self.tech_anna.id})
        self.assertNoCreate(user, "service.equipment", self._equipment_vals("PV-S1"))
        self.assertNoWrite(user, self.equipment, {"install_date": "2024-01-01"})
        self.assertNoCreate(user, "service.area", self._area_vals())
        self.assertNoWrite(user, self.area, {"zip_to": "82999"})
        self.assertEqual(self.contract.technician_id, self.tech_bernd)
        self.assertEqual(self.level_premium.response_hours, 4)

    def test_dispatcher_manages_the_installed_base(self):
        user = self.user_dispatcher
        contract = self.env["service.contract"].with_user(user).create(self._contract_vals("SC-D1"))
        contract.write({"technician_id": self.tech_anna.id})
        self.assertEqual(contract.technician_id, self.tech_anna)
        equipment = (
            self.env["service.equipment"]
            .with_user(user)
            .create(dict(self._equipment_vals("PV-D1"), contract_id=contract.id))
        )
        self.assertEqual(equipment.contract_id, contract)
        area = self.env["service.area"].with_user(user).create(self._area_vals())
        self.assertIn(area, self.tech_bernd.service_area_ids)
        area.unlink()
        self.assertFalse(area.exists())
        # deleting the installed base is for managers
        self.assertNoUnlink(user, equipment)
        self.assertNoUnlink(user, contract)
        # equipment types and SLA tiers are for managers
        self.assertNoCreate(user, "service.equipment.type", {"name": "Lift", "code": "LIFT"})
        self.assertNoWrite(user, self.type_pv, {"safety_critical": True})
        self.assertNoCreate(user, "service.level", {"name": "Silver", "code": "T-SILVER"})
        self.assertNoWrite(user, self.level_standard, {"response_hours": 48})
        self.assertFalse(self.type_pv.safety_critical)

    def test_manager_configures_everything(self):
        user = self.user_manager
        lift = self.env["service.equipment.type"].with_user(user).create({"name": "Lift", "code": "lift"})
        lift.write({"safety_critical": True})
        self.assertTrue(lift.is_safety_critical)
        silver = self.env["service.level"].with_user(user).create({"name": "Silver", "code": "T-SILVER"})
        silver.write({"response_hours": 8})
        contract = self.env["service.contract"].with_user(user).create(self._contract_vals("SC-M1"))
        equipment = self.env["service.equipment"].with_user(user).create(self._equipment_vals("LIFT-1"))
        for record in (equipment, contract, silver, lift):
            record.with_user(user).unlink()
            self.assertFalse(record.exists())

    def test_internal_user_sees_no_service_data(self):
        user = self.user_internal
        for record in (self.contract, self.equipment, self.lead, self.type_pv, self.level_standard, self.log):
            with self.subTest(model=record._name), self.assertRaises(AccessError):
                record.with_user(user).read(["display_name"])
        with self.assertRaises(AccessError):
            self.env["service.contract"].with_user(user).search([])
        with self.assertRaises(AccessError):
            self.env["crm.lead"].with_user(user).search([])
        # postal centroids are reference data
        self.assertTrue(self.env["service.postal.code"].with_user(user).search([("name", "=", "80331")]))

    # ------------------------------------------------------------
    # the audit trail
    # ------------------------------------------------------------

    def test_routing_log_and_offers_are_read_only(self):
        self.assertEqual(len(self.log), 1)
        self.assertEqual(len(self.offer), 1, "the fixture's inquiry was offered")
        for user in (self.user_dispatcher, self.user_manager):
            with self.subTest(user=user.login):
                self.assertTrue(self.log.with_user(user).reason)
                self.assertEqual(self.offer.with_user(user).state, "offered")
                with self.assertRaises(UserError):
                    self.log.with_user(user).write({"reason": "forged"})
                with self.assertRaises(UserError):
                    self.log.with_user(user).unlink()
                with self.assertRaises(UserError):
                    self.env["service.routing.log"].with_user(user).create(
                        {"lead_id": self.lead.id, "trigger": "manual", "outcome": "review"}
                    )
                with self.assertRaises(UserError):
                    self.offer.with_user(user).write({"state": "accepted"})
                with self.assertRaises(UserError):
                    self.offer.with_user(user).unlink()
                with self.assertRaises(UserError):
                    self.env["service.offer"].with_user(user).create(
                        {"lead_id": self.lead.id, "technician_id": self.tech_anna.id}
                    )
        self.assertNotEqual(self.log.reason, "forged")
        self.assertEqual(self.offer.state, "offered")

    def test_system_user_cannot_rewrite_the_routing_log(self):
        with self.assertRaises(UserError):
            self.log.with_user(self.user_system).write({"reason": "corrected"})
        with self.assertRaises(UserError):
            self.log.with_user(self.user_system).unlink()
        self.assertTrue(self.log.exists())

    def test_salesman_reads_no_offer_or_decision(self):
        with self.assertRaises(AccessError):
            self.log.with_user(self.user_salesman).read(["reason"])
        with self.assertRaises(AccessError):
            self.offer.with_user(self.user_salesman).read(["state"])
        self.assertFalse(self.env["service.offer"].with_user(self.user_salesman).search([]))

    # ------------------------------------------------------------
    # record rules
    # ------------------------------------------------------------

    def test_contract_of_another_company_is_invisible(self):
        other_company = self.env["res.company"].create({"name": "Other GmbH", "country_id": self.de.id})
        hidden = self.env["service.contract"].create(dict(self._contract_vals("SC-OTHER"), company_id=other_company.id))
        hidden_equipment = self.env["service.equipment"].create(
            dict(self._equipment_vals("PV-OTHER"), company_id=other_company.id)
        )
        for user in (self.user_salesman, self.user_dispatcher, self.user_manager):
            with self.subTest(user=user.login):
                visible = self.env["service.contract"].with_user(user).search([("partner_id", "=", self.customer.id)])
                self.assertEqual(visible, self.contract)
                self.assertNotIn(
                    hidden_equipment,
                    self.env["service.equipment"].with_user(user).search([("partner_id", "=", self.customer.id)]),
                )
                with self.assertRaises(AccessError):
                    hidden.with_user(user).read(["name"])
                with self.assertRaises(AccessError):
                    hidden_equipment.with_user(user).read(["serial_number"])
        # a user of both companies sees it while working in both
        self.user_dispatcher.company_ids |= other_company
        both = (
            self.env["service.contract"]
            .with_user(self.user_dispatcher)
            .with_context(allowed_company_ids=[self.company.id, other_company.id])
        )
        self.assertEqual(both.search([("partner_id", "=", self.customer.id)]), self.contract | hidden)
        self.assertEqual(both.browse(hidden.id).name, "SC-OTHER")

    def test_technician_user_sees_the_inquiries_offered_to_it(self):
        self.assertEqual(self.lead.technician_id.is_technician, True)
        technician = self.lead.technician_id
        tech_user = new_test_user(
            self.env, login="svc_tech_user", groups="sales_team.group_sale_salesman", partner_id=technician.id
        )
        self.assertEqual(tech_user.partner_id, technician)
        self.assertNotEqual(self.lead.user_id, tech_user)
        self.assertEqual(self.env["crm.lead"].with_user(tech_user).search([("id", "=", self.lead.id)]), self.lead)
        # the other technicians' users do not see it
        other = (self.tech_anna | self.tech_carla) - technician
        other_user = new_test_user(
            self.env, login="svc_tech_other", groups="sales_team.group_sale_salesman", partner_id=other[0].id
        )
        self.lead.user_id = self.user_dispatcher
        self.assertFalse(self.env["crm.lead"].with_user(other_user).search([("id", "=", self.lead.id)]))
        with self.assertRaises(AccessError):
            self.lead.with_user(other_user).read(["name"])

    def test_only_managers_load_postal_data(self):
        # countries queued before (a database with demo data started in the US) are not this test's
        self.env["service.postal.country"].search([("country_id", "!=", self.de.id)]).unlink()
        with self.assertRaises(UserError):
            self.env["service.postal.code"].with_user(self.user_dispatcher).action_load_postal_data()
        action = self.env["service.postal.code"].with_user(self.user_manager).action_load_postal_data()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("DE: ", action["params"]["message"])
