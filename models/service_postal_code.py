# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import hashlib
import logging
import os
import threading

from psycopg2.extras import execute_values

from odoo import api, fields, models, tools
from odoo.exceptions import UserError

from ..engine.postal import lookup_key

_logger = logging.getLogger(__name__)

try:
    import pgeocode
except ImportError:  # pragma: no cover - declared in external_dependencies
    pgeocode = None

GEONAMES_PARAM = "crm_service_routing.geonames_dir"
GEONAMES_CONFIG_OPTION = "geonames_data_dir"
# pgeocode keeps its source and cache locations in module globals
_PGEOCODE_LOCK = threading.Lock()


class ServicePostalCode(models.Model):
    """GeoNames centroid of one postal code, loaded once per country.

    Lookups are an indexed query on (country, code); pandas only runs when a
    country is loaded.
    """

    _name = "service.postal.code"
    _description = "Postal Code Centroid"
    _order = "country_id, name"
    _rec_names_search = ["name", "place_name"]

    name = fields.Char("Postal Code", required=True, readonly=True)
    country_id = fields.Many2one("res.country", required=True, readonly=True, ondelete="cascade")
    place_name = fields.Char(readonly=True)
    latitude = fields.Float(digits=(10, 6), readonly=True)
    longitude = fields.Float(digits=(10, 6), readonly=True)

    _sql_constraints = [
        ("country_code_uniq", "unique(country_id, name)", "A postal code is loaded once per country."),
    ]

    @api.depends("name", "place_name", "country_id")
    def _compute_display_name(self):
        for record in self:
            record.display_name = f"{record.country_id.code} {record.name} {record.place_name or ''}".strip()

    # ------------------------------------------------------------
    # LOOKUP
    # ------------------------------------------------------------

    @api.model
    def _locate(self, country, code):
        """(latitude, longitude) of ``code`` in ``country`` (a res.country), or None.

        Loads the country's data on first use. An unknown code gives None:
        it is reported by the caller, never guessed.
        """
        if not country or not code:
            return None
        key = lookup_key(country.code, code)
        for attempt in range(2):
            self.env.cr.execute(
                "SELECT latitude, longitude FROM service_postal_code WHERE country_id = %s AND name = %s",
                (country.id, key),
            )
            row = self.env.cr.fetchone()
            if row or attempt or self._is_loaded(country):
                break
            self._load_countries([country.code], raise_if_missing=False)
        return tuple(row) if row else None

    @api.model
    def _is_loaded(self, country):
        self.env.cr.execute("SELECT 1 FROM service_postal_code WHERE country_id = %s LIMIT 1", (country.id,))
        return bool(self.env.cr.fetchone())

    # ------------------------------------------------------------
    # LOADING
    # ------------------------------------------------------------

    @api.model
    def _geonames_dir(self):
        """Where the raw GeoNames files (``<CC>.txt``) are read from, if not the web.

        The system parameter wins over the server option ``geonames_data_dir``.
        """
        path = self.env["ir.config_parameter"].sudo().get_param(GEONAMES_PARAM) or tools.config.get(
            GEONAMES_CONFIG_OPTION
        )
        return os.path.abspath(os.path.expanduser(path)) if path else None

    @api.model
    def _read_geonames(self, country_code):
        """[(postal code, place, latitude, longitude)] for a country, through pgeocode."""
        if pgeocode is None:
            raise UserError(self.env._("The Python library pgeocode is not installed."))
        source = self._geonames_dir()
        cache = os.path.join(
            tools.config["data_dir"],
            "pgeocode",
            hashlib.sha1((source or "web").encode()).hexdigest()[:12],
        )
        with _PGEOCODE_LOCK:
            saved = pgeocode.STORAGE_DIR, pgeocode.DOWNLOAD_URL
            try:
                pgeocode.STORAGE_DIR = cache
                if source:
                    raw = os.path.join(source, f"{country_code}.txt")
                    if not os.path.isfile(raw):
                        raise UserError(
                            self.env._(
                                "No GeoNames file for %(country)s in %(path)s.",
                                country=country_code,
                                path=source,
                            )
                        )
                    pgeocode.DOWNLOAD_URL = ["file://" + raw]
                frame = pgeocode.Nominatim(country_code)._data_frame
            except UserError:
                raise
            except Exception as error:
                raise UserError(
                    self.env._(
                        "Postal data for %(country)s could not be loaded: %(error)s",
                        country=country_code,
                        error=error,
                    )
                ) from error
            finally:
                pgeocode.STORAGE_DIR, pgeocode.DOWNLOAD_URL = saved
        frame = frame.dropna(subset=["latitude", "longitude"])
        return [
            (str(code).upper(), (place or "")[:200] if isinstance(place, str) else "", float(lat), float(lon))
            for code, place, lat, lon in zip(
                frame["postal_code"],
                frame["place_name"],
                frame["latitude"],
                frame["longitude"],
                strict=True,
            )
        ]

    @api.model
    def _load_countries(self, country_codes, raise_if_missing=True):
        """Load (or reload) the centroids of the given countries. Returns {code: count}."""
        result = {}
        for code in country_codes:
            country = self.env["res.country"].search([("code", "=", code.upper())], limit=1)
            if not country:
                raise UserError(self.env._("Unknown country code %(code)s.", code=code))
            # one loader per country at a time; the others wait, then see it loaded
            self.env.cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", (7316, country.id))
            try:
                rows = self._read_geonames(country.code)
            except UserError as error:
                if raise_if_missing:
                    raise
                _logger.info("Postal data for %s not loaded: %s", country.code, error)
                result[country.code] = 0
                continue
            self.env.cr.execute("DELETE FROM service_postal_code WHERE country_id = %s", (country.id,))
            execute_values(
                self.env.cr._obj,
                """INSERT INTO service_postal_code
                       (country_id, name, place_name, latitude, longitude,
                        create_uid, write_uid, create_date, write_date)
                   VALUES %s""",
                [(country.id, code_, place, lat, lon, self.env.uid, self.env.uid) for code_, place, lat, lon in rows],
                template="(%s, %s, %s, %s, %s, %s, %s, now() at time zone 'UTC', now() at time zone 'UTC')",
                page_size=2000,
            )
            self.env.invalidate_all()
            result[country.code] = len(rows)
            _logger.info("Loaded %d postal codes for %s", len(rows), country.code)
        return result

    @api.model
    def action_load_postal_data(self):
        """Load the countries of the companies, technicians and service areas."""
        if not self.env.user.has_group("crm_service_routing.group_service_manager"):
            raise UserError(self.env._("Only service managers can load postal data."))
        codes = set(self.env.companies.country_id.mapped("code"))
        self.env.cr.execute("SELECT DISTINCT country_id FROM service_area WHERE active")
        codes |= set(self.env["res.country"].browse(row[0] for row in self.env.cr.fetchall()).mapped("code"))
        result = self.sudo()._load_countries(sorted(code for code in codes if code), raise_if_missing=False)
        message = ", ".join(f"{code}: {count}" for code, count in sorted(result.items())) or self.env._("nothing")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Postal data loaded"),
                "message": message,
                "type": "success" if all(result.values()) else "warning",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
