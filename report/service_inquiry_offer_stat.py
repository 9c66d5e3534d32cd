# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL

from ..engine.lifecycle import OFFER_ACCEPTED_SQL, OFFER_ANSWERED_SQL

# the columns of a stat row, as aggregated from one inquiry's offers and visits
STAT_OFFER_COLUMNS = f"""
    COUNT(*) AS offer_count,
    COUNT(*) FILTER (WHERE {OFFER_ANSWERED_SQL}) AS answered_count,
    COUNT(*) FILTER (WHERE {OFFER_ACCEPTED_SQL}) AS accepted_count,
    COUNT(*) FILTER (WHERE o.state = 'declined') AS decline_count,
    COUNT(*) FILTER (WHERE o.state = 'declined' AND o.decline_reason = 'service_area') AS decline_area_count,
    COUNT(*) FILTER (WHERE o.state = 'declined' AND o.decline_reason = 'capacity') AS decline_capacity_count,
    COUNT(*) FILTER (WHERE o.state = 'declined' AND o.decline_reason = 'specialization')
        AS decline_specialization_count,
    COUNT(*) FILTER (WHERE o.state = 'declined' AND o.decline_reason = 'other') AS decline_other_count,
    COUNT(*) FILTER (WHERE o.state IN ('withdrawn', 'expired')) AS reassign_count,
    COALESCE(SUM(o.escalation_step), 0) AS escalation_count,
    MIN(o.offered_at) AS first_offered_at,
    MIN(o.answer_deadline) AS first_deadline,
    MIN(o.responded_at) FILTER (WHERE {OFFER_ACCEPTED_SQL}) AS accepted_at,
    MIN(o.responded_at) FILTER (WHERE {OFFER_ANSWERED_SQL}) AS first_answer_at,
    MAX(o.technician_id) FILTER (WHERE {OFFER_ACCEPTED_SQL}) AS accepted_technician_id,
    (MAX(ARRAY[o.id, o.technician_id]))[2] AS last_technician_id"""
STAT_VISIT_COLUMNS = """
    MIN(v.create_date) AS first_visit_at,
    COALESCE(BOOL_OR(v.followon_order), FALSE) AS followon_order,
    COALESCE(SUM(v.followon_amount) FILTER (WHERE v.followon_order), 0) AS followon_amount"""
STAT_FIELDS = (
    "offer_count",
    "answered_count",
    "accepted_count",
    "decline_count",
    "decline_area_count",
    "decline_capacity_count",
    "decline_specialization_count",
    "decline_other_count",
    "reassign_count",
    "escalation_count",
    "first_offered_at",
    "first_deadline",
    "accepted_at",
    "first_answer_at",
    "accepted_technician_id",
    "last_technician_id",
    "first_visit_at",
    "followon_order",
    "followon_amount",
)


