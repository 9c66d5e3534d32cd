# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged

from .common import ServiceRoutingCase


@tagged("post_install", "-at_install")
class TestServiceDeskTours(HttpCase, ServiceRoutingCase):
    """The service desk in headless Chromium, as its users meet it."""

    browser_size = "1440x900"

    def test_service_manager_configures_from_the_menus(self):
        self.start_tour("/odoo/crm", "crm_service_routing_manager_configures", login="svc_manager")
        type_ = self.env["service.equipment.type"].search([("code", "=", "HP-HY")])
        self.assertEqual((type_.name, type_.safety_critical), ("Hybrid Heat Pump", True))
        level = self.env["service.level"].search([("code", "=", "EXPRESS")])
        self.assertEqual(level.response_hours, 8)
        self.assertEqual(
            [(stage.after_hours, stage.action) for stage in level.escalation_stage_ids.sorted("after_hours")],
            [(2, "remind"), (8, "reassign")],
        )
        self.assertEqual(self.company.service_routing_strategy, "least_loaded")
        self.assertFalse(self.company.service_iap_enrich)
