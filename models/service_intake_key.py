# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import hashlib
import json

from odoo import api, fields, models
from odoo.tools import sql

# the longest external reference and source code the intake takes
KEY_SIZE = 100
SOURCE_SIZE = 64


def lock_id(key):
    """A transaction-level advisory lock id (a signed 64-bit integer) for a (company id, source, key)."""
    digest = hashlib.sha256(json.dumps(["service.intake.key", *key]).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ServiceIntakeKey(models.Model):
    """An idempotency key of the intake: one row per external reference of a
    source (an integration) in a company, with the fingerprint of the request
    that used it first and the inquiry that request created.

    Written only by the intake, with ``INSERT ... ON CONFLICT DO NOTHING``
    before the inquiry is created: the unique constraint makes concurrent
    submissions of one key wait for each other, and under REPEATABLE READ the
    later one fails with a serialization error once the first commits; the
    request is then retried (``odoo.service.model.retrying``) on a snapshot
    that shows the key. A batch first locks all its keys in one order, so
    that batches sharing keys wait for each other rather than deadlock.
    It is the one store of the external references: the inquiry's
    ``service_external_ref`` is computed from its keys, and a merge moves the
    keys of the merged inquiries to the survivor, so a retry still answers
    with the survivor. Read-only for dispatchers.
    """

    _name = "service.intake.key"
    _description = "Intake Idempotency Key"
    _order = "id desc"
    _rec_name = "key"

    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    source = fields.Char(size=SOURCE_SIZE, required=True, readonly=True, help="The integration that sent the key.")
    key = fields.Char("External Reference", size=KEY_SIZE, required=True, readonly=True, index=True)
    fingerprint = fields.Char(
        size=64,
        readonly=True,
        help="SHA-256 of the request as first submitted with this key; empty for a key given to a plain "
        "create, which no request of the intake matches.",
    )
    lead_id = fields.Many2one("crm.lead", "Inquiry", index=True, readonly=True, ondelete="cascade")

    _sql_constraints = [
        ("key_uniq", "unique(company_id, source, key)", "An external reference is used once per company and source."),
    ]

    def init(self):
        res = super().init()
        # upgrade: the external references inquiries kept in their own column
        # (before the keys were their one store) become keys without
        # fingerprint; the column stays as it was, no longer read nor written
        cr = self.env.cr
        if sql.column_exists(cr, "crm_lead", "service_external_ref") and sql.column_exists(
            cr, "crm_lead", "service_intake_source"
        ):
            cr.execute(
                """INSERT INTO service_intake_key
                          (company_id, source, key, lead_id, create_uid, write_uid, create_date, write_date)
                   SELECT COALESCE(l.company_id, (SELECT min(id) FROM res_company)),
                          COALESCE(l.service_intake_source, ''), left(l.service_external_ref, %s), l.id,
                          l.create_uid, l.create_uid, l.create_date, l.create_date
                     FROM crm_lead l
                    WHERE l.service_external_ref IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM service_intake_key k WHERE k.lead_id = l.id)
                    ORDER BY l.id
                   ON CONFLICT (company_id, source, key) DO NOTHING""",
                [KEY_SIZE],
            )
        return res

    # ------------------------------------------------------------
    # BUSINESS (raw SQL: integrations have no access rights on keys)
    # ------------------------------------------------------------

    @api.model
    def _lookup(self, company_id, source, key):
        """(lead id, fingerprint) the key was used for, or None (one indexed query)."""
        self.env.cr.execute(
            """SELECT lead_id, fingerprint FROM service_intake_key
                WHERE company_id = %s AND source = %s AND key = %s""",
            (company_id, source, key),
        )
        return self.env.cr.fetchone()

    @api.model
    def _lock(self, keys):
        """Wait for the transactions that use any of ``keys`` ((company id, source, key)) and
        keep them for this one, in one global order.

        A batch reserves its keys one by one as it goes; two batches that
        share keys in another order would deadlock. Locked first, in the
        order of their lock ids, they wait for each other instead.
        """
        lock_ids = sorted({lock_id(key) for key in keys})
        if lock_ids:
            # unnest() yields the ids in the array's order: the locks are taken in that order
            self.env.cr.execute(
                "SELECT pg_advisory_xact_lock(lock_id) FROM unnest(%s::bigint[]) AS lock_id", [lock_ids]
            )

    @api.model
    def _reserve(self, company_id, source, key, fingerprint, lead_id=None):
        """Insert the key (of inquiry ``lead_id`` when known); its id, or None when the key is
        taken (and the row is visible).

        A key taken by a concurrent transaction blocks until that one ends;
        when it committed, PostgreSQL raises a serialization failure (the row
        is invisible to our snapshot) which must propagate: the request is
        retried and then finds the key. It is not logged as a bad query.
        """
        self.env.cr.execute(
            """INSERT INTO service_intake_key
                      (company_id, source, key, fingerprint, lead_id, create_uid, write_uid, create_date, write_date)
               VALUES (%(company)s, %(source)s, %(key)s, %(fingerprint)s, %(lead)s, %(uid)s, %(uid)s,
                       now() at time zone 'UTC', now() at time zone 'UTC')
               ON CONFLICT (company_id, source, key) DO NOTHING
               RETURNING id""",
            {
                "company": company_id,
                "source": source,
                "key": key,
                "fingerprint": fingerprint,
                "lead": lead_id,
                "uid": self.env.uid,
            },
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        return row and row[0]

    @api.model
    def _attach(self, key_id, lead_id):
        """Link a reserved key to the inquiry it created."""
        self.env.cr.execute("UPDATE service_intake_key SET lead_id = %s WHERE id = %s", (lead_id, key_id))
        self.invalidate_model(["lead_id"])
