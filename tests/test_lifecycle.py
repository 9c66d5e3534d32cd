# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one life cycle of inquiries and offers: closing, reopening, Route Again, overrides, merge."""

import psycopg2

from odoo import models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import ServiceRoutingCase, service_request


@tagged("post_install", "-at_install", "crm_service_routing")
class TestLifecycle(ServiceRoutingCase):
    def _accepted(self, **values):
        lead = self._create_inquiry(**values)
        self.assertEqual(lead.routing_state, "offered")
        lead.action_service_accept(offer_id=lead.service_offer_id.id)
        self.assertEqual(lead.routing_state, "accepted")
        return lead

    # ------------------------------------------------------------
    # closing closes everything
    # ------------------------------------------------------------

    def test_won_job_ends_its_accepted_offer_and_follow_up(self):
        self.level_standard.followup_hours = 8
        lead = self._accepted()
        offer = lead.offer_ids
        self.assertTrue(offer.followup_due_at)
        lead.action_set_won()
        self.assertEqual((lead.routing_state, offer.state), ("done", "done"))
        self.assertEqual(lead.technician_id, offer.technician_id, "the job keeps who did it")
        self.assertFalse(offer.followup_due_at)
        self.assertTrue(offer.closed_at)
        # nothing left for the follow-up run, even far in the future
        far = offer.responded_at.replace(year=offer.responded_at.year + 1)
        self.assertFalse(self.env["service.offer"]._follow_up(now=far))
        # its link opens nothing, and it cannot be declined by any way in
        self.assertFalse(offer._service_token_valid(offer.access_token))
        with self.assertRaisesMessage(UserError, "no longer open"):
            lead.action_service_decline("capacity", offer_id=offer.id)
        self.assertEqual(lead.routing_state, "done", "a won job never comes back to review")

    def test_archived_job_cancels_and_unarchiving_restores_it(self):
        lead = self._accepted()
        offer = lead.offer_ids
        technician = lead.technician_id
        lead.action_archive()
        self.assertEqual((lead.routing_state, offer.state), ("cancelled", "cancelled"))
        with self.assertRaises(UserError):
            offer.action_decline("capacity")
        lead.action_unarchive()
        self.assertEqual((lead.routing_state, offer.state), ("accepted", "accepted"))
        self.assertEqual(lead.technician_id, technician)
        self.assertEqual(len(lead.offer_ids), 1, "restored, not offered again")
        self.assertFalse(offer.closed_at)

    def test_reopened_unaccepted_inquiry_is_routed_again(self):
        lead = self._create_inquiry()
        first = lead.service_offer_id
        lead.action_set_lost()
        self.assertEqual((lead.routing_state, first.state), ("cancelled", "cancelled"))
        self.assertFalse(first.responded_at, "cancelled, never answered")
        lead.action_unarchive()
        self.assertEqual(lead.routing_state, "offered")
        self.assertEqual(len(lead.offer_ids), 2)
        self.assertEqual(lead.routing_log_ids.sorted("id")[-1].trigger, "reopen")

    def test_a_finished_job_still_counts_as_accepted(self):
        """The response record (best response, reports) counts what the technician answered,
        whatever became of the job since."""
        lead = self._accepted()
        technician = lead.technician_id
        lead.action_set_won()
        other = self._create_inquiry(name="Another one")
        _inquiry, candidates = other._service_gather_facts(with_stats=True)
        record = next(c for c in candidates if c.id == technician.id)
        self.assertEqual((record.offers_answered, record.offers_accepted), (1, 1))

    # ------------------------------------------------------------
    # capacity slots follow the life cycle, whoever writes it
    # ------------------------------------------------------------

    def _slots(self, lead):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT technician_id, company_id, slot FROM service_technician_slot WHERE lead_id = %s", (lead.id,)
        )
        return self.env.cr.fetchall()

    def test_an_open_inquiry_holds_one_slot_of_its_technician(self):
        lead = self._create_inquiry()
        first = lead.technician_id
        self.assertEqual(self._slots(lead), [(first.id, lead.company_id.id, 0)])
        # declined: the slot goes with the job to the next technician
        lead.action_service_decline("capacity", offer_id=lead.service_offer_id.id)
        self.assertEqual(lead.routing_state, "offered")
        self.assertNotEqual(lead.technician_id, first)
        self.assertEqual(self._slots(lead), [(lead.technician_id.id, lead.company_id.id, 0)])
        lead.action_service_accept(offer_id=lead.service_offer_id.id)
        self.assertEqual(len(self._slots(lead)), 1)
        # archived: the technician's room is free again; restored: taken again; won: free
        lead.action_archive()
        self.assertEqual(self._slots(lead), [])
        lead.action_unarchive()
        self.assertEqual(lead.routing_state, "accepted")
        self.assertEqual(self._slots(lead), [(lead.technician_id.id, lead.company_id.id, 0)])
        lead.action_set_won()
        self.assertEqual(self._slots(lead), [])
        lead.action_set_lost()
        lead.action_unarchive()
        self.assertEqual(self._slots(lead), [])
        # a write in SQL (an import, a script) is followed as well
        self.env.cr.execute("UPDATE crm_lead SET active = false, routing_state = 'cancelled' WHERE id = %s", (lead.id,))
        self.assertEqual(self._slots(lead), [])

    def test_a_dispatcher_beyond_the_capacity_takes_a_slot_above_it(self):
        self.tech_anna.service_capacity = 1
        first = self._create_inquiry(zip="80331")
        self.assertEqual(first.technician_id, self.tech_anna)
        second = self._create_inquiry(zip="80331", name="Second one")
        self.assertNotEqual(second.technician_id, self.tech_anna, "Anna is full")
        action = second.with_user(self.user_dispatcher).action_service_open_assign()
        wizard = self.env["crm.lead.assign"].with_user(self.user_dispatcher).browse(action["res_id"])
        anna = wizard.line_ids.filtered(lambda line: line.technician_id == self.tech_anna)
        self.assertFalse(anna.eligible)
        anna.with_context(service_offer_anyway=True, service_reroute_confirmed=True).action_pick()
        self.assertEqual(second.technician_id, self.tech_anna)
        self.assertEqual(self._slots(first), [(self.tech_anna.id, first.company_id.id, 0)])
        self.assertEqual(self._slots(second), [(self.tech_anna.id, second.company_id.id, 1)])
        # room is counted in slots: with the first job done, the next inquiry finds Anna full still
        first.action_set_won()
        third = self._create_inquiry(zip="80331", name="Third one")
        self.assertNotEqual(third.technician_id, self.tech_anna)

    # ------------------------------------------------------------
    # one transition function
    # ------------------------------------------------------------

    def test_illegal_transition_names_both_states(self):
        lead = self._accepted()
        with self.assertRaisesMessage(UserError, r"cannot be offered: it is Accepted"):
            lead._service_transition("offer")
        lead.action_set_won()
        with self.assertRaisesMessage(UserError, r"cannot be declined: it is Done"):
            lead._service_transition("decline")
        with self.assertRaisesMessage(UserError, r"cannot be declined: it is Job Done"):
            lead.offer_ids._service_transition("decline", decline_reason="capacity")

    @mute_logger("odoo.sql_db")
    def test_database_checks_what_a_state_implies(self):
        lead = self._create_inquiry()
        with self.assertRaises(psycopg2.IntegrityError), self.env.cr.savepoint():
            lead._service_write_routing({"review_reason": "copy"})
            lead.flush_recordset()
        with self.assertRaises(psycopg2.IntegrityError), self.env.cr.savepoint():
            lead._service_write_routing({"technician_id": False})
            lead.flush_recordset()
        offer = lead.service_offer_id
        with self.assertRaises(psycopg2.IntegrityError), self.env.cr.savepoint():
            offer._service_write({"state": "declined"})
            offer.flush_recordset()

    def test_backstop_reads_the_state_date_not_the_write_date(self):
        stuck = self._create_inquiry(zip="10115")
        self.assertEqual(stuck.review_reason, "no_candidate")
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET routing_state_date = routing_state_date - interval '2 hours' WHERE id = %s",
            (stuck.id,),
        )
        stuck.invalidate_recordset()
        # the backstop's own bookkeeping (the review to-do) touches write_date, not the state's date
        self.env["crm.lead"]._service_make_review_todos()
        self.env["crm.lead"]._route_pending()
        self.assertEqual(len(stuck.routing_log_ids), 2)

    # ------------------------------------------------------------
    # Route Again and the assign wizard
    # ------------------------------------------------------------

    def test_route_again_never_silently_reoffers_to_the_current_technician(self):
        lead = self._accepted()
        technician = lead.technician_id
        action = lead.with_user(self.user_dispatcher).action_service_reroute()
        self.assertEqual(action["res_model"], "crm.lead.reroute", "an accepted job: asked first")
        lead.with_user(self.user_dispatcher).with_context(service_reroute_confirmed=True).action_service_reroute()
        self.assertEqual(lead.routing_state, "offered")
        self.assertNotEqual(lead.technician_id, technician)
        log = lead.routing_log_ids.sorted("id")[-1]
        self.assertIn(technician.name, log.reason)
        self.assertIn(
            {"id": technician.id, "rule": "excluded"},
            [{"id": row["id"], "rule": row["rule"]} for row in log.decision["dropped"]],
        )
        self.assertEqual(lead.offer_ids.filtered(lambda o: o.technician_id == technician).state, "withdrawn")

    def test_route_again_refuses_a_job_accepted_since_the_dispatcher_looked(self):
        lead = self._create_inquiry()
        # the dispatcher's dialog saw an open offer; the technician accepted in between
        lead.action_service_accept(offer_id=lead.service_offer_id.id)
        with self.assertRaisesMessage(UserError, "has changed in the meantime"):
            lead.with_user(self.user_dispatcher)._service_transition("withdraw", expected=("offered",))
        self.assertEqual(lead.routing_state, "accepted")

    def test_assign_wizard_asks_before_withdrawing_an_accepted_job(self):
        lead = self._accepted(zip="81675")
        other = (self.tech_anna | self.tech_bernd | self.tech_carla) - lead.technician_id
        wizard = self.env["crm.lead.assign"].with_user(self.user_dispatcher).with_context(active_id=lead.id).create({})
        wizard.technician_id = other[0]
        with self.assertRaisesMessage(UserError, "Withdraw the Accepted Job"):
            wizard.action_assign()
        self.assertEqual(lead.routing_state, "accepted")
        wizard.technician_id = lead.technician_id
        with self.assertRaisesMessage(UserError, "nothing to change"):
            wizard.action_assign()
        wizard.technician_id = other[0]
        wizard.confirm_withdraw = True
        wizard.action_assign()
        self.assertEqual((lead.routing_state, lead.technician_id), ("offered", other[0]))

    def test_offer_anyway_is_an_override_on_record(self):
        lead = self._create_inquiry(equipment_type_id=self.type_gas.id)
        self.assertEqual(lead.review_reason, "safety_critical")
        wizard = self.env["crm.lead.assign"].with_user(self.user_dispatcher).with_context(active_id=lead.id).create({})
        wizard.technician_id = self.tech_anna
        with self.assertRaisesMessage(UserError, "Offer Anyway"):
            wizard.action_assign()
        wizard.confirm_unqualified = True
        wizard.action_assign()
        log = lead.routing_log_ids.sorted("id")[-1]
        self.assertIn("safety_training", log.override_rules)
        self.assertIn("Override by Dana Dispatcher", log.reason)
        self.assertIn("Not trained for safety-critical equipment", log.reason)
        offer = lead.service_offer_id
        self.assertIn("Gas Boiler", offer.override_note)
        self.assertIn("Dana Dispatcher", offer.override_note)
        body = lead.message_ids.filtered(lambda m: "Override" in (m.body or ""))[:1].body
        self.assertIn("Not trained for safety-critical equipment", body)
        mail = self.env.ref("crm_service_routing.mail_template_offer_new")._render_field("body_html", offer.ids)
        self.assertIn("Gas Boiler", str(mail[offer.id]))

    # ------------------------------------------------------------
    # merge keeps everything
    # ------------------------------------------------------------

    def test_merge_keeps_visits_keys_and_followons(self):
        Lead = self.env["crm.lead"]
        head = Lead.browse(Lead.submit_service_request(self._request("REF-HEAD"))["id"])
        tail_result = Lead.submit_service_request(self._request("REF-TAIL"))
        tail = Lead.browse(tail_result["id"])
        tail.action_service_accept(offer_id=tail.service_offer_id.id)
        tail_offer = tail.service_offer_id
        visit = tail_offer._service_portal_document_visit(
            {"work_done": "Filter cleaned"}, access_token=tail_offer.access_token
        )
        followon = Lead.create(self._inquiry_vals(name="Follow-on", service_origin_lead_id=tail.id))
        merged = (head | tail)._merge_opportunity(auto_unlink=True)
        self.assertEqual(merged, head)
        self.assertFalse(tail.exists())
        self.assertEqual(visit.lead_id, head)
        self.assertEqual(followon.service_origin_lead_id, head)
        self.assertIn(tail_offer, head.offer_ids)
        self.assertEqual(len(head.offer_ids.filtered(lambda o: o.state in ("offered", "accepted"))), 1)
        # a retry of the merged request answers with the survivor
        again = Lead.submit_service_request(self._request("REF-TAIL"))
        self.assertEqual((again["status"], again["id"]), ("duplicate", head.id))

    def test_merge_takes_over_the_accepted_job_of_a_held_inquiry(self):
        head = self._create_inquiry(zip="10115", city="Berlin", email_from="same@example.org")
        self.assertEqual(head.routing_state, "review")
        tail = self._accepted(email_from="same@example.org")
        technician = tail.technician_id
        merged = (head | tail)._merge_opportunity(auto_unlink=True)
        self.assertEqual((merged.routing_state, merged.technician_id), ("accepted", technician))
        self.assertFalse(merged.review_reason)

    def _request(self, ref):
        return service_request(external_ref=ref)

    # ------------------------------------------------------------
    # validation on write as on create
    # ------------------------------------------------------------

    def test_bad_postal_code_written_on_an_existing_inquiry(self):
        lead = self._create_inquiry()
        with self.assertRaisesMessage(ValidationError, "8033 is not a valid postal code for Germany"):
            lead.write({"zip": "8033"})
        self.assertEqual(lead.zip, "80331")
        lead.write({"zip": " 81675 "})
        self.assertEqual(lead.zip, "81675")


