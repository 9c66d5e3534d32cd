# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import os

from psycopg2.extras import execute_values

from odoo import api, fields, models, tools
from odoo.exceptions import UserError
from odoo.modules.module import get_module_path

from ..engine.postal import GeonamesError, lookup_key, read_geonames

_logger = logging.getLogger(__name__)

GEONAMES_PARAM = "crm_service_routing.geonames_dir"
GEONAMES_CONFIG_OPTION = "geonames_data_dir"
GEONAMES_DOWNLOAD_URL = "https://download.geonames.org/export/zip/"


def shipped_geonames_dir():
    """The GeoNames sample shipped with the addon (``data/geonames``)."""
    return os.path.join(get_module_path("crm_service_routing"), "data", "geonames")


class ServicePostalCode(models.Model):
    """GeoNames centroid of one postal code, loaded once per country.

    Lookups are an indexed query on (country, code) and never load anything:
    a country whose data are missing is queued (``service.postal.country``)
    and loaded by the loader cron or a manager's button, which read the
    country's GeoNames file (engine/postal.py, ``read_geonames``).
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
    # ACTIONS
    # ------------------------------------------------------------

    @api.model
    def action_load_postal_data(self):
        """Load now the countries of the companies, technicians and service
        areas, and (again) every country that has a status already."""
        if not self.env.user.has_group("crm_service_routing.group_service_manager"):
            raise UserError(self.env._("Only service managers can load postal data."))
        Status = self.env["service.postal.country"].sudo()
        countries = self.env.companies.country_id
        self.env["res.partner"].flush_model(["is_technician", "country_id"])
        self.env["service.area"].flush_model(["country_id", "active"])
        self.env.cr.execute(
            """
            SELECT country_id FROM res_partner WHERE is_technician AND country_id IS NOT NULL
             UNION
            SELECT country_id FROM service_area WHERE active
            """
        )
        countries |= self.env["res.country"].browse(row[0] for row in self.env.cr.fetchall())
        Status._ensure(countries)
        return Status.search([("country_id", "!=", False)])._load_and_notify()

    # ------------------------------------------------------------
    # LOOKUP
    # ------------------------------------------------------------

    @api.model
    def _locate(self, country, code):
        """(latitude, longitude) of ``code`` in ``country`` (a res.country), or None.

        Never loads data: when the country has no postal-data status yet, it
        is queued for the loader and the code is unknown for now. An unknown
        code gives None: it is reported by the caller, never guessed.
        """
        if not country or not code:
            return None
        self.env.cr.execute(
            "SELECT latitude, longitude FROM service_postal_code WHERE country_id = %s AND name = %s",
            (country.id, lookup_key(country.code, code)),
        )
        row = self.env.cr.fetchone()
        if row:
            return tuple(row)
        self._missed(country)
        return None

    @api.model
    def _missed(self, country):
        """A code of ``country`` was not found: its data are queued for the loader if they never were."""
        Status = self.env["service.postal.country"]
        if not Status._state_of(country):
            Status._request(country)

    @api.model
    def _is_loaded(self, country):
        """Whether ``country``'s postal data are loaded (one indexed query)."""
        return bool(country) and self.env["service.postal.country"]._state_of(country) == "loaded"

    # ------------------------------------------------------------
    # LOADING
    # ------------------------------------------------------------

    @api.model
    def _geonames_source(self, parameter=None):
        """(folder, origin) the raw GeoNames files (``<CC>.txt``) are read from.

        The system parameter (or ``parameter``, a value for it that is not
        saved yet) wins over the server option ``geonames_data_dir``; without
        either, the sample shipped with the addon. Never the web.
        """
        path = self.env["ir.config_parameter"].sudo().get_param(GEONAMES_PARAM) if parameter is None else parameter
        origin = "parameter"
        if not path:
            path, origin = tools.config.get(GEONAMES_CONFIG_OPTION), "option"
        if not path:
            path, origin = shipped_geonames_dir(), "shipped"
        return os.path.abspath(os.path.expanduser(path)), origin

    @api.model
    def _geonames_dir(self):
        return self._geonames_source()[0]

    @api.model
    def _read_geonames(self, country_code):
        """[(postal code, place, latitude, longitude)] for a country, from its GeoNames file."""
        source, origin = self._geonames_source()
        raw = os.path.join(source, f"{country_code}.txt")
        if not os.path.isfile(raw):
            if origin == "shipped":
                hint = self.env._(
                    "The sample shipped with the addon covers a few countries only. Download "
                    "%(country)s.zip from %(url)s, unzip %(country)s.txt into a folder the server can "
                    "read, name that folder in Settings > CRM > Service Routing > GeoNames Data Folder "
                    "(or the server option geonames_data_dir), then load the country again.",
                    country=country_code,
                    url=GEONAMES_DOWNLOAD_URL,
                )
            else:
                hint = self.env._(
                    "Download %(country)s.zip from %(url)s, unzip %(country)s.txt into that folder, "
                    "then load the country again.",
                    country=country_code,
                    url=GEONAMES_DOWNLOAD_URL,
                )
            raise UserError(
                self.env._("No GeoNames file for %(country)s in %(path)s.", country=country_code, path=source)
                + " "
                + hint
            )
        try:
            with open(raw, encoding="utf-8", newline="") as lines:
                return read_geonames(lines)
        except (OSError, UnicodeDecodeError, GeonamesError) as error:
            raise UserError(
                self.env._("The GeoNames file %(path)s could not be read: %(error)s", path=raw, error=error)
            ) from error

    @api.model
    def _replace_country(self, country):
        """Replace the centroids of ``country`` by those of its GeoNames file; the count.

        Raises UserError, leaving the rows in place, when the file cannot be read.
        Callers hold the country's status row lock (``service.postal.country._load``).
        """
        rows = self._read_geonames(country.code)
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
        self.invalidate_model()
        _logger.info("Loaded %d postal codes for %s", len(rows), country.code)
        return len(rows)

    @api.model
    def _load_countries(self, country_codes, raise_if_missing=True):
        """Load (or reload) the centroids of the given countries now. Returns {code: count}.

        For the demo data, tests and scripts; a country that cannot be loaded
        raises, or with ``raise_if_missing=False`` counts 0 and is marked failed.
        """
        countries = self.env["res.country"]
        for code in country_codes:
            country = self.env["res.country"].search([("code", "=", code.upper())], limit=1)
            if not country:
                raise UserError(self.env._("Unknown country code %(code)s.", code=code))
            countries |= country
        Status = self.env["service.postal.country"].sudo()
        loaded = Status._ensure(countries)._load(raise_errors=raise_if_missing)
        return {country.code: loaded.get(country.code) or 0 for country in countries}
