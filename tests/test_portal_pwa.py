# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import io
import json

from lxml import html
from PIL import Image

from odoo.tests import HttpCase, new_test_user, tagged

from .common import ServiceRoutingCase

MANIFEST_URL = "/my/service/manifest.webmanifest"
WORKER_URL = "/my/service/sw.js"


class PwaCase(ServiceRoutingCase, HttpCase):
    """A technician with a portal user and an inquiry offered to it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_tech = new_test_user(
            cls.env,
            login="pwa_anna",
            groups="base.group_portal",
            name="Anna Technik (portal)",
            email="anna.portal@tech.example.com",
        )
        cls.user_tech.service_technician_id = cls.tech_anna
        cls.user_other = new_test_user(cls.env, login="pwa_other", groups="base.group_portal", name="Olaf Other")

    def _offer_to_anna(self):
        """An inquiry only Anna can take (premium: she alone is certified), offered to her."""
        lead = self._create_inquiry(service_level_id=self.level_premium.id)
        offer = self.env["service.offer"].search([("lead_id", "=", lead.id), ("state", "=", "offered")])
        self.assertEqual(offer.technician_id, self.tech_anna, "the fixture expects the inquiry offered to Anna")
        return offer

    def _head(self, url):
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200, url)
        return html.fromstring(response.content).find("head")


@tagged("post_install", "-at_install", "service_portal")
class TestPortalPwaFiles(PwaCase):
    def test_manifest(self):
        self.authenticate(None, None)
        self.opener.cookies.clear()
        response = self.url_open(MANIFEST_URL)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "application/manifest+json")
        self.assertNotIn("Set-Cookie", response.headers, "the manifest must not open or write a session")
        manifest = json.loads(response.content)
        self.assertEqual(manifest["name"], "Service Jobs")
        self.assertEqual(manifest["short_name"], "Jobs")
        self.assertEqual(manifest["start_url"], "/my/service")
        self.assertEqual(manifest["scope"], "/my/service")
        self.assertTrue(
            manifest["start_url"].startswith(manifest["scope"]),
            "a start_url outside the scope makes browsers drop the scope",
        )
        self.assertEqual(manifest["display"], "standalone")
        self.assertRegex(manifest["theme_color"], r"^#[0-9a-f]{6}$")
        self.assertRegex(manifest["background_color"], r"^#[0-9a-f]{6}$")
        self.assertEqual(sorted(icon["sizes"] for icon in manifest["icons"]), ["192x192", "512x512"])
        for icon in manifest["icons"]:
            self.assertEqual(icon["type"], "image/png")
            image_response = self.url_open(icon["src"])
            self.assertEqual(image_response.status_code, 200, icon["src"])
            self.assertEqual(image_response.headers["Content-Type"].split(";")[0], "image/png")
            image = Image.open(io.BytesIO(image_response.content))
            self.assertEqual(image.format, "PNG")
            self.assertEqual("{}x{}".format(*image.size), icon["sizes"], icon["src"])

    def test_manifest_in_german(self):
        self.env["res.lang"]._activate_lang("de_DE")
        manifest = json.loads(self.url_open(f"{MANIFEST_URL}?lang=de_DE").content)
        self.assertEqual(manifest["name"], "Serviceaufträge")
        self.assertEqual(manifest["short_name"], "Aufträge")
        self.assertEqual(manifest["lang"], "de-DE")
        # a language that is not active falls back to the request's
        manifest = json.loads(self.url_open(f"{MANIFEST_URL}?lang=xx_XX").content)
        self.assertEqual(manifest["name"], "Service Jobs")
        self.assertEqual(manifest["lang"], "en-US")

    def test_service_worker(self):
        self.authenticate(None, None)
        self.opener.cookies.clear()
        response = self.url_open(WORKER_URL)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "application/javascript")
        self.assertEqual(response.headers["Service-Worker-Allowed"], "/my/service")
        self.assertEqual(response.headers["Cache-Control"], "no-cache")
        self.assertNotIn("Set-Cookie", response.headers, "the service worker must not open or write a session")
        body = response.text
        self.assertIn('addEventListener("fetch"', body)
        # only GETs are answered from the cache
        self.assertIn('request.method !== "GET"', body)

    def test_files_refuse_writes(self):
        for url in (MANIFEST_URL, WORKER_URL):
            response = self.url_open(url, data={"x": "1"})
            self.assertEqual(response.status_code, 405, url)


@tagged("post_install", "-at_install", "service_portal")
class TestPortalPwaHead(PwaCase):
    def _assert_installable(self, head):
        manifests = head.findall("link[@rel='manifest']")
        self.assertEqual(len(manifests), 1)
        self.assertTrue(manifests[0].get("href").startswith(MANIFEST_URL))
        self.assertEqual(len(head.findall("meta[@name='theme-color']")), 1)
        touch_icons = head.findall("link[@rel='apple-touch-icon']")
        self.assertEqual(len(touch_icons), 1)
        icon = self.url_open(touch_icons[0].get("href"))
        self.assertEqual(icon.status_code, 200)
        self.assertEqual(icon.headers["Content-Type"].split(";")[0], "image/png")
        viewports = head.findall("meta[@name='viewport']")
        self.assertEqual(len(viewports), 1, "one viewport, the frontend layout's")
        self.assertEqual(viewports[0].get("content"), "width=device-width, initial-scale=1")

    def test_technician_pages_are_installable(self):
        offer = self._offer_to_anna()
        self.authenticate("pwa_anna", "pwa_anna")
        self._assert_installable(self._head("/my/service"))
        self._assert_installable(self._head(f"/my/service/offer/{offer.id}"))

    def test_token_page_is_installable(self):
        offer = self._offer_to_anna()
        self.authenticate(None, None)
        self._assert_installable(self._head(offer.get_portal_url()))

    def test_other_pages_are_not(self):
        self.authenticate("pwa_other", "pwa_other")
        head = self._head("/my")
        self.assertFalse(head.findall("link[@rel='manifest']"))
        self.assertFalse(head.findall("meta[@name='theme-color']"))

    def test_manifest_in_the_user_language(self):
        self.env["res.lang"]._activate_lang("de_DE")
        self.user_tech.lang = "de_DE"
        self._offer_to_anna()
        self.authenticate("pwa_anna", "pwa_anna")
        href = self._head("/my/service").find("link[@rel='manifest']").get("href")
        self.assertEqual(href, f"{MANIFEST_URL}?lang=de_DE")
        self.assertEqual(json.loads(self.url_open(href).content)["name"], "Serviceaufträge")


@tagged("post_install", "-at_install", "service_portal")
class TestPortalPwaOffline(PwaCase):
    """The technician answers without a network, at a phone's size, by touch."""

    browser_size = "390x844"
    touch_enabled = True

    def test_offline_accept_replayed_on_reconnect(self):
        offer = self._offer_to_anna()
        # the tour simulates the network going away in the page (navigator.onLine,
        # "offline" event, POSTs failing with a TypeError) and coming back
        self.start_tour("/my/service", "crm_service_routing_offline_accept", login="pwa_anna")
        self.assertEqual(offer.state, "accepted")
        self.assertEqual(offer.answered_by_id, self.user_tech)
        self.assertEqual(offer.lead_id.routing_state, "accepted")

    def test_offline_accept_refused_when_no_longer_open(self):
        offer = self._offer_to_anna()
        # declined from elsewhere while the accept waited: the queued accept is refused and said so
        self.start_tour("/my/service", "crm_service_routing_offline_accept_refused", login="pwa_anna")
        self.assertEqual(offer.state, "declined")
        self.assertEqual(offer.decline_reason, "capacity")
        self.assertEqual(offer.answered_by_id, self.user_tech)
