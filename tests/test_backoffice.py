# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
from unittest.mock import patch

from odoo import fields, tools
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.crm_service_routing.models.crm_lead import REVIEW_TODO_DELAY

from .common import ServiceRoutingCase


@tagged("post_install", "-at_install")
class TestBackoffice(ServiceRoutingCase):
    """The dispatcher's back office: assign, replay, route again, review to-dos, the service team."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.service_team = cls.env.ref("crm_service_routing.crm_team_service")
        cls.service_team.user_id = cls.user_dispatcher
        cls.review_type = cls.env.ref("crm_service_routing.mail_activity_type_service_review")

    def _technician_user(self, technician, login):
        contact = self.env["res.partner"].create({"name": f"{technician.name} office", "parent_id": technician.id})
        user = new_test_user(self.env, login=login, groups="sales_team.group_sale_salesman", partner_id=contact.id)
        if "service_technician_id" in user._fields:
            user.service_technician_id = technician
        return user

    def _tracked(self):
        """This test's env with chatter tracking on (the fixtures turn it off)."""
        return self.env(context=dict(self.env.context, tracking_disable=False, mail_notrack=False))

    def _flush_tracking(self):
        self.env.flush_all()
        self.env.cr.precommit.run()

    # ------------------------------------------------------------
    # assign technician
    # ------------------------------------------------------------

    def test_assign_opens_saved_and_each_candidate_offers_in_one_click(self):
        gas = self._create_inquiry(equipment_type_id=self.type_gas.id)
        self.tech_anna.service_equipment_type_ids = [(4, self.type_gas.id)]
        action = gas.with_user(self.user_dispatcher).action_service_open_assign()
        self.assertEqual((action["res_model"], action["target"]), ("crm.lead.assign", "new"))
        wizard = self.env["crm.lead.assign"].with_user(self.user_dispatcher).browse(action["res_id"])
        self.assertTrue(wizard.exists(), "the wizard is saved: its rows' buttons need no save first")
        anna = wizard.line_ids.filtered(lambda line: line.technician_id == self.tech_anna)
        self.assertEqual((anna.eligible, anna.rank), (True, 1))
        # words of a dispatcher, not of the engine
        for line in wizard.line_ids:
            self.assertNotRegex(line.detail, r"credit|rotation|[+-]\d\.\d\d")
        self.assertIn("jobs open", anna.detail)
        self.assertIn("1 of 2 technicians who cover 80331 München", wizard.summary)
        carla = wizard.line_ids.filtered(lambda line: line.technician_id == self.tech_carla)
        self.assertEqual(carla.detail, "Not trained for this safety-critical equipment")
        result = anna.action_pick()
        self.assertEqual(result["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.assertEqual((gas.routing_state, gas.technician_id), ("offered", self.tech_anna))
        self.assertEqual(gas.routing_log_ids.sorted("id")[-1].chosen_by, "dispatcher")

    def test_assign_warns_before_a_safety_critical_job_goes_to_the_untrained(self):
        gas = self._create_inquiry(equipment_type_id=self.type_gas.id)
        action = gas.with_user(self.user_dispatcher).action_service_open_assign()
        wizard = self.env["crm.lead.assign"].with_user(self.user_dispatcher).browse(action["res_id"])
        carla = wizard.line_ids.filtered(lambda line: line.technician_id == self.tech_carla)
        self.assertFalse(carla.eligible)
        with self.assertRaisesMessage(UserError, "Carla Solar is not trained for Gas Boiler"):
            carla.action_pick()
        self.assertEqual(gas.routing_state, "review")
        wizard.technician_id = self.tech_carla
        self.assertTrue(wizard.needs_confirmation)
        self.assertIn("Safety-critical: Carla Solar is not trained for Gas Boiler", wizard.warning)
        # the row's "Offer Anyway" button asks first, then offers
        carla.with_context(service_offer_anyway=True).action_pick()
        self.assertEqual((gas.routing_state, gas.technician_id), ("offered", self.tech_carla))

    def test_assign_explains_an_empty_list(self):
        lead = self._create_inquiry(zip="10115", city="Berlin")
        self.assertEqual((lead.routing_state, lead.review_reason), ("review", "no_candidate"))
        action = lead.with_user(self.user_dispatcher).action_service_open_assign()
        wizard = self.env["crm.lead.assign"].browse(action["res_id"])
        self.assertFalse(wizard.line_ids)
        self.assertIn("No technician has a service area that covers 10115 Berlin", wizard.summary)

    # ------------------------------------------------------------
    # replay, route again
    # ------------------------------------------------------------

    def test_replay_runs_twice(self):
        leads = self._create_inquiry() | self._create_inquiry(zip="85354")
        Replay = self.env["service.routing.replay"].with_user(self.user_dispatcher)
        wizard = Replay.create({"lead_ids": [(6, 0, leads.ids)], "mode": "facts"})
        action = wizard.action_replay()
        self.assertEqual(action["name"], "Replay Routing (Dry Run)")
        first = wizard.line_ids
        self.assertEqual(len(first), 2)
        wizard.mode = "current"
        wizard.action_replay()
        self.assertEqual(len(wizard.line_ids), 2)
        self.assertFalse(first.exists(), "the first run's lines are replaced")

    def test_route_again_asks_before_withdrawing_an_accepted_job(self):
        lead = self._create_inquiry().with_env(self._tracked())
        technician = lead.technician_id
        self._flush_tracking()
        lead.action_service_accept(offer_id=lead.service_offer_id.id)
        self.assertEqual(lead.routing_state, "accepted")
        self._flush_tracking()
        as_dispatcher = lead.with_user(self.user_dispatcher)
        action = as_dispatcher.action_service_reroute()
        self.assertEqual(action["res_model"], "crm.lead.reroute")
        self.assertEqual(lead.routing_state, "accepted", "nothing is withdrawn before the confirmation")
        confirm = self._tracked()["crm.lead.reroute"].with_user(self.user_dispatcher).browse(action["res_id"])
        self.assertIn(
            f"1 accepted job is taken away from its technician: {lead.display_name} ({technician.name})",
            confirm.summary,
        )
        result = confirm.action_confirm()
        self.assertEqual(result["tag"], "display_notification")
        self.assertEqual(lead.routing_state, "offered")
        self._flush_tracking()
        notes = lead.message_ids.mapped("body")
        self.assertTrue(any(f"the job accepted by {technician.name} was withdrawn" in body for body in notes), notes)
        tracked = lead.message_ids.tracking_value_ids.filtered(lambda value: value.field_id.name == "routing_state")
        self.assertIn(("Accepted", "Offered"), [(v.old_value_char, v.new_value_char) for v in tracked])
        self.assertEqual(
            lead.offer_ids.filtered(lambda offer: offer.technician_id == technician).mapped("state")[-1:],
            ["withdrawn"],
        )

    def test_route_again_says_where_the_inquiry_went(self):
        lead = self._create_inquiry()
        result = lead.with_user(self.user_dispatcher).action_service_reroute()
        self.assertEqual(result["tag"], "display_notification")
        self.assertIn("Offered to", result["params"]["message"])
        self.assertEqual(result["params"]["next"]["tag"], "soft_reload")
        self.assertEqual(lead.routing_log_ids.sorted("id")[-1].trigger, "rerun")

    # ------------------------------------------------------------
    # inquiries typed in the form
    # ------------------------------------------------------------

    def test_inquiry_typed_without_country_is_routed(self):
        Lead = self.env["crm.lead"].with_user(self.user_dispatcher).with_context(default_service_occasion="repair")
        form = Form(Lead, view="crm.crm_lead_view_form")
        form.name = "Heat pump fails"
        form.zip = "80331"
        form.city = "München"
        form.equipment_type_id = self.type_hp_air
        self.assertFalse(form.country_id)
        lead = form.save()
        self.assertEqual(lead.country_id, self.de)
        self.assertEqual(lead.routing_state, "offered", lead.routing_log_ids[:1].reason)
        self.assertEqual(lead.team_id, self.service_team)

    def test_corrected_address_routes_again(self):
        lead = self._create_inquiry(zip="10115", city="Berlin")
        self.assertEqual(lead.review_reason, "no_candidate")
        lead.with_user(self.user_dispatcher).write({"zip": "80331", "city": "München"})
        self.assertEqual(lead.routing_state, "offered")
        self.assertEqual(lead.routing_log_ids.sorted("id")[-1].trigger, "update")

    def test_review_to_dos_of_a_run_are_told_in_one_mail(self):
        """Inquiries held for review in one run of the backstop: a to-do on each for the team's leader and
        one mail naming them all, the safety-critical first, in the leader's language; no mail per to-do."""
        Lead = self.env["crm.lead"]
        plain = Lead.create(self._inquiry_vals(name="Pump in Berlin", zip="10115", city="Berlin"))
        gas = Lead.create(self._inquiry_vals(name="Gas boiler smells", equipment_type_id=self.type_gas.id))
        self.assertEqual((plain.review_reason, gas.review_reason), ("no_candidate", "safety_critical"))
        Mail = self.env["mail.mail"]
        before = Mail.search([])
        self.assertEqual(Lead._service_make_review_todos(), plain | gas)
        todos = (plain | gas).activity_ids.filtered(lambda activity: activity.activity_type_id == self.review_type)
        self.assertEqual(len(todos), 2)
        self.assertEqual(todos.user_id, self.user_dispatcher)
        mail = Mail.search([]) - before
        self.assertEqual(len(mail), 1, mail.mapped("subject"))
        self.assertEqual(mail.recipient_ids, self.user_dispatcher.partner_id)
        self.assertEqual(mail.subject, "2 inquiries held for your review")
        body = str(mail.body_html)
        self.assertLess(body.index("Gas boiler smells"), body.index("Pump in Berlin"))
        # its reason says it is safety-critical: no second mark
        self.assertNotIn("#dc3545", body)
        self.assertIn("Safety-critical equipment", body)
        self.assertIn("No eligible technician", body)
        self.assertIn(f"res_id={gas.id}", body)
        # told once: a second run makes nothing and says nothing
        self.assertFalse(Lead._service_make_review_todos())
        self.assertEqual(Mail.search([]) - before, mail)
        # in German for a German leader, one inquiry named in the subject
        self.env["res.lang"]._activate_lang("de_DE")
        self.env["ir.module.module"].search([("name", "=", "crm_service_routing")])._update_translations(["de_DE"])
        self.user_dispatcher.partner_id.lang = "de_DE"
        third = Lead.create(self._inquiry_vals(name="Wärmepumpe in Berlin", zip="10115", city="Berlin"))
        Lead._service_make_review_todos()
        german = Mail.search([]) - before - mail
        self.assertEqual(german.subject, "Zur Prüfung zurückgehalten: Wärmepumpe in Berlin")
        self.assertIn("Diese Anfrage wartet auf Ihre Prüfung", str(german.body_html))
        self.assertIn(f"res_id={third.id}", str(german.body_html))

    def test_review_mail_of_a_team_shared_by_two_companies_is_one_per_company(self):
        """The shared service team's leader is told of the inquiries of each company in a mail of its own,
        sent from that company's address: never an Austrian inquiry under the German company's name."""
        austria = self.env["res.company"].create(
            {"name": "Wärmetechnik Austria GmbH", "email": "service@waermetechnik.example.at"}
        )
        self.company.email = "service@waermetechnik.example.de"
        self.user_dispatcher.company_ids |= austria
        self.env.user.company_ids |= austria
        self.assertFalse(self.service_team.company_id, "the team is shared")
        Lead = self.env["crm.lead"]
        german = Lead.create(self._inquiry_vals(name="Pumpe in Berlin", zip="10115", city="Berlin"))
        austrian = Lead.with_company(austria).create(
            self._inquiry_vals(
                name="Pumpe in Wien", zip="10117", city="Berlin", equipment_type_id=False, company_id=austria.id
            )
        )
        self.assertEqual((german.routing_state, austrian.routing_state), ("review", "review"))
        Mail = self.env["mail.mail"]
        before = Mail.search([])
        Lead._service_make_review_todos()
        mails = Mail.search([]) - before
        self.assertEqual(len(mails), 2, mails.mapped("subject"))
        by_sender = {mail.email_from: mail for mail in mails}
        self.assertEqual(len(by_sender), 2)
        for company, lead, other in ((self.company, german, austrian), (austria, austrian, german)):
            mail = next(mail for sender, mail in by_sender.items() if company.email in sender)
            self.assertEqual(mail.recipient_ids, self.user_dispatcher.partner_id)
            self.assertEqual(mail.subject, f"Held for your review: {lead.name}")
            self.assertIn(f"res_id={lead.id}", str(mail.body_html))
            self.assertNotIn(f"res_id={other.id}", str(mail.body_html))
            self.assertIn(company.name, str(mail.body_html))

    def test_inquiries_held_one_after_another_wake_the_backstop_once(self):
        """A stream of inquiries held for review wakes the backstop for their to-dos once, within
        REVIEW_TODO_DELAY; a trigger already due does not count (a running backstop may consume it after
        it locked its batch)."""
        cron = self.env.ref("crm_service_routing.ir_cron_route_pending").sudo()
        cron.nextcall = fields.Datetime.now() + datetime.timedelta(days=1)
        Trigger = self.env["ir.cron.trigger"].sudo()
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        start = fields.Datetime.now()
        held = self.env["crm.lead"]
        for name in ("Gas boiler smells", "Gas boiler leaks", "Gas boiler hisses"):
            held |= self._create_inquiry(name=name, equipment_type_id=self.type_gas.id)
        self.assertEqual(set(held.mapped("routing_state")), {"review"})
        self.assertTrue(all(held.mapped("service_review_todo")))
        trigger = Trigger.search([("cron_id", "=", cron.id)])
        self.assertEqual(len(trigger), 1, "woken once for the three")
        self.assertGreater(trigger.call_at, start)
        self.assertLessEqual(trigger.call_at, fields.Datetime.now() + REVIEW_TODO_DELAY)
        # a trigger already due may be the one a running backstop consumes: the next inquiry makes its own
        trigger.call_at = fields.Datetime.now() - datetime.timedelta(seconds=1)
        self._create_inquiry(name="Gas boiler rattles", equipment_type_id=self.type_gas.id)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), 2)
        # the backstop's run makes the to-dos; a full batch of them has it run again at once for the rest
        progress = self.env["ir.cron.progress"].sudo().create({"cron_id": cron.id, "remaining": 0, "done": 0})
        Lead = self.env["crm.lead"].with_context(ir_cron_progress_id=progress.id)
        Lead._route_pending(batch_size=2)
        self.assertEqual(progress.remaining, 1, "a full batch of to-dos: the rest at once")
        Lead._route_pending(batch_size=10)
        self.assertEqual(progress.remaining, 0)
        self.assertFalse(any(held.mapped("service_review_todo")))
        self.assertEqual(
            len(held.activity_ids.filtered(lambda activity: activity.activity_type_id == self.review_type)), 3
        )

    def test_routing_reaches_the_chatter_and_review_makes_a_to_do(self):
        gas = (
            self.env["crm.lead"]
            .with_env(self._tracked())
            .create(self._inquiry_vals(equipment_type_id=self.type_gas.id))
        )
        # routing only marks the to-do; the backstop makes it (woken for it), once
        self.assertTrue(gas.service_review_todo)
        self.assertFalse(gas.activity_ids.filtered(lambda activity: activity.activity_type_id == self.review_type))
        cron = self.env.ref("crm_service_routing.ir_cron_route_pending")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))
        self.assertIn(gas, self.env["crm.lead"]._service_make_review_todos())
        self.assertNotIn(gas, self.env["crm.lead"]._service_make_review_todos())
        self.assertFalse(gas.service_review_todo)
        todo = gas.activity_ids.filtered(lambda activity: activity.activity_type_id == self.review_type)
        self.assertEqual(len(todo), 1)
        self.assertEqual(todo.user_id, self.user_dispatcher)
        self.assertEqual(todo.summary, "Review: Safety-critical equipment")
        self._flush_tracking()
        self.assertIn(
            "Held for a dispatcher: Safety-critical equipment.",
            "".join(gas.message_ids.mapped("body")),
            "said on creation",
        )
        self.tech_anna.service_equipment_type_ids = [(4, self.type_gas.id)]
        wizard = Form(self._tracked()["crm.lead.assign"].with_context(default_lead_id=gas.id)).save()
        wizard.technician_id = self.tech_anna
        wizard.action_assign()
        self.assertFalse(gas.activity_ids.filtered(lambda activity: activity.activity_type_id == self.review_type))
        self._flush_tracking()
        tracked = gas.message_ids.tracking_value_ids
        self.assertIn(
            "Anna Technik", tracked.filtered(lambda v: v.field_id.name == "technician_id").mapped("new_value_char")
        )

    # ------------------------------------------------------------
    # the chatter at arrival
    # ------------------------------------------------------------

    def _logged(self):
        """This test's env with the chatter as a user has it: creation messages and tracking."""
        return self.env(
            context=dict(self.env.context, tracking_disable=False, mail_notrack=False, mail_create_nolog=False)
        )

    def _label(self, lead, fname):
        return dict(lead._fields[fname]._description_selection(self.env))[lead[fname]]

    def _tracked_values(self, message):
        return sorted((v.field_id.name, v.old_value_char, v.new_value_char) for v in message.tracking_value_ids)

    def test_arrival_is_one_message_of_the_creation_and_the_routing(self):
        """A new inquiry's creation and its routing are one internal message, *Inquiry Received* (the team's
        followers get it by default, as crm's creation message): the creation's sentence, then the routing's,
        and the routing state and technician tracked."""
        follower = self.user_salesman.partner_id
        # by default: the subtypes a follower of the team gets without choosing
        self.service_team.message_subscribe(partner_ids=follower.ids)
        self.assertIn(
            self.env.ref("crm_service_routing.mt_salesteam_service_received"),
            self.service_team.message_follower_ids.filtered(lambda f: f.partner_id == follower).subtype_ids,
        )
        offered = self._logged()["crm.lead"].create(self._inquiry_vals())
        held = self._logged()["crm.lead"].create(self._inquiry_vals(equipment_type_id=self.type_gas.id))
        self._flush_tracking()
        self.assertEqual((offered.routing_state, held.routing_state), ("offered", "review"))
        received = self.env.ref("crm_service_routing.mt_lead_service_received")
        for lead, tracked in (
            (offered, [("routing_state", "New", "Offered"), ("technician_id", "", offered.technician_id.name)]),
            (held, [("review_reason", "", self._label(held, "review_reason")), ("routing_state", "New", "In Review")]),
        ):
            with self.subTest(lead=lead.routing_state):
                self.assertEqual(len(lead.message_ids), 1, lead.message_ids.mapped("body"))
                message = lead.message_ids
                self.assertEqual(message.subtype_id, received)
                self.assertTrue(message.subtype_id.internal, "what the routing weighed is not for the portal")
                body = tools.html2plaintext(message.body)
                self.assertIn("A new lead has been created for the team", body)
                self.assertIn(lead.routing_log_ids.reason, body)
                self.assertLess(body.index("A new lead"), body.index(lead.routing_log_ids.reason))
                self.assertEqual(self._tracked_values(message), tracked)
                self.assertIn(follower, message.notification_ids.res_partner_id)

    def test_arrival_not_routed_keeps_the_creation_message(self):
        """An inquiry its creation does not route, or whose routing fails and leaves it new, has crm's
        creation message all the same, once."""
        Lead = self._logged()["crm.lead"]
        kept = Lead.with_context(service_no_routing=True).create(self._inquiry_vals())
        with patch.object(type(Lead), "_service_decide", side_effect=UserError("Routing is down.")):
            failed = Lead.create(self._inquiry_vals(name="Routed later"))
        self._flush_tracking()
        self.assertEqual((kept.routing_state, failed.routing_state), ("new", "new"))
        self.assertEqual(failed.routing_error, "Routing is down.")
        creation = self.env.ref("crm.mt_lead_create")
        for lead in (kept, failed):
            with self.subTest(lead=lead.name):
                message = lead.message_ids.filtered(lambda m, creation=creation: m.subtype_id == creation)
                self.assertEqual(len(message), 1, lead.message_ids.mapped("body"))
                self.assertIn("A new lead has been created", tools.html2plaintext(message.body))
                self.assertFalse(message.tracking_value_ids)

    def test_arrival_of_a_batch_is_one_message_each(self):
        """Inquiries created together (routed as a batch, their decisions written together) get one
        message each, their own routing in it."""
        self.tech_anna.service_capacity = self.tech_bernd.service_capacity = 20
        leads = self._logged()["crm.lead"].create([self._inquiry_vals(name=f"Batch {n}") for n in range(12)])
        self._flush_tracking()
        self.assertEqual(set(leads.mapped("routing_state")), {"offered"})
        received = self.env.ref("crm_service_routing.mt_lead_service_received")
        for lead in leads:
            self.assertEqual(len(lead.message_ids), 1, lead.message_ids.mapped("body"))
            self.assertEqual(lead.message_ids.subtype_id, received)
            self.assertIn(("technician_id", "", lead.technician_id.name), self._tracked_values(lead.message_ids))
            self.assertIn(lead.routing_log_ids.reason, tools.html2plaintext(lead.message_ids.body))

    # ------------------------------------------------------------
    # service team, pipeline, lead scoring, kanban
    # ------------------------------------------------------------

    def test_service_inquiries_live_in_the_service_team_out_of_lead_scoring(self):
        lead = self._create_inquiry()
        sales = self.env["crm.lead"].create({"name": "Sell a heat pump", "type": "opportunity"})
        self.assertEqual(lead.team_id, self.service_team)
        self.assertNotEqual(sales.team_id, self.service_team)
        values = self.env["crm.lead"]._pls_get_lead_pls_values(domain=[("id", "in", (lead | sales).ids)])
        self.assertEqual(set(values), {sales.id})
        self.assertFalse(lead._pls_get_lead_pls_values())
        action = self.env["crm.team"].with_user(self.user_dispatcher).action_your_pipeline()
        self.assertEqual(action["context"].get("search_default_sales_only"), 1)

    def test_kanban_columns_run_like_a_job(self):
        self._create_inquiry()
        self._create_inquiry(equipment_type_id=self.type_gas.id)
        accepted = self._create_inquiry()
        accepted.action_service_accept(offer_id=accepted.service_offer_id.id)
        groups = self.env["crm.lead"].web_read_group(
            [("service_occasion", "!=", False)], ["routing_state"], ["routing_state"], lazy=True
        )["groups"]
        self.assertEqual([g["routing_state"] for g in groups][:4], ["new", "review", "offered", "accepted"])
        # a card created in the Accepted column is a new inquiry, routed like any other
        quick = (
            self.env["crm.lead"]
            .with_context(default_routing_state="accepted", default_service_occasion="repair")
            .create(self._inquiry_vals(name="From the column"))
        )
        self.assertEqual(quick.routing_state, "offered")
        self.assertTrue(quick.technician_id)

    # ------------------------------------------------------------
    # decline, display
    # ------------------------------------------------------------

    def test_technician_declines_and_goes_back_to_the_list(self):
        lead = self._create_inquiry(zip="81675", equipment_type_id=self.type_pv.id)
        user = self._technician_user(lead.technician_id, "svc_bo_tech")
        self.assertTrue(lead.with_user(user).service_can_answer)
        wizard = (
            self.env["crm.lead.decline"]
            .with_user(user)
            .create({"lead_id": lead.id, "offer_id": lead.service_offer_id.id, "reason": "capacity"})
        )
        result = wizard.action_decline()
        following = result["params"]["next"]
        self.assertEqual((following["res_model"], following["target"]), ("crm.lead", "main"))
        self.assertFalse(lead.with_user(self.user_salesman).service_can_answer)

    def test_decision_names_and_sla_window(self):
        lead = self._create_inquiry(service_level_id=self.level_standard.id)
        log = lead.routing_log_ids
        self.assertRegex(log.display_name, r"^Decision of .+ on Heat pump makes noise$")
        self.assertEqual(lead.service_sla_window, "answer within 24 h")
        self.assertIn("Offered to", log.reason)
        self.assertIn("<th>Why</th>", log.candidates_html)

    def test_dispatch_board_counts(self):
        self._create_inquiry()
        self._create_inquiry(equipment_type_id=self.type_gas.id)
        accepted = self._create_inquiry()
        accepted.action_service_accept(offer_id=accepted.service_offer_id.id)
        self.env.flush_all()
        Board = self.env["service.dispatch.report"].with_user(self.user_dispatcher)
        counts = {
            category: count
            for category, count in Board._read_group(
                [("lead_id.name", "=", "Heat pump makes noise")], ["category"], ["__count"]
            )
        }
        self.assertEqual(counts, {"open_offer": 1, "review": 1, "accepted_today": 1})
        offer = Board.search([("category", "=", "open_offer"), ("lead_id.name", "=", "Heat pump makes noise")])
        self.assertEqual(offer.sla_status, "within")

    def test_settings_show_the_server_option_folder(self):
        self.env["ir.config_parameter"].sudo().set_param("crm_service_routing.geonames_dir", False)
        with patch.dict(tools.config.options, {"geonames_data_dir": "/srv/geonames"}):
            settings = self.env["res.config.settings"].create({})
            self.assertEqual(settings.service_geonames_effective_dir, "/srv/geonames")
            self.assertEqual(settings.service_geonames_origin, "option")

    def test_reasons_render_in_the_reader_language(self):
        self.env["res.lang"]._activate_lang("de_DE")
        self.env["ir.module.module"]._load_module_terms(["crm_service_routing"], ["de_DE"], overwrite=True)
        lead = self._create_inquiry(equipment_type_id=self.type_gas.id)
        log = lead.routing_log_ids
        self.assertEqual(log.reason, "Held for a dispatcher: Safety-critical equipment.")
        self.assertEqual(log.reason_data["review_reason"], "safety_critical")
        self.assertEqual(
            log.with_context(lang="de_DE").reason,
            "Für die Disposition zurückgehalten: Sicherheitskritisches Gerät.",
        )
