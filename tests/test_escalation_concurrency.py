# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Two escalation runs at once, on separate cursors, never act twice on an offer.

As in test_routing_concurrency: the fixtures are committed (threads see no
uncommitted data) and removed afterwards; each run works in a transaction of
its own, as a call over RPC does (the scheduled action commits batch by batch).
"""

import datetime

from odoo import SUPERUSER_ID, Command, fields
from odoo.tests import tagged

from .common import ConcurrentCase, thread_env

OFFERS = 40


@tagged("post_install", "-at_install", "crm_service_routing")
class TestEscalationConcurrency(ConcurrentCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.registry.cursor() as cr:
            env = thread_env(cls.registry, cr, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nolog": True})
            level = env["service.level"].create(
                {
                    "name": "Concurrent Escalation",
                    "code": "CONC-ESC",
                    "response_hours": 2,
                    "escalation_stage_ids": [
                        Command.create({"after_hours": 1, "action": "remind"}),
                        Command.create({"after_hours": 100, "action": "notify"}),
                    ],
                }
            )
            cls.level_id = level.id
            cls.stage_ids = level.escalation_stage_ids.ids
        past = fields.Datetime.now() - datetime.timedelta(hours=3)
        cls._commit_offers(
            "Concurrent Escalation Technician",
            [
                {
                    "name": f"Escalation race {index}",
                    "service_occasion": "repair",
                    "service_level_id": cls.level_id,
                    "email_from": f"race{index}@example.org",
                }
                for index in range(OFFERS)
            ],
            past,
            service_escalation_stage=cls.stage_ids,
            service_level=[cls.level_id],
        )

    def reminders(self):
        mails = self.offer_mail_counts("Reminder:")
        with self.registry.cursor() as cr:
            cr.execute("SELECT id, escalation_step FROM service_offer WHERE id = ANY(%s)", (self.offer_ids,))
            return mails, dict(cr.fetchall())

    def test_two_runs_at_once_never_double_act(self):
        def escalate(env):
            return env["service.offer"]._escalate(batch_size=5).ids

        results = self.run_threads([escalate, escalate])
        self.assertEqual([error for _ids, error in results if error], [])
        first, second = ({offer_id for offer_id in ids if offer_id in self.offer_ids} for ids, _error in results)
        self.assertFalse(first & second, "an offer was escalated by both runs")
        self.assertEqual(first | second, set(self.offer_ids))
        mails, steps = self.reminders()
        self.assertEqual(mails, dict.fromkeys(self.offer_ids, 1))
        self.assertEqual(set(steps.values()), {1})
        # and a third run, afterwards, finds nothing to do
        results = self.run_threads([escalate])
        self.assertFalse(set(results[0][0] or ()) & set(self.offer_ids))
        self.assertEqual(self.reminders()[0], dict.fromkeys(self.offer_ids, 1))
