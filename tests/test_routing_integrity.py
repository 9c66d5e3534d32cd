# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The offer is the truth: routing fields, answers, closing, merging, the audit trail, access."""

import psycopg2

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.base.controllers.rpc import dumps as xmlrpc_dumps

from .common import ServiceRoutingCase, in_days


@tagged("post_install", "-at_install", "crm_service_routing")
class TestRoutingIntegrity(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Anna's own internal user (a salesman, as technicians with a back-office login are)
        cls.user_anna = new_test_user(
            cls.env, login="svc_anna", groups="sales_team.group_sale_salesman", name="Anna Technik (user)"
        )
        cls.user_anna.partner_id.write({"parent_id": cls.tech_anna.id})
        cls.user_anna.service_technician_id = cls.tech_anna
        cls.user_bernd = new_test_user(
            cls.env, login="svc_bernd", groups="sales_team.group_sale_salesman", name="Bernd (user)"
        )
        cls.user_bernd.partner_id.write({"parent_id": cls.tech_bernd.id})
        cls.user_bernd.service_technician_id = cls.tech_bernd

    def _offered(self, **values):
        lead = self._create_inquiry(**values)
        self.assertEqual(lead.routing_state, "offered", lead.routing_log_ids[:1].reason)
        return lead

    def _user_for(self, technician):
        return {self.tech_anna: self.user_anna, self.tech_bernd: self.user_bernd}[technician]

    # ------------------------------------------------------------
    # routing fields are the routing's
    # ------------------------------------------------------------

    def test_routing_fields_refused_to_plain_writes(self):
        lead = self._offered()
        other = self.tech_anna if lead.technician_id != self.tech_anna else self.tech_bernd
        for env_lead in (
            lead.with_user(self.user_salesman),
            lead.with_user(self.user_dispatcher),
            lead.sudo(),
            lead.sudo().with_context(service_routing_offer=True, service_routing_write=True),
        ):
            for vals in (
                {"routing_state": "accepted"},
                {"technician_id": other.id},
                {"accepted_at": "2026-01-01 10:00:00"},
                {"review_reason": "manual"},
            ):
                with self.subTest(user=env_lead.env.user.login, vals=vals), self.assertRaises(UserError):
                    env_lead.write(vals)
        self.assertEqual(lead.routing_state, "offered")
        self.assertEqual(lead.service_offer_id.state, "offered")
        # writing what the form shows is no change
        lead.write({"routing_state": "offered", "name": "Renamed"})
        self.assertEqual(lead.name, "Renamed")

    def test_routing_fields_refused_on_create_and_import(self):
        with self.assertRaises(UserError):
            self.env["crm.lead"].create(self._inquiry_vals(routing_state="accepted", technician_id=self.tech_anna.id))
        result = self.env["crm.lead"].load(
            ["name", "service_occasion", "zip", "routing_state"], [["Imported", "repair", "80331", "accepted"]]
        )
        self.assertFalse(result["ids"])
        self.assertTrue(result["messages"])

    def test_context_default_sets_no_routing_field(self):
        # the kanban "+" of the Accepted column
        lead = (
            self.env["crm.lead"]
            .with_context(default_routing_state="accepted", default_technician_id=self.tech_bernd.id)
            .create(self._inquiry_vals())
        )
        self.assertEqual(lead.routing_state, "offered")
        self.assertEqual(lead.technician_id, lead.service_offer_id.technician_id)
        plain = self.env["crm.lead"].with_context(default_routing_state="accepted").create({"name": "Sales lead"})
        self.assertFalse(plain.routing_state)

    def test_technician_cannot_write_rotation_credit(self):
        lead = self._offered()
        # the credit lives in the append-only ledger only, which no technician writes
        self.assertNotIn("service_rotation_credit", self.env["res.partner"]._fields)
        with self.assertRaises(AccessError):
            self.env["service.rotation.entry"].with_user(self.user_anna).create(
                {"technician_id": self.tech_anna.id, "company_id": self.company.id, "change": 1000}
            )
        # nor the capacity slots, which only routing inserts: a dispatcher reads them
        slot = self.env["service.technician.slot"].with_user(self.user_dispatcher).search([("lead_id", "=", lead.id)])
        self.assertEqual(slot.technician_id, lead.technician_id)
        with self.assertRaises(AccessError):
            self.env["service.technician.slot"].with_user(self.user_dispatcher).create(
                {"technician_id": self.tech_anna.id, "slot": 99, "lead_id": lead.id}
            )
        with self.assertRaises(AccessError):
            slot.unlink()

    def test_one_open_offer_per_inquiry_in_postgresql(self):
        lead = self._offered()
        self.env.flush_all()
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.errors.UniqueViolation), self.env.cr.savepoint():
            self.env.cr.execute(
                """INSERT INTO service_offer (lead_id, technician_id, company_id, state, offered_at)
                   VALUES (%s, %s, %s, 'offered', now())""",
                (lead.id, self.tech_bernd.id, self.company.id),
            )
        with self.assertRaises(UserError):
            self.env["service.offer"].create({"lead_id": lead.id, "technician_id": self.tech_bernd.id})
        with self.assertRaises(UserError):
            lead.service_offer_id.write({"state": "accepted"})
        with self.assertRaises(UserError):
            lead.service_offer_id.unlink()

    # ------------------------------------------------------------
    # answers name their offer
    # ------------------------------------------------------------

    def test_answer_names_the_offer(self):
        lead = self._offered()
        first = lead.service_offer_id
        with self.assertRaises(UserError):
            lead.action_service_accept()
        lead.action_service_decline("capacity", offer_id=first.id)
        self.assertEqual(first.state, "declined")
        second = lead.service_offer_id
        self.assertTrue(second)
        self.assertNotEqual(second.technician_id, first.technician_id)
        # a late answer to the first offer fails and leaves the second alone
        with self.assertRaises(UserError):
            lead.action_service_accept(offer_id=first.id)
        with self.assertRaises(UserError):
            first.action_decline("capacity")
        self.assertEqual(second.state, "offered")
        self.assertEqual(lead.routing_state, "offered")
        # the form's button names the offer it shows
        lead.with_context(service_offer_id=second.id).action_service_accept()
        self.assertEqual((second.state, lead.routing_state), ("accepted", "accepted"))
        with self.assertRaises(UserError):
            second.action_accept()

    def test_technician_answers_only_its_own_offer(self):
        lead = self._offered()
        offer = lead.service_offer_id
        stranger = self.user_bernd if offer.technician_id == self.tech_anna else self.user_anna
        with self.assertRaises(AccessError):
            offer.with_user(stranger).action_accept()
        with self.assertRaises(AccessError):
            lead.with_user(stranger).action_service_accept(offer_id=offer.id)
        offer.with_user(self._user_for(offer.technician_id)).action_accept()
        self.assertEqual(lead.routing_state, "accepted")
        self.assertEqual(offer.answered_by_id, self._user_for(offer.technician_id))

    def test_technician_user_declines_from_the_form(self):
        lead = self._offered()
        offer = lead.service_offer_id
        user = self._user_for(offer.technician_id)
        as_user = lead.with_user(user).with_context(service_offer_id=offer.id)
        action = as_user.action_service_open_decline()
        self.assertEqual(action["context"]["default_offer_id"], offer.id)
        wizard = (
            self.env["crm.lead.decline"].with_user(user).with_context(action["context"]).create({"reason": "capacity"})
        )
        result = wizard.action_decline()
        self.assertEqual(offer.state, "declined")
        # the inquiry went on to another technician: no error page, a notice and the list
        self.assertEqual(result["tag"], "display_notification")
        self.assertEqual(result["params"]["next"]["res_model"], "crm.lead")
        # another technician's user cannot open a decline for an offer that is not its own
        current = lead.service_offer_id.technician_id
        stranger = self.user_bernd if current == self.tech_anna else self.user_anna
        with self.assertRaises(AccessError):
            lead.with_user(stranger).with_context(
                service_offer_id=lead.service_offer_id.id
            ).action_service_open_decline()

    def test_decline_input_checked(self):
        lead = self._offered()
        offer = lead.service_offer_id
        for reason, note in (
            (["capacity"], False),
            ({"reason": "capacity"}, False),
            (None, False),
            ("capacity", 42),
            ("capacity", ["note"]),
            ("other", "   "),
            ("capacity", "x" * 5000),
            ("capacity", "bad\x00note"),
        ):
            with self.subTest(reason=reason, note=note), self.assertRaises(ValidationError):
                offer.action_decline(reason, note)
        with self.assertRaises(ValidationError):
            lead.action_service_decline("capacity", offer_id="1; DROP TABLE")
        self.assertEqual(offer.state, "offered")

    # ------------------------------------------------------------
    # closing and copying
    # ------------------------------------------------------------

    def test_lost_archived_won_release_offers(self):
        lost = self._offered()
        offer = lost.service_offer_id
        lost.action_set_lost()
        self.assertEqual((lost.routing_state, offer.state), ("cancelled", "cancelled"))
        self.assertFalse(lost.technician_id)
        lost.action_unarchive()
        self.assertEqual(lost.routing_state, "offered")
        self.assertEqual(len(lost.offer_ids.filtered(lambda o: o.state == "offered")), 1)

        archived = self._offered()
        archived.action_archive()
        self.assertEqual(archived.routing_state, "cancelled")
        self.assertEqual(archived.offer_ids.mapped("state"), ["cancelled"])

        won = self._offered()
        won_offer = won.service_offer_id
        won.action_service_accept(offer_id=won_offer.id)
        technician = won.technician_id
        won.action_set_won()
        self.assertEqual((won.routing_state, won.technician_id), ("done", technician))
        self.assertEqual(won_offer.state, "done", "the accepted offer ends with the job")
        # a done job no longer counts against capacity
        technician.invalidate_recordset(["service_open_count"])
        self.assertNotIn(
            won,
            self.env["crm.lead"].search(
                [("technician_id", "=", technician.id), ("routing_state", "in", ("offered", "accepted"))]
            ),
        )

    def test_appointments_within_the_horizon_however_written(self):
        lead = self._offered()
        for vals in ({"agreed_appointment": "9999-12-31 23:00:00"}, {"preferred_appointment": "2000-01-01 08:00:00"}):
            with self.subTest(vals=vals), self.assertRaises(ValidationError):
                lead.with_user(self.user_dispatcher).write(vals)
        with self.assertRaisesRegex(ValidationError, "more than 5 years ahead"):
            self._create_inquiry(preferred_appointment="2999-01-01 08:00:00")
        agreed = in_days(30)
        lead.write({"agreed_appointment": agreed})
        self.assertEqual(lead.agreed_appointment, agreed)

    def test_copy_is_not_routed(self):
        lead = self._offered()
        copy = lead.copy()
        self.assertEqual((copy.routing_state, copy.review_reason), ("review", "copy"))
        self.assertFalse(copy.offer_ids)
        self.assertFalse(copy.technician_id)
        self.assertFalse(copy.service_external_ref)

    # ------------------------------------------------------------
    # merge and the audit trail
    # ------------------------------------------------------------

    def test_merge_keeps_offers_and_decisions(self):
        head = self._offered(email_from="same@example.org")
        tail = self._offered(email_from="same@example.org")
        offers = head.offer_ids | tail.offer_ids
        logs = head.routing_log_ids | tail.routing_log_ids
        merged = (head | tail)._merge_opportunity(auto_unlink=True)
        self.assertTrue(offers.exists() == offers and logs.exists() == logs)
        self.assertEqual(offers.lead_id, merged)
        self.assertEqual(logs.lead_id, merged)
        open_offers = merged.offer_ids.filtered(lambda o: o.state in ("offered", "accepted"))
        self.assertEqual(len(open_offers), 1)
        self.assertEqual(merged.technician_id, open_offers.technician_id)

    def test_log_is_append_only(self):
        lead = self._offered()
        log = lead.routing_log_ids
        for user in (self.env.ref("base.user_admin"), self.user_manager):
            with self.assertRaises(UserError):
                log.with_user(user).write({"reason": "edited"})
            with self.assertRaises(UserError):
                log.with_user(user).unlink()
        with self.assertRaises(UserError):
            log.sudo().write({"reason": "edited"})
        with self.assertRaises(UserError):
            self.env["service.routing.log"].sudo().create(
                {"lead_id": lead.id, "trigger": "manual", "outcome": "review"}
            )
        with self.assertRaises(UserError):
            lead.unlink()
        self.assertTrue(lead.exists())
        # a lead that never was a service inquiry is deleted as usual
        plain = self.env["crm.lead"].create({"name": "Sales lead"})
        plain.unlink()
        self.assertFalse(plain.exists())

    def test_decisions_readable_over_xmlrpc(self):
        lead = self._offered()
        held = self._create_inquiry(equipment_type_id=self.type_gas.id)
        for log in lead.routing_log_ids | held.routing_log_ids:
            values = log.read(["decision", "facts", "reason", "technician_id"])
            self.assertIn("<methodResponse>", xmlrpc_dumps((values,)))
            self.assertTrue(values[0]["decision"]["ranking"] or values[0]["decision"]["review_reason"])

    # ------------------------------------------------------------
    # access
    # ------------------------------------------------------------

    def test_offers_and_decisions_only_for_dispatchers_and_their_technician(self):
        lead = self._offered()
        offer, log = lead.service_offer_id, lead.routing_log_ids
        mine = self._user_for(offer.technician_id)
        other = self.user_bernd if mine == self.user_anna else self.user_anna
        for user in (self.user_salesman, other):
            with self.subTest(user=user.login):
                self.assertFalse(self.env["service.offer"].with_user(user).search([("id", "=", offer.id)]))
                self.assertFalse(self.env["service.routing.log"].with_user(user).search([("id", "=", log.id)]))
                with self.assertRaises(AccessError):
                    offer.with_user(user).read(["decline_note"])
        self.assertEqual(self.env["service.offer"].with_user(mine).search([("lead_id", "=", lead.id)]), offer)
        self.assertTrue(log.with_user(mine).read(["reason"]))
        with self.assertRaises(AccessError):
            log.with_user(mine).read(["facts"])
        self.assertEqual(
            self.env["service.offer"].with_user(self.user_dispatcher).search([("lead_id", "=", lead.id)]), offer
        )
        self.assertTrue(log.with_user(self.user_dispatcher).read(["facts", "decision"])[0]["facts"])

    def test_technician_user_sees_only_its_service_inquiries(self):
        mine = self._offered()
        user = self._user_for(mine.technician_id)
        # held for review, no salesperson
        unassigned = self._create_inquiry(equipment_type_id=self.type_gas.id, user_id=False)
        self.assertEqual(unassigned.routing_state, "review")
        self.assertFalse(unassigned.user_id)
        Lead = self.env["crm.lead"].with_user(user)
        visible = Lead.search([("service_occasion", "!=", False)])
        self.assertIn(mine, visible)
        self.assertNotIn(unassigned, visible)
        with self.assertRaises(AccessError):
            unassigned.with_user(user).read(["name"])
        with self.assertRaises(AccessError):
            unassigned.with_user(user).write({"user_id": user.id})
        # reading is all the technician rule gives: answers go through Accept and Decline
        with self.assertRaises(AccessError):
            mine.with_user(user).write({"description": "taken over"})
        # a salesman who is no technician keeps crm's rules
        self.assertIn(unassigned, self.env["crm.lead"].with_user(self.user_salesman).search([]))

    def test_dispatcher_controls_technician_with_user(self):
        self.assertTrue(self.tech_anna.child_ids & self.user_anna.partner_id)
        technician = self.tech_anna.with_user(self.user_dispatcher)
        technician.write({"service_paused": True, "service_capacity": 3})
        self.assertTrue(self.tech_anna.service_paused)
        self.assertEqual(self.tech_anna.service_capacity, 3)
        # a technician that is itself a user's partner
        self.user_bernd.partner_id.write({"is_technician": True, "service_capacity": 2})
        self.user_bernd.partner_id.with_user(self.user_dispatcher).write(
            {"service_paused": True, "service_capacity": 4}
        )
        self.assertEqual(self.user_bernd.partner_id.service_capacity, 4)
        with self.assertRaises(AccessError):
            self.user_bernd.partner_id.with_user(self.user_bernd).write({"service_capacity": 99})

    # ------------------------------------------------------------
    # routing errors: kept, retried with backoff, then reviewed
    # ------------------------------------------------------------

    def test_routing_error_retried_with_backoff_then_review(self):
        Lead = type(self.env["crm.lead"])
        original = Lead._service_gather_facts

        def broken(lead, *args, **kwargs):
            if lead.name == "Breaks routing":
                raise UserError("technician data are broken")
            return original(lead, *args, **kwargs)

        self.patch(Lead, "_service_gather_facts", broken)
        lead = self._create_inquiry(name="Breaks routing")
        self.assertEqual(lead.routing_state, "new")
        self.assertEqual(lead.routing_attempts, 1)
        self.assertIn("broken", lead.routing_error)
        self.assertTrue(lead.routing_retry_at)
        good = self._create_inquiry(name="Routes fine")
        self.assertEqual(good.routing_state, "offered")
        # not due yet: the backstop leaves it alone
        self.assertNotIn(lead, self.env["crm.lead"]._route_pending())
        for _attempt in range(4):
            lead._service_write_routing({"routing_retry_at": "2000-01-01 00:00:00"})
            self.assertIn(lead, self.env["crm.lead"]._route_pending())
        self.assertEqual((lead.routing_state, lead.review_reason), ("review", "routing_error"))
        self.assertEqual(lead.routing_attempts, 5)
