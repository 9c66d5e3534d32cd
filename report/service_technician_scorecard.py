# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

# the scorecard looks back this many days from now
SCORECARD_DAYS = 90


class ServiceTechnicianScorecard(models.Model):
    """Each technician's record over the last 90 days, from its own offers:
    answered within the SLA window, acceptance, conversion of the accepted
    inquiries, average order, escalations. One row per technician and company,
    sorted worst first by any column ("use it or lose it").

    Offers of inquiries linked to a unique inquiry do not count: every report
    counts a unique inquiry once.
    """

    _name = "service.technician.scorecard"
    _inherit = ["service.report.mixin"]
    _description = "Technician Scorecard"
    _auto = False
    _rec_name = "technician_id"
    _order = "within_sla_rate, acceptance_rate, technician_id"
    _service_ratios = {
        "within_sla_rate": ("within_sla_count", "sla_due_count", 100),
        "acceptance_rate": ("accepted_count", "answered_count", 100),
        "conversion_rate": ("converted_count", "accepted_count", 100),
        "average_order": ("order_amount", "converted_count", 1),
        "avg_response_hours": ("response_hours_sum", "answered_count", 1),
    }

    technician_id = fields.Many2one("res.partner", readonly=True)
    technician_company_id = fields.Many2one("res.partner", "Service Partner", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    offer_count = fields.Integer("Offers", readonly=True)
    answered_count = fields.Integer("Answered", readonly=True)
    accepted_count = fields.Integer("Accepted", readonly=True)
    declined_count = fields.Integer("Declined", readonly=True)
    expired_count = fields.Integer("Left Unanswered", readonly=True, help="Offers taken away by the escalation.")
    within_sla_count = fields.Integer("Answered within SLA", readonly=True)
    sla_due_count = fields.Integer(
        "Due", readonly=True, help="Offers answered, or whose response window has passed unanswered."
    )
    converted_count = fields.Integer("Converted", readonly=True)
    escalation_count = fields.Integer("Escalations", readonly=True, help="Offers that passed an escalation stage.")
    order_amount = fields.Monetary(readonly=True)
    response_hours_sum = fields.Float("Hours to Respond (total)", readonly=True)
    within_sla_rate = fields.Float("Within SLA (%)", readonly=True, aggregator="avg")
    acceptance_rate = fields.Float("Acceptance Rate (%)", readonly=True, aggregator="avg")
    conversion_rate = fields.Float("Conversion Rate (%)", readonly=True, aggregator="avg")
    average_order = fields.Monetary(readonly=True, aggregator="avg")
    avg_response_hours = fields.Float("Hours to Respond", readonly=True, aggregator="avg")
    median_hours_to_accept = fields.Float(
        "Hours to Accept (Median)", readonly=True, aggregator="max", help="Of its accepted offers."
    )

    # ------------------------------------------------------------
    # QUERY
    # ------------------------------------------------------------

    def _with(self):
        return f"""
            now_utc AS (SELECT (now() AT TIME ZONE 'UTC') AS now),
            offers AS (
                SELECT o.id, o.technician_id, o.state, o.responded_at, o.response_hours, o.escalation_step,
                       o.lead_id, COALESCE(o.company_id, l.company_id) AS company_id,
                       COALESCE(o.answer_deadline, o.offered_at + level.response_hours * INTERVAL '1 hour')
                           AS deadline,
                       COALESCE(stage.is_won, FALSE) AND l.active AS won,
                       l.expected_revenue
                  FROM service_offer o
                  JOIN now_utc n ON o.offered_at >= n.now - INTERVAL '{SCORECARD_DAYS} days'
                  JOIN crm_lead l ON l.id = o.lead_id
                  LEFT JOIN crm_stage stage ON stage.id = l.stage_id
                  LEFT JOIN service_level level ON level.id = COALESCE(o.service_level_id, l.service_level_id)
                 WHERE l.service_unique_lead_id IS NULL
            ),
            visits AS (
                SELECT v.lead_id,
                       BOOL_OR(v.followon_order) AS followon_order,
                       SUM(v.followon_amount) FILTER (WHERE v.followon_order) AS followon_amount
                  FROM service_visit v
                  JOIN offers o ON o.lead_id = v.lead_id AND o.state = 'accepted'
                 GROUP BY v.lead_id
            )"""

    def _select(self):
        answered = "o.state IN ('accepted', 'declined')"
        converted = "o.state = 'accepted' AND (COALESCE(v.followon_order, FALSE) OR o.won)"
        amount = """CASE WHEN COALESCE(v.followon_amount, 0) > 0 THEN v.followon_amount
                         WHEN o.won THEN COALESCE(o.expected_revenue, 0) ELSE 0 END"""
        return f"""
            MIN(o.id) AS id,
            o.technician_id AS technician_id,
            tech.commercial_partner_id AS technician_company_id,
            o.company_id AS company_id,
            company.currency_id AS currency_id,
            COUNT(*) AS offer_count,
            COUNT(*) FILTER (WHERE {answered}) AS answered_count,
            COUNT(*) FILTER (WHERE o.state = 'accepted') AS accepted_count,
            COUNT(*) FILTER (WHERE o.state = 'declined') AS declined_count,
            COUNT(*) FILTER (WHERE o.state = 'expired') AS expired_count,
            COUNT(*) FILTER (WHERE {answered} AND o.responded_at <= o.deadline) AS within_sla_count,
            COUNT(*) FILTER (WHERE {answered} OR o.deadline <= LEAST(COALESCE(o.responded_at, n.now), n.now))
                AS sla_due_count,
            COUNT(*) FILTER (WHERE {converted}) AS converted_count,
            COUNT(*) FILTER (WHERE o.escalation_step > 0) AS escalation_count,
            COALESCE(SUM({amount}) FILTER (WHERE {converted}), 0) AS order_amount,
            COALESCE(SUM(o.response_hours) FILTER (WHERE {answered}), 0) AS response_hours_sum,
            100.0 * COUNT(*) FILTER (WHERE {answered} AND o.responded_at <= o.deadline)
                / NULLIF(COUNT(*) FILTER (WHERE {answered}
                                            OR o.deadline <= LEAST(COALESCE(o.responded_at, n.now), n.now)), 0)
                AS within_sla_rate,
            100.0 * COUNT(*) FILTER (WHERE o.state = 'accepted') / NULLIF(COUNT(*) FILTER (WHERE {answered}), 0)
                AS acceptance_rate,
            100.0 * COUNT(*) FILTER (WHERE {converted}) / NULLIF(COUNT(*) FILTER (WHERE o.state = 'accepted'), 0)
                AS conversion_rate,
            SUM({amount}) FILTER (WHERE {converted}) / NULLIF(COUNT(*) FILTER (WHERE {converted}), 0)
                AS average_order,
            SUM(o.response_hours) FILTER (WHERE {answered}) / NULLIF(COUNT(*) FILTER (WHERE {answered}), 0)
                AS avg_response_hours,
            PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY o.response_hours) FILTER (WHERE o.state = 'accepted')
                AS median_hours_to_accept"""

    def _from(self):
        return """
            offers o
            CROSS JOIN now_utc n
            LEFT JOIN visits v ON v.lead_id = o.lead_id AND o.state = 'accepted'
            JOIN res_partner tech ON tech.id = o.technician_id
            LEFT JOIN res_company company ON company.id = o.company_id"""

    def _where(self):
        return "TRUE"

    def _group_by(self):
        return """
            o.technician_id,
            tech.commercial_partner_id,
            o.company_id,
            company.currency_id"""

    def _query(self):
        return f"""
            WITH {self._with()}
            SELECT {self._select()}
              FROM {self._from()}
             WHERE {self._where()}
             GROUP BY {self._group_by()}
        """

    @property
    def _table_query(self):
        return self._query()
