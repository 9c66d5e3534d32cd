#!/usr/bin/env python3
# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Screenshots of the running Odoo in headless Chromium, through the DevTools protocol.

Each shot is a dict (see SHOTS): ``name`` (the PNG's name), ``path`` (a URL path,
``{id}`` replaced by the id of ``record``, a (model, domain) searched over
JSON-RPC), ``viewport`` ("1440x900", "390x844" for a phone; ``mobile`` for touch
emulation), ``login`` (user and password), ``wait`` (a CSS selector the page must
show before the shot), ``clicks`` (selectors clicked in turn, each waited for)
and ``after`` (a selector waited for after the clicks), ``lang`` (the user's language for the
shot, en_US unless named; the language is installed first). Another module, e.g. the
technician portal, adds its own shots with ``--shots FILE.json`` or extends SHOTS.

    tools/screenshots.py --url http://127.0.0.1:8069 --db DB --out DIR [--only NAME ...]
"""

import argparse
import base64
import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import websocket

DESKTOP = "1440x900"
PHONE = "390x844"
DISPATCHER = ("admin", "admin")

TECHNICIAN = ("technician", "technician")
# what the technician sees first of an offer on its phone
PORTAL_OFFER = {
    "name": "portal_offer",
    "path": "/my/service/offer/{id}",
    "record": ("service.offer", [("state", "=", "offered")]),
    "viewport": PHONE,
    "mobile": True,
    "login": TECHNICIAN,
    "wait": ".o_service_portal_offer",
}

SHOTS = [
    {
        "name": "inquiry_form",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service/{id}",
        "record": ("crm.lead", [("name", "=", "Heat pump shows error E42")]),
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_form_view .o_form_statusbar",
    },
    {
        "name": "review_queue",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service_review",
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_list_view .o_data_row",
    },
    {
        "name": "assign_wizard",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service/{id}",
        "record": ("crm.lead", [("routing_state", "=", "review"), ("safety_critical", "=", True)]),
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_form_view button[name='action_service_open_assign']",
        "clicks": [".o_form_statusbar button[name='action_service_open_assign']"],
        "after": ".modal .o_field_widget[name='line_ids'], .modal .o_service_assign_summary",
    },
    {
        "name": "dispatch_board",
        "path": "/odoo/action-crm_service_routing.service_dispatch_report_action",
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_graph_view canvas, .o_view_nocontent",
    },
    # CRM > Reporting > Service: acceptance rate per technician, the measures by technician and product line,
    # the scorecard of the last 90 days
    {
        "name": "service_report_graph",
        "path": "/odoo/action-crm_service_routing.service_inquiry_report_action",
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_graph_view canvas, .o_view_nocontent",
    },
    {
        "name": "service_report_pivot",
        "path": "/odoo/action-crm_service_routing.service_inquiry_report_action?view_type=pivot",
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_pivot_view .o_pivot table, .o_view_nocontent",
    },
    {
        "name": "technician_scorecard",
        "path": "/odoo/action-crm_service_routing.service_technician_scorecard_action",
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_list_view .o_data_row, .o_view_nocontent",
    },
    # the technician portal on a phone (demo: Anna Berger)
    {
        "name": "portal_list",
        "path": "/my/service",
        "viewport": PHONE,
        "mobile": True,
        "login": TECHNICIAN,
        "wait": ".o_service_portal_list",
        "full_page": True,
    },
    PORTAL_OFFER,
    # the same page as far as a thumb scrolls
    {**PORTAL_OFFER, "name": "portal_offer_full", "full_page": True},
    {
        "name": "portal_job",
        "path": "/my/service/offer/{id}",
        "record": ("service.offer", [("state", "=", "accepted"), ("lead_id.routing_state", "=", "accepted")]),
        "viewport": PHONE,
        "mobile": True,
        "login": TECHNICIAN,
        "wait": ".o_service_portal_offer",
        "full_page": True,
    },
    # the service desk as a service manager meets it: configuration from the Service menu
    {
        "name": "service_menu",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service",
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_list_view",
        "clicks": [".o_menu_sections button[data-menu-xmlid='crm_service_routing.menu_service_root']"],
        "after": ".o-dropdown--menu .dropdown-item[data-menu-xmlid='crm_service_routing.menu_service_settings']",
    },
    {
        "name": "service_settings",
        "path": "/odoo/action-crm_service_routing.service_routing_settings_action",
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_form_view .o_field_widget[name='service_routing_strategy']",
    },
    {
        "name": "sla_tier_form",
        "path": "/odoo/action-crm_service_routing.service_level_action/{id}",
        "record": ("service.level", [("code", "=", "STANDARD")]),
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_form_view .o_field_widget[name='escalation_stage_ids'] .o_data_row",
    },
    {
        "name": "escalation_ladders",
        "path": "/odoo/action-crm_service_routing.service_escalation_stage_action",
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_list_view .o_group_header",
        "clicks": [".o_list_view .o_group_header:first-child"],
        "after": ".o_list_view .o_data_row",
    },
    {
        "name": "inquiry_pivot",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service?view_type=pivot",
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_pivot table",
    },
    {
        "name": "inquiry_actions_menu",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service",
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_list_view .o_data_row",
        "clicks": [
            ".o_list_view thead .o_list_record_selector input",
            ".o_control_panel .o_cp_action_menus button",
        ],
        "after": ".o-dropdown--menu .dropdown-item",
    },
    {
        "name": "cancel_wizard",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service/{id}",
        "record": ("crm.lead", [("routing_state", "=", "offered")]),
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_form_view .o_form_statusbar",
        "clicks": [".o_form_statusbar button[data-hotkey='l']"],
        "after": ".modal .o_field_widget[name='lost_reason_id']",
    },
    {
        "name": "decline_wizard",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service/{id}",
        "record": ("crm.lead", [("routing_state", "=", "offered")]),
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_form_view .o_form_statusbar",
        "clicks": [".o_form_statusbar button[name='action_service_open_decline']"],
        "after": ".modal .o_field_widget[name='technician_id']",
    },
    {
        "name": "reroute_dialog",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service/{id}",
        "record": ("crm.lead", [("routing_state", "=", "accepted")]),
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "wait": ".o_form_view .o_form_statusbar",
        "clicks": [".o_form_statusbar button[name='action_service_reroute']"],
        "after": ".modal .o_service_reroute_summary",
    },
    # the same in German
    {
        "name": "inquiry_form_de",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service/{id}",
        "record": ("crm.lead", [("routing_state", "=", "accepted")]),
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "lang": "de_DE",
        "wait": ".o_form_view .o_form_statusbar",
    },
    {
        "name": "assign_wizard_de",
        "path": "/odoo/action-crm_service_routing.crm_lead_action_service/{id}",
        "record": ("crm.lead", [("routing_state", "=", "review"), ("safety_critical", "=", True)]),
        "viewport": DESKTOP,
        "login": DISPATCHER,
        "lang": "de_DE",
        "wait": ".o_form_view button[name='action_service_open_assign']",
        "clicks": [".o_form_statusbar button[name='action_service_open_assign']"],
        "after": ".modal .o_field_widget[name='line_ids'], .modal .o_service_assign_summary",
    },
    # the technician portal on a phone, in German, and its pages for what went away
    {
        "name": "portal_home_de",
        "path": "/my",
        "viewport": PHONE,
        "mobile": True,
        "login": TECHNICIAN,
        "lang": "de_DE",
        "wait": ".o_portal_index_card a[href='/my/service']",
        "full_page": True,
    },
    {
        "name": "portal_list_de",
        "path": "/my/service",
        "viewport": PHONE,
        "mobile": True,
        "login": TECHNICIAN,
        "lang": "de_DE",
        "wait": ".o_service_portal_list",
        "full_page": True,
    },
    {**PORTAL_OFFER, "name": "portal_offer_de", "lang": "de_DE", "full_page": True},
    # maintenance due at the technician's customers in the next 90 days
    {
        "name": "portal_coming_up",
        "path": "/my/service/coming-up",
        "viewport": PHONE,
        "mobile": True,
        "login": TECHNICIAN,
        "wait": ".o_service_portal_coming_up",
        "full_page": True,
    },
    {
        "name": "portal_coming_up_de",
        "path": "/my/service/coming-up",
        "viewport": PHONE,
        "mobile": True,
        "login": TECHNICIAN,
        "lang": "de_DE",
        "wait": ".o_service_portal_coming_up",
        "full_page": True,
    },
    {
        # an accepted job with its forms open: the date inputs as a German phone shows them
        "name": "portal_job_de",
        "path": "/my/service/offer/{id}",
        "record": (
            "service.offer",
            [
                ("state", "=", "accepted"),
                ("lead_id.routing_state", "=", "accepted"),
                ("technician_id.user_ids.login", "=", TECHNICIAN[0]),
            ],
        ),
        "viewport": PHONE,
        "mobile": True,
        "login": TECHNICIAN,
        "lang": "de_DE",
        "wait": ".o_service_portal_offer",
        "clicks": [".o_service_box_visit summary"],
        "full_page": True,
    },
    {
        "name": "portal_link_gone",
        # an offer link that opens nothing any more (here: one that never did)
        "path": "/my/service/offer/999999?access_token=expired",
        "viewport": PHONE,
        "mobile": True,
        "login": TECHNICIAN,
        "wait": ".o_service_portal_gone",
    },
    {
        "name": "portal_offline",
        "path": "/my/service/offline",
        "viewport": PHONE,
        "mobile": True,
        "login": TECHNICIAN,
        "lang": "de_DE",
        "wait": ".o_service_portal_offline",
    },
]


class Odoo:
    """A JSON-RPC session with the server, for logging in and finding records."""

    def __init__(self, url, db):
        self.url, self.db = url.rstrip("/"), db
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _post(self, path, params):
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}).encode()
        request = urllib.request.Request(self.url + path, body, {"Content-Type": "application/json"})
        with self.opener.open(request, timeout=60) as response:
            answer = json.load(response)
        if answer.get("error"):
            raise RuntimeError(json.dumps(answer["error"])[:2000])
        return answer["result"]

    def login(self, login, password):
        self.jar.clear()
        answer = self._post("/web/session/authenticate", {"db": self.db, "login": login, "password": password})
        session = next((c.value for c in self.jar if c.name == "session_id"), None)
        if not session:
            raise RuntimeError(f"login {login} refused")
        self.uid = answer.get("uid")
        return session

    def call(self, model, method, *args, **kwargs):
        return self._post(
            "/web/dataset/call_kw", {"model": model, "method": method, "args": list(args), "kwargs": kwargs}
        )

    def activate_lang(self, code):
        """Install a language (as an administrator), with the translations of the installed modules."""
        lang_ids = self.call("res.lang", "search", [["code", "=", code]], context={"active_test": False})
        wizard = self.call("base.language.install", "create", {"lang_ids": [[6, 0, lang_ids]], "overwrite": True})
        self.call("base.language.install", "lang_install", [wizard])

    def login_in(self, login, password, lang):
        """Log in with ``lang`` as the user's language (a user may set its own)."""
        self.login(login, password)
        self.call("res.users", "write", [self.uid], {"lang": lang})
        return self.login(login, password)

    def search(self, model, domain):
        ids = self._post(
            "/web/dataset/call_kw",
            {"model": model, "method": "search", "args": [domain], "kwargs": {"limit": 1}},
        )
        if not ids:
            raise RuntimeError(f"no {model} matches {domain}")
        return ids[0]


