# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Routing under concurrent callers: real PostgreSQL cursors in threads.

Each thread works as an RPC request does: its own cursor, Odoo's request
retry on serialization failures (``odoo.service.model.retrying``), a commit
at the end. The fixtures are committed too (threads see no uncommitted
data) and removed afterwards.
"""

from odoo import SUPERUSER_ID
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import ConcurrentCase, thread_env

AREA = ("90000", "91999")  # Nürnberg: no other fixture routes here
ZIPS = ["90402", "90403", "90408", "90409", "90411", "90419", "90425", "90429", "90431", "90439"]


@tagged("post_install", "-at_install", "crm_service_routing")
class TestRoutingConcurrency(ConcurrentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.registry.cursor() as cr:
            env = thread_env(cls.registry, cr, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nolog": True})
            env["service.postal.code"]._load_countries(["DE"])
            cls.company_id = env.ref("base.main_company").id
            cls.type_id = env["service.equipment.type"].create({"name": "Concurrency Pump", "code": "CONC-PUMP"}).id
            cls.technician_ids = [
                env["res.partner"]
                .create(
                    {
                        "name": f"Concurrent Technician {index}",
                        "is_technician": True,
                        "company_id": cls.company_id,
                        "country_id": env.ref("base.de").id,
                        "zip": "90402",
                        "service_capacity": 2,
                        "service_equipment_type_ids": [(6, 0, [cls.type_id])],
                        "service_area_ids": [
                            (
                                0,
                                0,
                                {
                                    "kind": "range",
                                    "country_id": env.ref("base.de").id,
                                    "zip_from": AREA[0],
                                    "zip_to": AREA[1],
                                },
                            )
                        ],
                    }
                )
                .id
                for index in range(3)
            ]
        cls.addClassCleanup(cls._remove_fixtures)

    @classmethod
    def _remove_fixtures(cls):
        with cls.registry.cursor() as cr:
            cr.execute("SELECT id FROM crm_lead WHERE equipment_type_id = %s", (cls.type_id,))
            lead_ids = [row[0] for row in cr.fetchall()]
            for query in (
                "DELETE FROM service_offer WHERE lead_id = ANY(%(leads)s) OR technician_id = ANY(%(techs)s)",
                "DELETE FROM service_routing_log WHERE lead_id = ANY(%(leads)s)",
                "DELETE FROM crm_lead WHERE id = ANY(%(leads)s)",
                "DELETE FROM service_rotation_entry WHERE technician_id = ANY(%(techs)s)",
                "DELETE FROM service_area WHERE technician_id = ANY(%(techs)s)",
                "DELETE FROM res_partner WHERE id = ANY(%(techs)s)",
                "DELETE FROM service_equipment_type WHERE id = %(type)s",
            ):
                cr.execute(query, {"leads": lead_ids, "techs": cls.technician_ids, "type": cls.type_id})

    def setUp(self):
        super().setUp()
        self.set_capacity(2)
        self.addCleanup(self._close_leads)

    def set_capacity(self, capacity):
        with self.registry.cursor() as cr:
            cr.execute(
                "UPDATE res_partner SET service_capacity = %s, service_paused = false WHERE id = ANY(%s)",
                (capacity, self.technician_ids),
            )

    def _close_leads(self):
        # what one test left open does not fill the next one's capacity
        with self.registry.cursor() as cr:
            cr.execute(
                "UPDATE crm_lead SET active = false, routing_state = 'cancelled', review_reason = NULL"
                " WHERE equipment_type_id = %s",
                (self.type_id,),
            )
            cr.execute(
                """UPDATE service_offer SET state = 'cancelled', closed_at = now() at time zone 'UTC'
                    WHERE technician_id = ANY(%s) AND state IN ('offered', 'accepted')""",
                (self.technician_ids,),
            )

    def inquiry_vals(self, index):
        return {
            "name": f"Concurrent inquiry {index}",
            "service_occasion": "repair",
            "email_from": f"customer{index}@example.org",
            "zip": ZIPS[index % len(ZIPS)],
            "country_id": self.env_ref_de,
            "equipment_type_id": self.type_id,
        }

    @property
    def env_ref_de(self):
        with self.registry.cursor() as cr:
            return thread_env(self.registry, cr, SUPERUSER_ID, {}).ref("base.de").id

    def states(self, lead_ids):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT id, routing_state, technician_id, review_reason FROM crm_lead WHERE id = ANY(%s)",
                (list(lead_ids),),
            )
            return {row[0]: row[1:] for row in cr.fetchall()}

    def open_load(self):
        with self.registry.cursor() as cr:
            cr.execute(
                """SELECT technician_id, count(*) FROM crm_lead
                    WHERE technician_id = ANY(%s) AND active AND routing_state IN ('offered', 'accepted')
                    GROUP BY technician_id""",
                (self.technician_ids,),
            )
            return dict(cr.fetchall())

    def test_parallel_inquiries_are_routed_at_arrival(self):
        """Overlapping candidates: every inquiry is routed in its own request, none is left for the cron."""
        self.set_capacity(100)
        de = self.env_ref_de
        functions = [
            (lambda env, index=index: env["crm.lead"].create(dict(self.inquiry_vals(index), country_id=de)).id)
            for index in range(16)
        ]
        results = self.run_threads(functions)
        self.assertEqual([error for _id, error in results if error], [])
        states = self.states(lead_id for lead_id, _error in results)
        self.assertEqual(len(states), 16)
        self.assertEqual({state for state, _tech, _reason in states.values()}, {"offered"}, states)
        # the rotation still spreads them: no technician got them all
        load = self.open_load()
        self.assertEqual(sum(load.values()), 16)
        self.assertEqual(len(load), 3, load)

    def test_capacity_holds_under_concurrency(self):
        """3 technicians with room for 2 each, 10 inquiries at once: 6 offers, never a third to anyone."""
        de = self.env_ref_de
        functions = [
            (lambda env, index=index: env["crm.lead"].create(dict(self.inquiry_vals(index), country_id=de)).id)
            for index in range(10)
        ]
        results = self.run_threads(functions)
        self.assertEqual([error for _id, error in results if error], [])
        states = self.states(lead_id for lead_id, _error in results)
        load = self.open_load()
        self.assertLessEqual(max(load.values()), 2, load)
        self.assertEqual(sum(load.values()), 6, states)
        held = [reason for state, _tech, reason in states.values() if state == "review"]
        self.assertEqual(held, ["no_candidate"] * 4, states)
        self.assertNotIn("new", {state for state, _tech, _reason in states.values()})

    def set_capacities(self, capacities):
        with self.registry.cursor() as cr:
            for technician_id, capacity in zip(self.technician_ids, capacities, strict=True):
                cr.execute("UPDATE res_partner SET service_capacity = %s WHERE id = %s", (capacity, technician_id))

    def test_a_routing_in_an_older_snapshot_waits_instead_of_retrying(self):
        """Two requests counted the same free room before a third took it: no serialization failure,
        no retried request; one takes the room that is left, the other finds none."""
        self.set_capacities([2, 0, 0])
        de = self.env_ref_de
        with self.registry.cursor() as cr_a, self.registry.cursor() as cr_c:
            env_a = thread_env(self.registry, cr_a, SUPERUSER_ID)
            env_c = thread_env(self.registry, cr_c, SUPERUSER_ID)
            # both take their snapshot now, with the technician's two slots free
            self.assertEqual(self.open_load(), {})
            for env in (env_a, env_c):
                env.cr.execute(
                    "SELECT count(*) FROM service_technician_slot WHERE technician_id = %s", (self.technician_ids[0],)
                )
                self.assertEqual(env.cr.fetchone()[0], 0)
            # meanwhile a third request routes an inquiry to the technician and commits
            first = self.in_request(lambda env: env["crm.lead"].create(dict(self.inquiry_vals(0), country_id=de)).id)
            # no retry here: a serialization failure would be raised out of create()
            second = env_a["crm.lead"].create(dict(self.inquiry_vals(1), country_id=de))
            self.assertEqual((second.routing_state, second.technician_id.id), ("offered", self.technician_ids[0]))
            cr_a.commit()
            third = env_c["crm.lead"].create(dict(self.inquiry_vals(2), country_id=de))
            self.assertEqual((third.routing_state, third.review_reason), ("review", "no_candidate"))
            cr_c.commit()
        states = self.states([first, second.id, third.id])
        self.assertEqual(states[first][:2], ("offered", self.technician_ids[0]))
        self.assertEqual(self.open_load(), {self.technician_ids[0]: 2})

    def test_answer_racing_a_decline_never_takes_the_next_offer(self):
        """A dispatcher accepts offer A while its technician declines it: never is offer B accepted."""
        self.set_capacity(100)
        de = self.env_ref_de
        for round_ in range(5):
            lead_id = self.in_request(
                lambda env, round_=round_: env["crm.lead"].create(dict(self.inquiry_vals(round_), country_id=de)).id
            )
            with self.registry.cursor() as cr:
                cr.execute("SELECT id FROM service_offer WHERE lead_id = %s AND state = 'offered'", (lead_id,))
                offer_a = cr.fetchone()[0]

            def decline(env, offer_a=offer_a):
                return env["service.offer"].browse(offer_a).action_decline("capacity")

            def accept(env, lead_id=lead_id, offer_a=offer_a):
                return env["crm.lead"].browse(lead_id).action_service_accept(offer_id=offer_a)

            (_declined, decline_error), (_accepted, accept_error) = self.run_threads([decline, accept])
            self.assertIsNone(decline_error)
            if accept_error:
                self.assertIsInstance(accept_error, UserError)
            with self.registry.cursor() as cr:
                cr.execute("SELECT id, state FROM service_offer WHERE lead_id = %s ORDER BY id", (lead_id,))
                offers = dict(cr.fetchall())
            self.assertEqual(offers.pop(offer_a), "declined", f"round {round_}")
            self.assertEqual(set(offers.values()), {"offered"}, f"round {round_}: the next offer was answered")
            state = self.states([lead_id])[lead_id]
            self.assertEqual(state[0], "offered", f"round {round_}")
