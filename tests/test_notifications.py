# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Offer, withdrawal and acceptance notifications, sent in batches by the scheduled action."""

import datetime
import re
import tempfile
from urllib.parse import parse_qs, urlparse

from freezegun import freeze_time

from odoo import Command, fields
from odoo.tests import tagged
from odoo.tools import file_open
from odoo.tools.translate import TranslationImporter

from .common import ConcurrentCase, ServiceRoutingCase

T0 = datetime.datetime(2026, 3, 2, 8, 0)  # a Monday, 09:00 in Munich


def at(hours, start=T0):
    return start + datetime.timedelta(hours=hours)


def token_link(body):
    """(path, token) of the first link of a mail body."""
    match = re.search(r'href="([^"]+)"', str(body))
    if not match:
        return None, None
    url = urlparse(match.group(1).replace("&amp;", "&"))
    return url.path, (parse_qs(url.query).get("access_token") or [None])[0]


@tagged("post_install", "-at_install", "crm_service_routing")
class TestNotifications(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.standard = cls.env.ref("crm_service_routing.service_level_standard")
        cls.standard.write({"resource_calendar_id": False})
        cls.company.service_calendar_id = False
        # a third technician for 80331 heat pumps: a service-partner company whose contact has the portal user
        cls.tech_dora = cls._make_technician(
            "Dora Dienst GmbH", "80331", [("range", "80000", "80999")], [cls.type_heatpump], [], is_company=True
        )
        cls.dora_contact = cls.env["res.partner"].create(
            {"name": "Dora Fischer", "parent_id": cls.tech_dora.id, "email": "dora.fischer@example.com"}
        )
        cls.trio = cls.tech_anna | cls.tech_carla | cls.tech_dora
        cls.trio.write({"tz": "Europe/Berlin"})
        portal = cls.env.ref("base.group_portal")
        Users = cls.env["res.users"].with_context(no_reset_password=True)
        cls.user_anna = Users.create(
            {"login": "svc_anna", "partner_id": cls.tech_anna.id, "groups_id": [Command.set(portal.ids)]}
        )
        cls.user_carla = Users.create(
            {"login": "svc_carla", "partner_id": cls.tech_carla.id, "groups_id": [Command.set(portal.ids)]}
        )
        cls.user_dora = Users.create(
            {
                "login": "svc_dora",
                "partner_id": cls.dora_contact.id,
                "service_technician_id": cls.tech_dora.id,
                "groups_id": [Command.set(portal.ids)],
            }
        )
        cls.users = {cls.tech_anna: cls.user_anna, cls.tech_carla: cls.user_carla, cls.tech_dora: cls.user_dora}
        cls.Offer = cls.env["service.offer"]
        # what the demo data (on a database with it) left to tell is told before the tests start
        cls.Offer._service_send_notifications()

    def inquiry(self, when=T0, **values):
        with freeze_time(when):
            lead = self._create_inquiry(service_level_id=self.standard.id, **values)
        self.assertEqual(lead.routing_state, "offered")
        return lead

    def send(self, when=T0):
        with freeze_time(when):
            return self.Offer._service_send_notifications()

    def mails(self, offers, kind):
        """The mails of one kind sent for ``offers`` (told apart by their subjects)."""
        match = {
            "offer": lambda subject: subject.startswith("New inquiry"),
            "withdrawn": lambda subject: subject.endswith("is no longer yours"),
        }[kind]
        mails = self.env["mail.mail"].search([("model", "=", "service.offer"), ("res_id", "in", offers.ids)])
        return mails.filtered(lambda mail: match(mail.subject or ""))

    def notes(self, lead):
        return " | ".join(lead.message_ids.mapped("body"))

    def user_partner(self, offer):
        return self.users[offer.technician_id].partner_id

    # ------------------------------------------------------------
    # the offer mail
    # ------------------------------------------------------------

    def test_offer_mail_carries_the_context_deadline_and_a_token_link(self):
        lead = self.inquiry(
            description="<p>The outdoor unit rattles at night.</p>",
            serial_number="SN-778899",
            contract_ref="SC-7788",
            preferred_appointment=at(48),
            street="Marienplatz 8",
            phone="+49 89 7654321",
        )
        offer = lead.service_offer_id
        # routing only records what is to tell: nothing is rendered in its transaction
        self.assertEqual(offer.service_notify, "offer")
        self.assertFalse(self.mails(offer, "offer"))
        self.assertEqual(self.send(), offer)
        self.assertFalse(offer.service_notify)
        mail = self.mails(offer, "offer")
        self.assertEqual(len(mail), 1)
        body = str(mail.body_html)
        for text in (
            lead.name,
            "The outdoor unit rattles at night.",
            "Repair",
            self.type_hp_air.name,
            "SN-778899",
            "SC-7788",
            self.standard.name,
            "Marienplatz 8",
            "80331",
            "München",
            "Eva Neu",
            lead.phone,
        ):
            self.assertIn(text, body)
        # deadline and preferred appointment in the technician's time zone (UTC+1 in March)
        self.assertEqual(offer.answer_deadline, at(24))
        self.assertIn("03/03/2026 09:00 CET", body)
        self.assertIn("03/03/2026 09:00 CET", mail.subject)
        self.assertIn("03/04/2026 09:00 CET", body)
        # the login-free link opens this offer, while it is open
        path, token = token_link(body)
        self.assertEqual(path, f"/my/service/offer/{offer.id}")
        self.assertTrue(offer._service_token_valid(token))
        self.assertEqual(mail.recipient_ids, offer.technician_id | self.user_partner(offer))
        # recorded on the inquiry, and the technician's user follows it
        self.assertIn(f"Offer mail sent to {offer.technician_id.name}", self.notes(lead))
        self.assertIn("answer by 03/03/2026 09:00 CET", self.notes(lead))
        self.assertIn(self.user_partner(offer), lead.message_partner_ids)

    def test_offer_note_prints_the_deadline_in_the_companys_zone(self):
        """The mail is the technician's (New York); the chatter note, read by everyone, names the
        company's zone."""
        self.trio.write({"tz": "America/New_York"})
        self.company.partner_id.tz = "Europe/Berlin"
        lead = self.inquiry()
        offer = lead.service_offer_id
        self.send()
        mail = self.mails(offer, "offer")
        self.assertIn("03/03/2026 03:00 EST", str(mail.body_html))
        notes = self.notes(lead)
        self.assertIn("answer by 03/03/2026 09:00 CET", notes)
        self.assertNotIn("EST", notes)

    def test_company_technician_mail_goes_to_the_company_and_its_acting_user(self):
        self.trio.filtered(lambda t: t != self.tech_dora).write({"service_paused": True})
        lead = self.inquiry()
        offer = lead.service_offer_id
        self.assertEqual(offer.technician_id, self.tech_dora)
        self.send()
        mail = self.mails(offer, "offer")
        self.assertEqual(mail.recipient_ids, self.tech_dora | self.dora_contact)
        self.assertIn(self.dora_contact, lead.message_partner_ids)

    def test_every_offer_gets_exactly_one_offer_mail(self):
        """First routing, a decline re-route, an escalation reassign, a dispatcher's assignment: one mail each."""
        lead = self.inquiry()
        first = lead.service_offer_id
        self.send()
        with freeze_time(at(1)):
            lead.action_service_decline("capacity", offer_id=first.id)
        second = lead.service_offer_id
        self.assertNotEqual(second.technician_id, first.technician_id)
        self.send(at(1))
        # the technician who declined knows: no mail, and no longer follows
        self.assertFalse(self.mails(first, "withdrawn"))
        self.assertNotIn(self.user_partner(first), lead.message_partner_ids)
        self.assertIn(self.user_partner(second), lead.message_partner_ids)
        # 24 h without an answer: reassigned to the third technician
        with freeze_time(at(25)):
            self.assertEqual(self.Offer._escalate(), second)
        third = lead.service_offer_id
        self.assertEqual(second.state, "expired")
        self.assertEqual(third.technician_id, self.trio - first.technician_id - second.technician_id)
        self.assertEqual(third.service_notify, "offer")
        self.send(at(25))
        # the dispatcher gives it back to the first technician
        with freeze_time(at(26)):
            wizard = (
                self.env["crm.lead.assign"]
                .with_user(self.user_dispatcher)
                .create({"lead_id": lead.id, "technician_id": first.technician_id.id})
            )
            wizard.action_assign()
        fourth = lead.service_offer_id
        self.send(at(26))
        offers = lead.offer_ids
        self.assertEqual(len(offers), 4)
        for offer in offers:
            self.assertEqual(len(self.mails(offer, "offer")), 1, offer.technician_id.name)
        self.assertEqual(len(self.mails(second, "withdrawn")), 1)
        self.assertEqual(len(self.mails(third, "withdrawn")), 1)
        self.assertFalse(self.mails(fourth, "withdrawn"))
        # a second run sends nothing
        self.assertFalse(self.send(at(27)))
        for offer in offers:
            self.assertEqual(len(self.mails(offer, "offer")), 1)

    # ------------------------------------------------------------
    # withdrawn
    # ------------------------------------------------------------

    def test_withdrawn_mail_on_reassignment_and_the_token_stops(self):
        lead = self.inquiry()
        first = lead.service_offer_id
        self.send()
        _path, token = token_link(self.mails(first, "offer").body_html)
        self.assertTrue(first._service_token_valid(token))
        with freeze_time(at(24)):
            self.Offer._escalate()
        second = lead.service_offer_id
        self.assertNotEqual(second, first)
        self.assertFalse(first._service_token_valid(token))
        self.send(at(24))
        withdrawn = self.mails(first, "withdrawn")
        self.assertEqual(len(withdrawn), 1)
        self.assertEqual(withdrawn.recipient_ids, first.technician_id | self.user_partner(first))
        self.assertIn("not answered in time", str(withdrawn.body_html))
        self.assertIn(lead.name, withdrawn.subject)
        self.assertIn(f"Mail sent to {first.technician_id.name}: the inquiry is no longer theirs", self.notes(lead))
        self.assertNotIn(self.user_partner(first), lead.message_partner_ids)
        self.assertIn(self.user_partner(second), lead.message_partner_ids)
        self.assertEqual(len(self.mails(second, "offer")), 1)

    def test_withdrawn_by_dispatcher_and_cancelled_by_closing(self):
        lead = self.inquiry()
        first = lead.service_offer_id
        self.send()
        with freeze_time(at(1)):
            lead.with_user(self.user_dispatcher).action_service_reroute()
        second = lead.service_offer_id
        self.assertEqual(first.state, "withdrawn")
        self.send(at(1))
        if second.technician_id != first.technician_id:
            self.assertIn("a dispatcher gave it to someone else", str(self.mails(first, "withdrawn").body_html))
        with freeze_time(at(2)):
            lead.action_set_lost()
        self.assertEqual(second.state, "cancelled")
        self.send(at(2))
        closed = self.mails(second, "withdrawn")
        self.assertEqual(len(closed), 1)
        self.assertIn("the inquiry has been closed", str(closed.body_html))
        self.assertNotIn(self.user_partner(second), lead.message_partner_ids)

    def test_offer_withdrawn_before_its_mail_sends_neither(self):
        lead = self.inquiry()
        first = lead.service_offer_id
        with freeze_time(at(0.1)):
            lead.action_service_reroute()
        second = lead.service_offer_id
        self.assertFalse(first.service_notify)
        self.send(at(0.2))
        self.assertFalse(self.mails(first, "offer") | self.mails(first, "withdrawn"))
        self.assertEqual(len(self.mails(second, "offer")), 1)

    # ------------------------------------------------------------
    # accepted
    # ------------------------------------------------------------

    def test_accepted_message_reaches_internal_followers_only(self):
        lead = self.inquiry()
        offer = lead.service_offer_id
        lead.message_subscribe(partner_ids=(self.user_dispatcher.partner_id | self.customer).ids)
        self.send()
        subtype = self.env.ref("crm_service_routing.mt_lead_service_accepted")
        self.assertTrue(subtype.internal)
        before = lead.message_ids
        tracked = self.env(context=dict(self.env.context, tracking_disable=False, mail_notrack=False))
        with freeze_time(at(1)):
            lead.with_env(tracked).action_service_accept(offer_id=offer.id)
            self.env.flush_all()
            self.env.cr.precommit.run()
        # one message: the tracked change with its subtype, no note besides it
        message = lead.message_ids - before
        self.assertEqual(len(message), 1, message.mapped("body"))
        self.assertEqual(message.subtype_id, subtype)
        self.assertIn(f"Accepted by {offer.technician_id.name}", str(message.body))
        self.assertEqual(
            [(value.old_value_char, value.new_value_char) for value in message.tracking_value_ids],
            [("Offered", "Accepted")],
        )
        notified = message.notification_ids.res_partner_id
        self.assertIn(self.user_dispatcher.partner_id, notified)
        self.assertNotIn(self.customer, notified)
        # the technician's portal user follows the inquiry, but internal messages are not for it
        self.assertEqual(offer.service_notify, "accepted")
        self.send(at(1))
        self.assertIn(self.user_partner(offer), lead.message_partner_ids)
        self.assertNotIn(self.user_partner(offer), notified)
        self.assertFalse(self.send(at(2)))
        self.assertEqual(len(lead.message_ids.filtered(lambda m: m.subtype_id == subtype)), 1)

    def test_team_followers_choose_acceptances(self):
        """As crm's stage changes: the team's subtype, followed on the team, reaches its inquiries' acceptances."""
        team = self.env["crm.team"].create({"name": "Service South"})
        follower = self.user_salesman.partner_id
        team.message_subscribe(
            partner_ids=follower.ids,
            subtype_ids=self.env.ref("crm_service_routing.mt_salesteam_service_accepted").ids,
        )
        lead = self.inquiry()
        tracked = self.env(context=dict(self.env.context, tracking_disable=False, mail_notrack=False))
        lead.with_env(tracked).team_id = team
        self.assertIn(follower, lead.message_partner_ids)
        lead.with_env(tracked).action_service_accept(offer_id=lead.service_offer_id.id)
        self.env.flush_all()
        self.env.cr.precommit.run()
        message = lead.message_ids.filtered(
            lambda m: m.subtype_id == self.env.ref("crm_service_routing.mt_lead_service_accepted")
        )
        self.assertIn(follower, message.notification_ids.res_partner_id)

    # ------------------------------------------------------------
    # templates, scheduled action
    # ------------------------------------------------------------

    def test_withdrawn_and_follow_up_templates_render_with_real_data(self):
        lead = self.inquiry()
        offer = lead.service_offer_id
        with freeze_time(at(1)):
            lead.action_service_accept(offer_id=offer.id)
        for xmlid in ("mail_template_offer_withdrawn", "mail_template_followup_manager"):
            template = self.env.ref(f"crm_service_routing.{xmlid}")
            self.assertEqual(template.model, "service.offer")
            body = str(template._render_field("body_html", offer.ids)[offer.id])
            self.assertIn(lead.name, body, xmlid)
            self.assertIn(offer.technician_id.name, body, xmlid)
            self.assertIn(lead.name, template._render_field("subject", offer.ids)[offer.id], xmlid)
            self.assertFalse(template._has_unsafe_expression_template_qweb(template.body_html, "service.offer"), xmlid)
        template = self.env.ref("crm_service_routing.mail_template_followup_manager")
        self.assertIn("03/02/2026 10:00 CET", str(template._render_field("body_html", offer.ids)[offer.id]))

    def test_german_offer_mail(self):
        """A German technician gets the offer mail in German, with all its data (i18n/de.po)."""
        self.env["res.lang"]._activate_lang("de_DE")
        # de.po read as shipped (the importer would otherwise keep only what the .pot lists)
        with file_open("crm_service_routing/i18n/de.po", "rb") as po, tempfile.NamedTemporaryFile(suffix=".po") as copy:
            copy.write(po.read())
            copy.flush()
            copy.seek(0)
            importer = TranslationImporter(self.env.cr, verbose=False)
            importer.load(copy, "po", "de_DE")
            importer.save(overwrite=True)
        self.trio.write({"lang": "de_DE"})
        lead = self.inquiry(serial_number="SN-4711")
        offer = lead.service_offer_id
        self.send()
        mail = self.env["mail.mail"].search([("model", "=", "service.offer"), ("res_id", "=", offer.id)])
        self.assertEqual(len(mail), 1)
        body = str(mail.body_html)
        self.assertTrue(mail.subject.startswith(f"Neue Anfrage {lead.name}"), mail.subject)
        for text in ("wird Ihnen angeboten", "Seriennummer: SN-4711", "Einsatzort: 80331 München", "Reparatur"):
            self.assertIn(text, body)
        path, token = token_link(body)
        self.assertEqual(path, offer.access_url)
        self.assertTrue(offer._service_token_valid(token))

    def test_scheduled_action_is_woken_once_and_sends(self):
        cron = self.env.ref("crm_service_routing.ir_cron_service_escalate")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search_count([("cron_id", "=", cron.id)])
        lead = self.inquiry()
        offer = lead.service_offer_id
        triggers = Trigger.search([("cron_id", "=", cron.id)], order="id desc", limit=1)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), before + 1)
        self.assertEqual(triggers.call_at, T0, "woken at once for the offer mail")
        # more in the same transaction adds no trigger
        with freeze_time(at(0.5)):
            lead.action_service_decline("capacity", offer_id=offer.id)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), before + 1)
        with freeze_time(at(0.5)):
            self.Offer._cron_escalate()
        # the declined offer was never mailed (declined before the run), the next one once
        self.assertFalse(self.mails(offer, "offer"))
        self.assertEqual(len(self.mails(lead.service_offer_id, "offer")), 1)
        self.assertFalse(lead.offer_ids.filtered("service_notify"))
        # then it sleeps until the next escalation stage
        self.assertTrue(Trigger.search([("cron_id", "=", cron.id), ("call_at", "=", at(4.5))]))


