# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, fields, models

_logger = logging.getLogger(__name__)


class ServiceRotationEntry(models.Model):
    """Fair-rotation credit as a ledger: what a technician was owed minus what it got.

    Every routing decision owes each eligible technician 1/n of an offer and
    pays the chosen one; it appends one row per technician. Appending never
    conflicts, so routings in the same area run side by side; a
    technician's credit is the sum of its rows, which the fold cron keeps to
    a few rows per technician. Written only by routing, in SQL.
    """

    _name = "service.rotation.entry"
    _description = "Rotation Credit Entry"
    _log_access = False
    _order = "id desc"

    technician_id = fields.Many2one("res.partner", required=True, readonly=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    change = fields.Float(readonly=True)

    def init(self):
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS service_rotation_entry_technician_idx
                   ON service_rotation_entry (technician_id, company_id) INCLUDE (change)"""
        )

    @api.model
    def _append(self, company_id, changes):
        """Append ``{technician id: change}`` for ``company_id``, in one statement."""
        if not changes:
            return
        ids = sorted(changes)
        self.env.cr.execute(
            """INSERT INTO service_rotation_entry (technician_id, company_id, change)
               SELECT c.id, %s, c.change FROM unnest(%s::int[], %s::float[]) AS c(id, change)""",
            (company_id, ids, [changes[i] for i in ids]),
        )

    @api.model
    def _cron_fold(self):
        return self._fold()

    @api.model
    def _fold(self, batch_size=200000):
        """Replace the entries of each technician by their sum; one folder at a time.

        Routings append meanwhile without waiting: rows they add are not
        seen here and stay for the next fold. Returns the number of entries
        folded.
        """
        cr = self.env.cr
        cr.execute("SELECT pg_try_advisory_xact_lock(%s, 0)", (7317,))
        if not cr.fetchone()[0]:
            return 0
        cr.execute(
            """WITH moved AS (
                   DELETE FROM service_rotation_entry
                    WHERE id IN (SELECT id FROM service_rotation_entry ORDER BY id LIMIT %s)
                RETURNING technician_id, company_id, change
               ), folded AS (
                   INSERT INTO service_rotation_entry (technician_id, company_id, change)
                   SELECT technician_id, company_id, sum(change) FROM moved GROUP BY 1, 2
                   RETURNING 1
               )
               SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM folded)""",
            (batch_size,),
        )
        moved, folded = cr.fetchone()
        _logger.info("Rotation credit: %d entries folded into %d", moved, folded)
        remaining = int(moved == batch_size)
        self.env["ir.cron"]._notify_progress(done=moved, remaining=remaining)
        return moved
