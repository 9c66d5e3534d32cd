# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import time

from odoo import api, fields, models
from odoo.tools import SQL

from .service_constants import CONCURRENCY_ERRORS

_logger = logging.getLogger(__name__)

# a routing sums each candidate's entries: once one has more than this many, a fold is due
FOLD_AT = 64
# a process wakes the fold at most this often (seconds), however many routings find it due
FOLD_WAKE_INTERVAL = 30
# {database name: monotonic time of this process's last wake-up of the fold}
_fold_woken = {}


class LedgerMany2one(fields.Many2one):
    """A many2one without a foreign key in the database, for an append-only ledger whose
    entries of a deleted record are dropped by the ledger itself (see ``_fold``)."""

    def update_db_foreign_key(self, model, column):
        return


class ServiceRotationEntry(models.Model):
    """Fair-rotation credit as a ledger: what a technician was owed minus what it got.

    Every routing decision owes each eligible technician 1/n of an offer and
    pays the chosen one; it appends one row per technician. Appending never
    conflicts, so routings in the same area run side by side; a
    technician's credit is the sum of its rows, which the fold cron keeps to
    a few rows per technician. Written only by routing, in SQL.

    The chosen technician's row also records the offer (``offer_seq``, a
    number that orders offers made in the same second, and ``offered_at``):
    a technician's last offer in the company is the largest of its rows,
    read with its credit from the same index entries, so that what routing
    reads per candidate does not grow with the offer history. A fold keeps
    the last offer in the row it sums into.
    """

    _name = "service.rotation.entry"
    _description = "Rotation Credit Entry"
    _log_access = False
    _order = "id desc"

    # no foreign key on the technician nor the company: a routing appends an entry for each
    # eligible technician, hundreds of them at scale, and a foreign key would check (and key-share
    # lock) the technician's and the company's row for each, most of the cost of the append. An
    # entry of a technician or company deleted since is dropped by the next fold. The technician
    # is an id; the company stays a many2one, which Odoo's company rules and checks expect.
    technician_id = fields.Integer(required=True, readonly=True)
    company_id = LedgerMany2one("res.company", required=True, readonly=True)
    change = fields.Float(readonly=True)
    # on the row of the technician an offer was paid to: the offer's order and time
    offer_seq = fields.Integer("Offer Sequence", readonly=True)
    offered_at = fields.Datetime(readonly=True)

    def init(self):
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS service_rotation_entry_credit_idx
                   ON service_rotation_entry (technician_id, company_id) INCLUDE (change, offer_seq, offered_at);
               DROP INDEX IF EXISTS service_rotation_entry_technician_idx;
               CREATE SEQUENCE IF NOT EXISTS service_rotation_entry_offer_seq;
               ALTER TABLE service_rotation_entry DROP CONSTRAINT IF EXISTS service_rotation_entry_technician_id_fkey;
               ALTER TABLE service_rotation_entry DROP CONSTRAINT IF EXISTS service_rotation_entry_company_id_fkey"""
        )
        # Each routing reads the credits of its candidates. The fold deletes the entries it sums,
        # and until the table is vacuumed their index entries stay: a bitmap scan visits each of
        # them again at every routing, a plain index scan marks them dead once and skips them
        # from then on. The function's own settings hold while it runs only.
        self.env.cr.execute(
            """DROP FUNCTION IF EXISTS service_rotation_credit(int[], int);
               CREATE FUNCTION service_rotation_credit(technician_ids int[], company int)
               RETURNS TABLE (technician_id int, credit float, entries bigint, offer_seq int, offered_at timestamp)
               LANGUAGE sql STABLE
               SET enable_bitmapscan = off
               SET enable_seqscan = off
               AS $$
                   SELECT e.technician_id, sum(e.change), count(*), max(e.offer_seq), max(e.offered_at)
                     FROM service_rotation_entry e
                    WHERE e.technician_id = ANY(technician_ids) AND e.company_id = company
                    GROUP BY e.technician_id
               $$"""
        )
        # a ledger from before offers were recorded in it: the last offers, from the offers, once
        self.env.cr.execute("SELECT 1 FROM service_rotation_entry WHERE offer_seq IS NOT NULL LIMIT 1")
        if not self.env.cr.fetchone():
            self._record_last_offers()

    @api.model
    def _record_last_offers(self, where=None):
        """Record each technician's last offer per company among the offers ``where`` (an SQL condition
        on ``service_offer o``; all by default), as a fold would leave it: a row that changes no credit.

        Their sequence numbers are negative, in the order of the offers, and
        below every one the ledger holds: they come before every offer it
        recorded or will record.
        """
        self.env.cr.execute(
            SQL(
                """INSERT INTO service_rotation_entry (technician_id, company_id, change, offer_seq, offered_at)
                   SELECT technician_id, company_id, 0,
                          row_number() OVER (ORDER BY offered_at, id) - count(*) OVER () - 1
                              + LEAST(COALESCE((SELECT min(offer_seq) FROM service_rotation_entry), 0), 0),
                          offered_at
                     FROM (SELECT DISTINCT ON (o.technician_id, o.company_id) o.technician_id, o.company_id,
                                  o.offered_at, o.id
                             FROM service_offer o
                            WHERE o.company_id IS NOT NULL AND o.offered_at IS NOT NULL AND %s
                            ORDER BY o.technician_id, o.company_id, o.offered_at DESC, o.id DESC) last""",
                where or SQL("TRUE"),
            )
        )

    @api.model
    def _append(self, company_id, changes, offered=None):
        """Append ``{technician id: change}`` for ``company_id``, in one statement; ``offered``:
        (technician id, time) of the offer the changes pay for, recorded on that technician's row."""
        if not changes:
            return
        self.env.cr.execute(self._append_sql(company_id, changes, offered))

    @api.model
    def _append_sql(self, company_id, changes, offered=None, where=None):
        """The INSERT of ``_append`` (``where``: an SQL condition the rows are appended under)."""
        ids = sorted(changes)
        technician_id, offered_at = offered or (None, None)
        return SQL(
            """INSERT INTO service_rotation_entry (technician_id, company_id, change, offer_seq, offered_at)
               SELECT c.id, %s, c.change,
                      CASE WHEN c.id = %s THEN nextval('service_rotation_entry_offer_seq') END,
                      CASE WHEN c.id = %s THEN %s::timestamp END
                 FROM unnest(%s::int[], %s::float[]) AS c(id, change)
                WHERE %s""",
            company_id,
            technician_id,
            technician_id,
            offered_at,
            ids,
            [changes[i] for i in ids],
            where or SQL("TRUE"),
        )

    @api.model
    def _cron_fold(self, batch_size=200000):
        moved = self._fold(batch_size)
        self.env["ir.cron"]._notify_progress(done=moved, remaining=int(moved == batch_size))
        return moved

    @api.model
    def _fold_if_long(self, entries):
        """A routing summed a credit from ``entries`` rows: past FOLD_AT, wake the scheduled fold.

        Woken once in FOLD_WAKE_INTERVAL seconds per process at most, so that
        intake never waits for it nor does its work.
        """
        if entries <= FOLD_AT:
            return False
        dbname = self.env.cr.dbname
        if time.monotonic() - _fold_woken.get(dbname, -FOLD_WAKE_INTERVAL) < FOLD_WAKE_INTERVAL:
            return False
        _fold_woken[dbname] = time.monotonic()
        self.env.ref("crm_service_routing.ir_cron_fold_rotation").sudo()._trigger()
        return True

    @api.model
    def _fold_after_batch(self):
        """Fold in the caller's transaction, after a batch of routings and before it commits.

        A batch appends to the ledger faster than the scheduled fold runs, and
        its own appends are what its next batch sums. A fold that another
        transaction holds or conflicts with is left to the next one.
        """
        try:
            with self.env.cr.savepoint():
                return self._fold()
        except CONCURRENCY_ERRORS:
            return 0

    @api.model
    def _fold(self, batch_size=200000):
        """Replace the entries of each technician by their sum; one folder at a time.

        Routings append meanwhile without waiting: rows they add are not
        seen here and stay for the next fold. The entries of a technician
        or a company deleted since are dropped. Returns the number of
        entries folded.
        """
        cr = self.env.cr
        cr.execute("SELECT pg_try_advisory_xact_lock(%s, 0)", (7317,))
        if not cr.fetchone()[0]:
            return 0
        cr.execute(
            """WITH moved AS (
                   DELETE FROM service_rotation_entry
                    WHERE id IN (SELECT id FROM service_rotation_entry ORDER BY id LIMIT %s)
                RETURNING technician_id, company_id, change, offer_seq, offered_at
               ), folded AS (
                   INSERT INTO service_rotation_entry (technician_id, company_id, change, offer_seq, offered_at)
                   SELECT technician_id, company_id, sum(change), max(offer_seq), max(offered_at) FROM moved
                    WHERE EXISTS (SELECT 1 FROM res_partner p WHERE p.id = moved.technician_id)
                      AND EXISTS (SELECT 1 FROM res_company c WHERE c.id = moved.company_id)
                    GROUP BY 1, 2
                   RETURNING 1
               )
               SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM folded)""",
            (batch_size,),
        )
        moved, folded = cr.fetchone()
        _logger.info("Rotation credit: %d entries folded into %d", moved, folded)
        return moved
