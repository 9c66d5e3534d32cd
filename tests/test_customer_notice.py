# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The customer hears what happens: once per event, never before routing, never when asked for none."""

import datetime

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import ServiceRoutingCase, in_days, service_request

SUBTYPE = "crm_service_routing.mt_lead_service_customer_notice"


@tagged("post_install", "-at_install", "crm_service_routing")
class TestCustomerNotice(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Lead = cls.env["crm.lead"]
        cls.Notice = cls.env["service.customer.notice"]
        cls.subtype = cls.env.ref(SUBTYPE)
        # nothing left to send from elsewhere (a demo database)
        cls.Notice.search([("state", "in", ("pending", "held"))]).write({"state": "skipped"})

    def request(self, **values):
        # no country: the company's
        payload = service_request(**{"country": None, **values})
        return self.Lead.browse(self.Lead.submit_service_request(payload)["id"])

    def send(self):
        return self.Notice._send_pending()

    def told(self, lead):
        """{event: customer messages in the chatter} after a sending run."""
        self.send()
        lead.invalidate_recordset()
        messages = lead.message_ids.filtered(lambda m: m.subtype_id == self.subtype)
        notices = lead.service_notice_ids.filtered(lambda n: n.state == "sent")
        self.assertEqual(len(messages), len(notices))
        return {notice.event: len(notice.message_id) for notice in notices}

    def mails_to(self, address):
        return self.env["mail.mail"].search([("email_to", "ilike", address)])

    def test_arrival_accepted_appointment_once_each(self):
        lead = self.request()
        self.assertEqual(lead.routing_state, "offered")
        self.assertEqual(self.told(lead), {"arrival": 1})
        mail = self.mails_to("eva.neu@example.org")
        self.assertEqual(len(mail), 1)
        self.assertIn("SR-", mail.subject)
        self.assertIn(lead._service_notice_reference(), mail.body_html)
        # routing again and telling again change nothing
        lead._service_notify_customer("arrival")
        lead.action_service_reroute()
        self.assertEqual(self.told(lead), {"arrival": 1})
        # not before it is accepted
        lead._service_notify_customer("accepted")
        self.assertEqual(self.told(lead), {"arrival": 1})
        technician = lead.technician_id
        lead.action_service_accept(offer_id=lead.service_offer_id.id)
        self.assertEqual(self.told(lead), {"arrival": 1, "accepted": 1})
        message = lead.service_notice_ids.filtered(lambda n: n.event == "accepted").message_id
        self.assertIn(lead._service_notice_technician_name(), message.body)
        # never the technician's own address or phone
        self.assertNotIn(technician.email, message.body)
        self.assertNotIn(technician.email, self.mails_to("eva.neu@example.org").mapped("body_html")[0])
        lead.agreed_appointment = in_days(3)
        lead.agreed_appointment = in_days(4)
        self.assertEqual(self.told(lead), {"arrival": 1, "accepted": 1, "appointment": 1})
        self.assertEqual(len(self.mails_to("eva.neu@example.org")), 3)
        # the chatter shows each message, authored by the company
        messages = lead.message_ids.filtered(lambda m: m.subtype_id == self.subtype)
        self.assertEqual(len(messages), 3)
        self.assertEqual(messages.author_id, lead.company_id.partner_id)

    def test_none_when_asked_for_none(self):
        lead = self.request(notify_customer=False)
        self.assertFalse(lead.notify_customer)
        lead.action_service_accept(offer_id=lead.service_offer_id.id)
        lead.agreed_appointment = in_days(2)
        self.assertEqual(self.told(lead), {})
        self.assertFalse(lead.service_notice_ids)
        self.assertFalse(self.mails_to("eva.neu@example.org"))
        # the flag is a yes or no
        with self.assertRaisesMessage(ValidationError, "notify_customer must be true or false"):
            self.request(notify_customer="no")
        self.assertTrue(self.request(notify_customer=True, name="Other").notify_customer)

    def test_inquiry_in_review_gets_the_arrival_message_only(self):
        lead = self.request(equipment="GAS", name="Gas boiler smells")
        self.assertTrue(lead.safety_critical)
        self.assertEqual(lead.routing_state, "review")
        for event in ("accepted", "appointment", "maintenance"):
            lead._service_notify_customer(event)
        self.assertEqual(self.told(lead), {"arrival": 1})

    def test_maintenance_message_when_a_plan_opens_the_inquiry(self):
        self.customer.lang = "en_US"
        plan = self.env["service.maintenance.plan"].create(
            {"name": "Yearly maintenance", "equipment_id": self.equipment.id, "next_due_date": "2026-06-15"}
        )
        with freeze_time("2026-06-05 06:00:00"):
            lead = self.env["service.maintenance.plan"]._open_due_maintenance()
            self.assertEqual(lead.service_maintenance_plan_id, plan)
            self.assertEqual(self.told(lead), {"maintenance": 1})
            mail = self.mails_to("huber@example.com")
            self.assertEqual(len(mail), 1)
            self.assertIn("HP-0001", mail.subject)
            self.assertIn("06/15/2026", mail.body_html)
            lead._service_notify_customer("maintenance")
            lead._service_notify_customer("arrival")
            self.assertEqual(self.told(lead), {"maintenance": 1})

    def test_maintenance_message_waits_while_in_review(self):
        equipment = self.env["service.equipment"].create(
            {
                "serial_number": "GAS-0001",
                "equipment_type_id": self.type_gas.id,
                "partner_id": self.customer.id,
                "contract_id": self.contract.id,
                "zip": "81675",
                "country_id": self.de.id,
            }
        )
        self.env["service.maintenance.plan"].create(
            {"name": "Gas safety check", "equipment_id": equipment.id, "next_due_date": "2026-06-15"}
        )
        with freeze_time("2026-06-05 06:00:00"):
            lead = self.env["service.maintenance.plan"]._open_due_maintenance()
            self.assertEqual(lead.routing_state, "review")
            self.assertEqual(self.told(lead), {})
            self.assertEqual(lead.service_notice_ids.state, "held")
            # a dispatcher assigns it: the held message goes out with the next run
            self.tech_bernd.service_equipment_type_ids |= self.type_gas
            wizard = self.env["crm.lead.assign"].create({"lead_id": lead.id, "technician_id": self.tech_bernd.id})
            wizard.action_assign()
            self.assertEqual(lead.routing_state, "offered")
            self.assertEqual(self.told(lead), {"maintenance": 1})

    def test_german_customer_gets_german_mails(self):
        self.env["res.lang"]._activate_lang("de_DE")
        self.env["ir.module.module"].search([("name", "=", "crm_service_routing")])._update_translations(["de_DE"])
        lead = self.request(email="kunde@example.de")
        lead.partner_id = self.env["res.partner"].create(
            {"name": "Kunde", "email": "kunde@example.de", "lang": "de_DE"}
        )
        self.told(lead)
        mail = self.mails_to("kunde@example.de")
        self.assertIn("Wir haben Ihre Anfrage", mail.subject)

    def test_german_customer_reads_the_maintenance_inquiry_in_german(self):
        self.env["res.lang"]._activate_lang("de_DE")
        self.env["ir.module.module"].search([("name", "=", "crm_service_routing")])._update_translations(["de_DE"])
        self.customer.lang = "de_DE"
        self.equipment.equipment_type_id.with_context(lang="de_DE").name = "Luft/Wasser-Wärmepumpe"
        english = self.equipment.equipment_type_id.with_context(lang="en_US").name
        self.env["service.maintenance.plan"].create(
            {"name": "Jahreswartung", "equipment_id": self.equipment.id, "next_due_date": "2026-06-15"}
        )
        with freeze_time("2026-06-05 06:00:00"):
            lead = self.env["service.maintenance.plan"]._open_due_maintenance()
            # the back office reads the inquiry's name in the company's language
            self.assertIn(english, lead.name)
            lead.action_service_accept(offer_id=lead.service_offer_id.id)
            self.assertEqual(self.told(lead), {"maintenance": 1, "accepted": 1})
        mail = self.mails_to("huber@example.com").filtered(lambda m: "meldet sich" in m.subject)
        self.assertEqual(len(mail), 1)
        self.assertIn("Jahreswartung – Luft/Wasser-Wärmepumpe (HP-0001)", mail.body_html)
        self.assertNotIn(english, mail.body_html)

    def test_sending_checks_again(self):
        lead = self.request()
        lead.action_service_accept(offer_id=lead.service_offer_id.id)
        # declined before the run: no "technician found" for a technician who is gone
        lead.action_service_decline("capacity", offer_id=lead.service_offer_id.id)
        self.send()
        accepted = lead.service_notice_ids.filtered(lambda n: n.event == "accepted")
        self.assertEqual(accepted.state, "skipped")
        self.assertEqual(accepted.skip_reason, "not accepted")
        with freeze_time(datetime.datetime.now() + datetime.timedelta(days=1)):
            self.assertFalse(self.send())
