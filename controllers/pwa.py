# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from odoo import http
from odoo.http import request
from odoo.tools import file_open

from .portal import SERVICE_PAGE

# the technician pages; the service worker controls them and nothing else
PWA_SCOPE = "/my/service"
PWA_START_URL = "/my/service"
PWA_THEME_COLOR = "#008080"
PWA_BACKGROUND_COLOR = "#ffffff"
PWA_ICON_PATH = "/crm_service_routing/static/src/img/service_portal_icon_%s.png"
PWA_ICON_SIZES = (192, 512)
SERVICE_WORKER_FILE = "crm_service_routing/static/src/pwa/service_worker.js"


class ServicePortalPwa(http.Controller):
    """The technician portal as an installable app: its manifest and its service worker.

    Both are public and read-only: the browser fetches them before, and
    without, a login, and they never touch the session.
    """

    def _service_pwa_lang(self, lang=None):
        """The language asked for, when it is an active one; else the request's."""
        if lang and request.env["res.lang"]._get_data(code=lang):
            return lang
        return request.env.lang or "en_US"

    def _service_pwa_manifest(self, lang):
        env = request.env(context=dict(request.env.context, lang=lang))
        return {
            "id": PWA_START_URL,
            "name": env._("Service Jobs"),
            "short_name": env._("Jobs"),
            "description": env._("Your service offers and jobs: accept, decline and document them on site."),
            "lang": lang.replace("_", "-"),
            "dir": env["res.lang"]._get_data(code=lang).direction or "ltr",
            "start_url": PWA_START_URL,
            "scope": PWA_SCOPE,
            "display": "standalone",
            "orientation": "portrait",
            "theme_color": PWA_THEME_COLOR,
            "background_color": PWA_BACKGROUND_COLOR,
            "prefer_related_applications": False,
            "icons": [
                {
                    "src": PWA_ICON_PATH % size,
                    "sizes": f"{size}x{size}",
                    "type": "image/png",
                    "purpose": "any maskable",
                }
                for size in PWA_ICON_SIZES
            ],
        }

    @http.route(
        "/my/service/manifest.webmanifest",
        type="http",
        auth="public",
        methods=["GET"],
        readonly=True,
        save_session=False,
    )
    def service_pwa_manifest(self, lang=None, **kwargs):
        manifest = self._service_pwa_manifest(self._service_pwa_lang(lang))
        return request.make_response(
            json.dumps(manifest, ensure_ascii=False),
            headers=[
                ("Content-Type", "application/manifest+json; charset=utf-8"),
                ("Cache-Control", "no-cache"),
            ],
        )

    @http.route(
        "/my/service/sw.js",
        type="http",
        auth="public",
        methods=["GET"],
        readonly=True,
        save_session=False,
    )
    def service_pwa_worker(self, **kwargs):
        with file_open(SERVICE_WORKER_FILE) as worker:
            body = worker.read()
        return request.make_response(
            body,
            headers=[
                ("Content-Type", "application/javascript; charset=utf-8"),
                ("Service-Worker-Allowed", PWA_SCOPE),
                # a new release reaches the phones on their next visit
                ("Cache-Control", "no-cache"),
            ],
        )

    @http.route("/my/service/offline", auth="public", methods=["GET"], readonly=True, **SERVICE_PAGE)
    def service_pwa_offline(self, **kwargs):
        """The app's page for a page it never loaded, kept by the service worker when it installs."""
        return request.render("crm_service_routing.portal_service_offline", {"page_name": "service_offline"})
