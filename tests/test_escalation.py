# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Answer deadlines, escalation ladders and follow-up, with frozen time."""

import datetime
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.mail.tests.common import mail_new_test_user

from ..engine import escalation as engine
from ..models import service_outbox
from ..models.service_offer_escalation import RETRY_DELAY, WAKE_KEY
from .common import ServiceRoutingCase

T0 = datetime.datetime(2026, 3, 2, 8, 0)  # a Monday, 09:00 in Munich
ESCALATION_LOGGER = "odoo.addons.crm_service_routing.models.service_offer_escalation"


def at(hours, start=T0):
    return start + datetime.timedelta(hours=hours)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestEscalationEngine(ServiceRoutingCase):
    def test_due_steps_stop_at_a_closing_stage(self):
        ladder = [engine.Stage(1, 4, "remind"), engine.Stage(2, 24, "reassign"), engine.Stage(3, 48, "notify")]

        def due(index):
            return at(ladder[index].after_hours)

        self.assertEqual(engine.due_steps(ladder, 0, due, at(3)), [])
        self.assertEqual(engine.due_steps(ladder, 0, due, at(5)), [0])
        self.assertEqual(engine.due_steps(ladder, 1, due, at(5)), [])
        self.assertEqual(engine.due_steps(ladder, 0, due, at(100)), [0, 1])
        self.assertEqual(engine.due_steps(ladder, 2, due, at(100)), [2])
        self.assertEqual(engine.due_steps(ladder, 3, due, at(100)), [])

    def test_followup_decision(self):
        self.assertEqual(engine.followup_decision(at(10), at(5), 0), engine.FOLLOWUP_WAIT)
        self.assertEqual(engine.followup_decision(at(10), at(11), 0), engine.FOLLOWUP_REMIND)
        self.assertEqual(engine.followup_decision(at(10), at(11), 1), engine.FOLLOWUP_NOTIFY)
        self.assertEqual(engine.followup_decision(at(10), at(11), 2), engine.FOLLOWUP_DONE)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestEscalation(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.standard = cls.env.ref("crm_service_routing.service_level_standard")
        cls.premium = cls.env.ref("crm_service_routing.service_level_premium")
        cls.managers = cls.env["res.groups"].create(
            {"name": "Premium Channel Managers", "users": [Command.link(cls.user_manager.id)]}
        )
        cls.standard.write({"escalation_user_id": cls.user_manager.id, "resource_calendar_id": False})
        cls.premium.write({"escalation_group_id": cls.managers.id, "resource_calendar_id": False})
        cls.company.service_calendar_id = False
        (cls.tech_anna | cls.tech_carla).write({"service_level_ids": [Command.link(cls.premium.id)]})
        # 80331, heat pump: Anna and Carla cover it, Bernd does not
        cls.pair = cls.tech_anna | cls.tech_carla
        cls.Offer = cls.env["service.offer"]

    def inquiry(self, level, when=T0, **values):
        with freeze_time(when):
            lead = self._create_inquiry(service_level_id=level.id, **values)
        self.assertEqual(lead.routing_state, "offered")
        return lead

    def escalate(self, when):
        with freeze_time(when):
            return self.Offer._escalate()

    def follow_up(self, when):
        with freeze_time(when):
            return self.Offer._follow_up()

    def mails(self, offers, template_xmlid):
        """The mails of one template sent for ``offers`` (told apart by their subjects)."""
        match = {
            "mail_template_offer_new": lambda subject: subject.startswith("New inquiry"),
            "mail_template_offer_reminder": lambda subject: subject.startswith("Reminder:"),
            "mail_template_escalation_manager": lambda subject: subject.startswith("Escalation:"),
            "mail_template_followup_reminder": lambda subject: subject.startswith("Follow-up:"),
            "mail_template_followup_manager": lambda subject: subject.startswith("Follow-up missed:"),
        }[template_xmlid]
        mails = self.env["mail.mail"].search([("model", "=", "service.offer"), ("res_id", "in", offers.ids)])
        return mails.filtered(lambda mail: match(mail.subject or ""))

    def manager_activities(self, lead, user):
        return lead.activity_ids.filtered(lambda a: a.user_id == user)

    # ------------------------------------------------------------
    # deadline and ladder
    # ------------------------------------------------------------

    def test_answer_deadline_and_next_stage(self):
        lead = self.inquiry(self.standard)
        offer = lead.service_offer_id
        self.assertEqual(offer.service_level_id, self.standard)
        self.assertEqual(offer.answer_deadline, at(24))
        self.assertEqual(offer.next_escalation_at, at(4))
        self.assertEqual(offer.next_escalation_action, "remind")
        self.assertEqual(lead.service_answer_deadline, at(24))
        self.assertEqual(lead.service_next_escalation_at, at(4))
        self.assertEqual(lead.service_next_escalation_action, "remind")
        premium = self.inquiry(self.premium).service_offer_id
        self.assertEqual(premium.answer_deadline, at(4))
        self.assertEqual(premium.next_escalation_at, at(1))
        # the scheduled action is woken for it, not polled
        cron = self.env.ref("crm_service_routing.ir_cron_service_escalate")
        self.assertTrue(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id), ("call_at", "<=", at(1))]))

    def test_a_ladder_edited_applies_to_the_next_offer(self):
        """The ladders are kept for the registry: an edit, a new stage and a stage removed reach the next offer."""
        self.assertEqual(self.inquiry(self.standard).service_offer_id.next_escalation_at, at(4))
        remind = self.standard.escalation_stage_ids.filtered(lambda stage: stage.action == "remind")
        remind.after_hours = 2
        offer = self.inquiry(self.standard).service_offer_id
        self.assertEqual((offer.next_escalation_at, offer.next_escalation_action), (at(2), "remind"))
        early = self.env["service.escalation.stage"].create(
            {"level_id": self.standard.id, "after_hours": 1, "action": "notify"}
        )
        offer = self.inquiry(self.standard).service_offer_id
        self.assertEqual((offer.next_escalation_at, offer.next_escalation_stage_id), (at(1), early))
        (early | remind).unlink()
        offer = self.inquiry(self.standard).service_offer_id
        self.assertEqual((offer.next_escalation_at, offer.next_escalation_action), (at(24), "reassign"))
        # the premium tier's ladder is its own
        self.assertEqual(self.inquiry(self.premium).service_offer_id.next_escalation_at, at(1))

    def test_an_archived_escalation_action_is_not_woken(self):
        cron = self.env.ref("crm_service_routing.ir_cron_service_escalate")
        Trigger = self.env["ir.cron.trigger"]
        # its next call after the offers' first stage: only a trigger wakes it for them
        cron.write({"active": False, "nextcall": at(1000)})
        before = Trigger.search_count([("cron_id", "=", cron.id)])
        self.inquiry(self.standard)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), before)
        cron.active = True
        self.inquiry(self.standard)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), before + 1)

    def test_woken_once_per_moment_and_its_workers_told_once(self):
        """One statement wakes the action: a second wake for the same moment makes no second trigger,
        a wake undone with a savepoint is made again, and its workers are told once per transaction."""
        cron = self.env.ref("crm_service_routing.ir_cron_service_escalate")
        Trigger = self.env["ir.cron.trigger"]
        # its next call is far off: only a trigger of this test wakes it
        cron.nextcall = at(1000)
        self.env.cr.postcommit.clear()

        def triggers():
            return Trigger.search([("cron_id", "=", cron.id), ("call_at", ">=", at(0)), ("call_at", "<=", at(6))])

        def workers_told():
            return sum(1 for func in self.env.cr.postcommit._funcs if getattr(func, "__name__", "") == "_notifydb")

        with freeze_time(at(0)):
            before = triggers()
            with self.assertQueryCount(1):
                self.Offer._service_wake(at(5))
            made = triggers() - before
            self.assertEqual(made.call_at, at(5))
            self.assertEqual(made.create_uid, self.env.user)
            self.Offer._service_wake(at(5))
            self.Offer._service_wake(at(6))
            self.assertEqual(triggers() - before, made, "the trigger at 5 h runs it by 6 h")
            self.assertEqual(workers_told(), 0, "nothing due yet: the workers find it at their next poll")
            # a trigger undone with its savepoint no longer counts
            self.env.cr.postcommit.clear()
            with self.assertRaisesRegex(RuntimeError, "undone"), self.env.cr.savepoint():
                self.Offer._service_wake(at(4))
                self.assertTrue(triggers().filtered(lambda trigger: trigger.call_at == at(4)))
                raise RuntimeError("undone")
            self.Offer._service_wake(at(4))
            self.assertEqual(len(triggers().filtered(lambda trigger: trigger.call_at == at(4))), 1)
            # due now: the workers are told after the commit, once for the transaction; a due trigger
            # this transaction made counts as well (no run can use it up before the commit)
            self.Offer._service_wake(at(0))
            self.Offer._service_wake(at(0))
            self.assertEqual(len(triggers().filtered(lambda trigger: trigger.call_at == at(0))), 1)
            self.env.cr.postcommit.data.pop(WAKE_KEY)
            self.Offer._service_wake(at(0))
            self.assertEqual(len(triggers().filtered(lambda trigger: trigger.call_at == at(0))), 2)
            self.assertEqual(workers_told(), 1)
            # its next call still to come runs it by then: no trigger
            self.env.cr.postcommit.data.pop(WAKE_KEY)
            cron.nextcall = at(2)
            before = triggers()
            self.Offer._service_wake(at(3))
            self.assertEqual(triggers(), before, "its next call at 2 h runs it by 3 h")
            # a next call due now may be the one a running action has already taken: a trigger
            cron.nextcall = at(0)
            self.Offer._service_wake(at(3))
            self.assertEqual((triggers() - before).call_at, at(3))

    def test_standard_ladder(self):
        """Standard: remind after 4 h, reassign after 24 h, notify the channel manager after 48 h."""
        lead = self.inquiry(self.standard)
        first = lead.service_offer_id
        self.assertFalse(self.escalate(at(3, T0)))
        # 4 h: a reminder to the technician, once
        self.assertEqual(self.escalate(at(4)), first)
        self.assertEqual(len(self.mails(first, "mail_template_offer_reminder")), 1)
        self.assertEqual(first.escalation_step, 1)
        self.assertEqual(first.next_escalation_at, at(24))
        self.assertEqual(lead.service_next_escalation_action, "reassign")
        self.assertFalse(self.escalate(at(5)))
        self.assertEqual(len(self.mails(first, "mail_template_offer_reminder")), 1)
        # 24 h: reassigned through the routing engine, logged; the ladder starts again
        self.assertEqual(self.escalate(at(24)), first)
        self.assertEqual(first.state, "expired")
        second = lead.service_offer_id
        self.assertEqual(second.state, "offered")
        self.assertEqual(second.technician_id, self.pair - first.technician_id)
        self.assertEqual(lead.technician_id, second.technician_id)
        self.assertEqual(lead.routing_log_ids.sorted("id")[-1].trigger, "escalation")
        self.assertEqual(second.offered_at, at(24))
        self.assertEqual(second.next_escalation_at, at(28))
        self.assertEqual(second.escalation_step, 0)
        # the new technician's offer mail goes out with the offers' notifications, once
        self.assertFalse(self.mails(second, "mail_template_offer_new"))
        with freeze_time(at(24)):
            self.Offer._service_send_notifications()
        self.assertEqual(len(self.mails(second, "mail_template_offer_new")), 1)
        # the expired technician is not offered the inquiry again: the second one keeps it
        third = second
        # no other eligible technician at the reassign stage: the offer stays, the ladder goes on to notify
        self.assertEqual(self.escalate(at(48)), third)
        self.assertEqual(third.state, "offered")
        self.assertEqual(third.escalation_step, 2)
        self.assertEqual(third.next_escalation_action, "notify")
        self.assertEqual(third.next_escalation_at, at(72))
        self.assertIn("no other eligible technician", "".join(lead.message_ids.mapped("body")))
        self.assertEqual(self.escalate(at(72)), third)
        self.assertEqual(len(self.manager_activities(lead, self.user_manager)), 1)
        manager_mails = self.mails(third, "mail_template_escalation_manager")
        self.assertEqual(len(manager_mails), 1)
        self.assertEqual(manager_mails.recipient_ids, self.user_manager.partner_id)
        self.assertFalse(third.next_escalation_at)
        self.assertFalse(self.escalate(at(200)))

    def test_premium_ladder(self):
        """Premium: remind after 1 h, reassign after 4 h, notify after 8 h."""
        lead = self.inquiry(self.premium)
        first = lead.service_offer_id
        self.assertFalse(self.escalate(at(0.9)))
        self.assertEqual(self.escalate(at(1)), first)
        self.assertEqual(len(self.mails(first, "mail_template_offer_reminder")), 1)
        self.assertEqual(self.escalate(at(4)), first)
        self.assertEqual(first.state, "expired")
        second = lead.service_offer_id
        self.assertEqual(second.technician_id, self.pair - first.technician_id)
        self.assertEqual(second.answer_deadline, at(8))
        # the new technician's ladder: remind at 5 h, reassign at 8 h (nobody else: kept), notify at 12 h
        self.assertEqual(self.escalate(at(5)), second)
        self.assertEqual(len(self.mails(second, "mail_template_offer_reminder")), 1)
        self.assertEqual(self.escalate(at(8)), second)
        self.assertEqual(second.state, "offered")
        self.assertEqual(self.escalate(at(12)), second)
        self.assertEqual(len(self.manager_activities(lead, self.user_manager)), 1)
        self.assertEqual(len(self.mails(second, "mail_template_escalation_manager")), 1)

    def test_overdue_stages_fire_in_order_once(self):
        """A late run fires every due stage once, in order, up to the one that closes the offer."""
        lead = self.inquiry(self.premium)
        first = lead.service_offer_id
        # the new offer (made at 30 h) has its own ladder, not due yet
        self.assertEqual(self.escalate(at(30)), first)
        self.assertEqual(first.state, "expired")
        self.assertEqual(len(self.mails(first, "mail_template_offer_reminder")), 1)

    def test_review_stage(self):
        level = self.level_standard
        level.escalation_stage_ids = [
            Command.create({"after_hours": 2, "action": "remind"}),
            Command.create({"after_hours": 6, "action": "review"}),
        ]
        lead = self.inquiry(level)
        offer = lead.service_offer_id
        self.assertEqual(self.escalate(at(2)), offer)
        self.assertEqual(self.escalate(at(6)), offer)
        self.assertEqual(offer.state, "expired")
        self.assertEqual(lead.routing_state, "review")
        self.assertEqual(lead.review_reason, "unanswered")
        self.assertFalse(lead.technician_id)
        self.assertFalse(self.escalate(at(7)))

    def test_accepted_offer_does_not_escalate(self):
        lead = self.inquiry(self.standard)
        offer = lead.service_offer_id
        with freeze_time(at(2)):
            lead.action_service_accept(offer_id=offer.id)
        self.assertFalse(self.escalate(at(100)))
        self.assertFalse(self.mails(offer, "mail_template_offer_reminder"))

    def test_cron_twice_does_nothing_the_second_time(self):
        leads = self.inquiry(self.standard) | self.inquiry(self.premium)
        offers = leads.service_offer_id
        with freeze_time(at(2)):
            escalated, _followed = self.Offer._cron_escalate()
            self.assertEqual(escalated, offers.filtered(lambda o: o.service_level_id == self.premium))
            mails = self.env["mail.mail"].search_count([])
            messages = self.env["mail.message"].search_count([])
            escalated, followed = self.Offer._cron_escalate()
            self.assertFalse(escalated)
            self.assertFalse(followed)
            self.assertEqual(self.env["mail.mail"].search_count([]), mails)
            self.assertEqual(self.env["mail.message"].search_count([]), messages)
        # woken again for the next due stage (the standard reminder at 4 h)
        cron = self.env.ref("crm_service_routing.ir_cron_service_escalate")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id), ("call_at", "=", at(4))]))

    # ------------------------------------------------------------
    # working hours
    # ------------------------------------------------------------

    def make_calendar(self):
        return self.env["resource.calendar"].create(
            {
                "name": "Mo-Fr 8-16",
                "tz": "Europe/Berlin",
                "attendance_ids": [Command.clear()]
                + [
                    Command.create(
                        {
                            "name": f"Day {day}",
                            "dayofweek": str(day),
                            "hour_from": 8,
                            "hour_to": 16,
                            "day_period": "morning",
                        }
                    )
                    for day in range(5)
                ],
            }
        )

    def test_working_hours_across_a_weekend(self):
        self.premium.resource_calendar_id = self.make_calendar()
        friday = datetime.datetime(2026, 3, 6, 14, 0)  # 15:00 in Munich
        lead = self.inquiry(self.premium, when=friday)
        offer = lead.service_offer_id
        monday = datetime.datetime(2026, 3, 9)
        # 4 working hours: 1 on Friday (15-16), 3 on Monday (8-11) = 10:00 UTC
        self.assertEqual(offer.answer_deadline, monday.replace(hour=10))
        self.assertEqual(offer.next_escalation_at, friday.replace(hour=15))
        self.assertEqual(self.escalate(datetime.datetime(2026, 3, 7, 12, 0)), offer)  # Saturday: the reminder
        self.assertEqual(offer.next_escalation_at, monday.replace(hour=10))
        self.assertFalse(self.escalate(datetime.datetime(2026, 3, 8, 20, 0)))  # Sunday night: nothing
        self.assertFalse(self.escalate(monday.replace(hour=9, minute=59)))
        self.assertEqual(self.escalate(monday.replace(hour=10)), offer)
        self.assertEqual(offer.state, "expired")

    def test_company_working_hours_when_the_tier_has_none(self):
        self.company.service_calendar_id = self.make_calendar()
        friday = datetime.datetime(2026, 3, 6, 14, 0)
        offer = self.inquiry(self.standard, when=friday).service_offer_id
        # 24 working hours from Friday 15:00: 1 + 8 (Mon) + 8 (Tue) + 7 (Wed 8-15) = Wednesday 14:00 UTC
        self.assertEqual(offer.answer_deadline, datetime.datetime(2026, 3, 11, 14, 0))
        # 4 h: 1 on Friday, 3 on Monday
        self.assertEqual(offer.next_escalation_at, datetime.datetime(2026, 3, 9, 10, 0))

    # ------------------------------------------------------------
    # follow-up after acceptance
    # ------------------------------------------------------------

    def accepted(self, level, hours=1):
        lead = self.inquiry(level)
        offer = lead.service_offer_id
        # the technician has a portal user: the follow-up activity is theirs
        self.env["res.users"].create(
            {
                "login": f"tech{offer.technician_id.id}",
                "partner_id": offer.technician_id.id,
                "groups_id": [Command.set([self.env.ref("base.group_portal").id])],
            }
        )
        with freeze_time(at(hours)):
            lead.action_service_accept(offer_id=offer.id)
        return lead, offer

    def test_followup_path(self):
        lead, offer = self.accepted(self.standard)
        self.assertEqual(offer.followup_due_at, at(49))
        self.assertEqual(lead.service_followup_due_at, at(49))
        self.assertFalse(self.follow_up(at(48)))
        # first miss: an activity for the technician and a reminder
        self.assertEqual(self.follow_up(at(49)), offer)
        technician_user = offer.technician_id.user_ids
        self.assertEqual(len(lead.activity_ids.filtered(lambda a: a.user_id == technician_user)), 1)
        self.assertEqual(len(self.mails(offer, "mail_template_followup_reminder")), 1)
        self.assertEqual(offer.followup_count, 1)
        self.assertEqual(offer.followup_due_at, at(97))
        self.assertFalse(self.follow_up(at(50)))
        # second miss: the channel manager
        self.assertEqual(self.follow_up(at(97)), offer)
        self.assertEqual(len(self.manager_activities(lead, self.user_manager)), 1)
        self.assertEqual(len(self.mails(offer, "mail_template_followup_manager")), 1)
        self.assertFalse(offer.followup_due_at)
        self.assertFalse(self.follow_up(at(500)))
        self.assertEqual(len(self.mails(offer, "mail_template_followup_reminder")), 1)

    def test_channel_manager_mails_in_each_managers_zone_and_language(self):
        """Each channel manager reads the times of a mail in their own zone and language; the technician
        in theirs."""
        self.env["res.lang"]._activate_lang("de_DE")
        self.user_manager.write({"tz": "Europe/Berlin", "lang": "en_US"})
        london = mail_new_test_user(
            self.env,
            login="svc_manager_london",
            groups="sales_team.group_sale_salesman,crm_service_routing.group_service_manager",
            name="Lea London",
            tz="Europe/London",
            lang="de_DE",
        )
        self.standard.escalation_group_id = self.env["res.groups"].create(
            {"name": "UK Channel Managers", "users": [Command.link(london.id)]}
        )
        self.pair.write({"tz": "America/New_York"})
        # accepted at 09:00 UTC: 04:00 in New York, 10:00 in Berlin, 09:00 in London
        lead, offer = self.accepted(self.standard)
        self.follow_up(at(49))
        reminder = self.mails(offer, "mail_template_followup_reminder")
        self.assertIn("03/02/2026 04:00 EST", str(reminder.body_html))
        self.follow_up(at(97))
        mails = self.env["mail.mail"].search(
            [("model", "=", "service.offer"), ("res_id", "=", offer.id), ("recipient_ids", "!=", False)]
        )
        berlin = mails.filtered(lambda mail: mail.recipient_ids == self.user_manager.partner_id)
        uk = mails.filtered(lambda mail: mail.recipient_ids == london.partner_id)
        self.assertEqual((len(berlin), len(uk)), (1, 1))
        self.assertIn("03/02/2026 10:00 CET", str(berlin.body_html))
        self.assertIn("02.03.2026 09:00 GMT", str(uk.body_html))
        for mail in berlin | uk:
            self.assertNotIn("EST", str(mail.body_html))
        self.assertEqual(len(self.manager_activities(lead, london)), 1)

    def test_followup_counts_from_the_last_activity(self):
        lead, offer = self.accepted(self.premium)
        self.assertEqual(offer.followup_due_at, at(25))
        with freeze_time(at(10)):
            lead.message_post(body="Called the customer", message_type="comment", subtype_xmlid="mail.mt_note")
        self.assertEqual(lead.service_activity_at, at(10))
        # due by the acceptance, not by the last activity: rescheduled, nothing sent
        self.assertEqual(self.follow_up(at(25)), offer)
        self.assertEqual(offer.followup_due_at, at(34))
        self.assertFalse(self.mails(offer, "mail_template_followup_reminder"))
        # an agreed appointment is activity too
        with freeze_time(at(30)):
            lead.agreed_appointment = at(72)
        self.follow_up(at(34))
        self.assertEqual(offer.followup_due_at, at(54))
        self.assertFalse(self.mails(offer, "mail_template_followup_reminder"))
        # a done activity is activity too
        with freeze_time(at(40)):
            activity = lead.activity_schedule("mail.mail_activity_data_call", user_id=self.user_manager.id)
            activity.action_feedback(feedback="Customer reached")
        self.assertEqual(lead.service_activity_at, at(40))
        self.follow_up(at(54))
        self.assertEqual(offer.followup_due_at, at(64))
        self.assertEqual(self.follow_up(at(64)), offer)
        self.assertEqual(len(self.mails(offer, "mail_template_followup_reminder")), 1)

    # ------------------------------------------------------------
    # templates
    # ------------------------------------------------------------

    def test_every_template_renders_with_real_data(self):
        lead = self.inquiry(self.premium, phone="+49 89 7654321")
        offer = lead.service_offer_id
        with freeze_time(at(1)):
            lead.action_service_accept(offer_id=offer.id)
        for xmlid in (
            "mail_template_offer_new",
            "mail_template_offer_reminder",
            "mail_template_escalation_manager",
            "mail_template_followup_reminder",
            "mail_template_followup_manager",
        ):
            template = self.env.ref(f"crm_service_routing.{xmlid}")
            self.assertEqual(template.model, "service.offer")
            body = str(template._render_field("body_html", offer.ids)[offer.id])
            subject = template._render_field("subject", offer.ids)[offer.id]
            self.assertIn(lead.name, body, xmlid)
            self.assertIn(lead.name, subject, xmlid)
            if xmlid in ("mail_template_escalation_manager", "mail_template_followup_manager"):
                # internal recipients: the inquiry in the back office
                self.assertIn(f"res_id={lead.id}", body, xmlid)
            else:
                # the technician: the offer's login-free link
                self.assertIn(f"/my/service/offer/{offer.id}?access_token={offer.access_token}", body, xmlid)
            self.assertIn(offer.technician_id.name, body, xmlid)
            # plain placeholders only: editable by any template editor, rendered without compiling QWeb
            self.assertFalse(template._has_unsafe_expression_template_qweb(template.body_html, "service.offer"), xmlid)
            if template.partner_to:
                self.assertEqual(template._render_field("partner_to", offer.ids)[offer.id], str(offer.technician_id.id))
        new_body = str(
            self.env.ref("crm_service_routing.mail_template_offer_new")._render_field("body_html", offer.ids)[offer.id]
        )
        self.assertIn("2026", new_body)  # the answer deadline

    # ------------------------------------------------------------
    # batches
    # ------------------------------------------------------------

    def test_batch_reassigns_and_keeps_in_one_run(self):
        """One batch: an inquiry reassigned, one whose only technician keeps it (the batch tries again
        without it), each reminded once."""
        moved = self.inquiry(self.standard)
        # PV in 80331: only Carla covers it, nobody to reassign to
        kept = self.inquiry(self.standard, equipment_type_id=self.type_pv.id)
        first, only = moved.service_offer_id, kept.service_offer_id
        self.assertEqual(only.technician_id, self.tech_carla)
        self.assertEqual(self.escalate(at(24)), first | only)
        self.assertEqual(first.state, "expired")
        self.assertEqual(moved.service_offer_id.technician_id, self.pair - first.technician_id)
        self.assertIn("reassigned from", "".join(moved.message_ids.mapped("body")))
        self.assertEqual(only.state, "offered")
        self.assertEqual(kept.service_offer_id, only)
        self.assertEqual(only.escalation_step, 2)
        self.assertEqual(only.next_escalation_action, "notify")
        self.assertIn("no other eligible technician", "".join(kept.message_ids.mapped("body")))
        # the undone attempt left no routing decision behind
        self.assertEqual(len(kept.routing_log_ids), 1)
        for offer in first | only:
            self.assertEqual(len(self.mails(offer, "mail_template_offer_reminder")), 1)

    def test_reassignments_of_a_batch_are_written_together(self):
        """Three inquiries reassigned in one run: each decided on its own, each to the other technician of
        the pair, and their routing decisions and new offers written in one INSERT each."""
        leads = [self.inquiry(self.standard, name=f"Reassigned {index}") for index in range(3)]
        first = {lead: lead.service_offer_id for lead in leads}
        with self.capture_queries("INSERT INTO") as queries:
            self.escalate(at(24))
        written = ('INSERT INTO "service_offer"', 'INSERT INTO "service_routing_log"')
        inserts = sorted(query.code.split('"')[1] for query in queries if query.code.lstrip().startswith(written))
        self.assertEqual(inserts, ["service_offer", "service_routing_log"])
        for lead in leads:
            self.assertEqual(first[lead].state, "expired")
            self.assertEqual(lead.service_offer_id.technician_id, self.pair - first[lead].technician_id)
            self.assertEqual(lead.routing_log_ids.sorted("id")[-1].trigger, "escalation")
            self.assertIn("reassigned from", "".join(lead.message_ids.mapped("body")))

    def test_a_failing_offer_is_retried_and_the_others_are_escalated(self):
        leads = [self.inquiry(self.standard, name=f"Batch {index}") for index in range(4)]
        offers = self.Offer.union(*(lead.service_offer_id for lead in leads))
        broken_reminder, broken_reassign = offers[0], offers[2]
        real_mail = service_outbox.Outbox.mail
        real_decide = type(self.env["crm.lead"])._service_decide

        def mail(outbox, template_xmlid, offer):
            if broken_reminder in offer:
                raise ValueError("template broken for this offer")
            return real_mail(outbox, template_xmlid, offer)

        def decide(lead, exclude=(), batch=None):
            if lead == broken_reassign.lead_id:
                raise ValueError("routing broken for this inquiry")
            return real_decide(lead, exclude=exclude, batch=batch)

        # 4 h: reminders; the first offer's fails
        with patch.object(service_outbox.Outbox, "mail", mail), mute_logger(ESCALATION_LOGGER):
            self.assertEqual(self.escalate(at(4)), offers)
        self.assertEqual(broken_reminder.escalation_step, 0)
        self.assertEqual(broken_reminder.next_escalation_at, at(4) + RETRY_DELAY)
        self.assertFalse(self.mails(broken_reminder, "mail_template_offer_reminder"))
        for offer in offers - broken_reminder:
            self.assertEqual(offer.escalation_step, 1)
            self.assertEqual(len(self.mails(offer, "mail_template_offer_reminder")), 1)
        # 24 h: reassignments (the first offer reminded at last); the third one's routing fails
        with patch.object(type(self.env["crm.lead"]), "_service_decide", decide), mute_logger(ESCALATION_LOGGER):
            self.assertEqual(self.escalate(at(24)), offers)
        self.assertEqual(broken_reassign.state, "offered")
        self.assertEqual(broken_reassign.escalation_step, 1)
        self.assertEqual(broken_reassign.next_escalation_at, at(24) + RETRY_DELAY)
        self.assertEqual(len(self.mails(broken_reminder, "mail_template_offer_reminder")), 1)
        for offer in offers - broken_reassign:
            self.assertEqual(offer.state, "expired")
            self.assertEqual(offer.lead_id.service_offer_id.technician_id, self.pair - offer.technician_id)
        # retried later, and then reassigned
        self.assertEqual(self.escalate(at(25)), broken_reassign)
        self.assertEqual(broken_reassign.state, "expired")
