# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import logging
import threading

from odoo import api, fields, models
from odoo.exceptions import UserError

from .service_batch import owns_cursor

_logger = logging.getLogger(__name__)

LOADER_CRON = "crm_service_routing.ir_cron_load_postal_data"
# minutes before a failed country is tried again, by failed attempt; the last repeats
RETRY_MINUTES = (15, 60, 240, 1440)
# countries loaded per cron batch; the cron runs again while some are due
CRON_BATCH = 5


def retry_delay(attempts):
    """How long to wait after the ``attempts``-th failed load in a row."""
    return datetime.timedelta(minutes=RETRY_MINUTES[min(max(attempts, 1), len(RETRY_MINUTES)) - 1])


class ServicePostalCountry(models.Model):
    """Whether a country's GeoNames centroids are loaded, and if not, why.

    Lookups never load postal data (that would put a file read and thousands
    of inserts inside an intake or a routing request): a country that a
    company, a technician, a service area or an inquiry refers to is queued
    here as pending, and loaded by the loader cron, by *Load Postal Data* in
    the settings or by *Load now*. A failed load is retried by the cron with
    a growing delay.
    """

    _name = "service.postal.country"
    _description = "Postal Data of a Country"
    _order = "country_id"
    _rec_name = "country_id"

    country_id = fields.Many2one("res.country", required=True, ondelete="cascade")
    country_code = fields.Char(related="country_id.code", string="Code")
    state = fields.Selection(
        [("pending", "Pending"), ("loaded", "Loaded"), ("failed", "Failed")],
        required=True,
        default="pending",
        readonly=True,
        help="Pending: queued for the loader. Loaded: postal codes can be located. "
        "Failed: the last load failed (see the error); the loader tries again later.",
    )
    record_count = fields.Integer("Postal Codes", readonly=True)
    loaded_at = fields.Datetime("Loaded On", readonly=True)
    source_dir = fields.Char("Loaded From", readonly=True, help="Folder the loaded GeoNames file was read from.")
    last_error = fields.Text(readonly=True)
    attempts = fields.Integer("Failed Attempts", readonly=True, help="Failed loads since the last successful one.")
    next_attempt = fields.Datetime(readonly=True, help="When the loader tries a failed country again.")

    _sql_constraints = [
        ("country_uniq", "unique(country_id)", "A country has one postal-data status."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        statuses = super().create(vals_list)
        cron = self.env.ref(LOADER_CRON, raise_if_not_found=False)
        if cron and "pending" in statuses.mapped("state"):
            cron.sudo()._trigger()
        return statuses

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_load_now(self):
        """Load (or reload) these countries now."""
        if not self.env.user.has_group("crm_service_routing.group_service_manager"):
            raise UserError(self.env._("Only service managers can load postal data."))
        return self.sudo()._load_and_notify()

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _state_of(self, country):
        """State of ``country``'s postal data, or None when it has no status (one indexed query)."""
        self.flush_model(["country_id", "state"])
        self.env.cr.execute("SELECT state FROM service_postal_country WHERE country_id = %s", (country.id,))
        row = self.env.cr.fetchone()
        return row[0] if row else None

    @api.model
    def _request(self, countries):
        """Queue ``countries`` (res.country) that have no status yet and wake
        the loader; never loads. For lookups and computes.

        Idempotent and concurrency-safe. The rows are inserted in a short
        transaction of their own, so that a country stays queued when the
        caller rolls back, and that concurrent callers queuing the same
        country neither wait for each other's (maybe long) transaction nor
        fail to serialize. Returns the statuses created when they are visible
        to the caller (during installation and tests), else an empty recordset.
        """
        ids = set(countries.ids) if countries else set()
        if not ids or self.env.cr.readonly:
            return self.browse()
        self.flush_model(["country_id"])
        self.env.cr.execute("SELECT country_id FROM service_postal_country WHERE country_id = ANY(%s)", [list(ids)])
        ids -= {row[0] for row in self.env.cr.fetchall()}
        registry = self.env.registry
        if not ids:
            return self.browse()
        if not registry.ready or registry.in_test_mode() or getattr(threading.current_thread(), "testing", False):
            # the table may not be committed yet; tests must not commit
            return self._insert_pending(ids)
        # countries this transaction queued already: its snapshot does not see them
        queued = self.env.cr.cache.setdefault("service_postal_country_queued", set())
        ids -= queued
        if ids:
            queued.update(ids)
            with registry.cursor() as cr:
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                # bound to this registry: no look-up by name (and its lock) from inside a transaction
                cr.transaction = api.Transaction(registry)
                self.with_env(self.env(cr=cr))._insert_pending(ids)
        return self.browse()

    @api.model
    def _insert_pending(self, country_ids, trigger=True):
        """Insert pending statuses for ``country_ids`` where none exists; the statuses created."""
        if not country_ids:
            return self.browse()
        self.env.cr.execute(
            """
            INSERT INTO service_postal_country
                   (country_id, state, record_count, attempts, create_uid, write_uid, create_date, write_date)
            SELECT country_id, 'pending', 0, 0, %(uid)s, %(uid)s,
                   now() at time zone 'UTC', now() at time zone 'UTC'
              FROM unnest(%(ids)s) AS country_id
            ON CONFLICT (country_id) DO NOTHING
            RETURNING id
            """,
            {"ids": sorted(country_ids), "uid": self.env.uid},
        )
        created = self.browse(row[0] for row in self.env.cr.fetchall())
        if created:
            _logger.info("Postal data queued for loading: %s", ", ".join(created.sudo().country_id.mapped("code")))
            cron = self.env.ref(LOADER_CRON, raise_if_not_found=False)
            if trigger and cron:
                cron.sudo()._trigger()
        return created

    @api.model
    def _ensure(self, countries):
        """The statuses of ``countries``, queued (without waking the loader) where
        missing, in the current transaction: for explicit loads."""
        self.flush_model(["country_id"])
        self._insert_pending(set(countries.ids), trigger=False)
        return self.search([("country_id", "in", countries.ids)])

    @api.model
    def _due_domain(self):
        return [
            "|",
            ("state", "=", "pending"),
            "&",
            ("state", "=", "failed"),
            ("next_attempt", "<=", fields.Datetime.now()),
        ]

    @api.model
    def _cron_load_postal_data(self):
        """Load the pending countries and retry the failed ones that are due."""
        self._load_due(auto_commit=owns_cursor(self.env))

    @api.model
    def _load_due(self, limit=CRON_BATCH, auto_commit=False):
        """Load up to ``limit`` due countries, each in its own transaction when
        ``auto_commit``, skipping those another worker is loading."""
        done, seen = 0, [0]
        while done < limit:
            self.flush_model()
            self.env.cr.execute(
                """
                SELECT id FROM service_postal_country
                 WHERE (state = 'pending' OR (state = 'failed' AND next_attempt <= %s))
                   AND id != ALL(%s)
                 ORDER BY state DESC, id
                 LIMIT 1
                   FOR UPDATE SKIP LOCKED
                """,
                (fields.Datetime.now(), seen),
            )
            row = self.env.cr.fetchone()
            if not row:
                break
            seen.append(row[0])
            self.browse(row[0]).sudo()._load()
            done += 1
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
        remaining = self.search_count(self._due_domain() + [("id", "not in", seen)])
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    def _load(self, raise_errors=False):
        """Load (or reload) the countries of ``self`` now. Returns {country code: count or None}.

        A country that fails is marked failed (or keeps its data, when it had
        some) with an error a person can act on; ``raise_errors`` raises it.
        """
        Postal = self.env["service.postal.code"].sudo()
        result = {}
        loaded = self.browse()
        for status in self:
            code = status.country_id.code
            # one loader per country at a time: another one waits here, then loads again
            self.env.cr.execute("SELECT id FROM service_postal_country WHERE id = %s FOR UPDATE", (status.id,))
            source = Postal._geonames_dir()
            try:
                with self.env.cr.savepoint():
                    count = Postal._replace_country(status.country_id)
            except Exception as error:
                if isinstance(error, UserError):
                    message = error.args[0]
                    _logger.info("Postal data for %s not loaded: %s", code, message)
                else:
                    message = self.env._("Unexpected error: %(error)s", error=error)
                    _logger.warning("Postal data for %s not loaded", code, exc_info=True)
                status._mark_failed(message)
                if raise_errors:
                    raise
                result[code] = None
                continue
            status.write(
                {
                    "state": "loaded",
                    "record_count": count,
                    "loaded_at": fields.Datetime.now(),
                    "source_dir": source,
                    "last_error": False,
                    "attempts": 0,
                    "next_attempt": False,
                }
            )
            loaded |= status
            result[code] = count
        if loaded:
            loaded._after_load()
        return result

    def _mark_failed(self, message):
        self.ensure_one()
        if self.state == "loaded":
            # the data loaded earlier stay; nothing to retry
            self.last_error = self.env._(
                "Reloading failed; the %(count)s postal codes loaded on %(date)s are kept. %(error)s",
                count=self.record_count,
                date=self.loaded_at,
                error=message,
            )
            return
        attempts = self.attempts + 1
        next_attempt = fields.Datetime.now() + retry_delay(attempts)
        self.write({"state": "failed", "last_error": message, "attempts": attempts, "next_attempt": next_attempt})
        cron = self.env.ref(LOADER_CRON, raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger(at=next_attempt)

    def _after_load(self):
        """Locate again what refers to the loaded countries: technicians, radius
        areas, and the inquiries held because the data were missing."""
        country_ids = self.country_id.ids
        self.flush_model()
        Partner = self.env["res.partner"].sudo().with_context(active_test=False)
        technicians = Partner.search([("is_technician", "=", True), ("country_id", "in", country_ids)])
        Area = self.env["service.area"].sudo().with_context(active_test=False)
        areas = Area.search([("kind", "=", "radius"), ("country_id", "in", country_ids)])
        for records, fnames in (
            (technicians, ["service_latitude", "service_longitude"]),
            (
                areas,
                ["base_latitude", "base_longitude", "bbox_south", "bbox_west", "bbox_north", "bbox_east"],
            ),
        ):
            if records:
                for fname in fnames:
                    self.env.add_to_compute(records._fields[fname], records)
                records.flush_recordset(fnames)
        Lead = self.env["crm.lead"]
        if hasattr(Lead, "_service_on_postal_data_loaded"):
            # the postal data stay loaded even if re-routing fails
            try:
                with self.env.cr.savepoint():
                    Lead._service_on_postal_data_loaded(country_ids)
            except Exception:
                _logger.exception(
                    "Re-routing after loading the postal data of %s failed", self.country_id.mapped("code")
                )

    def _load_and_notify(self):
        """Load ``self`` now; a notification saying what was loaded."""
        result = self._load()
        failed = sorted(code for code, count in result.items() if count is None)
        message = ", ".join(
            f"{code}: {count}"
            if count is not None
            else self.env._("%(country)s: failed (see Postal Data by Country)", country=code)
            for code, count in sorted(result.items())
        ) or self.env._("nothing to load")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Postal data loaded") if not failed else self.env._("Postal data partly loaded"),
                "message": message,
                "type": "warning" if failed or not result else "success",
                "sticky": bool(failed),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
