# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Maintenance plans: what comes due opens one inquiry by itself, routed to the contract technician."""

import datetime

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import ConcurrentCase, ServiceRoutingCase

DUE = datetime.date(2026, 6, 15)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestMaintenancePlan(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Plan = cls.env["service.maintenance.plan"]
        cls.plan = cls.Plan.create(
            {
                "name": "Yearly maintenance",
                "equipment_id": cls.equipment.id,
                "interval_months": 12,
                "next_due_date": DUE,
                "lead_days": 14,
                "covered_by_contract": True,
            }
        )

    def open_due(self, day):
        with freeze_time(datetime.datetime.combine(day, datetime.time(6, 0))):
            return self.Plan._open_due_maintenance(batch_size=10)

    def plan_leads(self, plan=None):
        return (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search([("service_maintenance_plan_id", "=", (plan or self.plan).id)])
        )

    def test_plan_defaults_from_equipment(self):
        self.assertEqual(self.plan.contract_id, self.contract)
        self.assertEqual(self.plan.technician_id, self.tech_bernd)
        self.assertEqual(self.plan.partner_id, self.customer)
        self.assertEqual(self.plan.open_date, DUE - datetime.timedelta(days=14))
        self.equipment.next_maintenance_date = datetime.date(2026, 9, 1)
        other = self.Plan.create({"name": "Inspection", "equipment_id": self.equipment.id})
        self.assertEqual(other.next_due_date, datetime.date(2026, 9, 1))

    def test_plan_due_already_wakes_the_scheduled_action(self):
        cron = self.env.ref("crm_service_routing.ir_cron_open_due_maintenance")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search_count([("cron_id", "=", cron.id)])
        self.plan.next_due_date = fields.Date.today() + datetime.timedelta(days=200)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), before)
        self.plan.next_due_date = fields.Date.today() + datetime.timedelta(days=3)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), before + 1)

    def test_plan_comes_due_opens_one_inquiry_for_the_contract_technician(self):
        # before the lead time: nothing
        self.assertFalse(self.open_due(DUE - datetime.timedelta(days=15)))
        self.assertFalse(self.plan_leads())
        with freeze_time(datetime.datetime.combine(DUE - datetime.timedelta(days=14), datetime.time(6, 0))):
            opened = self.Plan._open_due_maintenance(batch_size=10)
            self.assertEqual(opened, self.plan_leads())
            lead = opened
            self.assertEqual(len(lead), 1)
            self.assertEqual(lead.service_occasion, "maintenance")
            self.assertEqual(lead.equipment_id, self.equipment)
            self.assertEqual(lead.serial_number, "HP-0001")
            self.assertEqual(lead.contract_id, self.contract)
            self.assertEqual(lead.service_level_id, self.contract.service_level_id)
            self.assertEqual(lead.partner_id, self.customer)
            self.assertEqual(lead.customer_kind, "existing")
            self.assertEqual(lead.zip, "81675")
            self.assertIn("Covered by contract SC-1001", lead.description)
            # routed as any inquiry: the contract technician first
            self.assertEqual(lead.routing_state, "offered")
            self.assertEqual(lead.technician_id, self.tech_bernd)
            self.assertEqual(lead.routing_log_ids.chosen_by, "contract")
            self.assertEqual(self.plan.lead_id, lead)
            self.assertEqual(self.plan.state, "open")
            # run again, the same day and later: still one
            self.assertFalse(self.Plan._open_due_maintenance(batch_size=10))
        self.assertFalse(self.open_due(DUE + datetime.timedelta(days=30)))
        self.assertEqual(self.plan_leads(), lead)

    def test_one_open_inquiry_per_plan_is_a_database_rule(self):
        lead = self.open_due(DUE)
        self.assertEqual(len(lead), 1)
        other = self._create_inquiry()
        self.assertIn(other.routing_state, ("offered", "review"))
        self.env.flush_all()
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.env.cr.execute(
                "UPDATE crm_lead SET service_maintenance_plan_id = %s WHERE id = %s", (self.plan.id, other.id)
            )
        # a closed one leaves room for the next due date's
        lead.action_set_lost()
        self.assertEqual(lead.routing_state, "cancelled")
        self.plan.next_due_date = DUE + datetime.timedelta(days=365)
        self.assertEqual(self.plan.state, "scheduled")
        self.assertEqual(len(self.open_due(DUE + datetime.timedelta(days=360))), 1)

    def test_closed_inquiry_does_not_reopen_the_same_due_date(self):
        lead = self.open_due(DUE)
        lead.action_set_lost()
        self.assertFalse(self.open_due(DUE + datetime.timedelta(days=1)))
        self.assertEqual(self.plan_leads(), lead)

    def test_open_inquiry_on_the_equipment_takes_the_maintenance_as_a_repeat(self):
        repair = self._create_inquiry(serial_number="HP-0001", zip="81675", email_from="huber@example.com")
        self.assertEqual(repair.equipment_id, self.equipment)
        lead = self.open_due(DUE)
        self.assertEqual(lead.service_maintenance_plan_id, self.plan)
        # handled with the open inquiry about the same equipment: the plan is opened, the customer told nothing
        self.assertEqual(lead.routing_state, "linked")
        self.assertEqual(lead.service_unique_lead_id, repair)
        self.assertFalse(lead.service_notice_ids)
        self.assertEqual(self.plan.state, "open")
        self.assertFalse(self.open_due(DUE + datetime.timedelta(days=1)))

    def test_visit_moves_the_next_due_date(self):
        with freeze_time("2026-06-01 08:00:00"):
            lead = self.Plan._open_due_maintenance(batch_size=10)
            lead.action_service_accept(offer_id=lead.service_offer_id.id)
            Visit = self.env["service.visit"]
            # the technician sets the next date
            Visit.create(
                {
                    "lead_id": lead.id,
                    "technician_id": self.tech_bernd.id,
                    "work_done": "Filters cleaned, refrigerant checked.",
                    "next_maintenance_date": "2027-05-20",
                }
            )
            self.assertEqual(self.plan.next_due_date, datetime.date(2027, 5, 20))
            self.assertEqual(self.plan.last_visit_date, datetime.date(2026, 6, 1))
            self.assertEqual(self.plan.state, "scheduled")
            # none set on the plan's own inquiry: one interval after the visit
            Visit.create({"lead_id": lead.id, "technician_id": self.tech_bernd.id, "work_done": "Checked again."})
            self.assertEqual(self.plan.next_due_date, datetime.date(2027, 6, 1))

    def test_visit_on_another_inquiry_without_date_leaves_the_plan(self):
        lead = self._create_inquiry(serial_number="HP-0001", zip="81675")
        self.env["service.visit"].create(
            {"lead_id": lead.id, "technician_id": self.tech_bernd.id, "work_done": "Repaired a valve."}
        )
        self.assertEqual(self.plan.next_due_date, DUE)

    def test_closed_contract_stops_its_plans(self):
        self.contract.date_end = DUE - datetime.timedelta(days=30)
        with freeze_time(DUE):
            self.assertEqual(self.plan.with_context(date=DUE).state, "stopped")
            self.assertIn(self.plan, self.Plan.search([("state", "=", "stopped")]))
            self.assertNotIn(self.plan, self.Plan.search(self.Plan._service_coming_up_domain()))
        self.assertFalse(self.open_due(DUE))
        # an archived contract too
        self.contract.date_end = False
        self.contract.active = False
        self.assertFalse(self.open_due(DUE))
        self.contract.active = True
        self.assertEqual(len(self.open_due(DUE)), 1)

    def test_plan_without_contract_uses_the_strategy(self):
        equipment = self.env["service.equipment"].create(
            {
                "serial_number": "HP-0002",
                "equipment_type_id": self.type_hp_air.id,
                "partner_id": self.customer.id,
                "zip": "80331",
                "city": "München",
                "country_id": self.de.id,
            }
        )
        plan = self.Plan.create({"name": "Yearly maintenance", "equipment_id": equipment.id, "next_due_date": DUE})
        lead = self.open_due(DUE).filtered(lambda opened: opened.service_maintenance_plan_id == plan)
        self.assertEqual(len(lead), 1)
        self.assertIn("Not covered by a contract", lead.description)
        self.assertEqual(lead.routing_state, "offered")
        self.assertEqual(lead.routing_log_ids.chosen_by, "strategy")
        self.assertEqual(plan.technician_id, lead.technician_id)

    def test_coming_up_per_technician_and_customer(self):
        with freeze_time(DUE - datetime.timedelta(days=60)):
            Plan = self.Plan.with_context(tz="UTC")
            self.assertEqual(Plan._service_coming_up(self.tech_bernd), self.plan)
            self.assertFalse(Plan._service_coming_up(self.tech_anna))
            groups = Plan._read_group(Plan._service_coming_up_domain(), ["partner_id"], ["__count"])
            self.assertEqual(groups, [(self.customer, 1)])
        with freeze_time(DUE - datetime.timedelta(days=120)):
            self.assertFalse(self.Plan._service_coming_up(self.tech_bernd))

    def test_open_now_is_for_dispatchers(self):
        with self.assertRaises(AccessError):
            self.plan.with_user(self.user_salesman).action_open_inquiry()
        self.plan.with_user(self.user_dispatcher).action_open_inquiry()
        self.assertEqual(len(self.plan_leads()), 1)
        with self.assertRaises(UserError):
            self.plan.with_user(self.user_dispatcher).action_open_inquiry()

    def test_plan_access(self):
        self.assertTrue(self.plan.with_user(self.user_salesman).read(["name"]))
        with self.assertRaises(AccessError):
            self.plan.with_user(self.user_salesman).write({"lead_days": 3})
        self.plan.with_user(self.user_dispatcher).write({"lead_days": 3})
        # multi-company: a plan of another company is out of sight unless that company is active
        other_company = self.env["res.company"].create({"name": "Other Service Co", "country_id": self.de.id})
        self.user_dispatcher.company_ids |= other_company
        equipment = self.env["service.equipment"].create(
            {
                "serial_number": "OTHER-1",
                "equipment_type_id": self.type_pv.id,
                "partner_id": self.env["res.partner"].create({"name": "Other customer"}).id,
                "company_id": other_company.id,
            }
        )
        other = self.Plan.create({"name": "Inspection", "equipment_id": equipment.id, "next_due_date": DUE})
        self.assertEqual(other.company_id, other_company)
        Plan = self.Plan.with_user(self.user_dispatcher)
        main_only = Plan.with_context(allowed_company_ids=[self.company.id]).search([])
        self.assertIn(self.plan, main_only)
        self.assertNotIn(other, main_only)
        self.assertIn(other, Plan.with_context(allowed_company_ids=[self.company.id, other_company.id]).search([]))

    def test_failing_plan_is_noted_and_the_others_go_on(self):
        equipment = self.env["service.equipment"].create(
            {
                "serial_number": "HP-0003",
                "equipment_type_id": self.type_hp_air.id,
                "partner_id": self.customer.id,
                "zip": "not a code",
                "country_id": self.de.id,
            }
        )
        broken = self.Plan.create({"name": "Broken", "equipment_id": equipment.id, "next_due_date": DUE})
        with mute_logger("odoo.addons.crm_service_routing.models.service_maintenance_plan"):
            opened = self.open_due(DUE)
        self.assertEqual(opened.service_maintenance_plan_id, self.plan)
        self.assertTrue(broken.open_error)
        # not again the same day
        self.assertFalse(self.open_due(DUE))


