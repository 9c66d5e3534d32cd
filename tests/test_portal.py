# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import json

from lxml import html

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import ServiceRoutingCase


class ServicePortalCase(ServiceRoutingCase):
    """Technicians with portal users invited the stock way (portal.wizard)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Anna works alone; Bernd Service GmbH is a service-partner company whose
        # contact Bruno logs in for it; Carla has a user of her own
        cls.bruno = cls.env["res.partner"].create(
            {"name": "Bruno Monteur", "parent_id": cls.tech_bernd.id, "email": "bruno@bernd.example.com"}
        )
        cls.portal_anna = cls._invite(cls.tech_anna)
        cls.portal_bruno = cls._invite(cls.bruno)
        cls.portal_carla = cls._invite(cls.tech_carla)
        cls.tech_anna.tz = "Europe/Berlin"
        for user in cls.portal_anna | cls.portal_bruno | cls.portal_carla:
            user.password = user.login

    @classmethod
    def _invite(cls, partner):
        wizard = cls.env["portal.wizard"].with_context(active_ids=partner.ids).create({})
        wizard.user_ids.action_grant_access()
        return partner.with_context(active_test=False).user_ids[:1]

    def _offered_to(self, technician, **values):
        """An inquiry offered to ``technician`` (others paused for the moment)."""
        others = (self.tech_anna | self.tech_bernd | self.tech_carla) - technician
        others.write({"service_paused": True})
        lead = self._create_inquiry(**values)
        others.write({"service_paused": False})
        self.assertEqual(lead.technician_id, technician, lead.routing_log_ids[:1].reason)
        self.assertEqual(lead.routing_state, "offered")
        return lead


@tagged("post_install", "-at_install", "crm_service_routing")
class TestPortalIdentity(ServicePortalCase):
    def test_invitation_links_the_user_to_its_technician(self):
        self.assertTrue(self.portal_anna._is_portal())
        self.assertEqual(self.portal_anna.service_technician_id, self.tech_anna)
        # a service-partner company's contact acts for the company, explicitly
        self.assertEqual(self.portal_bruno.service_technician_id, self.tech_bernd)
        self.assertEqual(self.tech_bernd.service_user_ids, self.portal_bruno)
        # a customer invited to the portal acts for nobody
        customer_user = self._invite(self.customer)
        self.assertFalse(customer_user.service_technician_id)
        self.assertFalse(customer_user.service_technician_ids)
        # a contact of a technician company without the link acts for nobody, whatever its parent
        unlinked = new_test_user(
            self.env,
            login="svc_unlinked",
            groups="base.group_portal",
            partner_id=self.env["res.partner"].create({"name": "Uli", "parent_id": self.tech_bernd.id}).id,
        )
        self.assertFalse(unlinked.service_technician_ids)
        lead = self._offered_to(self.tech_bernd, zip="81675")
        self.assertFalse(self.env["crm.lead"].with_user(unlinked).search([("id", "=", lead.id)]))

    def test_only_technicians_are_acted_for(self):
        with self.assertRaises(ValidationError):
            self.portal_anna.service_technician_id = self.customer

    def test_dispatcher_links_users_on_the_technician(self):
        user = new_test_user(self.env, login="svc_new_portal", groups="base.group_portal", name="Nina Neu")
        self.tech_carla.with_user(self.user_dispatcher).service_user_ids = self.portal_carla | user
        self.assertEqual(user.service_technician_id, self.tech_carla)
        with self.assertRaises(AccessError):
            self.tech_carla.with_user(self.user_salesman).service_user_ids = self.portal_carla


@tagged("post_install", "-at_install", "crm_service_routing")
class TestPortalAccess(ServicePortalCase):
    def test_technician_reads_exactly_its_inquiries_and_offers(self):
        mine = self._offered_to(self.tech_anna)
        theirs = self._offered_to(self.tech_carla, zip="85354", city="Freising")
        sales_lead = self.env["crm.lead"].create({"name": "Not a service inquiry", "type": "opportunity"})
        Lead = self.env["crm.lead"].with_user(self.portal_anna)
        self.assertEqual(Lead.search([]), mine)
        self.assertEqual(self.env["service.offer"].with_user(self.portal_anna).search([]), mine.offer_ids)
        for other in (theirs, sales_lead):
            with self.assertRaises(AccessError):
                other.with_user(self.portal_anna).read(["name"])
        with self.assertRaises(AccessError):
            theirs.offer_ids.with_user(self.portal_anna).read(["state"])
        # read only: writes go through the portal methods
        with self.assertRaises(AccessError):
            mine.with_user(self.portal_anna).write({"description": "changed"})
        # a declined inquiry is not the technician's any more
        mine.offer_ids.with_user(self.portal_anna)._service_portal_decline("capacity")
        self.assertFalse(Lead.search([("id", "=", mine.id)]))

    def test_company_contact_sees_the_company_s_inquiries(self):
        lead = self._offered_to(self.tech_bernd, zip="81675")
        self.assertEqual(self.env["crm.lead"].with_user(self.portal_bruno).search([]), lead)
        lead.offer_ids.with_user(self.portal_bruno)._service_portal_accept()
        self.assertEqual(lead.routing_state, "accepted")
        self.assertEqual(lead.offer_ids.answered_by_id, self.portal_bruno)

    def test_other_technicians_get_access_errors_on_every_method(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids.with_user(self.portal_carla)
        calls = {
            "accept": lambda: offer._service_portal_accept(),
            "decline": lambda: offer._service_portal_decline("capacity"),
            "appointment": lambda: offer._service_portal_set_appointment(datetime.datetime(2030, 1, 1, 9)),
            "note": lambda: offer._service_portal_post_note("hello"),
            "visit": lambda: offer._service_portal_document_visit({"work_done": "x"}),
            "followon": lambda: offer._service_portal_create_followon({"name": "x", "service_occasion": "repair"}),
            "wrong token": lambda: offer._service_portal_accept(access_token="not-the-token"),
        }
        for name, call in calls.items():
            with self.subTest(name), self.assertRaises(AccessError):
                call()
        self.assertEqual(lead.routing_state, "offered")
        self.assertEqual(lead.offer_ids.state, "offered")

    def test_token_opens_the_offer_while_it_is_open(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids
        token = offer.access_token
        self.assertTrue(token)
        self.assertIn(f"/my/service/offer/{offer.id}?access_token={token}", offer.get_portal_url())
        public = self.env.ref("base.public_user")
        self.assertEqual(offer.with_user(public)._service_check_portal_access(token), offer)
        # another offer's token does not open this one
        other = self._offered_to(self.tech_carla, zip="85354", city="Freising").offer_ids
        with self.assertRaises(AccessError):
            offer.with_user(public)._service_check_portal_access(other.access_token)
        # reassigned by a dispatcher: the old offer's token no longer works
        lead.with_user(self.user_dispatcher).action_service_reroute()
        self.assertEqual(offer.state, "withdrawn")
        with self.assertRaises(AccessError):
            offer.with_user(public)._service_check_portal_access(token)
        with self.assertRaises(AccessError):
            offer.with_user(public)._service_portal_accept(access_token=token)

    def test_token_holder_accepts_without_logging_in(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids
        public = self.env.ref("base.public_user")
        tracked = offer.with_context(tracking_disable=False, mail_notrack=False).with_user(public)
        tracked._service_portal_accept(access_token=offer.access_token)
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.assertEqual(offer.state, "accepted")
        self.assertEqual(lead.routing_state, "accepted")
        # an accepted offer stays open: the link still opens the job
        self.assertTrue(offer._service_token_valid(offer.access_token))
        message = lead.message_ids.filtered(lambda m: "Accepted by" in (m.body or ""))
        self.assertEqual(message.subtype_id, self.env.ref("crm_service_routing.mt_lead_service_accepted"))
        # written by the technician the link belongs to, not by "Public user"
        self.assertEqual(message.author_id, self.tech_anna)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestPortalActions(ServicePortalCase):
    def _job(self, **values):
        lead = self._offered_to(self.tech_anna, **values)
        offer = lead.offer_ids.with_user(self.portal_anna)
        offer._service_portal_accept()
        return lead, offer

    def test_actions_after_acceptance_need_acceptance(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids.with_user(self.portal_anna)
        with self.assertRaisesMessage(UserError, "Accept the inquiry"):
            offer._service_portal_set_appointment(datetime.datetime(2030, 1, 1, 9))
        with self.assertRaisesMessage(UserError, "Accept the inquiry"):
            offer._service_portal_document_visit({"work_done": "Filter cleaned"})

    def test_appointment_is_recorded_and_counts_as_activity(self):
        lead, offer = self._job()
        when = (fields.Datetime.now() + datetime.timedelta(days=3)).replace(microsecond=0, second=0)
        offer._service_portal_set_appointment(when)
        self.assertEqual(lead.agreed_appointment, when)
        self.assertTrue(lead.service_activity_at)
        with self.assertRaises(ValidationError):
            offer._service_portal_set_appointment("tomorrow")
        # the horizon of every appointment write holds here too
        with self.assertRaises(ValidationError):
            offer._service_portal_set_appointment(datetime.datetime(9999, 1, 1, 9))

    def test_note_reaches_the_back_office(self):
        lead, offer = self._job()
        offer._service_portal_post_note("Customer asks for a call after 5 pm.")
        message = lead.message_ids.filtered(lambda m: "after 5 pm" in (m.body or ""))
        self.assertEqual(len(message), 1)
        self.assertEqual(message.author_id, self.portal_anna.partner_id)
        self.assertTrue(message.subtype_id.internal)
        for bad in ("", "   ", "x" * 2001, "bell\x07"):
            with self.subTest(bad=bad[:10]), self.assertRaises(ValidationError):
                offer._service_portal_post_note(bad)

    def test_visit_documented(self):
        lead, offer = self._job(contract_ref="SC-1001", serial_number="HP-0001", zip="81675")
        self.assertEqual(lead.equipment_id, self.equipment)
        # the technician's today, in its time zone (near midnight, not the server's)
        today = fields.Date.context_today(offer)
        next_date = today + datetime.timedelta(days=365)
        visit = offer._service_portal_document_visit(
            {
                "work_done": "Compressor replaced, system tested.",
                "next_maintenance_date": next_date,
                "followon_order": True,
                "followon_amount": 1250.0,
            }
        )
        self.assertEqual(visit.lead_id, lead)
        self.assertEqual(visit.technician_id, self.tech_anna)
        self.assertEqual(visit.user_id, self.portal_anna)
        self.assertEqual(visit.visit_date, today)
        self.assertEqual(visit.followon_amount, 1250.0)
        self.assertEqual(self.equipment.next_maintenance_date, next_date)
        self.assertEqual(lead.service_visit_ids, visit)
        self.assertTrue(lead.message_ids.filtered(lambda m: "Compressor replaced" in (m.body or "")))
        # the technician reads its visit, the other one does not
        self.assertEqual(self.env["service.visit"].with_user(self.portal_anna).search([]), visit)
        self.assertFalse(self.env["service.visit"].with_user(self.portal_carla).search([]))

    def test_bad_visits_are_refused_and_nothing_saved(self):
        lead, offer = self._job()
        cases = [
            {"work_done": ""},
            {"work_done": "ok", "followon_amount": 100.0},
            {"work_done": "ok", "followon_order": True, "followon_amount": -5.0},
            {"work_done": "ok", "followon_order": True, "followon_amount": "lots"},
            {"work_done": "ok", "visit_date": fields.Date.today() + datetime.timedelta(days=2)},
            {"work_done": "ok", "next_maintenance_date": fields.Date.today() - datetime.timedelta(days=2)},
            {"work_done": "x" * 5001},
        ]
        for values in cases:
            with self.subTest(values=str(values)[:60]), self.assertRaises(ValidationError):
                offer._service_portal_document_visit(values)
        self.assertFalse(lead.service_visit_ids)

    def test_followon_inquiry_is_routed_like_any_other(self):
        lead, offer = self._job(contract_ref="SC-1001", serial_number="HP-0001", zip="81675")
        followon = offer._service_portal_create_followon(
            {
                "name": "Second heat pump for the garage",
                "service_occasion": "extension",
                "equipment_type_id": self.type_hp_air.id,
                "description": "Customer wants a quote.",
            }
        )
        self.assertEqual(followon.service_origin_lead_id, lead)
        self.assertEqual(followon.service_generated_by_id, self.tech_anna)
        self.assertEqual(followon.partner_id, lead.partner_id)
        self.assertEqual(followon.zip, lead.zip)
        self.assertEqual(followon.company_id, lead.company_id)
        self.assertEqual(followon.customer_kind, "existing")
        self.assertIn(followon.routing_state, ("offered", "review"))
        self.assertTrue(followon.routing_log_ids)
        self.assertEqual(lead.service_followon_ids, followon)
        self.assertFalse(followon.user_id.share)
        for values in (
            {"name": "", "service_occasion": "repair"},
            {"name": "x", "service_occasion": "party"},
            {"name": "x", "service_occasion": "repair", "equipment_type_id": 999999},
        ):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                offer._service_portal_create_followon(values)
        # a token holder who is not logged in raises none
        public_offer = offer.with_user(self.env.ref("base.public_user"))
        with self.assertRaises(AccessError):
            public_offer._service_portal_create_followon({"name": "x", "service_occasion": "repair"})

    def test_technician_pauses_itself(self):
        user = self.portal_anna
        user.with_user(user)._service_portal_set_availability(True, False)
        self.assertTrue(self.tech_anna.service_paused)
        away = fields.Date.today() + datetime.timedelta(days=7)
        user.with_user(user)._service_portal_set_availability(False, away)
        self.assertFalse(self.tech_anna.service_paused)
        self.assertEqual(self.tech_anna.service_away_until, away)
        # paused or away: the routing passes it over
        lead = self._create_inquiry()
        self.assertNotEqual(lead.technician_id, self.tech_anna)
        with self.assertRaises(ValidationError):
            user.with_user(user)._service_portal_set_availability(False, fields.Date.today() - datetime.timedelta(1))
        with self.assertRaises(AccessError):
            user.with_user(self.portal_carla)._service_portal_set_availability(True, False)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestPortalPages(ServicePortalCase, HttpCase):
    def _page(self, url, status=200):
        response = self.url_open(url, allow_redirects=False)
        self.assertEqual(response.status_code, status, url)
        return response

    def test_pages_show_the_technician_its_work(self):
        lead = self._offered_to(self.tech_anna, phone="089 1234567", street="Marienplatz 1", description="Noise")
        offer = lead.offer_ids
        self.authenticate(self.portal_anna.login, self.portal_anna.login)
        home = self._page("/my").text
        self.assertIn('href="/my/service"', home)
        counters = self.make_jsonrpc_request("/my/counters", {"counters": ["service_offer_count"]})
        self.assertEqual(counters["service_offer_count"], 1)
        page = self._page("/my/service").text
        self.assertIn(lead.name, page)
        self.assertIn(f'data-offer-id="{offer.id}"', page)
        detail = self._page(f"/my/service/offer/{offer.id}").text
        self.assertIn('href="tel:+49891234567"', detail)
        self.assertIn("google.com/maps/search/?api=1&amp;query=Marienplatz", detail)
        self.assertIn("Air/Water Heat Pump", detail)
        self.assertIn('data-service-action="accept"', detail)

    def test_other_technicians_and_bad_tokens_get_404(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids
        self.authenticate(self.portal_carla.login, self.portal_carla.login)
        self._page(f"/my/service/offer/{offer.id}", 404)
        self._page(f"/my/service/offer/{offer.id}?access_token=wrong", 404)
        self._page("/my/service/offer/999999", 404)
        self.assertNotIn(lead.name, self._page("/my/service").text)
        # a POST as the other technician changes nothing
        response = self.url_open(
            f"/my/service/offer/{offer.id}/accept",
            data={"csrf_token": self._csrf()},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(offer.state, "offered")
        # a user acting for no technician has no service pages
        new_test_user(self.env, login="svc_customer_portal", groups="base.group_portal")
        self.authenticate("svc_customer_portal", "svc_customer_portal")
        self._page("/my/service", 404)
        self._page(f"/my/service/offer/{offer.id}", 404)

    def test_token_link_works_without_login_until_reassigned(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids
        url = offer.get_portal_url()
        self.assertIn(lead.name, self._page(url).text)
        lead.with_user(self.user_dispatcher).action_service_reroute()
        self.assertEqual(offer.state, "withdrawn")
        self._page(url, 404)

    def test_posts_need_a_csrf_token(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids
        self.authenticate(self.portal_anna.login, self.portal_anna.login)
        response = self.url_open(f"/my/service/offer/{offer.id}/accept", data={"x": "1"}, allow_redirects=False)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(offer.state, "offered")
        response = self.url_open(
            f"/my/service/offer/{offer.id}/accept",
            data={"csrf_token": "forged"},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(offer.state, "offered")

    def test_json_clients_get_json_answers(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids
        self.authenticate(self.portal_anna.login, self.portal_anna.login)
        url = f"/my/service/offer/{offer.id}/accept"
        headers = {"Accept": "application/json"}
        response = self.url_open(url, data={"csrf_token": self._csrf()}, headers=headers, allow_redirects=False)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(json.loads(response.text), {"ok": True, "state": "accepted"})
        response = self.url_open(url, data={"csrf_token": self._csrf()}, headers=headers, allow_redirects=False)
        self.assertEqual(response.status_code, 409)
        self.assertIn("no longer open", json.loads(response.text)["error"])
        response = self.url_open(
            f"/my/service/offer/{offer.id}/decline",
            data={"csrf_token": self._csrf(), "reason": "nonsense"},
            headers=headers,
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("Choose the decline reason from the list", json.loads(response.text)["error"])
        self.assertEqual(offer.state, "accepted")

    def test_date_inputs_post_iso_and_refuse_anything_else(self):
        """The date inputs are the browser's own: shown in the phone's locale (05.03.2026 in German),
        filled, bounded and posted in ISO. The server takes ISO and answers anything else with a
        message (400 to a JSON client, the page to a form), never a traceback, and saves nothing."""
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids
        offer.with_user(self.portal_anna)._service_portal_accept()
        self.authenticate(self.portal_anna.login, self.portal_anna.login)
        today = fields.Date.context_today(offer.with_context(tz="Europe/Berlin"))
        page = html.fromstring(self._page(f"/my/service/offer/{offer.id}").text)
        (visit_input,) = page.xpath("//input[@name='visit_date']")
        self.assertEqual(
            (visit_input.get("type"), visit_input.get("value"), visit_input.get("max")),
            ("date", str(today), str(today)),
        )
        (next_input,) = page.xpath("//input[@name='next_maintenance_date']")
        self.assertEqual((next_input.get("type"), next_input.get("min")), ("date", str(today)))
        (appointment_input,) = page.xpath("//input[@name='agreed_appointment']")
        self.assertEqual(appointment_input.get("type"), "datetime-local")
        listing = html.fromstring(self._page("/my/service").text)
        (away_input,) = listing.xpath("//input[@name='away_until']")
        self.assertEqual((away_input.get("type"), away_input.get("min")), ("date", str(today)))

        url = f"/my/service/offer/{offer.id}/visit"
        headers = {"Accept": "application/json"}
        for bad in ("05.03.2026", "3/5/2026", "tomorrow", "2026-02-30", "2026-03-05T10:00"):
            with self.subTest(bad=bad):
                response = self.url_open(
                    url,
                    data={"csrf_token": self._csrf(), "work_done": "ok", "visit_date": bad},
                    headers=headers,
                    allow_redirects=False,
                )
                self.assertEqual(response.status_code, 400)
                self.assertIn(
                    "The visit date is not a date: pick it with the date picker", json.loads(response.text)["error"]
                )
        response = self.url_open(
            url, data={"csrf_token": self._csrf(), "work_done": "ok", "next_maintenance_date": "01.06.2027"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("The next maintenance is not a date: pick it with the date picker", response.text)
        self.assertFalse(lead.service_visit_ids)
        response = self.url_open(
            "/my/service/availability", data={"csrf_token": self._csrf(), "away_until": "31.12.2026"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("The away until is not a date", response.text)
        self.assertFalse(self.tech_anna.service_away_until)
        # what the picker posts is saved
        next_date = today + datetime.timedelta(days=365)
        response = self.url_open(
            url,
            data={
                "csrf_token": self._csrf(),
                "work_done": "ok",
                "visit_date": str(today),
                "next_maintenance_date": str(next_date),
            },
            headers=headers,
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(
            (lead.service_visit_ids.visit_date, lead.service_visit_ids.next_maintenance_date), (today, next_date)
        )

    def test_form_errors_come_back_on_the_page(self):
        lead = self._offered_to(self.tech_anna)
        offer = lead.offer_ids
        self.authenticate(self.portal_anna.login, self.portal_anna.login)
        response = self.url_open(
            f"/my/service/offer/{offer.id}/decline",
            data={"csrf_token": self._csrf(), "reason": "other", "note": ""},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("Say why you decline", response.text)
        self.assertEqual(offer.state, "offered")
        response = self.url_open(
            f"/my/service/offer/{offer.id}/appointment",
            data={"csrf_token": self._csrf(), "agreed_appointment": "soon"},
        )
        self.assertIn("is not a date and time: pick it with the date picker", response.text)

    def _csrf(self):
        """A CSRF token of the current session, as the pages embed it."""
        page = self.url_open("/my/service").text
        start = page.index('name="csrf_token" value="') + len('name="csrf_token" value="')
        return page[start : page.index('"', start)]
