# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A phone shared by technicians: kept pages belong to one user and company."""

from lxml import html

from odoo.tests import tagged

from .test_portal_pwa import PwaCase


@tagged("post_install", "-at_install", "service_portal")
class TestSharedPhone(PwaCase):
    browser_size = "390x844"
    touch_enabled = True

    def _key(self, response):
        meta = html.fromstring(response.content).find("head/meta[@name='service-cache-key']")
        return meta is not None and meta.get("content")

    def test_pages_say_whose_they_are(self):
        offer = self._offer_to_anna()
        self.authenticate("pwa_anna", "pwa_anna")
        key = f"{self.user_tech.id}-{self.user_tech.company_id.id}"
        for url in ("/my/service", f"/my/service/offer/{offer.id}"):
            response = self.url_open(url)
            self.assertEqual(response.headers.get("X-Service-Cache-Key"), key, url)
            self.assertEqual(self._key(response), key, url)
        # a token link opened without a login is the public user's page, never the technician's
        self.authenticate(None, None)
        response = self.url_open(offer.get_portal_url())
        self.assertNotEqual(response.headers.get("X-Service-Cache-Key"), key)
        # the worker keeps pages per key, serves only the owner's, and drops the rest
        worker = self.url_open("/my/service/sw.js").text
        self.assertIn("X-Service-Cache-Key", worker)
        self.assertIn("pageCacheName(owner)", worker)

    def test_another_user_never_gets_the_last_one_s_pages(self):
        self._offer_to_anna()
        self.start_tour("/my/service", "crm_service_routing_shared_phone", login="pwa_anna")
