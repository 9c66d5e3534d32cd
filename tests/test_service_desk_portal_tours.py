# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime

from freezegun import freeze_time

from odoo.tests import HttpCase, tagged

from .test_portal import ServicePortalCase

T0 = datetime.datetime(2026, 3, 2, 8, 0)  # a Monday, 09:00 in Munich


@tagged("post_install", "-at_install", "crm_service_routing")
class TestServiceDeskPortalTours(ServicePortalCase, HttpCase):
    """The technician portal at a phone's size, in German, online and offline."""

    browser_size = "390x844"
    touch_enabled = True

    def test_german_technician_reads_mail_list_and_offer(self):
        self.env["res.lang"]._activate_lang("de_DE")
        self.env["ir.module.module"]._load_module_terms(["crm_service_routing"], ["de_DE"], overwrite=True)
        self.type_hp_air.with_context(lang="de_DE").name = "Luft/Wasser-Wärmepumpe"
        (self.tech_anna | self.portal_anna.partner_id).write({"lang": "de_DE"})
        self.portal_anna.write({"lang": "de_DE", "tz": "Europe/Berlin"})
        # the deadline lies in the future for the page's list, and at a known hour
        with freeze_time(T0):
            lead = self._offered_to(
                self.tech_anna,
                name="Wärmepumpe brummt",
                contact_name="Eva Neu",
                partner_name="Eva Neu",
                phone="+49897654321",
                service_level_id=self.level_standard.id,
            )
            offer = lead.offer_ids
            self.env["service.offer"]._service_send_notifications()
        mail = self.env["mail.mail"].search([("model", "=", "service.offer"), ("res_id", "=", offer.id)])
        self.assertEqual(len(mail), 1)
        self.assertIn("03.03.2026 09:00 MEZ", mail.subject)
        self.assertIn("Luft/Wasser-Wärmepumpe", mail.body_html)
        self.start_tour("/my", "crm_service_routing_portal_german", login=self.portal_anna.login)
        self.assertEqual(offer.state, "offered", "Other without a note declines nothing")

    def test_old_offer_link_opened_logged_out(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids
        link = f"/my/service/offer/{offer.id}?access_token={offer.access_token}"
        # declined since (from the back office): the link of the offer mail no longer opens it
        lead.action_service_decline("capacity", offer_id=offer.id)
        self.assertEqual(offer.state, "declined")
        response = self.url_open(link)
        self.assertEqual(response.status_code, 404)
        self.assertIn("This link no longer opens the offer", response.text)
        self.start_tour(link, "crm_service_routing_portal_link_gone")

    def test_offline_page_kept_by_the_app(self):
        response = self.url_open("/my/service/offline")
        self.assertEqual(response.status_code, 200)
        self.assertIn("You are offline", response.text)
        self.start_tour("/my/service", "crm_service_routing_portal_offline_page", login=self.portal_anna.login)
