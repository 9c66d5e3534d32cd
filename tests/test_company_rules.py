# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Every model of the addon that records a company has a multi-company rule."""

import xmlrpc.client

from odoo.tests import HttpCase, new_test_user, tagged

from .common import ServiceRoutingCase

ADDON = "crm_service_routing"


@tagged("post_install", "-at_install", "crm_service_routing")
class TestCompanyRules(ServiceRoutingCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.company_b = cls.env["res.company"].create({"name": "Second Service GmbH", "country_id": cls.de.id})
        cls.user_b = new_test_user(
            cls.env,
            login="svc_company_b",
            password="svc_company_b_pw",
            groups="sales_team.group_sale_manager,crm_service_routing.group_service_manager",
            company_id=cls.company_b.id,
            company_ids=[cls.company_b.id],
            name="Berta Zweitfirma",
        )

    def test_every_model_with_a_company_has_a_company_rule(self):
        models = self.env["ir.model"].search([]).filtered(lambda m: ADDON in (m.modules or "").split(", "))
        self.assertIn("service.technician.slot", models.mapped("model"))
        checked, missing = [], []
        for ir_model in models:
            Model = self.env.get(ir_model.model)
            if Model is None or Model._abstract or Model._transient or "company_id" not in Model._fields:
                continue
            field = Model._fields["company_id"]
            if field.type != "many2one" or field.comodel_name != "res.company":
                continue
            checked.append(ir_model.model)
            rules = self.env["ir.rule"].sudo().search([("model_id", "=", ir_model.id), ("global", "=", True)])
            if not rules.filtered(lambda r: "company_id" in (r.domain_force or "") and "company_ids" in r.domain_force):
                missing.append(ir_model.model)
        self.assertFalse(missing, f"models with a company but no multi-company rule: {missing}")
        for model in (
            "service.offer",
            "service.technician.slot",
            "service.rotation.entry",
            "service.dispatch.report",
        ):
            self.assertIn(model, checked)

    def _slot_of_company_a(self):
        lead = self._create_inquiry()
        self.assertEqual(lead.routing_state, "offered")
        slot = self.env["service.technician.slot"].sudo().search([("lead_id", "=", lead.id)])
        self.assertEqual(slot.company_id, self.company_a)
        self.assertEqual(slot.technician_id, lead.technician_id)
        return slot

    def test_second_company_reads_no_slot_of_the_first(self):
        slot = self._slot_of_company_a()
        Slot = self.env["service.technician.slot"].with_user(self.user_b)
        self.assertFalse(Slot.search([]))
        self.assertFalse(Slot.search_read([], ["technician_id", "lead_id"]))
        # the rotation ledger and the report alike
        self.assertFalse(self.env["service.rotation.entry"].with_user(self.user_b).search([]))
        self.assertFalse(self.env["service.dispatch.report"].with_user(self.user_b).search([]))
        # the first company's dispatchers do
        self.assertIn(slot, self.env["service.technician.slot"].with_user(self.user_manager).search([]))

    def test_second_company_reads_no_slot_over_xmlrpc(self):
        self._slot_of_company_a()
        uid = self.xmlrpc_common.authenticate(self.env.cr.dbname, "svc_company_b", "svc_company_b_pw", {})
        self.assertTrue(uid)
        rows = self.xmlrpc_object.execute_kw(
            self.env.cr.dbname,
            uid,
            "svc_company_b_pw",
            "service.technician.slot",
            "search_read",
            [[]],
            {"fields": ["technician_id", "lead_id"]},
        )
        self.assertEqual(rows, [])

    def test_accept_of_several_inquiries_over_xmlrpc(self):
        first = self._create_inquiry()
        second = self._create_inquiry(zip="80335")
        self.user_dispatcher.password = "svc_dispatcher_pw"
        uid = self.xmlrpc_common.authenticate(self.env.cr.dbname, "svc_dispatcher", "svc_dispatcher_pw", {})
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                uid,
                "svc_dispatcher_pw",
                "crm.lead",
                "action_service_accept",
                [[first.id, second.id], first.offer_ids[:1].id],
            )
        self.assertIn("one inquiry at a time", caught.exception.faultString)
        self.assertNotIn("Expected singleton", caught.exception.faultString)
