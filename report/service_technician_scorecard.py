# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..engine.lifecycle import OFFER_ACCEPTED_SQL, OFFER_ANSWERED_SQL

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
        "Hours to Accept (Median)", readonly=True, aggregator=False, help="Of its accepted offers."
    )

    def init(self):
        # the scorecard reads the offers of its window from this index alone (its id too: without it
        # the counts read every offer of the table, in parallel, instead of the window's index entries)
        self.env.cr.execute(
            """DROP INDEX IF EXISTS service_offer_scorecard_idx;
               CREATE INDEX IF NOT EXISTS service_offer_scorecard_window_idx ON service_offer (offered_at)
                   INCLUDE (technician_id, company_id, state, responded_at, answer_deadline, service_level_id,
                            escalation_step, response_hours, lead_id, id)"""
        )

    # ------------------------------------------------------------
    # QUERY
    # ------------------------------------------------------------

    def _with(self):
        return ""

    def _select(self):
        """Counts per technician and company; the rates are made of them in ``_query()``."""
        answered = OFFER_ANSWERED_SQL
        deadline = "COALESCE(o.answer_deadline, o.offered_at + level.response_hours * INTERVAL '1 hour')"
        return f"""
            MIN(o.id) AS id,
            o.technician_id AS technician_id,
            o.company_id AS company_id,
            COUNT(*) AS offer_count,
            COUNT(*) FILTER (WHERE {answered}) AS answered_count,
            COUNT(*) FILTER (WHERE {OFFER_ACCEPTED_SQL}) AS accepted_count,
            COUNT(*) FILTER (WHERE o.state = 'declined') AS declined_count,
            COUNT(*) FILTER (WHERE o.state = 'expired') AS expired_count,
            COUNT(*) FILTER (WHERE {answered} AND o.responded_at <= {deadline}) AS within_sla_count,
            COUNT(*) FILTER (WHERE {answered} OR {deadline} <= LEAST(COALESCE(o.responded_at, n.now), n.now))
                AS sla_due_count,
            COUNT(*) FILTER (WHERE o.escalation_step > 0) AS escalation_count,
            COALESCE(SUM(o.response_hours) FILTER (WHERE {answered}), 0) AS response_hours_sum"""

    def _from(self):
        return """
            service_offer o
            LEFT JOIN service_level level ON level.id = o.service_level_id
            CROSS JOIN (SELECT (now() AT TIME ZONE 'UTC') AS now) n"""

    def _where(self):
        # offers of a linked repeat do not count: a unique inquiry counts once
        return f"""
            o.offered_at >= (now() AT TIME ZONE 'UTC') - INTERVAL '{SCORECARD_DAYS} days'
            AND NOT EXISTS (SELECT 1 FROM crm_lead repeat
                             WHERE repeat.id = o.lead_id AND repeat.service_unique_lead_id IS NOT NULL)"""

    def _group_by(self):
        return """
            o.technician_id,
            o.company_id"""

    def _conversion_query(self):
        """What the inquiries each technician accepted in the window brought: converted ones (a follow-on
        order, or won) and their amount (the follow-on orders, or for a won one without any its expected
        revenue), per technician and company."""
        return f"""
            SELECT o.technician_id, COALESCE(o.company_id, 0) AS company_key,
                   COUNT(*) AS converted_count,
                   SUM(CASE WHEN COALESCE(stat.followon_amount, 0) > 0 THEN stat.followon_amount
                            WHEN stage.is_won AND lead.active THEN COALESCE(lead.expected_revenue, 0)
                            ELSE 0 END) AS order_amount
              FROM service_offer o
              JOIN crm_lead lead ON lead.id = o.lead_id AND lead.service_unique_lead_id IS NULL
              LEFT JOIN crm_stage stage ON stage.id = lead.stage_id
              LEFT JOIN service_inquiry_offer_stat stat ON stat.lead_id = lead.id
             WHERE {OFFER_ACCEPTED_SQL}
               AND (COALESCE(stat.followon_order, FALSE) OR (stage.is_won AND lead.active))
               AND o.offered_at >= (now() AT TIME ZONE 'UTC') - INTERVAL '{SCORECARD_DAYS} days'
             GROUP BY o.technician_id, COALESCE(o.company_id, 0)"""

    def _median_query(self):
        """The median hours to accept per technician and company, on their own: a median sorts the
        rows of each group, which the counts beside it need not (they are summed in parallel)."""
        return f"""
            SELECT o.technician_id, COALESCE(o.company_id, 0) AS company_key,
                   PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY o.response_hours) AS median_hours_to_accept
              FROM service_offer o
             WHERE {self._where()}
               AND {OFFER_ACCEPTED_SQL}
             GROUP BY o.technician_id, COALESCE(o.company_id, 0)"""

    def _query(self):
        """The counts, and beside them (each on its own, on equality with their grouped keys, so that
        PostgreSQL leaves them out of a query that does not read them, such as the list view's count)
        the conversions and the median."""
        with_ = self._with()
        return f"""
            {f"WITH {with_}" if with_ else ""}
            SELECT card.*,
                   tech.commercial_partner_id AS technician_company_id,
                   company.currency_id AS currency_id,
                   COALESCE(conv.converted_count, 0) AS converted_count,
                   COALESCE(conv.order_amount, 0) AS order_amount,
                   median.median_hours_to_accept AS median_hours_to_accept,
                   100.0 * card.within_sla_count / NULLIF(card.sla_due_count, 0) AS within_sla_rate,
                   100.0 * card.accepted_count / NULLIF(card.answered_count, 0) AS acceptance_rate,
                   100.0 * COALESCE(conv.converted_count, 0) / NULLIF(card.accepted_count, 0) AS conversion_rate,
                   conv.order_amount / NULLIF(conv.converted_count, 0) AS average_order,
                   card.response_hours_sum / NULLIF(card.answered_count, 0) AS avg_response_hours
              FROM (SELECT {self._select()}
                      FROM {self._from()}
                     WHERE {self._where()}
                     GROUP BY {self._group_by()}) card
              JOIN res_partner tech ON tech.id = card.technician_id
              LEFT JOIN res_company company ON company.id = card.company_id
              LEFT JOIN ({self._conversion_query()}) conv
                     ON conv.technician_id = card.technician_id AND conv.company_key = COALESCE(card.company_id, 0)
              LEFT JOIN ({self._median_query()}) median
                     ON median.technician_id = card.technician_id AND median.company_key = COALESCE(card.company_id, 0)
        """

    @property
    def _table_query(self):
        return self._query()
