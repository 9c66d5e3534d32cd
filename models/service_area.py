# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..engine.postal import bounding_box, lookup_key, normalize_postal_code, range_keys

MAX_RADIUS_KM = 1000


# the areas of a country that may cover a postal code at a point (%(lat)s, %(lon)s are
# filled in as SQL expressions): ranges that contain the code, radius areas whose
# bounding box contains the point (box @> box: the GiST index of the boxes answers it,
# box @> point it does not), and the other radius areas of the technicians named
AREAS_AT = """
    SELECT technician_id, 'range' AS kind, NULL::float AS base_latitude, NULL::float AS base_longitude,
           NULL::float AS radius_km
      FROM service_area
     WHERE kind = 'range' AND active AND country_id = %%(country)s
       AND service_zip_range_of(zip_from_key, zip_to_key) @> %%(zip)s::text
    UNION ALL
    SELECT technician_id, kind, base_latitude, base_longitude, radius_km
      FROM service_area
     WHERE kind = 'radius' AND active AND country_id = %%(country)s
       AND box(point(bbox_west, bbox_south), point(bbox_east, bbox_north))
           @> box(point(%(lon)s, %(lat)s), point(%(lon)s, %(lat)s))
    UNION ALL
    SELECT technician_id, kind, base_latitude, base_longitude, radius_km
      FROM service_area
     WHERE kind = 'radius' AND active AND country_id = %%(country)s AND technician_id = ANY(%%(techs)s)
       AND %(lat)s IS NOT NULL
       AND NOT box(point(bbox_west, bbox_south), point(bbox_east, bbox_north))
               @> box(point(%(lon)s, %(lat)s), point(%(lon)s, %(lat)s))
"""


