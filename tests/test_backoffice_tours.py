# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged

from .common import ServiceRoutingCase


@tagged("post_install", "-at_install")
class TestBackofficeTours(HttpCase, ServiceRoutingCase):
    """The dispatcher's back office in headless Chromium, at desktop size."""

    browser_size = "1440x900"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_dispatcher.tz = "Europe/Berlin"

    def _url(self, action, record=None):
        path = f"/odoo/action-crm_service_routing.{action}"
        return f"{path}/{record.id}" if record else path

    def test_review_a_safety_critical_inquiry_and_offer_it(self):
        self.tech_anna.service_equipment_type_ids = [(4, self.type_gas.id)]
        self._create_inquiry(name="Heat pump noise held", zip="10115", city="Berlin")
        gas = self._create_inquiry(name="Gas boiler smells", equipment_type_id=self.type_gas.id)
        self.assertEqual(gas.review_reason, "safety_critical")
        self.start_tour(
            self._url("crm_lead_action_service_review"),
            "crm_service_routing_backoffice_review_offer",
            login="svc_dispatcher",
        )
        self.assertEqual((gas.routing_state, gas.technician_id), ("offered", self.tech_anna))

    def test_replay_twice(self):
        self._create_inquiry()
        self._create_inquiry(zip="85354")
        self.start_tour(
            self._url("crm_lead_action_service"), "crm_service_routing_backoffice_replay_twice", login="svc_dispatcher"
        )

    def test_route_an_accepted_job_again(self):
        lead = self._create_inquiry()
        lead.action_service_accept(offer_id=lead.service_offer_id.id)
        # the acceptance is an earlier request: its tracking is done
        self.env.flush_all()
        self.env.cr.precommit.clear()
        self.start_tour(
            self._url("crm_lead_action_service", lead),
            "crm_service_routing_backoffice_reroute_accepted",
            login="svc_dispatcher",
        )
        self.assertEqual(lead.routing_state, "offered")

    def test_create_an_inquiry_by_hand(self):
        self.start_tour(
            self._url("crm_lead_action_service"),
            "crm_service_routing_backoffice_create_inquiry",
            login="svc_dispatcher",
        )
        lead = self.env["crm.lead"].search([("name", "=", "Heat pump leaks water")])
        self.assertEqual((lead.country_id, lead.routing_state), (self.de, "offered"))