@tagged("post_install", "-at_install", "crm_service_routing")
class TestMaintenanceConcurrency(ConcurrentCase):
    """Two runs of the scheduled action at once, on separate cursors: still one inquiry per plan."""

    PLANS = 12

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nolog": True})
            technician = env["res.partner"].create(
                {"name": "Concurrent Maintenance Technician", "is_technician": True, "email": "cmt@example.com"}
            )
            customer = env["res.partner"].create(
                {"name": "Concurrent Maintenance Customer", "email": "cmc@example.com", "zip": "81675"}
            )
            level = env["service.level"].create({"name": "Concurrent Maintenance", "code": "CONC-MNT"})
            equipment_type = env["service.equipment.type"].create({"name": "Concurrent Lift", "code": "CONC-LIFT"})
            contract = env["service.contract"].create(
                {
                    "name": "CONC-MNT-1",
                    "partner_id": customer.id,
                    "service_level_id": level.id,
                    "technician_id": technician.id,
                    "date_start": "2020-01-01",
                }
            )
            equipment = env["service.equipment"].create(
                [
                    {
                        "serial_number": f"CONC-MNT-{index}",
                        "equipment_type_id": equipment_type.id,
                        "partner_id": customer.id,
                        "contract_id": contract.id,
                        "zip": "81675",
                        "country_id": env.ref("base.de").id,
                    }
                    for index in range(cls.PLANS)
                ]
            )
            plans = env["service.maintenance.plan"].create(
                [
                    {
                        "name": "Statutory inspection",
                        "equipment_id": item.id,
                        "next_due_date": fields.Date.today() - datetime.timedelta(days=1),
                    }
                    for item in equipment
                ]
            )
            cls.ids = {
                "partners": [technician.id, customer.id],
                "level": level.id,
                "type": equipment_type.id,
                "contract": contract.id,
                "equipment": equipment.ids,
                "plans": plans.ids,
            }
        cls.addClassCleanup(cls._remove_fixtures)

    @classmethod
    def _remove_fixtures(cls):
        with cls.registry.cursor() as cr:
            cr.execute("SELECT id FROM crm_lead WHERE service_maintenance_plan_id = ANY(%s)", (cls.ids["plans"],))
            leads = [row[0] for row in cr.fetchall()]
            params = dict(cls.ids, leads=leads)
            for query in (
                "DELETE FROM mail_message WHERE model = 'crm.lead' AND res_id = ANY(%(leads)s)",
                "DELETE FROM mail_message WHERE model = 'service.maintenance.plan' AND res_id = ANY(%(plans)s)",
                "DELETE FROM mail_followers WHERE res_model = 'crm.lead' AND res_id = ANY(%(leads)s)",
                "DELETE FROM mail_activity WHERE res_model = 'crm.lead' AND res_id = ANY(%(leads)s)",
                "DELETE FROM service_offer WHERE lead_id = ANY(%(leads)s)",
                "DELETE FROM service_routing_log WHERE lead_id = ANY(%(leads)s)",
                "DELETE FROM service_customer_notice WHERE lead_id = ANY(%(leads)s)",
                "UPDATE service_maintenance_plan SET lead_id = NULL WHERE id = ANY(%(plans)s)",
                "DELETE FROM crm_lead WHERE id = ANY(%(leads)s)",
                "DELETE FROM service_maintenance_plan WHERE id = ANY(%(plans)s)",
                "DELETE FROM service_equipment WHERE id = ANY(%(equipment)s)",
                "DELETE FROM service_contract WHERE id = %(contract)s",
                "DELETE FROM res_partner WHERE id = ANY(%(partners)s)",
                "DELETE FROM service_equipment_type WHERE id = %(type)s",
                "DELETE FROM service_level WHERE id = %(level)s",
            ):
                cr.execute(query, params)

    def open_leads(self):
        with self.registry.cursor() as cr:
            cr.execute(
                """SELECT service_maintenance_plan_id, count(*) FROM crm_lead
                    WHERE service_maintenance_plan_id = ANY(%s) GROUP BY 1""",
                (self.ids["plans"],),
            )
            return dict(cr.fetchall())

    def test_two_runs_at_once_open_one_inquiry_per_plan(self):
        def run(env):
            return env["service.maintenance.plan"]._open_due_maintenance(batch_size=4).ids

        results = self.run_threads([run, run])
        self.assertEqual([error for _ids, error in results if error], [])
        first, second = (set(ids) for ids, _error in results)
        self.assertFalse(first & second)
        self.assertEqual(self.open_leads(), dict.fromkeys(self.ids["plans"], 1))
        # and two more runs afterwards open nothing
        results = self.run_threads([run, run])
        self.assertEqual([error for _ids, error in results if error], [])
        self.assertEqual(self.open_leads(), dict.fromkeys(self.ids["plans"], 1))


