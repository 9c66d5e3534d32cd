# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the intake tells its callers, and two companies on one database kept apart."""

from psycopg2 import IntegrityError

from odoo import api
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..engine import routing as engine
from .common import ServiceRoutingCase

RESULT_KEYS = {"id", "status", "external_ref", "routing_state", "review_reason", "unique_inquiry_id"}


def request(**values):
    base = {
        "service_occasion": "repair",
        "contact_name": "Petra Probe",
        "email": "probe@example.org",
        "zip": "80331",
        "city": "München",
        "country": "DE",
    }
    base.update(values)
    return {key: value for key, value in base.items() if value is not None}


@tagged("post_install", "-at_install", "crm_service_routing")
class TestIntakeDisclosure(ServiceRoutingCase):
    """A probe through the intake learns nothing of the installed base and links nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Lead = cls.env["crm.lead"]

    def submit(self, **values):
        return self.Lead.submit_service_request(request(**values))

    def test_probe_with_known_serial_and_foreign_address(self):
        known = self.submit(serial_number="HP-0001", external_ref="PROBE-1")
        unknown = self.submit(serial_number="HP-9999", external_ref="PROBE-2")
        self.assertEqual(set(known), RESULT_KEYS)
        # the same answer as for a serial number nobody has: nothing to tell them apart
        strip = {"id", "external_ref"}
        self.assertEqual(
            {key: value for key, value in known.items() if key not in strip},
            {key: value for key, value in unknown.items() if key not in strip},
        )
        self.assertEqual(
            (known["routing_state"], known["review_reason"]), ("review", "match_to_confirm"), "held for review"
        )
        self.assertNotIn("Huber", repr(known))
        self.assertNotIn(str(self.customer.id), {str(value) for key, value in known.items() if key != "id"})
        lead = self.Lead.browse(known["id"])
        # nothing linked: no customer, contract, equipment, contract tier or technician
        self.assertRecordValues(
            lead,
            [
                {
                    "partner_id": False,
                    "contract_id": False,
                    "equipment_id": False,
                    "match_method": False,
                    "customer_kind": "new",
                    "service_level_id": self.level_standard.id,
                    "technician_id": False,
                    "service_history": False,
                    "match_to_confirm": True,
                    "suggested_equipment_id": self.equipment.id,
                    "suggested_contract_id": self.contract.id,
                }
            ],
        )
        # the dispatcher sees whose serial number it is
        self.assertIn("Familie Huber", lead.review_note)
        self.assertFalse(self.Lead.browse(unknown["id"]).suggested_equipment_id)

    def test_known_contract_with_foreign_data_links_nothing(self):
        result = self.submit(contract="SC-1001", zip="80331")
        lead = self.Lead.browse(result["id"])
        self.assertEqual(result["review_reason"], "match_to_confirm")
        self.assertRecordValues(
            lead, [{"partner_id": False, "contract_id": False, "suggested_contract_id": self.contract.id}]
        )

    def test_agreeing_postal_code_or_email_links(self):
        by_zip = self.Lead.browse(self.submit(serial_number="HP-0001", zip="81675")["id"])
        by_email = self.Lead.browse(self.submit(serial_number="HP-0001", email="HUBER@example.com")["id"])
        for lead in by_zip | by_email:
            self.assertRecordValues(
                lead,
                [
                    {
                        "partner_id": self.customer.id,
                        "equipment_id": self.equipment.id,
                        "contract_id": self.contract.id,
                        "match_method": "serial",
                        "match_to_confirm": False,
                    }
                ],
            )
        self.assertEqual(by_zip.technician_id, self.tech_bernd, "the contract technician")

    def test_dispatcher_confirms_or_rejects_the_match(self):
        lead = self.Lead.browse(self.submit(serial_number="HP-0001", zip="81671")["id"])
        with self.assertRaises(AccessError):
            lead.with_user(self.user_salesman).action_service_confirm_match()
        lead.with_user(self.user_dispatcher).action_service_confirm_match()
        self.assertRecordValues(
            lead,
            [
                {
                    "match_to_confirm": False,
                    "partner_id": self.customer.id,
                    "equipment_id": self.equipment.id,
                    "contract_id": self.contract.id,
                    "match_method": "manual",
                    "routing_state": "offered",
                    "technician_id": self.tech_bernd.id,
                }
            ],
        )
        other = self.Lead.browse(self.submit(serial_number="HP-0001", zip="81671")["id"])
        other.with_user(self.user_dispatcher).action_service_reject_match()
        self.assertRecordValues(
            other, [{"match_to_confirm": False, "partner_id": False, "equipment_id": False, "routing_state": "offered"}]
        )

    def test_large_account_reason_is_not_told(self):
        self.customer.is_large_account = True
        result = self.submit(email="huber@example.com")
        self.assertEqual((result["routing_state"], result["review_reason"]), ("review", "review"))
        self.assertEqual(self.Lead.browse(result["id"]).review_reason, "large_account")

    def test_plain_create_of_a_dispatcher_keeps_matching(self):
        """Internal users creating inquiries see the installed base anyway: no confirmation asked."""
        lead = self.Lead.with_user(self.user_dispatcher).create(self._inquiry_vals(serial_number="HP-0001"))
        self.assertRecordValues(lead, [{"equipment_id": self.equipment.id, "match_to_confirm": False}])


@tagged("post_install", "-at_install", "crm_service_routing")
class TestCompanyIsolation(ServiceRoutingCase):
    """A German and an Austrian subsidiary on one database, with the same codes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_de = cls.company
        cls.company_at = cls.env["res.company"].create({"name": "Wärmetechnik Austria GmbH", "country_id": cls.de.id})
        cls.env.user.company_ids |= cls.company_at
        cls.types, cls.levels, cls.techs = {}, {}, {}
        for company in (cls.company_de, cls.company_at):
            cls.types[company] = cls.env["service.equipment.type"].create(
                {"name": f"Brine Heat Pump {company.id}", "code": "BWP", "company_id": company.id}
            )
            cls.levels[company] = cls.env["service.level"].create(
                {"name": f"Express {company.id}", "code": "EXPRESS", "response_hours": 8, "company_id": company.id}
            )
            cls.techs[company] = cls._make_technician(
                f"Tech{company.id} Company",
                "80331",
                [("range", "80000", "81999")],
                [cls.types[company]],
                [],
                company_id=company.id,
                service_capacity=1,
            )
        # the Austrian installed base
        cls.customer_at = cls.env["res.partner"].create(
            {"name": "Gasthof Tirol", "zip": "81669", "company_id": cls.company_at.id}
        )
        cls.contract_at = cls.env["service.contract"].create(
            {
                "name": "AT-1",
                "partner_id": cls.customer_at.id,
                "service_level_id": cls.levels[cls.company_at].id,
                "technician_id": cls.techs[cls.company_at].id,
                "company_id": cls.company_at.id,
            }
        )
        cls.equipment_at = cls.env["service.equipment"].create(
            {
                "serial_number": "AT-SN-1",
                "equipment_type_id": cls.types[cls.company_at].id,
                "partner_id": cls.customer_at.id,
                "contract_id": cls.contract_at.id,
                "company_id": cls.company_at.id,
            }
        )
        cls.user_de = new_test_user(
            cls.env,
            login="svc_de_dispatcher",
            groups="sales_team.group_sale_manager,crm_service_routing.group_service_manager",
            company_id=cls.company_de.id,
            company_ids=[cls.company_de.id],
            name="Dora Deutschland",
        )

    def submit(self, company, **values):
        return self.env["crm.lead"].with_company(company).submit_service_request(request(**values))

    def test_same_codes_route_to_own_technicians(self):
        for company, other in ((self.company_de, self.company_at), (self.company_at, self.company_de)):
            with self.subTest(company=company.name):
                result = self.submit(company, equipment="bwp", service_level="express")
                lead = self.env["crm.lead"].browse(result["id"])
                self.assertRecordValues(
                    lead,
                    [
                        {
                            "company_id": company.id,
                            "equipment_type_id": self.types[company].id,
                            "service_level_id": self.levels[company].id,
                            "routing_state": "offered",
                            "technician_id": self.techs[company].id,
                        }
                    ],
                )
                self.assertEqual(lead.offer_ids.company_id, company)
                self.assertEqual(lead.routing_log_ids.company_id, company)
                dropped = {row["id"]: row["rule"] for row in lead.routing_log_ids.decision["dropped"]}
                self.assertEqual(dropped.get(self.techs[other].id), "company")

    def test_a_dispatchers_choice_keeps_the_company_check(self):
        """The routing's own offers skip the ORM's company check (the engine's rule is the same); a
        technician a dispatcher names is checked by the ORM, and the inquiry stays where it was."""
        result = self.submit(self.company_de, equipment="bwp", service_level="express")
        lead = self.env["crm.lead"].browse(result["id"])
        self.assertEqual(lead.technician_id, self.techs[self.company_de])
        action = lead.with_company(self.company_de).action_service_open_assign()
        wizard = self.env["crm.lead.assign"].browse(action["res_id"])
        wizard.technician_id = self.techs[self.company_at]
        with self.assertRaisesRegex(UserError, "Incompatible companies"), self.env.cr.savepoint():
            wizard.action_assign()
        self.assertRecordValues(lead, [{"routing_state": "offered", "technician_id": self.techs[self.company_de].id}])
        self.assertEqual(lead.offer_ids.technician_id, self.techs[self.company_de])

    def test_codes_unique_per_company(self):
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.env["service.level"].create({"name": "Twice", "code": "express", "company_id": self.company_at.id})
        with self.assertRaisesMessage(ValidationError, "shared record"):
            self.env["service.level"].create({"name": "Shared", "code": "EXPRESS"})
        with self.assertRaisesMessage(ValidationError, "shared record"):
            self.env["service.equipment.type"].create(
                {"name": "Own HP", "code": "HP", "company_id": self.company_at.id}
            )
        # the other company's codes are unknown here
        with self.assertRaisesMessage(ValidationError, "Unknown SLA tier"):
            level = self.env["service.level"].create(
                {"name": "Vienna only", "code": "WIEN", "company_id": self.company_at.id}
            )
            self.assertTrue(level)
            self.submit(self.company_de, service_level="WIEN")

    def test_fields_check_their_company(self):
        lead = self._create_inquiry()
        with self.assertRaises(UserError):
            lead.write({"contract_id": self.contract_at.id})
        with self.assertRaises(UserError):
            lead.write({"service_level_id": self.levels[self.company_at].id})
        with self.assertRaises(UserError):
            self.env["service.equipment"].create(
                {
                    "serial_number": "MIX-1",
                    "equipment_type_id": self.types[self.company_de].id,
                    "partner_id": self.customer_at.id,
                    "company_id": self.company_at.id,
                }
            )
        with self.assertRaises(UserError):
            self.env["service.equipment.type"].create(
                {
                    "name": "Sub",
                    "code": "BWP-S",
                    "parent_id": self.types[self.company_de].id,
                    "company_id": self.company_at.id,
                }
            )
        with self.assertRaisesMessage(ValidationError, "shared or its own"):
            self.company_de.service_level_id = self.levels[self.company_at]

    def test_serial_and_email_of_another_company_match_nothing(self):
        self.customer_at.email = "tirol@example.at"
        lead = self._create_inquiry(serial_number="AT-SN-1", email_from="tirol@example.at", zip="81669")
        self.assertRecordValues(lead, [{"equipment_id": False, "partner_id": False, "match_method": False}])

    def test_engine_holds_a_match_to_confirm(self):
        self.assertEqual(engine.review_reason(engine.Inquiry(company_id=1, match_to_confirm=True)), "match_to_confirm")
        self.assertEqual(
            engine.review_reason(engine.Inquiry(company_id=1, match_to_confirm=True, safety_critical=True)),
            "safety_critical",
        )
        # a decision logged before the flag existed, or with the flag at its default: no member
        facts = engine.facts_to_json(engine.Inquiry(company_id=1), [])
        self.assertNotIn("match_to_confirm", facts["inquiry"])
        self.assertFalse(engine.facts_from_json(facts)[0].match_to_confirm)
        facts = engine.facts_to_json(engine.Inquiry(company_id=1, match_to_confirm=True), [])
        self.assertTrue(engine.facts_from_json(facts)[0].match_to_confirm)

    def test_installed_base_and_history_per_company(self):
        """A shared contact with a contract in Austria is a new customer of the German company."""
        shared_customer = self.env["res.partner"].create({"name": "Alpen Hotel", "email": "hotel@example.at"})
        self.env["service.contract"].create(
            {
                "name": "AT-2",
                "partner_id": shared_customer.id,
                "service_level_id": self.levels[self.company_at].id,
                "company_id": self.company_at.id,
            }
        )
        at_lead = self.env["crm.lead"].browse(self.submit(self.company_at, email="hotel@example.at")["id"])
        self.assertEqual((at_lead.partner_id, at_lead.customer_kind), (shared_customer, "existing"))
        de_lead = self.env["crm.lead"].browse(self.submit(self.company_de, email="hotel@example.at")["id"])
        self.assertEqual((de_lead.partner_id, de_lead.customer_kind), (shared_customer, "new"))
        self.assertFalse(de_lead.service_history, "the Austrian inquiry is not the German company's history")

    def test_capacity_per_company_for_a_shared_technician(self):
        shared = self._make_technician(
            "Shared Partner", "80331", [("range", "80000", "81999")], [], [], service_capacity=1
        )
        shared.service_equipment_type_ids = self.types[self.company_de] | self.types[self.company_at]
        (self.techs[self.company_de] | self.techs[self.company_at]).service_paused = True
        first = self.env["crm.lead"].browse(self.submit(self.company_de, equipment="BWP")["id"])
        self.assertEqual(first.technician_id, shared)
        # full in the German company, free in the Austrian one
        full = self.submit(self.company_de, equipment="BWP")
        self.assertEqual(full["review_reason"], "review")
        self.assertEqual(self.env["crm.lead"].browse(full["id"]).review_reason, "no_candidate")
        second = self.env["crm.lead"].browse(self.submit(self.company_at, equipment="BWP")["id"])
        self.assertEqual(second.technician_id, shared)

    def test_rotation_per_company(self):
        self.submit(self.company_de, equipment="BWP")
        entries = self.env["service.rotation.entry"].search([("technician_id", "=", self.techs[self.company_de].id)])
        self.assertEqual(set(entries.company_id.ids), {self.company_de.id})

    def test_default_sla_tier_per_company(self):
        new = self.env["res.company"].create({"name": "Service Schweiz AG", "country_id": self.de.id})
        standard = self.env.ref("crm_service_routing.service_level_standard")
        self.assertEqual(new.service_level_id, standard)
        self.assertFalse(standard.company_id, "a shared tier")
        lead = self.env["crm.lead"].browse(self.submit(self.company_at, equipment="BWP")["id"])
        self.assertEqual(lead.service_level_id, self.company_at.service_level_id)
        self.assertTrue(lead.service_level_id)

    def test_user_of_one_company_reads_nothing_of_the_other(self):
        lead_at = self.env["crm.lead"].browse(self.submit(self.company_at, equipment="BWP")["id"])
        lead_de = self.env["crm.lead"].browse(self.submit(self.company_de, equipment="BWP")["id"])
        self.assertTrue(lead_at.offer_ids and lead_at.routing_log_ids)
        foreign = {
            "crm.lead": lead_at,
            "service.offer": lead_at.offer_ids,
            "service.routing.log": lead_at.routing_log_ids,
            "service.contract": self.contract_at,
            "service.equipment": self.equipment_at,
            "res.partner": self.techs[self.company_at] | self.customer_at,
            "service.area": self.techs[self.company_at].service_area_ids,
            "service.equipment.type": self.types[self.company_at],
            "service.level": self.levels[self.company_at],
            "service.rotation.entry": self.env["service.rotation.entry"].search(
                [("company_id", "=", self.company_at.id)]
            ),
        }
        self.env.flush_all()

        def rpc(model, method, *args, **kwargs):
            # what the external API runs for a call (odoo.service.model.execute_cr, without its commit):
            # an environment of the user with an empty context, then call_kw
            rpc_env = api.Environment(self.env.cr, self.user_de.id, {})
            rpc_env.invalidate_all()
            return api.call_kw(rpc_env[model], method, list(args), kwargs)

        env = self.env(user=self.user_de)
        for model, records in foreign.items():
            with self.subTest(model=model):
                self.assertTrue(records)
                self.assertTrue(env[model].has_access("read"), "the model is readable: its rules decide")
                domain = [("id", "in", records.ids), ("active", "in", [True, False])]
                if "active" not in env[model]._fields:
                    domain = domain[:1]
                self.assertFalse(rpc(model, "search_read", domain, ["id"]))
                self.assertFalse(rpc(model, "search_count", domain))
                with self.assertRaises(AccessError):
                    rpc(model, "read", records.ids, ["id"])
        # and the own company's inquiry with its offer and decision are there
        own = rpc("crm.lead", "search_read", [("id", "=", lead_de.id)], ["technician_id"])
        self.assertEqual(own[0]["technician_id"][0], self.techs[self.company_de].id)
        self.assertEqual(rpc("service.offer", "search_count", [("lead_id", "=", lead_de.id)]), 1)
        self.assertEqual(rpc("service.routing.log", "search_count", [("lead_id", "=", lead_de.id)]), 1)
