# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from psycopg2 import errors as pg_errors

from odoo import api, fields, models

# errors that a concurrent transaction causes: the request is retried on them
CONCURRENCY_ERRORS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.LockNotAvailable)
# first key of the transaction-level advisory lock a routing takes on a technician
CLAIM_LOCK = 7318


class ServiceTechnicianCounter(models.Model):
    """The routing's row per technician: what makes its capacity hold under concurrency.

    A routing that offers an inquiry to a technician first takes a
    transaction lock on it and recounts its open inquiries, then updates
    this row. Another routing that chose the same technician at the same
    moment finds the lock taken and moves on to its next candidate; one
    that counted in a snapshot older than the last offer fails to update
    the row (a serialization failure) and its request is retried on fresh
    data. Written only by routing, in SQL; no user has write access.
    """

    _name = "service.technician.counter"
    _description = "Technician Routing Counter"
    _log_access = False
    _rec_name = "technician_id"

    technician_id = fields.Many2one("res.partner", required=True, readonly=True, ondelete="cascade")
    last_offered_at = fields.Datetime(readonly=True)
    # rotation orders technicians by their last offer: read here, not from the offer history
    last_offer_id = fields.Many2one("service.offer", readonly=True, ondelete="set null")
    # the company of the last offer: the row tells of it (its inquiry), so only that company reads it
    company_id = fields.Many2one("res.company", readonly=True, ondelete="set null")

    _sql_constraints = [
        ("technician_uniq", "unique(technician_id)", "One counter per technician."),
    ]

    def init(self):
        # rows counted before they carried a company: their last offer's, else their technician's
        self.env.cr.execute(
            """UPDATE service_technician_counter c
                  SET company_id = COALESCE(
                          (SELECT o.company_id FROM service_offer o WHERE o.id = c.last_offer_id),
                          (SELECT p.company_id FROM res_partner p WHERE p.id = c.technician_id))
                WHERE c.company_id IS NULL"""
        )

    @api.model
    def _claim(self, technician_id, lead_id, wait=False, company_id=None):
        """(locked, open inquiries of the technician but ``lead_id``), in one query.

        Without ``wait``, a technician another routing holds right now is
        not locked (False); with it, that routing is waited for. Capacity is
        per company: only the open inquiries of ``company_id`` count (a
        technician bound to a company has no others; a shared one has its
        capacity in each company it serves).
        """
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        self.env.cr.execute(
            f"""SELECT {lock}(%(key)s, %(technician)s)::text,
                       (SELECT count(*) FROM crm_lead
                         WHERE technician_id = %(technician)s AND active AND id != %(lead)s
                           AND company_id IS NOT DISTINCT FROM %(company)s
                           AND routing_state IN ('offered', 'accepted'))""",
            {"key": CLAIM_LOCK, "technician": technician_id, "lead": lead_id or 0, "company": company_id or None},
        )
        locked, open_count = self.env.cr.fetchone()
        return locked != "false", open_count

    @api.model
    def _count_offer(self, technician_id, offer):
        """Record ``offer`` on the claimed technician's row.

        In a snapshot older than the row's last change this raises a
        serialization failure: the load this routing counted is stale.
        """
        self.env.cr.execute(
            """INSERT INTO service_technician_counter
                      (technician_id, last_offered_at, last_offer_id, company_id)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (technician_id) DO UPDATE
                  SET last_offered_at = EXCLUDED.last_offered_at,
                      last_offer_id = EXCLUDED.last_offer_id,
                      company_id = EXCLUDED.company_id""",
            (technician_id, offer.offered_at, offer.id, offer.company_id.id or None),
            # a stale snapshot is expected under load: the request is retried, no error to log
            log_exceptions=False,
        )
