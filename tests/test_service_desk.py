# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The service desk as its users meet it: configuration by service managers, no sales
controls on service inquiries, no enrichment unless enabled, times and names in the
reader's language."""

import datetime
from unittest.mock import patch

from freezegun import freeze_time
from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import ServiceRoutingCase

T0 = datetime.datetime(2026, 3, 2, 8, 0)  # a Monday, 09:00 in Munich


@tagged("post_install", "-at_install", "crm_service_routing")
class TestServiceDesk(ServiceRoutingCase):
    def test_service_manager_reaches_the_configuration(self):
        visible = self.env["ir.ui.menu"].with_user(self.user_manager)._visible_menu_ids()
        for xmlid in (
            "menu_service_config",
            "menu_service_settings",
            "menu_service_equipment_types",
            "menu_service_levels",
            "menu_service_escalation_stages",
            "menu_service_areas",
        ):
            self.assertIn(self.env.ref(f"crm_service_routing.{xmlid}").id, visible, xmlid)
        dispatcher_menus = self.env["ir.ui.menu"].with_user(self.user_dispatcher)._visible_menu_ids()
        self.assertIn(self.env.ref("crm_service_routing.menu_service_areas").id, dispatcher_menus)
        self.assertNotIn(self.env.ref("crm_service_routing.menu_service_settings").id, dispatcher_menus)
        self.assertNotIn(self.env.ref("crm_service_routing.menu_service_levels").id, dispatcher_menus)

    def test_service_manager_saves_the_settings(self):
        calendar = self.env["resource.calendar"].create({"name": "Service hours"})
        Settings = self.env["service.routing.settings"].with_user(self.user_manager)
        action = self.env.ref("crm_service_routing.service_routing_settings_action").with_user(self.user_manager).run()
        settings = Settings.browse(action["res_id"])
        self.assertEqual(settings.service_routing_strategy, "rotation")
        self.assertEqual(settings.service_level_id, self.level_standard)
        self.assertFalse(settings.service_iap_enrich)
        settings.write(
            {
                "service_routing_strategy": "least_loaded",
                "service_level_id": self.level_premium.id,
                "service_calendar_id": calendar.id,
                "service_response_window_days": 30,
            }
        )
        settings.action_save()
        self.assertEqual(self.company.service_routing_strategy, "least_loaded")
        self.assertEqual(self.company.service_level_id, self.level_premium)
        self.assertEqual(self.company.service_calendar_id, calendar)
        self.assertEqual(self.company.service_response_window_days, 30)
        # a dispatcher neither opens nor saves them
        with self.assertRaises(AccessError):
            self.env["service.routing.settings"].with_user(self.user_dispatcher).create({})
        with self.assertRaises(AccessError):
            settings.with_user(self.user_dispatcher).action_save()

    def test_enrichment_leaves_service_inquiries_alone_by_default(self):
        lead = self._create_inquiry(email_from="eva@heizung-neu.de")
        sale = self.env["crm.lead"].create(
            {"name": "Quote for 40 heat pumps", "type": "opportunity", "email_from": "buyer@wohnbau-sued.de"}
        )
        (lead | sale).invalidate_recordset(["show_enrich_button"])
        self.assertFalse(lead.show_enrich_button, "no Enrich button on a service inquiry")
        self.assertTrue(sale.show_enrich_button, "sales leads keep theirs")
        sent = []

        def request_enrich(_model, lead_emails):
            sent.append(dict(lead_emails))
            return {str(lead_id): False for lead_id in lead_emails}

        # crm_iap_enrich commits after each batch unless the registry is in test mode
        with (
            patch.object(type(self.env["iap.enrich.api"]), "_request_enrich", request_enrich),
            patch.object(self.env.registry, "in_test_mode", return_value=True),
        ):
            self.env["crm.lead"]._iap_enrich_leads_cron(enrich_hours_delay=1)
            self.assertEqual(sent, [{sale.id: "wohnbau-sued.de"}], "the cron sends the sales lead's domain only")
            self.assertFalse(lead.iap_enrich_done)
            with self.assertRaises(UserError):
                lead.iap_enrich()
            self.assertEqual(len(sent), 1, "the button sends nothing either")
            # a service manager allows it: service inquiries are enriched like leads
            self.company.service_iap_enrich = True
            lead.invalidate_recordset(["show_enrich_button"])
            self.assertTrue(lead.show_enrich_button)
            lead.iap_enrich()
        self.assertEqual(sent[-1], {lead.id: "heizung-neu.de"})
        self.assertTrue(lead.iap_enrich_done)

    def test_service_views_offer_no_sales_action(self):
        def toolbar(view_xmlid):
            view = self.env.ref(view_xmlid)
            views = (
                self.env["crm.lead"].with_user(self.user_dispatcher).get_views([[view.id, "list"]], {"toolbar": True})
            )
            return {action["id"] for action in views["views"]["list"]["toolbar"].get("action", [])}

        service = toolbar("crm_service_routing.crm_lead_view_list_service")
        sales = toolbar("crm.crm_case_tree_view_oppor")
        lost = self.env.ref("crm.crm_lead_lost_action").id
        cancel = self.env.ref("crm_service_routing.crm_lead_cancel_action").id
        merge = self.env.ref("crm.action_merge_opportunities").id
        merge_service = self.env.ref("crm_service_routing.crm_merge_opportunity_action_service").id
        enrich = self.env.ref("crm_iap_enrich.action_enrich_mail").id
        self.assertTrue({cancel, merge_service} <= service)
        self.assertFalse({lost, merge, enrich} & service)
        self.assertTrue({lost, merge, enrich} <= sales)
        self.assertFalse({cancel, merge_service} & sales)

    def test_cancel_a_service_job_with_a_reason(self):
        lead = self._create_inquiry()
        self.assertEqual(lead.routing_state, "offered")
        offer = lead.service_offer_id
        reason = self.env.ref("crm_service_routing.lost_reason_service_solved")
        action = self.env.ref("crm_service_routing.crm_lead_cancel_action")
        wizard = (
            self.env["crm.lead.lost"]
            .with_user(self.user_dispatcher)
            .with_context(active_ids=lead.ids, default_lead_ids=lead.ids)
            .create({"lost_reason_id": reason.id, "lost_feedback": "<p>Reset by phone</p>"})
        )
        self.assertEqual(action.view_id, self.env.ref("crm_service_routing.crm_lead_lost_view_form_service"))
        wizard.action_lost_reason_apply()
        self.assertEqual((lead.active, lead.routing_state, lead.lost_reason_id), (False, "cancelled", reason))
        self.assertEqual(offer.state, "cancelled")
        sales_reasons = self.env["crm.lost.reason"].search([("is_service_reason", "=", False)])
        self.assertNotIn(reason, sales_reasons)

    def test_crm_opens_on_service_inquiries_for_the_service_team(self):
        team = self.env["crm.team"]._service_team()
        self.assertTrue(team)
        team.member_ids = [Command.link(self.user_dispatcher.id)]
        action = self.env["crm.team"].with_user(self.user_dispatcher).action_your_pipeline()
        self.assertEqual(action["id"], self.env.ref("crm_service_routing.crm_lead_action_service").id)
        action = self.env["crm.team"].with_user(self.user_salesman).action_your_pipeline()
        self.assertEqual(action["id"], self.env.ref("crm.crm_lead_action_pipeline").id)

    def test_service_inquiries_show_no_meeting_button(self):
        """crm's meetings button ("No Meeting") is for sales opportunities; a service job has its
        agreed appointment."""
        lead = self._create_inquiry()
        opportunity = self.env["crm.lead"].create({"name": "New kitchen", "type": "opportunity"})
        for view_xmlid in ("crm.crm_lead_view_form", "crm_service_routing.crm_lead_view_form_service"):
            view = self.env.ref(view_xmlid)
            arch = self.env["crm.lead"].with_user(self.user_dispatcher).get_views([[view.id, "form"]])
            button = etree.fromstring(arch["views"]["form"]["arch"]).xpath("//button[@name='action_schedule_meeting']")
            self.assertEqual(len(button), 1, view_xmlid)
            invisible = button[0].get("invisible")
            for record, hidden in ((lead, True), (opportunity, False)):
                # as an opportunity (where crm shows the button): only the service occasion hides it
                values = {"id": record.id, "type": "opportunity", "service_occasion": record.service_occasion}
                with self.subTest(view=view_xmlid, record=record.name):
                    self.assertEqual(bool(safe_eval(invisible, values)), hidden)

    def test_escalation_ladder_stages_are_reachable(self):
        level = self.level_standard
        level.escalation_stage_ids = [
            Command.create({"after_hours": 4, "action": "remind"}),
            Command.create({"after_hours": 24, "action": "reassign"}),
            Command.create({"after_hours": 30, "action": "notify"}),
        ]
        notes = {stage.after_hours: stage.window_note for stage in level.escalation_stage_ids}
        self.assertEqual(notes[4], "20 h before the window ends")
        self.assertEqual(notes[24], "when the window ends")
        self.assertEqual(
            notes[30], "6 h after the window ended; only when nobody else could take it at the reassignment"
        )
        with self.assertRaisesMessage(ValidationError, "would never run"):
            level.escalation_stage_ids = [
                Command.create({"after_hours": 36, "action": "review"}),
                Command.create({"after_hours": 48, "action": "notify"}),
            ]
        with self.assertRaisesMessage(ValidationError, "twice"):
            level.escalation_stage_ids = [Command.create({"after_hours": 4, "action": "remind"})]
        # grouped by tier, the hours are not summed
        groups = self.env["service.escalation.stage"].read_group(
            [("level_id", "=", level.id)], ["after_hours", "response_hours"], ["level_id"]
        )
        self.assertNotIn("after_hours", groups[0])
        self.assertNotIn("response_hours", groups[0])

    def test_equipment_type_names_in_the_readers_language(self):
        self.env["res.lang"]._activate_lang("de_DE")
        self.type_heatpump.with_context(lang="de_DE").name = "Wärmepumpe"
        self.type_hp_air.with_context(lang="de_DE").name = "Luft/Wasser-Wärmepumpe"
        self.assertEqual(
            self.type_hp_air.with_context(lang="de_DE").display_name, "Wärmepumpe / Luft/Wasser-Wärmepumpe"
        )
        self.assertEqual(self.type_hp_air.with_context(lang="en_US").display_name, "Heat Pump / Air/Water Heat Pump")
        found = self.env["service.equipment.type"].with_context(lang="de_DE").name_search("Luft/Wasser")
        self.assertEqual([row[0] for row in found], self.type_hp_air.ids)

    def test_mail_times_in_the_technicians_zone_and_language(self):
        self.env["res.lang"]._activate_lang("de_DE")
        self.tech_anna.write({"tz": False, "lang": "de_DE"})
        self.company.partner_id.tz = False
        self.tech_bernd.active = False
        self.tech_carla.active = False
        with freeze_time(T0):
            lead = self._create_inquiry(service_level_id=self.level_standard.id)
        offer = lead.service_offer_id
        self.assertEqual(offer.technician_id, self.tech_anna)
        self.assertEqual(offer._service_reader_tz(), "Europe/Berlin", "no zone set: the one of Anna's country")
        deadline = offer.with_context(lang="de_DE").service_deadline_text
        self.assertEqual(deadline, "03.03.2026 09:00 MEZ")
        self.assertEqual(offer.with_context(lang="en_US").service_offered_text, "03/02/2026 09:00 CET")
        self.tech_anna.tz = "Europe/London"
        offer.invalidate_recordset()
        self.assertEqual(offer.with_context(lang="en_US").service_offered_text, "03/02/2026 08:00 GMT")