class ServiceArea(models.Model):
    """Where a technician works: a postal-code range or a radius around a base.

    Ranges are matched through a GiST index on a text range in the "C"
    collation, radius areas through a GiST index on their bounding box, so
    that finding the technicians of a postal code costs the same with 50 or
    50,000 areas.
    """

    _name = "service.area"
    _description = "Service Area"
    _order = "technician_id, country_id, kind, zip_from_key, base_zip"
    _check_company_auto = True

    technician_id = fields.Many2one(
        "res.partner", required=True, index=True, ondelete="cascade", domain="[('is_technician', '=', True)]"
    )
    company_id = fields.Many2one(related="technician_id.company_id", store=True, index=True)
    country_id = fields.Many2one("res.country", required=True)
    kind = fields.Selection(
        [("range", "Postal-code range"), ("radius", "Radius around a postal code")],
        required=True,
        default="range",
    )
    zip_from = fields.Char("From Postal Code", help="First postal code; a shorter code is a prefix.")
    zip_to = fields.Char("To Postal Code", help="Last postal code; a shorter code is a prefix. Empty: as From.")
    zip_from_key = fields.Char(compute="_compute_range_keys", store=True)
    zip_to_key = fields.Char(compute="_compute_range_keys", store=True)
    base_zip = fields.Char("Base Postal Code")
    radius_km = fields.Float("Radius (km)")
    base_latitude = fields.Float(digits=(10, 6), compute="_compute_base", store=True)
    base_longitude = fields.Float(digits=(10, 6), compute="_compute_base", store=True)
    bbox_south = fields.Float(compute="_compute_base", store=True)
    bbox_west = fields.Float(compute="_compute_base", store=True)
    bbox_north = fields.Float(compute="_compute_base", store=True)
    bbox_east = fields.Float(compute="_compute_base", store=True)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "range_complete",
            "CHECK(kind != 'range' OR (zip_from IS NOT NULL AND zip_from != ''))",
            "A postal-code range needs a first postal code.",
        ),
        (
            "radius_complete",
            f"CHECK(kind != 'radius' OR (base_zip IS NOT NULL AND radius_km > 0 AND radius_km <= {MAX_RADIUS_KM}))",
            f"A radius area needs a base postal code and a radius between 0 and {MAX_RADIUS_KM} km.",
        ),
    ]

    def init(self):
        cr = self.env.cr
        cr.execute(
            """
            DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'service_zip_range') THEN
                    CREATE TYPE service_zip_range AS RANGE (subtype = text, collation = "C");
                END IF;
            END $$;
            -- NULL for missing or inverted bounds (never an unbounded range), so
            -- that a bad row is refused by the constraint, not by the index
            CREATE OR REPLACE FUNCTION service_zip_range_of(low text, high text)
                RETURNS service_zip_range LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                    SELECT CASE WHEN low IS NULL OR high IS NULL OR low > high COLLATE "C" THEN NULL
                                ELSE service_zip_range(low, high, '[]') END
                $$;
            -- the ranges of a postal code are read from the index alone (an index-only scan, where
            -- the table is vacuumed): a code is covered by hundreds of ranges at scale, each on its
            -- own page of the table. The columns of the key's expression are included because
            -- PostgreSQL's planner asks for them to consider an index-only scan.
            DROP INDEX IF EXISTS service_area_zip_range_gist;
            DROP INDEX IF EXISTS service_area_zip_range_idx;
            CREATE INDEX IF NOT EXISTS service_area_zip_range_cover_idx
                ON service_area USING gist (service_zip_range_of(zip_from_key, zip_to_key))
                INCLUDE (country_id, technician_id, zip_from_key, zip_to_key)
                WHERE kind = 'range' AND active;
            CREATE INDEX IF NOT EXISTS service_area_radius_box_gist
                ON service_area USING gist (box(point(bbox_west, bbox_south), point(bbox_east, bbox_north)))
                WHERE kind = 'radius' AND active;
            """
        )
        # _locate_hits, a function so that its plan is made once per connection: every routing runs it.
        # Never a sequential scan, whatever the statistics said when the plan was made (a plan made
        # while there were few areas would scan them all at every routing once there are many).
        areas = AREAS_AT % {"lat": "pc.latitude", "lon": "pc.longitude"}
        areas = areas % {"country": "p_country", "zip": "p_zip", "techs": "p_techs"}
        cr.execute(
            SQL(f"""
            CREATE OR REPLACE FUNCTION service_area_hits_at(p_country int, p_code text, p_zip text, p_techs int[])
               RETURNS TABLE (o_latitude float8, o_longitude float8, o_technician_id int, o_kind text,
                              o_base_latitude float8, o_base_longitude float8, o_radius_km float8)
               LANGUAGE plpgsql STABLE
               SET plan_cache_mode = force_generic_plan
               SET enable_seqscan = off
               AS $$
               BEGIN
               RETURN QUERY
               SELECT pc.latitude::float8, pc.longitude::float8, a.technician_id, a.kind::text,
                      a.base_latitude::float8, a.base_longitude::float8, a.radius_km::float8
                 FROM service_postal_code pc
                 LEFT JOIN LATERAL ({areas}) a ON TRUE
                WHERE pc.country_id = p_country AND pc.name = p_code;
               END
               $$""")
        )

    @api.depends("kind", "zip_from", "zip_to")
    def _compute_range_keys(self):
        for area in self:
            if area.kind == "range" and area.zip_from:
                area.zip_from_key, area.zip_to_key = range_keys(area.zip_from, area.zip_to)
            else:
                area.zip_from_key = area.zip_to_key = False

    @api.depends("kind", "base_zip", "radius_km", "country_id")
    def _compute_base(self):
        postal = self.env["service.postal.code"]
        # the countries are queued for loading, never loaded here; a radius
        # area is located again once its country is loaded
        self.env["service.postal.country"]._request(self.country_id)
        for area in self:
            point = postal._locate(area.country_id, area.base_zip) if area.kind == "radius" else None
            if point and area.radius_km > 0:
                area.base_latitude, area.base_longitude = point
                area.bbox_south, area.bbox_west, area.bbox_north, area.bbox_east = bounding_box(
                    point[0], point[1], area.radius_km
                )
            else:
                area.base_latitude = area.base_longitude = 0.0
                area.bbox_south = area.bbox_west = area.bbox_north = area.bbox_east = 0.0

    @api.depends("kind", "country_id", "zip_from", "zip_to", "base_zip", "radius_km")
    def _compute_display_name(self):
        for area in self:
            country = area.country_id.code or ""
            if area.kind == "radius":
                area.display_name = self.env._(
                    "%(country)s %(zip)s + %(radius)s km",
                    country=country,
                    zip=area.base_zip or "",
                    radius=area.radius_km,
                )
            elif area.zip_to and normalize_postal_code(area.zip_to) != normalize_postal_code(area.zip_from):
                area.display_name = f"{country} {area.zip_from or ''}–{area.zip_to}"
            else:
                area.display_name = f"{country} {area.zip_from or ''}"

    @api.constrains("kind", "zip_from", "zip_to", "base_zip", "radius_km", "country_id")
    def _check_area(self):
        for area in self:
            if area.kind == "range":
                low, high = normalize_postal_code(area.zip_from), normalize_postal_code(area.zip_to)
                for code in filter(None, (low, high)):
                    if not re.fullmatch(r"[A-Z0-9]{1,10}", code):
                        raise ValidationError(
                            self.env._("%(code)s is not a postal code or postal-code prefix.", code=code)
                        )
                if not low:
                    raise ValidationError(self.env._("A postal-code range needs a first postal code."))
                if high and high < low:
                    raise ValidationError(
                        self.env._(
                            "The range %(low)s–%(high)s ends before it starts.", low=area.zip_from, high=area.zip_to
                        )
                    )
            else:
                if not area.base_zip:
                    raise ValidationError(self.env._("A radius area needs a base postal code."))
                if not 0 < area.radius_km <= MAX_RADIUS_KM:
                    raise ValidationError(self.env._("The radius must be between 0 and %(max)s km.", max=MAX_RADIUS_KM))
                # before its country is loaded the area waits, located after the load
                if (
                    not area.base_latitude
                    and not area.base_longitude
                    and self.env["service.postal.code"]._is_loaded(area.country_id)
                ):
                    raise ValidationError(
                        self.env._(
                            "Postal code %(zip)s is unknown in %(country)s. Correct it, or load the "
                            "country's postal data (Settings > CRM > Service Routing).",
                            zip=area.base_zip,
                            country=area.country_id.name,
                        )
                    )

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _hits(self, country_id, zip_key, latitude, longitude, technician_ids=()):
        """Areas of ``country_id`` that may cover a postal code, in one query.

        Returns [(technician_id, kind, base_latitude, base_longitude, radius_km)]
        for every range containing ``zip_key`` and every radius area whose
        bounding box contains the point; the exact radius test is the
        engine's. ``technician_ids`` adds those technicians' radius areas even
        when far away, so that a contract technician's distance is known.
        """
        self.flush_model()
        self.env.cr.execute(
            f"SELECT * FROM ({AREAS_AT % {'lat': '%(lat)s::float', 'lon': '%(lon)s::float'}}) a",
            {
                "country": country_id,
                "zip": zip_key or "",
                "lat": latitude,
                "lon": longitude,
                "techs": list(technician_ids) or [0],
            },
        )
        return self.env.cr.fetchall()

    @api.model
    def _locate_hits(self, country, code, technician_ids=()):
        """(point, areas) of a postal code of ``country`` (a res.country): _hits and its point in one query.

        ``point`` is (latitude, longitude), None when the code is unknown
        (then there are no areas: a range alone does not route).
        """
        if not country or not code:
            return None, []
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT * FROM service_area_hits_at(%s, %s, %s, %s)",
                country.id,
                lookup_key(country.code, code),
                normalize_postal_code(code) or "",
                list(technician_ids) or [0],
            )
        )
        rows = self.env.cr.fetchall()
        if not rows:
            self.env["service.postal.code"]._missed(country)
            return None, []
        return (rows[0][0], rows[0][1]), [row[2:] for row in rows if row[2]]
