# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..models.crm_lead import ROUTING_STATES, SERVICE_OCCASIONS


class ServiceInquiryReport(models.Model):
    """Service inquiries as a channel manager reads them: one row per unique
    inquiry (its linked repeats are counted in ``linked_count``), with who took
    it, where, for which equipment, how fast, and what it earned.

    Everything is read from what the routing records: the offers (offered,
    answered, declined with a reason, withdrawn or expired, escalation steps),
    the documented visits (follow-on order and amount), both as summed up per
    inquiry in ``service.inquiry.offer.stat``, and the inquiry's own fields.
    Built like ``sale.report``: ``_table_query`` from ``_select()``, ``_from()``,
    ``_where()`` and ``_group_by()``, which another addon extends.
    """

    _name = "service.inquiry.report"
    _inherit = ["service.report.mixin"]
    _description = "Service Inquiry Analysis"
    _auto = False
    _rec_name = "lead_id"
    _order = "date desc"
    _service_ratios = {"acceptance_rate": ("accepted_count", "answered_count", 100)}
    _service_medians = {"hours_to_accept_median": "hours_to_accept"}

    # what and where
    lead_id = fields.Many2one("crm.lead", "Inquiry", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    technician_id = fields.Many2one(
        "res.partner",
        readonly=True,
        help="The technician who accepted the inquiry, else the one it was last offered to.",
    )
    technician_company_id = fields.Many2one("res.partner", "Service Partner", readonly=True)
    generated_by_id = fields.Many2one(
        "res.partner", readonly=True, help="The technician who raised it as a follow-on from a site."
    )
    country_id = fields.Many2one("res.country", readonly=True)
    state_id = fields.Many2one("res.country.state", "Federal State", readonly=True)
    zip_prefix = fields.Char("Postal Region", readonly=True, help="The first two characters of the postal code.")
    equipment_type_id = fields.Many2one("service.equipment.type", readonly=True)
    equipment_line_id = fields.Many2one(
        "service.equipment.type", "Product Line", readonly=True, help="The top equipment type above it."
    )
    service_level_id = fields.Many2one("service.level", "SLA Tier", readonly=True)
    customer_kind = fields.Selection([("existing", "Existing Customer"), ("new", "New Customer")], readonly=True)
    service_occasion = fields.Selection(SERVICE_OCCASIONS, readonly=True)
    routing_state = fields.Selection(ROUTING_STATES, readonly=True)
    source_id = fields.Many2one("utm.source", readonly=True)
    medium_id = fields.Many2one("utm.medium", readonly=True)
    campaign_id = fields.Many2one("utm.campaign", readonly=True)
    # when
    date = fields.Datetime("Created On", readonly=True)
    first_offered_at = fields.Datetime("First Offered", readonly=True)
    accepted_at = fields.Datetime("Accepted", readonly=True)
    first_activity_at = fields.Datetime(
        "First Technician Activity", readonly=True, help="The first answer to an offer, or the first visit documented."
    )
    closed_at = fields.Datetime("Closed", readonly=True, help="Done or cancelled.")
    # counts
    inquiry_count = fields.Integer("Inquiries", readonly=True, help="The unique inquiry and its linked repeats.")
    linked_count = fields.Integer("Linked Repeats", readonly=True)
    offer_count = fields.Integer("Offers", readonly=True)
    answered_count = fields.Integer("Answered Offers", readonly=True)
    accepted_count = fields.Integer("Accepted Offers", readonly=True)
    decline_count = fields.Integer("Declines", readonly=True)
    decline_area_count = fields.Integer("Declined: Service Area", readonly=True)
    decline_capacity_count = fields.Integer("Declined: Capacity", readonly=True)
    decline_specialization_count = fields.Integer("Declined: Specialization", readonly=True)
    decline_other_count = fields.Integer("Declined: Other", readonly=True)
    reassign_count = fields.Integer("Reassignments", readonly=True, help="Offers withdrawn or expired unanswered.")
    escalation_count = fields.Integer("Escalation Steps", readonly=True)
    escalated = fields.Boolean(readonly=True)
    within_sla = fields.Boolean(
        "Within SLA", readonly=True, help="Accepted within its SLA tier's response window from the first offer."
    )
    won = fields.Boolean(readonly=True)
    lost = fields.Boolean(readonly=True)
    converted = fields.Boolean(readonly=True, help="A documented visit with a follow-on order, or the inquiry won.")
    order_amount = fields.Monetary(
        readonly=True, help="Follow-on orders of its visits; for a won inquiry without one, its expected revenue."
    )
    # measures
    hours_to_first_offer = fields.Float("Hours to First Offer", readonly=True, aggregator="avg")
    hours_to_accept = fields.Float(
        "Hours to Acceptance", readonly=True, aggregator="avg", help="From its creation to its acceptance."
    )
    hours_to_accept_median = fields.Float("Hours to Acceptance (Median)", readonly=True, aggregator="avg")
    hours_to_first_activity = fields.Float("Hours to First Activity", readonly=True, aggregator="avg")
    within_sla_rate = fields.Float(
        "Within SLA (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the inquiries accepted within the response window, of those accepted or past it.",
    )
    acceptance_rate = fields.Float(
        "Acceptance Rate (%)", readonly=True, aggregator="avg", help="Accepted offers of the answered ones."
    )
    conversion_rate = fields.Float("Conversion Rate (%)", readonly=True, aggregator="avg")
    average_order = fields.Monetary(readonly=True, aggregator="avg")
    existing_share = fields.Float("Existing Customers (%)", readonly=True, aggregator="avg")

    # ------------------------------------------------------------
    # QUERY
    # ------------------------------------------------------------

    def _with(self):
        return """
            now_utc AS (SELECT (now() AT TIME ZONE 'UTC') AS now),
            repeats AS (
                SELECT r.service_unique_lead_id AS lead_id, COUNT(*) AS linked_count
                  FROM crm_lead r
                 WHERE r.service_unique_lead_id IS NOT NULL
                 GROUP BY r.service_unique_lead_id
            )"""

    def _closed(self):
        """When a done or cancelled inquiry was closed: crm's closing date, else when its routing state changed."""
        if "routing_state_date" in self.env["crm.lead"]._fields:
            return "COALESCE(l.date_closed, l.routing_state_date)"
        return "l.date_closed"

    def _select(self):
        # measures in double precision from the start: EXTRACT and a numeric literal give numeric,
        # whose arithmetic and cast cost more per row than the float's, for no digit the report shows
        return """
            l.id AS id,
            l.id AS lead_id,
            l.company_id AS company_id,
            company.currency_id AS currency_id,
            COALESCE(l.technician_id, o.accepted_technician_id, o.last_technician_id) AS technician_id,
            tech.commercial_partner_id AS technician_company_id,
            l.service_generated_by_id AS generated_by_id,
            l.country_id AS country_id,
            l.state_id AS state_id,
            UPPER(LEFT(NULLIF(BTRIM(l.zip), ''), 2)) AS zip_prefix,
            l.equipment_type_id AS equipment_type_id,
            SPLIT_PART(equipment_type.parent_path, '/', 1)::int AS equipment_line_id,
            l.service_level_id AS service_level_id,
            l.customer_kind AS customer_kind,
            l.service_occasion AS service_occasion,
            l.routing_state AS routing_state,
            l.source_id AS source_id,
            l.medium_id AS medium_id,
            l.campaign_id AS campaign_id,
            l.create_date AS date,
            o.first_offered_at AS first_offered_at,
            o.accepted_at AS accepted_at,
            LEAST(o.first_answer_at, o.first_visit_at) AS first_activity_at,
            due.closed_at AS closed_at,
            (1 + COALESCE(r.linked_count, 0))::int AS inquiry_count,
            COALESCE(r.linked_count, 0)::int AS linked_count,
            COALESCE(o.offer_count, 0) AS offer_count,
            COALESCE(o.answered_count, 0) AS answered_count,
            COALESCE(o.accepted_count, 0) AS accepted_count,
            COALESCE(o.decline_count, 0) AS decline_count,
            COALESCE(o.decline_area_count, 0) AS decline_area_count,
            COALESCE(o.decline_capacity_count, 0) AS decline_capacity_count,
            COALESCE(o.decline_specialization_count, 0) AS decline_specialization_count,
            COALESCE(o.decline_other_count, 0) AS decline_other_count,
            COALESCE(o.reassign_count, 0) AS reassign_count,
            COALESCE(o.escalation_count, 0) AS escalation_count,
            COALESCE(o.escalation_count, 0) > 0 AS escalated,
            facts.within_sla = 100 AS within_sla,
            facts.won AS won,
            NOT l.active AND COALESCE(l.probability, 0) = 0 AS lost,
            facts.converted AS converted,
            facts.order_amount AS order_amount,
            DATE_PART('epoch', o.first_offered_at - l.create_date) / 3600 AS hours_to_first_offer,
            DATE_PART('epoch', o.accepted_at - l.create_date) / 3600 AS hours_to_accept,
            DATE_PART('epoch', o.accepted_at - l.create_date) / 3600 AS hours_to_accept_median,
            DATE_PART('epoch', LEAST(o.first_answer_at, o.first_visit_at) - l.create_date) / 3600
                AS hours_to_first_activity,
            facts.within_sla AS within_sla_rate,
            CASE WHEN o.answered_count > 0 THEN 100.0::float8 * o.accepted_count / o.answered_count END
                AS acceptance_rate,
            CASE WHEN facts.converted THEN 100.0::float8 ELSE 0.0::float8 END AS conversion_rate,
            CASE WHEN facts.converted THEN facts.order_amount END AS average_order,
            CASE l.customer_kind WHEN 'existing' THEN 100.0::float8 WHEN 'new' THEN 0.0::float8 END AS existing_share"""

    def _from(self):
        return f"""
            crm_lead l
            CROSS JOIN now_utc n
            LEFT JOIN service_inquiry_offer_stat o ON o.lead_id = l.id
            LEFT JOIN repeats r ON r.lead_id = l.id
            LEFT JOIN res_company company ON company.id = l.company_id
            LEFT JOIN crm_stage stage ON stage.id = l.stage_id
            LEFT JOIN service_level level ON level.id = l.service_level_id
            LEFT JOIN service_equipment_type equipment_type ON equipment_type.id = l.equipment_type_id
            LEFT JOIN res_partner tech
                   ON tech.id = COALESCE(l.technician_id, o.accepted_technician_id, o.last_technician_id)
            CROSS JOIN LATERAL (
                SELECT COALESCE(o.first_deadline,
                                o.first_offered_at + level.response_hours * INTERVAL '1 hour') AS deadline,
                       COALESCE(stage.is_won, FALSE) AND l.active AS won,
                       CASE WHEN l.routing_state IN ('done', 'cancelled') THEN {self._closed()} END AS closed_at
            ) due
            CROSS JOIN LATERAL (
                SELECT CASE WHEN o.accepted_at IS NOT NULL
                                 THEN CASE WHEN o.accepted_at <= due.deadline THEN 100.0::float8 ELSE 0.0::float8 END
                            WHEN due.deadline <= COALESCE(due.closed_at, n.now) THEN 0.0::float8
                       END AS within_sla,
                       due.won,
                       COALESCE(o.followon_order, FALSE) OR due.won AS converted,
                       CASE WHEN COALESCE(o.followon_amount, 0) > 0 THEN o.followon_amount
                            WHEN due.won THEN COALESCE(l.expected_revenue, 0)
                            ELSE 0 END AS order_amount
            ) facts"""

    def _where(self):
        return """
            l.service_occasion IS NOT NULL
            AND l.service_unique_lead_id IS NULL"""

    def _group_by(self):
        return ""

    def _query(self):
        with_ = self._with()
        group_by = self._group_by()
        return f"""
            {f"WITH {with_}" if with_ else ""}
            SELECT {self._select()}
              FROM {self._from()}
             WHERE {self._where()}
            {f"GROUP BY {group_by}" if group_by else ""}
        """

    @property
    def _table_query(self):
        return self._query()