class ServiceInquiryOfferStat(models.Model):
    """What an inquiry's offers and visits add up to, one row per inquiry that has any.

    The inquiry analysis groups 200,000 inquiries with a million offers in
    well under a second by reading these rows instead of aggregating the
    offers again for every read. PostgreSQL keeps them exact: statement
    triggers on ``service_offer`` and ``service_visit`` recompute the rows of
    the inquiries a statement touched (inserted, answered, moved by a merge,
    deleted), whoever writes, in the writing transaction; no Python code path
    has to remember it, and no query is added to the routing's own.
    """

    _name = "service.inquiry.offer.stat"
    _description = "Offer Facts per Inquiry"
    _log_access = False
    _rec_name = "lead_id"
    # kept by PostgreSQL triggers from the offers and visits: a merge moves those, not these rows
    _service_merge_stays = True

    lead_id = fields.Many2one("crm.lead", "Inquiry", required=True, readonly=True, ondelete="cascade")
    offer_count = fields.Integer("Offers", readonly=True)
    answered_count = fields.Integer("Answered Offers", readonly=True)
    accepted_count = fields.Integer("Accepted Offers", readonly=True)
    decline_count = fields.Integer("Declines", readonly=True)
    decline_area_count = fields.Integer("Declined: Service Area", readonly=True)
    decline_capacity_count = fields.Integer("Declined: Capacity", readonly=True)
    decline_specialization_count = fields.Integer("Declined: Specialization", readonly=True)
    decline_other_count = fields.Integer("Declined: Other", readonly=True)
    reassign_count = fields.Integer("Reassignments", readonly=True)
    escalation_count = fields.Integer("Escalation Steps", readonly=True)
    first_offered_at = fields.Datetime("First Offered", readonly=True)
    first_deadline = fields.Datetime("First Answer Deadline", readonly=True)
    accepted_at = fields.Datetime("Accepted", readonly=True)
    first_answer_at = fields.Datetime("First Answer", readonly=True)
    accepted_technician_id = fields.Many2one("res.partner", "Accepted By", readonly=True)
    last_technician_id = fields.Many2one("res.partner", "Last Offered To", readonly=True)
    first_visit_at = fields.Datetime("First Visit", readonly=True)
    followon_order = fields.Boolean("Follow-on Order", readonly=True)
    followon_amount = fields.Float("Order Amount", readonly=True)

    _sql_constraints = [("lead_uniq", "UNIQUE(lead_id)", "One row per inquiry.")]

    def init(self):
        # A row is rewritten at every change of its inquiry's offers (made, answered, escalated): room left
        # in its page lets PostgreSQL write the new version beside the old one without touching the indexes
        # (a heap-only update; its indexed columns never change), in a table as large as the history.
        self.env.cr.execute("ALTER TABLE service_inquiry_offer_stat SET (fillfactor = 70)")
        columns = ", ".join(STAT_FIELDS)
        updates = ", ".join(f"{fname} = EXCLUDED.{fname}" for fname in STAT_FIELDS)
        offer_values = ", ".join(f"o.{fname}" for fname in STAT_FIELDS[:16])
        visit_values = ", ".join(f"v.{fname}" for fname in STAT_FIELDS[16:])
        upsert = f"""INSERT INTO service_inquiry_offer_stat AS stat (lead_id, {columns})
                SELECT lead.id, {offer_values}, {visit_values}
                  FROM crm_lead lead
                 CROSS JOIN LATERAL (SELECT {STAT_OFFER_COLUMNS} FROM service_offer o WHERE o.lead_id = lead.id) o
                 CROSS JOIN LATERAL (SELECT {STAT_VISIT_COLUMNS} FROM service_visit v WHERE v.lead_id = lead.id) v"""
        # constants of this module only: no value from outside reaches this text
        self.env.cr.execute(
            SQL(f"""
            CREATE OR REPLACE FUNCTION service_inquiry_offer_stat_refresh(lead_ids integer[]) RETURNS void
            LANGUAGE plpgsql SET enable_seqscan = off AS $$
            BEGIN
                {upsert}
                 WHERE lead.id = ANY(lead_ids)
                 ORDER BY lead.id
                    ON CONFLICT (lead_id) DO UPDATE SET {updates};
            END
            $$;
            CREATE OR REPLACE FUNCTION service_inquiry_offer_stat_refresh_one(p_lead integer) RETURNS void
            LANGUAGE plpgsql SET enable_seqscan = off AS $$
            BEGIN
                -- PL/pgSQL keeps this statement's plan for the connection: every offer and visit
                -- written runs it, a SQL function would plan it anew each time; one inquiry by a
                -- scalar, whose plan is the same whatever the value (ANY(array) costs twice as much).
                -- Its offers and visits are read by key (no sequential scan), however few there
                -- were when the plan was made.
                {upsert}
                 WHERE lead.id = p_lead
                    ON CONFLICT (lead_id) DO UPDATE SET {updates};
            END
            $$;
            CREATE OR REPLACE FUNCTION service_inquiry_offer_stat_trigger() RETURNS trigger
            LANGUAGE plpgsql AS $$
            DECLARE
                lead_ids integer[];
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    lead_ids := ARRAY(SELECT DISTINCT lead_id FROM new_rows);
                ELSIF TG_OP = 'UPDATE' THEN
                    lead_ids := ARRAY(SELECT lead_id FROM new_rows UNION SELECT lead_id FROM old_rows);
                ELSE
                    lead_ids := ARRAY(SELECT DISTINCT lead_id FROM old_rows);
                END IF;
                -- most statements touch one inquiry (an offer made, answered, escalated)
                IF cardinality(lead_ids) = 1 THEN
                    PERFORM service_inquiry_offer_stat_refresh_one(lead_ids[1]);
                ELSIF cardinality(lead_ids) > 1 THEN
                    PERFORM service_inquiry_offer_stat_refresh(lead_ids);
                END IF;
                RETURN NULL;
            END
            $$;
            """)
        )
        for table in ("service_offer", "service_visit"):
            for event, referencing in (
                ("INSERT", "NEW TABLE AS new_rows"),
                ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                ("DELETE", "OLD TABLE AS old_rows"),
            ):
                self.env.cr.execute(
                    SQL(
                        """DROP TRIGGER IF EXISTS %(name)s ON %(table)s;
                           CREATE TRIGGER %(name)s AFTER %(event)s ON %(table)s REFERENCING %(referencing)s
                              FOR EACH STATEMENT EXECUTE FUNCTION service_inquiry_offer_stat_trigger()""",
                        name=SQL.identifier(f"{table}_inquiry_stat_{event.lower()}"),
                        table=SQL.identifier(table),
                        event=SQL(event),
                        referencing=SQL(referencing),
                    )
                )
        # a database that had offers before: their rows once
        self.env.cr.execute(
            """SELECT service_inquiry_offer_stat_refresh(ARRAY(
                   SELECT lead_id FROM service_offer UNION SELECT lead_id FROM service_visit))
                WHERE NOT EXISTS (SELECT 1 FROM service_inquiry_offer_stat)"""
        )
