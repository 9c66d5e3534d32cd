# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models, tools

from ..engine.lifecycle import OFFER_ANSWERED_SQL
from ..models.service_routing_log import REVIEW_REASONS

CATEGORIES = [
    ("open_offer", "Open offers"),
    ("review", "Review queue"),
    ("accepted_today", "Accepted today"),
    ("declined_today", "Declined today"),
]
SLA_STATUSES = [
    ("within", "Within the window"),
    ("due_soon", "Due soon"),
    ("overdue", "Overdue"),
]


class ServiceDispatchReport(models.Model):
    """The dispatcher's board: open offers by age against their SLA window, the review
    queue by reason, today's accepted and declined offers. One row per item, counted by
    the stock graph, pivot and list views."""

    _name = "service.dispatch.report"
    _description = "Dispatch Board"
    _auto = False
    _order = "date desc"
    _rec_name = "lead_id"

    category = fields.Selection(CATEGORIES, readonly=True)
    lead_id = fields.Many2one("crm.lead", "Inquiry", readonly=True)
    technician_id = fields.Many2one("res.partner", readonly=True)
    service_level_id = fields.Many2one("service.level", "SLA Tier", readonly=True)
    equipment_type_id = fields.Many2one("service.equipment.type", readonly=True)
    review_reason = fields.Selection(REVIEW_REASONS, readonly=True)
    safety_critical = fields.Boolean(readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date = fields.Datetime("Since", readonly=True, help="Offered, held or answered at.")
    due_at = fields.Datetime("Answer Due", readonly=True)
    age_hours = fields.Float("Age (hours)", readonly=True, aggregator="max")
    window_hours = fields.Float("Response Window (hours)", readonly=True, aggregator="max")
    sla_status = fields.Selection(SLA_STATUSES, "Against the SLA", readonly=True)
    bucket = fields.Selection(
        SLA_STATUSES + REVIEW_REASONS,
        "Status",
        readonly=True,
        help="Open offers and answers: against their SLA window; the review queue: why it is held.",
    )

    def init(self):
        # a database from before _table_query still has the view this model was read from
        tools.drop_view_if_exists(self.env.cr, self._table)

    # ------------------------------------------------------------
    # QUERY
    # ------------------------------------------------------------

    def _with(self):
        return f"""
            now_utc AS (SELECT (now() AT TIME ZONE 'UTC') AS now),
            offers AS (
                SELECT o.id, o.state, o.lead_id, o.technician_id, o.offered_at, o.responded_at,
                       l.service_level_id, l.equipment_type_id, l.safety_critical,
                       COALESCE(o.company_id, l.company_id) AS company_id,
                       sl.response_hours,
                       COALESCE(o.answer_deadline,
                                o.offered_at + sl.response_hours * interval '1 hour') AS due_at
                  FROM service_offer o
                  JOIN crm_lead l ON l.id = o.lead_id AND l.active
                  LEFT JOIN service_level sl ON sl.id = l.service_level_id
            ),
            items AS (
                {self._select_open_offers()}
                UNION ALL
                {self._select_review()}
                UNION ALL
                {self._select_answered_today()}
            )"""

    def _select_open_offers(self):
        return """
            SELECT o.id * 4 AS id, 'open_offer' AS category, o.lead_id, o.technician_id,
                   o.service_level_id, o.equipment_type_id, NULL AS review_reason, o.safety_critical,
                   o.company_id, o.offered_at AS date, o.due_at,
                   EXTRACT(EPOCH FROM (n.now - o.offered_at)) / 3600.0 AS age_hours,
                   EXTRACT(EPOCH FROM (o.due_at - o.offered_at)) / 3600.0 AS window_hours,
                   CASE WHEN o.due_at IS NULL THEN NULL
                        WHEN n.now > o.due_at THEN 'overdue'
                        WHEN n.now > o.offered_at + (o.due_at - o.offered_at) * 0.75 THEN 'due_soon'
                        ELSE 'within' END AS sla_status
              FROM offers o, now_utc n
             WHERE o.state = 'offered'"""

    def _select_review(self):
        return """
            SELECT l.id * 4 + 1, 'review', l.id, NULL, l.service_level_id, l.equipment_type_id,
                   l.review_reason, l.safety_critical, l.company_id, l.write_date, NULL,
                   EXTRACT(EPOCH FROM (n.now - l.create_date)) / 3600.0, NULL, NULL
              FROM crm_lead l, now_utc n
             WHERE l.active AND l.routing_state = 'review'"""

    def _select_answered_today(self):
        return f"""
            SELECT o.id * 4 + CASE WHEN o.state = 'declined' THEN 3 ELSE 2 END,
                   CASE WHEN o.state = 'declined' THEN 'declined_today' ELSE 'accepted_today' END,
                   o.lead_id, o.technician_id, o.service_level_id, o.equipment_type_id, NULL,
                   o.safety_critical, o.company_id, o.responded_at, o.due_at,
                   EXTRACT(EPOCH FROM (o.responded_at - o.offered_at)) / 3600.0,
                   EXTRACT(EPOCH FROM (o.due_at - o.offered_at)) / 3600.0,
                   CASE WHEN o.due_at IS NULL THEN NULL
                        WHEN o.responded_at > o.due_at THEN 'overdue'
                        ELSE 'within' END
              FROM offers o, now_utc n
             WHERE {OFFER_ANSWERED_SQL}
               AND o.responded_at >= date_trunc('day', n.now)"""

    def _select(self):
        return """
            items.*,
            COALESCE(CASE WHEN items.category = 'review' THEN items.review_reason END, items.sla_status) AS bucket"""

    def _from(self):
        return "items"

    def _where(self):
        return "TRUE"

    def _group_by(self):
        return ""

    def _query(self):
        group_by = self._group_by()
        return f"""
            WITH {self._with()}
            SELECT {self._select()}
              FROM {self._from()}
             WHERE {self._where()}
            {f"GROUP BY {group_by}" if group_by else ""}
        """

    @property
    def _table_query(self):
        return self._query()
