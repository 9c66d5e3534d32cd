# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import json

import websocket
from freezegun import freeze_time

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

from .test_portal import ServicePortalCase

T0 = datetime.datetime(2026, 3, 2, 8, 0)  # a Monday, 09:00 in Munich

# true once the app's service worker controls the page and has kept its offline page
OFFLINE_PAGE_KEPT = """(async () => {
    if (!navigator.serviceWorker.controller) {
        return false;
    }
    for (const key of await caches.keys()) {
        const cached = key.startsWith("crm_service_routing-offline")
            && (await (await caches.open(key)).match("/my/service/offline"));
        if (cached) {
            return true;
        }
    }
    return false;
})()"""

# true once the page's scripts have their translations (the web client's localization service started)
TRANSLATIONS_LOADED = """(() => {
    const translation = odoo.loader.modules.get("@web/core/l10n/translation");
    return Boolean(translation && translation.translatedTerms[translation.translationLoaded]);
})()"""


@tagged("post_install", "-at_install", "crm_service_routing")
class TestServiceDeskPortalTours(ServicePortalCase, HttpCase):
    """The technician portal at a phone's size, in German, online and offline."""

    browser_size = "390x844"
    touch_enabled = True

    def _anna_in_german(self):
        """Anna, technician and portal user, in German, a language other than the database's default."""
        self.env["res.lang"]._activate_lang("de_DE")
        self.env["ir.module.module"]._load_module_terms(["crm_service_routing"], ["de_DE"], overwrite=True)
        (self.tech_anna | self.portal_anna.partner_id).write({"lang": "de_DE"})
        self.portal_anna.write({"lang": "de_DE", "tz": "Europe/Berlin"})

    def test_german_technician_reads_mail_list_and_offer(self):
        self._anna_in_german()
        self.type_hp_air.with_context(lang="de_DE").name = "Luft/Wasser-Wärmepumpe"
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

    def test_page_never_opened_offline_shows_the_app_page(self):
        """Offline for real (the browser's network switched off): a page never loaded opens the app's page."""
        # in German, which is not the site's default: the pages stay where the app's worker is (/my/service),
        # and their scripts load the language's translations
        self._anna_in_german()
        browser = ChromeBrowser(self, success_signal="test successful")
        self.http_request_key = self.canonical_tag + "_browser_js"
        try:
            self.authenticate(self.portal_anna.login, self.portal_anna.login, browser=browser)
            self.cr.flush()
            self.cr.clear()
            # online, twice: the worker installs on the first visit and controls the second
            browser.navigate_to(f"{self.base_url()}/my/service", wait_stop=True)
            self.assertTrue(
                browser._wait_ready("location.pathname === '/my/service'", timeout=5),
                "the pages of a language other than the site's default are not moved under its prefix (/de/...)",
            )
            browser._wait_ready("!!navigator.serviceWorker && navigator.serviceWorker.ready.then(() => true)")
            browser.navigate_to(f"{self.base_url()}/my/service", wait_stop=True)
            self.assertTrue(browser._wait_ready(OFFLINE_PAGE_KEPT, timeout=30), "the app kept its offline page")
            # the page and the app's worker (its own target: it fetches for the page) lose the network
            offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
            browser._websocket_request("Network.emulateNetworkConditions", params=offline)
            workers = [t for t in browser._json_command("list") if t.get("type") == "service_worker"]
            self.assertTrue(workers, "the app's service worker runs")
            worker = websocket.create_connection(workers[0]["webSocketDebuggerUrl"], timeout=10)
            try:
                for number, method in enumerate(("Network.enable", "Network.emulateNetworkConditions"), 1):
                    worker.send(json.dumps({"id": number, "method": method, "params": offline if number == 2 else {}}))
                    while json.loads(worker.recv()).get("id") != number:
                        pass
                browser.navigate_to(f"{self.base_url()}/my/service/offer/999999", wait_stop=True)
            finally:
                worker.close()
            self.assertTrue(
                browser._wait_ready("!!document.querySelector('.o_service_portal_offline')", timeout=20),
                "offline, a page never opened shows the app's offline page, not the browser's error",
            )
            self.assertTrue(browser._wait_ready("document.body.hasAttribute('data-service-offline-copy')", timeout=5))
            self.assertTrue(
                browser._wait_ready(
                    "document.querySelector('.o_service_portal_offline h1').textContent.includes('Sie sind offline')",
                    timeout=5,
                ),
                "the app's offline page is in the technician's language",
            )
            # the page's scripts started, in German: their translations were at hand offline
            self.assertTrue(
                browser._wait_ready(TRANSLATIONS_LOADED, timeout=10), "offline, the page's scripts have translations"
            )
            # the company logo of the header comes from the app's cache too
            logo_shown = (
                "[...document.querySelectorAll('header img')].some((img) => img.complete && img.naturalWidth > 0)"
            )
            self.assertTrue(browser._wait_ready(logo_shown, timeout=10), "the company logo shows offline")
        finally:
            browser.stop()
            self._wait_remaining_requests()
            self.http_request_key = self.canonical_tag