@tagged("post_install", "-at_install", "crm_service_routing")
class TestNotificationConcurrency(ConcurrentCase):
    """Two notification runs at once, on separate cursors, never send a mail twice."""

    OFFERS = 30

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._commit_offers(
            "Concurrent Notify Technician",
            [{"name": f"Notify race {index}", "service_occasion": "repair"} for index in range(cls.OFFERS)],
            fields.Datetime.now(),
        )

    def offer_mails(self):
        return self.offer_mail_counts("New inquiry")

    def test_two_runs_at_once_never_double_send(self):
        def send(env):
            return env["service.offer"]._service_send_notifications(batch_size=4).ids

        results = self.run_threads([send, send])
        self.assertEqual([error for _ids, error in results if error], [])
        first, second = ({offer_id for offer_id in ids if offer_id in self.offer_ids} for ids, _error in results)
        self.assertFalse(first & second, "an offer was notified by both runs")
        self.assertEqual(first | second, set(self.offer_ids))
        self.assertEqual(self.offer_mails(), dict.fromkeys(self.offer_ids, 1))
        # and a third run, afterwards, finds nothing to send
        results = self.run_threads([send])
        self.assertFalse(set(results[0][0] or ()) & set(self.offer_ids))
        self.assertEqual(self.offer_mails(), dict.fromkeys(self.offer_ids, 1))