@tagged("post_install", "-at_install", "crm_service_routing")
class TestComingUpPortal(ServiceRoutingCase, HttpCase):
    """The technician's "coming up" page: its own plans, nobody else's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = cls.env["service.maintenance.plan"].create(
            {
                "name": "Yearly maintenance",
                "equipment_id": cls.equipment.id,
                "next_due_date": fields.Date.today() + datetime.timedelta(days=30),
                "covered_by_contract": True,
            }
        )
        cls.user_bernd = new_test_user(cls.env, login="mnt_bernd", groups="base.group_portal", name="Bruno")
        cls.user_bernd.service_technician_id = cls.tech_bernd
        cls.user_anna = new_test_user(cls.env, login="mnt_anna", groups="base.group_portal", name="Anna portal")
        cls.user_anna.service_technician_id = cls.tech_anna

    def test_record_rules(self):
        Plan = self.env["service.maintenance.plan"]
        self.assertEqual(Plan.with_user(self.user_bernd).search([]), self.plan)
        self.assertFalse(Plan.with_user(self.user_anna).search([]))
        with self.assertRaises(AccessError):
            self.plan.with_user(self.user_bernd).write({"lead_days": 1})

    def test_page_lists_my_plans_only(self):
        self.authenticate("mnt_bernd", "mnt_bernd")
        response = self.url_open("/my/service/coming-up")
        self.assertEqual(response.status_code, 200)
        self.assertIn("Yearly maintenance", response.text)
        self.assertIn("HP-0001", response.text)
        self.assertIn("Covered by contract", response.text)
        self.authenticate("mnt_anna", "mnt_anna")
        response = self.url_open("/my/service/coming-up")
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("HP-0001", response.text)
        self.assertIn("Nothing due in the next 90 days.", response.text)
        # the list links to it
        self.assertIn("/my/service/coming-up", self.url_open("/my/service").text)