@tagged("post_install", "-at_install", "crm_service_routing")
class TestUniqueInquiries(ServiceRoutingCase):
    """Repeats of one customer about the same equipment are linked to one unique inquiry."""

    def _request(self, ref, **values):
        return {
            "external_ref": ref,
            "name": "Heat pump makes noise",
            "service_occasion": "repair",
            "contact_name": "Familie Huber",
            "email": "huber@example.com",
            "zip": "81675",
            "city": "München",
            "country": "DE",
            **values,
        }

    def test_repeat_is_linked_not_routed(self):
        Lead = self.env["crm.lead"]
        first = Lead.submit_service_request(self._request("CALL-1", serial_number="HP-0001"))
        self.assertEqual(first["status"], "created")
        unique = Lead.browse(first["id"])
        self.assertEqual(unique.routing_state, "offered")
        again = Lead.submit_service_request(self._request("FORM-2", serial_number="HP-0001", service_occasion="other"))
        self.assertEqual((again["status"], again["unique_inquiry_id"]), ("linked", unique.id))
        repeat = Lead.browse(again["id"])
        self.assertEqual((repeat.routing_state, repeat.service_unique_lead_id), ("linked", unique))
        self.assertFalse(repeat.offer_ids, "not routed on its own")
        self.assertFalse(repeat.routing_log_ids)
        self.assertEqual(unique.service_linked_lead_ids, repeat)
        self.assertIn("Repeat of", repeat.message_ids[0].body)
        # the retry of the repeat answers the same
        retry = Lead.submit_service_request(self._request("FORM-2", serial_number="HP-0001", service_occasion="other"))
        self.assertEqual((retry["status"], retry["id"]), ("duplicate", repeat.id))

    def test_same_type_and_occasion_without_serial(self):
        Lead = self.env["crm.lead"]
        vals = self._inquiry_vals(email_from="huber@example.com", zip="81675", equipment_type_id=self.type_pv.id)
        unique = Lead.create(vals)
        self.assertEqual(unique.match_method, "email")
        repeat = Lead.create(dict(vals))
        self.assertEqual(repeat.service_unique_lead_id, unique)
        other_occasion = Lead.create(dict(vals, service_occasion="maintenance"))
        self.assertFalse(other_occasion.service_unique_lead_id)
        self.assertEqual(other_occasion.routing_state, "offered")
        stranger = Lead.create(dict(vals, email_from="someone@example.org"))
        self.assertFalse(stranger.service_unique_lead_id, "only a matched customer's inquiries are repeats")

    def test_window_and_closed_inquiries(self):
        Lead = self.env["crm.lead"]
        vals = self._inquiry_vals(email_from="huber@example.com", zip="81675", equipment_type_id=self.type_pv.id)
        old = Lead.create(vals)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET create_date = create_date - interval '15 days' WHERE id = %s", [old.id]
        )
        self.assertFalse(Lead.create(dict(vals)).service_unique_lead_id, "older than the 14-day window")
        self.company.service_unique_window_days = 30
        fresh = Lead.create(dict(vals))
        self.assertEqual(fresh.service_unique_lead_id, old)
        old.action_set_lost()
        self.assertEqual(fresh.routing_state, "linked")
        self.assertFalse(Lead.create(dict(vals, name="After")).service_unique_lead_id.filtered(lambda u: u == old))

    def test_dispatcher_links_and_unlinks_with_a_reason(self):
        unique = self._create_inquiry()
        other = self._create_inquiry(email_from="other@example.org")
        offer = other.service_offer_id
        with self.assertRaisesMessage(UserError, "Say why"):
            other.with_user(self.user_dispatcher).action_service_link(unique.id, "")
        other.with_user(self.user_dispatcher).action_service_link(unique.id, "Same caller, other phone")
        self.assertEqual((other.routing_state, other.service_unique_lead_id), ("linked", unique))
        self.assertEqual(offer.state, "withdrawn")
        self.assertIn("Same caller, other phone", other.message_ids[0].body)
        self.assertIn("Same caller, other phone", unique.message_ids[0].body)
        with self.assertRaises(UserError):
            other.with_user(self.user_dispatcher).write({"service_unique_lead_id": False})
        other.with_user(self.user_dispatcher).action_service_unlink("A different heat pump")
        self.assertFalse(other.service_unique_lead_id)
        self.assertEqual(other.routing_state, "offered")
        self.assertIn("A different heat pump", other.message_ids.sorted("id")[-1].body)
        with self.assertRaises(AccessError):
            other.with_user(self.user_salesman).action_service_unlink("no")

    def test_link_wizard_from_the_form_and_cleaned_up(self):
        unique = self._create_inquiry()
        lead = self._create_inquiry(email_from="other@example.org")
        action = lead.with_user(self.user_dispatcher).action_service_open_link()
        Wizard = self.env["crm.lead.link"].with_user(self.user_dispatcher).with_context(action["context"])
        with Form(Wizard) as form:
            self.assertEqual(form.lead_id, lead)
            form.unique_lead_id = unique
            form.reason = "Same caller"
        wizard = form.save()
        self.assertFalse(wizard.undo_link)
        wizard.action_confirm()
        self.assertEqual((lead.routing_state, lead.service_unique_lead_id), ("linked", unique))
        action = lead.with_user(self.user_dispatcher).action_service_open_unlink()
        undo = self.env["crm.lead.link"].with_context(action["context"]).create({"reason": "Another device"})
        self.assertTrue(undo.undo_link)
        undo.action_confirm()
        self.assertFalse(lead.service_unique_lead_id)
        # Odoo's vacuum deletes old wizards: no field may hide the ORM's own methods
        (wizard | undo).sudo().unlink()
        self.assertFalse((wizard | undo).exists())
        for name, Model in self.env.registry.items():
            hidden = [
                fname
                for fname, field in Model._fields.items()
                if field._module == "crm_service_routing" and callable(getattr(models.BaseModel, fname, None))
            ]
            self.assertFalse(hidden, f"{name}: fields hide ORM methods")

    def test_uniqueness_costs_one_query(self):
        unique = self._create_inquiry(email_from="huber@example.com", zip="81675")
        vals = self._inquiry_vals(email_from="huber@example.com", zip="81675")
        vals.update(self.env["crm.lead"]._service_match_values(dict(vals)))
        self.env.company.service_unique_window_days  # noqa: B018 - the company is read with the request
        self.env.flush_all()
        with self.assertQueryCount(1):
            found = self.env["crm.lead"]._service_unique_for(vals)
        self.assertEqual(found, unique.id)
