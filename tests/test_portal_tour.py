# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo.tests import HttpCase, tagged

from .test_portal import ServicePortalCase


@tagged("post_install", "-at_install", "crm_service_routing")
class TestPortalTours(ServicePortalCase, HttpCase):
    """The technician's flows in headless Chromium at a phone's size."""

    browser_size = "390x844"
    touch_enabled = True

    def test_token_link_from_the_offer_mail_accepts(self):
        lead = self._offered_to(self.tech_anna, description="<p>Loud humming at night</p>")
        offer = lead.offer_ids
        self.env["service.offer"]._service_send_notifications()
        mail = self.env["mail.mail"].search(
            [("model", "=", "service.offer"), ("res_id", "=", offer.id), ("recipient_ids", "in", self.tech_anna.ids)]
        )
        self.assertEqual(len(mail), 1, "one offer mail to the technician")
        links = re.findall(r'href="[^"]*(/my/service/offer/\d+\?access_token=[\w-]+)"', mail.body_html)
        self.assertTrue(links, "the offer mail carries its token link")
        self.assertIn(f"/my/service/offer/{offer.id}?access_token={offer.access_token}", links)
        # not logged in: the link alone opens and answers the offer
        self.start_tour(links[0], "crm_service_routing_portal_token_accept")
        self.assertEqual(offer.state, "accepted")
        self.assertEqual(lead.routing_state, "accepted")
        self.assertTrue(offer.answered_by_id._is_public())

    def test_decline_with_a_reason(self):
        lead = self._offered_to(self.tech_anna, name="Pellet heating rattles")
        offer = lead.offer_ids
        self.start_tour("/my/service", "crm_service_routing_portal_decline", login=self.portal_anna.login)
        self.assertEqual(offer.state, "declined")
        self.assertEqual(offer.decline_reason, "capacity")
        self.assertEqual(offer.decline_note, "Fully booked until next month")
        self.assertEqual(offer.answered_by_id, self.portal_anna)
        # routed on to the next technician
        self.assertNotEqual(lead.technician_id, self.tech_anna)

    def test_work_an_accepted_job(self):
        lead = self._offered_to(self.tech_anna, phone="089 1234567", street="Marienplatz 1")
        offer = lead.offer_ids
        offer.with_user(self.portal_anna)._service_portal_accept()
        self.start_tour("/my/service", "crm_service_routing_portal_job", login=self.portal_anna.login)
        # 09:30 in Munich (the technician's time zone) in March is 08:30 UTC
        self.assertEqual(str(lead.agreed_appointment), "2030-03-04 08:30:00")
        visit = lead.service_visit_ids
        self.assertEqual(len(visit), 1)
        self.assertEqual(visit.work_done, "Compressor bearing replaced, noise gone.")
        self.assertEqual(str(visit.next_maintenance_date), "2031-03-01")
        self.assertTrue(visit.followon_order)
        self.assertEqual(visit.followon_amount, 480.5)
        followon = lead.service_followon_ids
        self.assertEqual(followon.name, "Second heat pump for the garage")
        self.assertEqual(followon.service_occasion, "extension")
        self.assertEqual(followon.service_generated_by_id, self.tech_anna)
        self.assertTrue(followon.routing_log_ids, "the follow-on inquiry was routed")
