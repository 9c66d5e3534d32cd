# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import gc
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.sql_db import Cursor
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.mail.tests.common import mail_new_test_user

from ..models.service_offer import ROUTING_WRITE
from .common import ServiceRoutingCase

HOUR = datetime.timedelta(hours=1)


@tagged("post_install", "-at_install", "service_reporting")
class TestReporting(ServiceRoutingCase):
    """A known set of inquiries with fixed timestamps, written to the database
    as the routing would have recorded them, and every measure of the
    inquiry analysis and the technician scorecard asserted exactly.

    Timeline (hours after ``base``, 20 days ago):

    - I1 (heat pump, Basic 24 h, 80331, existing, web/spring): created 0;
      Anna offered 1, declined 3 (capacity); Bernd offered 3, accepted 5;
      Bernd's visit at 30 with a follow-on order of 1200. Two repeats linked.
    - I2 (PV, Gold 4 h, 81675, new, follow-on raised by Anna): created 24;
      Carla offered 25, expired by the escalation at 29 after two stages;
      Bernd offered 29, accepted 31; won at 48 (expected revenue 800).
    - I3 (heat pump line itself, Basic, 85354, existing): created 48;
      Anna offered 49, declined 50 (area); Carla offered 50, declined 52
      (other); lost at 60.
    - I4 (heat pump, Gold, 80999): created an hour before the offer to Anna,
      open, its window not yet passed.
    - I5 (PV, Basic, 80331): 100 days ago, Anna offered +1, accepted +3
      (outside the scorecard's 90 days).
    - I6: another company's inquiry, accepted by its own technician.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.now = fields.Datetime.now().replace(minute=0, second=0, microsecond=0)
        base = cls.base = cls.now - datetime.timedelta(days=20)
        cls.bavaria = cls.env["res.country.state"].search([("code", "=", "DE-BY"), ("country_id", "=", cls.de.id)])
        cls.web = cls.env["utm.source"].create({"name": "Service form"})
        cls.spring = cls.env["utm.campaign"].create({"name": "Spring check"})
        cls.won_stage = cls.env["crm.stage"].create({"name": "Done (service)", "is_won": True})
        cls.company_b = cls.env["res.company"].create({"name": "Service Nord GmbH", "country_id": cls.de.id})
        cls.tech_dora = cls.env["res.partner"].create(
            {"name": "Dora Nord", "is_technician": True, "company_id": cls.company_b.id, "zip": "10115"}
        )
        cls.user_dispatcher_b = mail_new_test_user(
            cls.env,
            login="svc_dispatcher_b",
            groups="sales_team.group_sale_salesman,crm_service_routing.group_service_dispatcher",
            name="Bea Dispatcher",
            company_id=cls.company_b.id,
            company_ids=[(6, 0, [cls.company_b.id])],
        )

        basic, gold = cls.level_standard, cls.level_premium
        cls.i1 = cls._inquiry(
            "I1",
            base,
            "80331",
            cls.type_hp_air,
            basic,
            "existing",
            offers=[
                (cls.tech_anna, 1, "declined", 3, 24, "capacity", 0),
                (cls.tech_bernd, 3, "accepted", 5, 24, None, 0),
            ],
            source_id=cls.web.id,
            campaign_id=cls.spring.id,
            state_id=cls.bavaria.id,
        )
        cls._visit(cls.i1, cls.tech_bernd, base + 30 * HOUR, 1200)
        cls.repeats = cls._inquiry("I1 again", base + 2 * HOUR, "80331", cls.type_hp_air, basic, "existing")
        cls.repeats |= cls._inquiry("I1 web form", base + 4 * HOUR, "80331", cls.type_hp_air, basic, "existing")
        cls._sql("UPDATE crm_lead SET service_unique_lead_id = %s WHERE id = ANY(%s)", cls.i1.id, cls.repeats.ids)
        cls.i2 = cls._inquiry(
            "I2",
            base + 24 * HOUR,
            "81675",
            cls.type_pv,
            gold,
            "new",
            offers=[
                (cls.tech_carla, 1, "expired", 5, 4, None, 2),
                (cls.tech_bernd, 5, "accepted", 7, 4, None, 0),
            ],
            source_id=cls.web.id,
            service_generated_by_id=cls.tech_anna.id,
        )
        cls._close(cls.i2, "done", base + 48 * HOUR, won=True, expected_revenue=800)
        cls.i3 = cls._inquiry(
            "I3",
            base + 48 * HOUR,
            "85354",
            cls.type_heatpump,
            basic,
            "existing",
            offers=[
                (cls.tech_anna, 1, "declined", 2, 24, "service_area", 0),
                (cls.tech_carla, 2, "declined", 4, 24, "other", 0),
            ],
        )
        cls._close(cls.i3, "cancelled", base + 60 * HOUR)
        cls.i4 = cls._inquiry(
            "I4",
            cls.now - 2 * HOUR,
            "80999",
            cls.type_hp_air,
            gold,
            "new",
            offers=[(cls.tech_anna, 1, "offered", None, 4, None, 0)],
        )
        old = cls.now - datetime.timedelta(days=100)
        cls.i5 = cls._inquiry(
            "I5",
            old,
            "80331",
            cls.type_pv,
            basic,
            "new",
            offers=[(cls.tech_anna, 1, "accepted", 3, 24, None, 0)],
        )
        cls.i6 = cls._inquiry(
            "I6",
            base,
            "10115",
            cls.type_pv,
            basic,
            "new",
            offers=[(cls.tech_dora, 1, "accepted", 2, 24, None, 0)],
            company=cls.company_b,
        )
        cls.env.invalidate_all()

    # ------------------------------------------------------------
    # fixtures as the routing records them
    # ------------------------------------------------------------

    @classmethod
    def _sql(cls, query, *params):
        cls.env.flush_all()
        cls.env.cr.execute(query, params)

    @classmethod
    def _inquiry(cls, name, created, zip_code, equipment_type, level, kind, offers=(), company=None, **values):
        """An inquiry created at ``created``; offers as (technician, offered after hours, state,
        answered after hours, window hours, decline reason, escalation steps)."""
        company = company or cls.company
        lead = (
            cls.env["crm.lead"]
            .with_company(company)
            .with_context(service_no_routing=True)
            .create(
                {
                    "name": name,
                    "type": "opportunity",
                    "service_occasion": "repair",
                    "contact_name": "Eva Neu",
                    "email_from": f"{name.replace(' ', '.').lower()}@example.org",
                    "zip": zip_code,
                    "country_id": cls.de.id,
                    "equipment_type_id": equipment_type.id,
                    "service_level_id": level.id,
                    "company_id": company.id,
                }
            )
        )
        cls._sql("UPDATE crm_lead SET create_date = %s, customer_kind = %s WHERE id = %s", created, kind, lead.id)
        if values:
            columns = ", ".join(f"{fname} = %s" for fname in values)
            cls._sql(f"UPDATE crm_lead SET {columns} WHERE id = %s", *values.values(), lead.id)
        Offer = cls.env["service.offer"].sudo().with_context(service_routing_write=ROUTING_WRITE)
        for technician, after, state, answered, window, reason, steps in offers:
            offer = Offer.create(
                {
                    "lead_id": lead.id,
                    "technician_id": technician.id,
                    "company_id": company.id,
                    "state": "withdrawn",
                    "closed_at": created,
                }
            )
            offered_at = created + after * HOUR
            responded_at = answered is not None and created + answered * HOUR or None
            cls._sql(
                """UPDATE service_offer
                      SET state = %s, offered_at = %s, responded_at = %s, response_hours = %s,
                          answer_deadline = %s, decline_reason = %s, escalation_step = %s, service_level_id = %s,
                          closed_at = CASE WHEN state IN ('offered', 'accepted') THEN NULL
                                           ELSE COALESCE(responded_at, offered_at) END
                    WHERE id = %s""",
                state,
                offered_at,
                responded_at,
                answered is not None and answered - after or None,
                offered_at + window * HOUR,
                reason,
                steps,
                level.id,
                offer.id,
            )
            if state in ("offered", "accepted"):
                cls._sql(
                    """UPDATE crm_lead SET routing_state = %s, technician_id = %s, offered_at = %s, accepted_at = %s
                        WHERE id = %s""",
                    state,
                    technician.id,
                    offered_at,
                    responded_at if state == "accepted" else None,
                    lead.id,
                )
        return lead

    @classmethod
    def _visit(cls, lead, technician, when, amount):
        visit = cls.env["service.visit"].create(
            {
                "lead_id": lead.id,
                "technician_id": technician.id,
                "visit_date": when.date(),
                "work_done": "Compressor replaced",
                "followon_order": True,
                "followon_amount": amount,
            }
        )
        cls._sql("UPDATE service_visit SET create_date = %s WHERE id = %s", when, visit.id)

    @classmethod
    def _close(cls, lead, state, when, won=False, expected_revenue=0):
        if won:
            cls._sql(
                """UPDATE crm_lead SET routing_state = %s, date_closed = %s, stage_id = %s, probability = 100,
                          expected_revenue = %s WHERE id = %s""",
                state,
                when,
                cls.won_stage.id,
                expected_revenue,
                lead.id,
            )
        else:
            cls._sql(
                """UPDATE crm_lead SET routing_state = %s, date_closed = %s, active = FALSE, probability = 0,
                          technician_id = NULL WHERE id = %s""",
                state,
                when,
                lead.id,
            )

    # ------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------

    MEASURES = [
        "__count",
        "inquiry_count:sum",
        "linked_count:sum",
        "offer_count:sum",
        "answered_count:sum",
        "accepted_count:sum",
        "decline_count:sum",
        "decline_area_count:sum",
        "decline_capacity_count:sum",
        "decline_specialization_count:sum",
        "decline_other_count:sum",
        "reassign_count:sum",
        "escalation_count:sum",
        "order_amount:sum",
        "hours_to_first_offer:avg",
        "hours_to_accept:avg",
        "hours_to_accept_median:avg",
        "hours_to_first_activity:avg",
        "within_sla_rate:avg",
        "acceptance_rate:avg",
        "conversion_rate:avg",
        "average_order:avg",
        "existing_share:avg",
    ]

    def _grouped(self, groupby, model="service.inquiry.report", measures=None, user=None):
        Report = self.env[model].with_user(user or self.user_dispatcher)
        measures = measures or self.MEASURES
        rows = Report._read_group([], [groupby], measures)
        result = {}
        for row in rows:
            key = row[0]
            key = key.id if hasattr(key, "_name") else key
            values = {}
            for spec, value in zip(measures, row[1:], strict=True):
                values[spec.split(":")[0]] = round(value, 4) if isinstance(value, float) else value
            result[key] = values
        return result

    def assertMeasures(self, actual, expected):
        self.maxDiff = None
        self.assertEqual({key: actual.get(key) for key in expected}, expected)

    # ------------------------------------------------------------
    # inquiry analysis
    # ------------------------------------------------------------

    def test_rows_are_unique_inquiries(self):
        rows = self.env["service.inquiry.report"].with_user(self.user_dispatcher).search([])
        self.assertEqual(rows.lead_id, self.i1 | self.i2 | self.i3 | self.i4 | self.i5)
        row = rows.filtered(lambda r: r.lead_id == self.i1)
        self.assertEqual(row.linked_count, 2)
        self.assertEqual(row.inquiry_count, 3)
        self.assertEqual(row.technician_id, self.tech_bernd)
        self.assertEqual(row.equipment_line_id, self.type_heatpump)
        self.assertEqual(row.zip_prefix, "80")
        self.assertEqual(row.state_id, self.bavaria)
        self.assertEqual((row.source_id, row.campaign_id), (self.web, self.spring))
        self.assertEqual(row.date, self.base)
        self.assertEqual(row.first_offered_at, self.base + HOUR)
        self.assertEqual(row.accepted_at, self.base + 5 * HOUR)
        self.assertEqual(row.first_activity_at, self.base + 3 * HOUR)
        self.assertFalse(row.closed_at)
        self.assertTrue(row.within_sla)
        self.assertTrue(row.converted)
        self.assertEqual(row.order_amount, 1200)
        self.assertEqual(row.acceptance_rate, 50)
        i2 = rows.filtered(lambda r: r.lead_id == self.i2)
        self.assertEqual(i2.generated_by_id, self.tech_anna)
        self.assertEqual(i2.closed_at, self.base + 48 * HOUR)
        self.assertEqual((i2.won, i2.converted, i2.within_sla, i2.within_sla_rate), (True, True, False, 0))
        self.assertEqual((i2.reassign_count, i2.escalation_count, i2.escalated), (1, 2, True))
        i3 = rows.filtered(lambda r: r.lead_id == self.i3)
        # lost before its window ran out, never accepted: no SLA verdict; its last offer names the technician
        self.assertEqual(
            (i3.lost, i3.converted, i3.within_sla_rate, i3.technician_id), (True, False, 0, self.tech_carla)
        )
        self.assertEqual(i3.closed_at, self.base + 60 * HOUR)
        self.assertEqual(i3.equipment_line_id, self.type_heatpump)
        i4 = rows.filtered(lambda r: r.lead_id == self.i4)
        self.assertFalse(i4.acceptance_rate)
        self.assertEqual(i4.technician_id, self.tech_anna)

    def test_measures_per_technician(self):
        groups = self._grouped("technician_id")
        self.assertEqual(set(groups), {self.tech_anna.id, self.tech_bernd.id, self.tech_carla.id})
        self.assertMeasures(
            groups[self.tech_bernd.id],
            {
                "__count": 2,
                "inquiry_count": 4,
                "linked_count": 2,
                "offer_count": 4,
                "answered_count": 3,
                "accepted_count": 2,
                "decline_count": 1,
                "decline_capacity_count": 1,
                "decline_area_count": 0,
                "reassign_count": 1,
                "escalation_count": 2,
                "order_amount": 2000,
                "hours_to_first_offer": 1,
                "hours_to_accept": 6,
                "hours_to_accept_median": 6,
                "hours_to_first_activity": 5,
                "within_sla_rate": 50,
                "acceptance_rate": 66.6667,
                "conversion_rate": 100,
                "average_order": 1000,
                "existing_share": 50,
            },
        )
        self.assertMeasures(
            groups[self.tech_carla.id],
            {
                "__count": 1,
                "inquiry_count": 1,
                "offer_count": 2,
                "answered_count": 2,
                "accepted_count": 0,
                "decline_count": 2,
                "decline_area_count": 1,
                "decline_other_count": 1,
                "decline_capacity_count": 0,
                "order_amount": 0,
                "hours_to_first_offer": 1,
                "hours_to_accept": False,
                "hours_to_accept_median": False,
                "hours_to_first_activity": 2,
                "within_sla_rate": False,
                "acceptance_rate": 0,
                "conversion_rate": 0,
                "average_order": False,
                "existing_share": 100,
            },
        )
        self.assertMeasures(
            groups[self.tech_anna.id],
            {
                "__count": 2,
                "offer_count": 2,
                "answered_count": 1,
                "accepted_count": 1,
                "decline_count": 0,
                "hours_to_first_offer": 1,
                "hours_to_accept": 3,
                "hours_to_accept_median": 3,
                "within_sla_rate": 100,
                "acceptance_rate": 100,
                "conversion_rate": 0,
                "existing_share": 0,
            },
        )

    def test_measures_per_region(self):
        groups = self._grouped("zip_prefix")
        self.assertEqual(set(groups), {"80", "81", "85"})
        self.assertMeasures(
            groups["80"],
            {
                "__count": 3,
                "inquiry_count": 5,
                "offer_count": 4,
                "answered_count": 3,
                "accepted_count": 2,
                "decline_capacity_count": 1,
                "hours_to_accept": 4,
                "hours_to_accept_median": 4,
                "within_sla_rate": 100,
                "acceptance_rate": 66.6667,
                "conversion_rate": 33.3333,
                "order_amount": 1200,
                "average_order": 1200,
                "existing_share": 33.3333,
            },
        )
        self.assertMeasures(
            groups["81"],
            {"__count": 1, "acceptance_rate": 100, "within_sla_rate": 0, "reassign_count": 1, "order_amount": 800},
        )
        self.assertMeasures(groups["85"], {"__count": 1, "acceptance_rate": 0, "decline_count": 2})
        states = self._grouped("state_id", measures=["__count"])
        self.assertEqual(states[self.bavaria.id], {"__count": 1})

    def test_measures_per_equipment(self):
        types = self._grouped("equipment_type_id")
        self.assertEqual(set(types), {self.type_hp_air.id, self.type_pv.id, self.type_heatpump.id})
        self.assertMeasures(
            types[self.type_hp_air.id],
            {"__count": 2, "offer_count": 3, "acceptance_rate": 50, "hours_to_accept": 5, "order_amount": 1200},
        )
        self.assertMeasures(
            types[self.type_pv.id],
            {
                "__count": 2,
                "offer_count": 3,
                "acceptance_rate": 100,
                "hours_to_accept": 5,
                "hours_to_accept_median": 5,
                "within_sla_rate": 50,
                "conversion_rate": 50,
                "average_order": 800,
            },
        )
        self.assertMeasures(types[self.type_heatpump.id], {"__count": 1, "acceptance_rate": 0, "decline_count": 2})
        lines = self._grouped("equipment_line_id")
        self.assertEqual(set(lines), {self.type_heatpump.id, self.type_pv.id})
        self.assertMeasures(
            lines[self.type_heatpump.id],
            {"__count": 3, "offer_count": 5, "answered_count": 4, "accepted_count": 1, "acceptance_rate": 25},
        )

    def test_campaign_and_source(self):
        sources = self._grouped("source_id", measures=["__count", "inquiry_count:sum", "order_amount:sum"])
        self.assertEqual(sources[self.web.id], {"__count": 2, "inquiry_count": 4, "order_amount": 2000})
        campaigns = self._grouped("campaign_id", measures=["__count", "order_amount:sum", "conversion_rate:avg"])
        self.assertEqual(campaigns[self.spring.id], {"__count": 1, "order_amount": 1200, "conversion_rate": 100})

    def test_read_group_for_bi(self):
        """What the README's XML-RPC example reads: acceptance rate and median time to acceptance per region."""
        Report = self.env["service.inquiry.report"].with_user(self.user_dispatcher)
        # the call of the README, as it comes over XML-RPC
        groups = Report.read_group(
            [("date", ">=", "2026-01-01")],
            ["acceptance_rate:avg", "hours_to_accept_median:avg", "inquiry_count:sum"],
            ["zip_prefix"],
            orderby="acceptance_rate asc",
            lazy=False,
        )
        self.assertEqual(
            [
                (g["zip_prefix"], g["__count"], g["inquiry_count"], round(g["acceptance_rate"], 2))
                + (g["hours_to_accept_median"],)
                for g in groups
            ],
            [("85", 1, 1, 0.0, False), ("80", 3, 5, 66.67, 4.0), ("81", 1, 1, 100.0, 7.0)],
        )
        # sorted by a rate: the ratio of the group, not an average of rows
        worst = Report.read_group([], ["acceptance_rate"], ["technician_id"], orderby="acceptance_rate asc")
        self.assertEqual(worst[0]["technician_id"][0], self.tech_carla.id)

    def test_facts_follow_the_routing(self):
        """The per-inquiry facts the analysis reads follow every answer, whoever writes it."""
        lead = self._create_inquiry(zip="81675")
        first = lead.technician_id
        lead.action_service_decline("capacity", offer_id=lead.service_offer_id.id)
        second = lead.service_offer_id
        second.action_accept()
        self.env["service.visit"].create(
            {
                "lead_id": lead.id,
                "technician_id": second.technician_id.id,
                "work_done": "Serviced",
                "followon_order": True,
                "followon_amount": 450,
            }
        )
        self.env.flush_all()
        row = self.env["service.inquiry.report"].search([("lead_id", "=", lead.id)])
        self.assertEqual(
            (row.offer_count, row.answered_count, row.decline_capacity_count, row.accepted_count),
            (2, 2, 1, 1),
        )
        self.assertEqual((row.technician_id, row.converted, row.order_amount), (second.technician_id, True, 450))
        self.assertNotEqual(row.technician_id, first)
        self.assertEqual(row.accepted_at, second.responded_at)

    # ------------------------------------------------------------
    # technician scorecard
    # ------------------------------------------------------------

    def test_scorecard(self):
        cards = self.env["service.technician.scorecard"].with_user(self.user_dispatcher).search([])
        by_tech = {card.technician_id: card for card in cards}
        self.assertEqual(set(by_tech), {self.tech_anna, self.tech_bernd, self.tech_carla})
        fnames = [
            "offer_count",
            "answered_count",
            "accepted_count",
            "declined_count",
            "expired_count",
            "within_sla_rate",
            "acceptance_rate",
            "conversion_rate",
            "average_order",
            "order_amount",
            "escalation_count",
            "avg_response_hours",
            "median_hours_to_accept",
        ]

        def card(technician):
            return {fname: round(by_tech[technician][fname], 4) for fname in fnames}

        # I5's offer is older than 90 days; I4's is open within its window
        self.assertEqual(
            card(self.tech_anna),
            dict(zip(fnames, [3, 2, 0, 2, 0, 100, 0, 0, 0, 0, 0, 1.5, 0], strict=True)),
        )
        self.assertEqual(
            card(self.tech_bernd),
            dict(zip(fnames, [2, 2, 2, 0, 0, 100, 100, 100, 1000, 2000, 0, 2, 2], strict=True)),
        )
        # answered one of two due offers in time, left one to the escalation
        self.assertEqual(
            card(self.tech_carla),
            dict(zip(fnames, [2, 1, 0, 1, 1, 50, 0, 0, 0, 0, 1, 2, 0], strict=True)),
        )
        # the worst first
        self.assertEqual(cards[0].technician_id, self.tech_carla)
        # grouped, a rate is the group's ratio
        total = self._grouped(
            "company_id",
            model="service.technician.scorecard",
            measures=["within_sla_rate:avg", "acceptance_rate:avg", "escalation_count:sum"],
        )
        self.assertEqual(
            total[self.company.id], {"within_sla_rate": 83.3333, "acceptance_rate": 40, "escalation_count": 1}
        )

    def test_scorecard_list_aggregates_once(self):
        """The list view (a page of rows and the count) aggregates the offers once: the company rule's
        check after the search reads its column from what the search fetched, not by aggregating the
        same rows again. The count leaves out the conversions and the median, which it does not read."""
        Scorecard = self.env["service.technician.scorecard"].with_user(self.user_dispatcher)
        spec = {"technician_id": {"fields": {"display_name": {}}}, "acceptance_rate": {}, "median_hours_to_accept": {}}
        with self.capture_queries("service_offer o") as queries:
            page = Scorecard.web_search_read([], spec, limit=2, count_limit=10001)
        self.assertEqual(page["length"], 3)
        self.assertEqual(
            [row["technician_id"]["id"] for row in page["records"]], [self.tech_carla.id, self.tech_anna.id]
        )
        self.assertEqual([row["median_hours_to_accept"] for row in page["records"]], [0, 0])
        # the page and the count
        self.assertEqual(len(queries), 2, [query.code[:160] for query in queries])
        count = next(query for query in queries if query.code.lstrip().upper().startswith("SELECT COUNT"))
        plan = self.query_plan(count)
        self.assertIn("service_offer", plan)
        self.assertNotIn("crm_stage", plan)

    def test_analysis_reads_only_what_it_groups(self):
        """Grouped by technician, the analysis does not join the technicians' partners: only the service
        partner's column needs them."""
        measures = ["hours_to_accept:avg", "within_sla_rate:avg", "inquiry_count:sum", "existing_share:avg"]
        with self.capture_queries("crm_lead l") as queries:
            by_technician = self._grouped("technician_id", measures=measures)
        (query,) = queries
        self.assertNotIn("res_partner", self.query_plan(query))
        row = by_technician[self.tech_bernd.id]
        self.assertEqual(row["inquiry_count"], 4)
        with self.capture_queries("crm_lead l") as queries:
            self._grouped("technician_company_id", measures=measures)
        (query,) = queries
        self.assertIn("res_partner", self.query_plan(query))

    def test_grouped_read_pauses_the_collector_and_restores_it(self):
        """A grouped read runs with Python's cyclic collector paused and its sort in memory; the collector
        is on again after it, also when the read fails, and stays off where it was off before."""
        Report = self.env["service.inquiry.report"].with_user(self.user_dispatcher)
        seen = []
        execute = Cursor.execute

        def spy(cr, query, params=None, log_exceptions=True):
            if isinstance(query, SQL) and "crm_lead l" in query.code:
                seen.append(gc.isenabled())
            return execute(cr, query, params, log_exceptions)

        self.assertTrue(gc.isenabled())
        with patch.object(Cursor, "execute", spy):
            groups = Report._read_group([], ["technician_id"], ["inquiry_count:sum"])
        self.assertTrue(groups)
        self.assertEqual(seen, [False])
        self.assertTrue(gc.isenabled())
        self.env.cr.execute("SHOW work_mem")
        self.assertEqual(self.env.cr.fetchone()[0], "64MB")
        with self.assertRaises(ValueError):
            Report._read_group([], ["no_such_field"], ["__count"])
        self.assertTrue(gc.isenabled())
        gc.disable()
        try:
            Report._read_group([], ["technician_id"], ["__count"])
            self.assertFalse(gc.isenabled())
        finally:
            gc.enable()

    def test_groups_of_one_technician_share_its_record(self):
        """By technician and equipment type, a technician's groups hold one record of it, which
        prefetches the other technicians of the read: their names cost one query for all groups."""
        Report = self.env["service.inquiry.report"].with_user(self.user_dispatcher)
        rows = Report._read_group([], ["technician_id", "equipment_type_id"], ["__count"])
        by_technician = {}
        for technician, equipment_type, count in rows:
            self.assertEqual(technician._name, "res.partner")
            self.assertEqual(equipment_type._name, "service.equipment.type")
            self.assertGreater(count, 0)
            by_technician.setdefault(technician.id, []).append(technician)
        self.assertEqual(set(by_technician), {self.tech_anna.id, self.tech_bernd.id, self.tech_carla.id})
        self.assertTrue(any(len(records) > 1 for records in by_technician.values()), "a technician in two groups")
        for records in by_technician.values():
            self.assertTrue(all(record is records[0] for record in records))
        self.assertEqual(set(rows[0][0]._prefetch_ids), set(by_technician))
        self.env.invalidate_all()
        partner_reads = []
        execute = Cursor.execute

        def spy(cr, query, params=None, log_exceptions=True):
            if isinstance(query, SQL) and 'FROM "res_partner"' in query.code:
                partner_reads.append(query)
            return execute(cr, query, params, log_exceptions)

        with patch.object(Cursor, "execute", spy):
            names = {record.id: record.name for records in by_technician.values() for record in records}
        self.assertEqual(len(partner_reads), 1, "one read of the technicians for all groups")
        self.assertEqual(names[self.tech_bernd.id], self.tech_bernd.sudo().name)

    # ------------------------------------------------------------
    # access
    # ------------------------------------------------------------

    def test_company_isolation(self):
        for model in ("service.inquiry.report", "service.technician.scorecard"):
            with self.subTest(model=model):
                Report = self.env[model].with_user(self.user_dispatcher_b)
                rows = Report.search([])
                self.assertEqual(rows.company_id, self.company_b)
                groups = Report.read_group([], ["__count"], ["company_id"])
                self.assertEqual([g["company_id"][0] for g in groups], [self.company_b.id])
        row = self.env["service.inquiry.report"].with_user(self.user_dispatcher_b).search([])
        self.assertEqual((row.lead_id, row.technician_id), (self.i6, self.tech_dora))

    def test_salesman_has_no_access(self):
        for model in ("service.inquiry.report", "service.technician.scorecard"):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.user_salesman).search([])

    def test_unique_window_setting(self):
        self.assertEqual(self.company_b.service_unique_window_days, 14)
        settings = self.env["res.config.settings"].create({"service_unique_window_days": 7})
        settings.execute()
        self.assertEqual(self.env.company.service_unique_window_days, 7)
        self.assertEqual(self.i1.service_linked_lead_ids, self.repeats)
        self.assertEqual(self.i1.service_linked_count, 2)
        self.assertEqual(self.repeats.service_unique_lead_id, self.i1)

    # ------------------------------------------------------------
    # intake: the marketing channel
    # ------------------------------------------------------------

    def test_intake_utm(self):
        email = self.env["utm.medium"].create({"name": "Service E-mail"})
        result = self.env["crm.lead"].submit_service_request(
            {
                "service_occasion": "maintenance",
                "zip": "80331",
                "email": "utm@example.org",
                "utm_source": "Heat Pump Configurator",
                "utm_medium": email.id,
                "utm_campaign": "spring CHECK",
            }
        )
        lead = self.env["crm.lead"].browse(result["id"])
        self.assertEqual(lead.source_id.name, "Heat Pump Configurator")
        self.assertEqual(lead.medium_id, email)
        self.assertEqual(lead.campaign_id, self.spring)
        with self.assertRaisesMessage(ValidationError, "Unknown utm_medium id"):
            self.env["crm.lead"].submit_service_request(
                {"service_occasion": "repair", "zip": "80331", "email": "x@example.org", "utm_medium": 999999999}
            )

    def test_german(self):
        """The reports, their menu and the settings in German, as Odoo loads i18n/ (the .pot and de.po)."""
        self.env["res.lang"]._activate_lang("de_DE")
        self.env["ir.module.module"]._load_module_terms(["crm_service_routing"], ["de_DE"], overwrite=True)
        env = self.env(context=dict(self.env.context, lang="de_DE"))

        def label(model, fname):
            return env[model]._fields[fname]._description_string(env)

        self.assertEqual(label("service.inquiry.report", "acceptance_rate"), "Annahmequote (%)")
        self.assertEqual(label("service.inquiry.report", "technician_id"), "Techniker")
        self.assertEqual(label("service.inquiry.report", "hours_to_accept_median"), "Stunden bis zur Annahme (Median)")
        self.assertEqual(label("service.technician.scorecard", "within_sla_rate"), "Innerhalb des SLA (%)")
        self.assertEqual(label("res.config.settings", "service_unique_window_days"), "Wiederholungsfenster (Tage)")
        self.assertEqual(label("crm.lead", "service_unique_lead_id"), "Eindeutige Anfrage")
        menu = env.ref("crm_service_routing.menu_service_technician_scorecard")
        self.assertEqual(menu.name, "Techniker-Scorecard")
        with self.assertRaisesMessage(ValidationError, "Unbekannte utm_campaign-ID 999999999"):
            env["crm.lead"].submit_service_request(
                {"service_occasion": "repair", "zip": "80331", "email": "x@example.org", "utm_campaign": 999999999}
            )

    def test_demo_company_reports_in_euros(self):
        """The demo's German company reports its order amounts in euros, the currency made active."""
        company = self.env.ref("base.main_company")
        euro = self.env.ref("base.EUR")
        self.env["service.demo"]._use_euro()
        self.assertEqual(company.currency_id, euro)
        self.assertTrue(euro.active)
        lead = self._create_inquiry(company_id=company.id, expected_revenue=1200)
        self.env.flush_all()
        self.assertEqual(self.env["service.inquiry.report"].search([("lead_id", "=", lead.id)]).currency_id, euro)