class Chromium:
    """Headless Chromium driven over the DevTools protocol (websocket-client)."""

    def __init__(self, binary, lang="en_US"):
        self.profile = tempfile.mkdtemp(prefix="svc-shots-")
        locale = lang.replace("_", "-")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                "--disable-dev-shm-usage",
                f"--remote-debugging-port={self.port}",
                f"--user-data-dir={self.profile}",
                f"--lang={locale}",
                f"--accept-lang={locale}",
                "about:blank",
            ],
            # the locale of the browser's own controls (Linux reads it from the environment)
            env={**os.environ, "LANGUAGE": lang, "LANG": f"{lang}.UTF-8"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.ws = websocket.create_connection(self._page_ws(), timeout=60, suppress_origin=True)
        self.next_id = 0
        self.send("Page.enable")
        self.send("Network.enable")
        self.send("Runtime.enable")

    def _page_ws(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json", timeout=2) as response:
                    pages = [t for t in json.load(response) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("Chromium did not open its DevTools port")

    def send(self, method, **params):
        self.next_id += 1
        call_id = self.next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait_for(self, selector, timeout=30):
        test = f"!!document.querySelector({json.dumps(selector)})"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(test):
                return
            time.sleep(0.25)
        raise RuntimeError(f"{selector} did not appear within {timeout} s")

    def click(self, selector):
        self.wait_for(selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def idle(self, quiet=1.0, timeout=20):
        """Wait until Odoo has no RPC in flight for ``quiet`` seconds (the loading indicator is gone)."""
        deadline, since = time.time() + timeout, None
        while time.time() < deadline:
            busy = self.evaluate("!!document.querySelector('.o_loading_indicator, .o_blockUI')")
            if busy:
                since = None
            elif since is None:
                since = time.time()
            elif time.time() - since >= quiet:
                return
            time.sleep(0.2)

    def shoot(self, url, session, viewport, mobile=False):
        width, height = (int(part) for part in viewport.split("x"))
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        self.send("Emulation.setTouchEmulationEnabled", enabled=mobile)
        self.send("Network.clearBrowserCookies")
        host = urllib.parse.urlparse(url).hostname
        self.send("Network.setCookie", name="session_id", value=session, domain=host, path="/")
        self.send("Page.navigate", url=url)

    def capture(self, target, full_page=False):
        params = {"format": "png", "captureBeyondViewport": False}
        if full_page:
            # the whole page, as far as a thumb would scroll
            width, height = self.evaluate(
                "[document.documentElement.clientWidth, document.documentElement.scrollHeight]"
            )
            params.update(
                captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
            )
        data = self.send("Page.captureScreenshot", **params)["data"]
        with open(target, "wb") as handle:
            handle.write(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def take(shots, url, db, out, binary):
    os.makedirs(out, exist_ok=True)
    odoo = Odoo(url, db)
    # one browser per language, as a phone set to it: its own date inputs show dates in its format
    browsers = {}
    written = []
    langs = {shot.get("lang", "en_US") for shot in shots} - {"en_US"}
    if langs:
        odoo.login(*DISPATCHER)
        for lang in sorted(langs):
            odoo.activate_lang(lang)
    try:
        for shot in shots:
            lang = shot.get("lang", "en_US")
            session = odoo.login_in(*shot["login"], lang)
            path = shot["path"]
            if "{id}" in path:
                model, domain = shot["record"]
                path = path.replace("{id}", str(odoo.search(model, [list(term) for term in domain])))
            browser = browsers.get(lang) or browsers.setdefault(lang, Chromium(binary, lang))
            browser.shoot(url.rstrip("/") + path, session, shot.get("viewport", DESKTOP), shot.get("mobile", False))
            browser.wait_for(shot.get("wait", "body"))
            browser.idle()
            for selector in shot.get("clicks", ()):
                browser.click(selector)
                browser.idle()
            if shot.get("after"):
                browser.wait_for(shot["after"])
                browser.idle()
            target = os.path.join(out, f"{shot['name']}.png")
            browser.capture(target, full_page=shot.get("full_page", False))
            written.append(target)
            print(f"{shot['name']}: {target} ({shot.get('viewport', DESKTOP)}, {shot['login'][0]})")
    finally:
        for browser in browsers.values():
            browser.close()
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--shots", action="append", default=[], help="a JSON file with a list of shots to add")
    parser.add_argument("--only", action="append", default=[], help="take only the shots of these names")
    args = parser.parse_args(argv)
    shots = list(SHOTS)
    for path in args.shots:
        with open(path) as handle:
            shots += json.load(handle)
    if args.only:
        shots = [shot for shot in shots if shot["name"] in args.only]
    take(shots, args.url, args.db, args.out, args.chromium)
    return 0


if __name__ == "__main__":
    sys.exit(main())
