# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Postal codes, GeoNames postal-code files and great-circle distances."""

import csv
import math
import re

EARTH_RADIUS_KM = 6371.0088

# Syntax of postal codes for the countries we ship GeoNames data for. A code
# that fails these is a typing error (rejected); one that passes but is not in
# GeoNames is unknown (kept and held for review).
POSTAL_CODE_PATTERNS = {
    "AT": r"\d{4}",
    "BE": r"\d{4}",
    "CH": r"\d{4}",
    "DE": r"\d{5}",
    "DK": r"\d{4}",
    "ES": r"\d{5}",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]?(\d[A-Z]{2})?",
    "IT": r"\d{5}",
    "NL": r"\d{4}([A-Z]{2})?",
    "US": r"\d{5}(\d{4})?",
}
GENERIC_PATTERN = r"[A-Z0-9]{2,10}"

# Countries whose GeoNames files hold the outward code only: the lookup key
# is the part before the space.
OUTWARD_ONLY = {"GB", "IE", "CA"}

# Appended to the upper bound of a range so that a shorter bound acts as a
# prefix: "80" .. "81" covers 80000 .. 81999. It sorts after digits and
# capital letters in the "C" collation.
RANGE_END_SENTINEL = "~"


def normalize_postal_code(code):
    """Upper-case, trimmed, inner blanks and dashes removed; '' for nothing."""
    if not code:
        return ""
    return re.sub(r"[\s\-]+", "", str(code)).upper()


def is_valid_postal_code(country_code, code):
    """True when ``code`` (normalised) has the syntax of ``country_code``."""
    pattern = POSTAL_CODE_PATTERNS.get((country_code or "").upper(), GENERIC_PATTERN)
    return bool(code) and re.fullmatch(pattern, code) is not None


def lookup_key(country_code, code):
    """The key under which GeoNames stores the centroid of ``code``."""
    code = normalize_postal_code(code)
    country = (country_code or "").upper()
    if country in OUTWARD_ONLY and len(code) > 4:
        # GB inward codes are always digit + two letters; an Irish routing
        # key and a Canadian forward sortation area are three characters
        return code[:3] if country in ("IE", "CA") else code[:-3]
    return code


def range_keys(zip_from, zip_to):
    """Bounds of a postal-code range as stored for the range index."""
    low = normalize_postal_code(zip_from)
    high = normalize_postal_code(zip_to or zip_from)
    return low, high + RANGE_END_SENTINEL


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in kilometres between two points in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat, lon, radius_km):
    """(south, west, north, east) of a box that holds the circle."""
    angle = radius_km / EARTH_RADIUS_KM
    dlat = math.degrees(angle)
    coslat = math.cos(math.radians(lat))
    # the circle is widest north (south) of its centre: asin(sin(r) / cos(lat)),
    # wider than r / cos(lat); a circle that reaches a pole spans every longitude
    if math.sin(angle) >= coslat:
        dlon = 180.0
    else:
        dlon = min(180.0, math.degrees(math.asin(math.sin(angle) / coslat)))
    return lat - dlat, lon - dlon, lat + dlat, lon + dlon


# A GeoNames postal-code line (https://download.geonames.org/export/zip/, no
# header): country code, postal code, place name, admin name1, admin code1,
# admin name2, admin code2, admin name3, admin code3, latitude, longitude,
# accuracy (the last one may be missing).
GEONAMES_POSTAL_CODE, GEONAMES_PLACE_NAME, GEONAMES_LATITUDE, GEONAMES_LONGITUDE = 1, 2, 9, 10
GEONAMES_MIN_FIELDS = 11
# what the files write for "no value" (GeoNames leaves the field empty)
GEONAMES_MISSING = {"", "nan", "na", "n/a", "null", "none"}
PLACE_NAME_MAX = 200


class GeonamesError(ValueError):
    """A GeoNames file that cannot be read as one: which line, and why."""


def _geonames_coordinate(value, limit, what, line_number):
    """The coordinate as a float, None when missing; a GeonamesError when it is no coordinate."""
    value = value.strip()
    if value.lower() in GEONAMES_MISSING:
        return None
    try:
        number = float(value)
    except ValueError:
        raise GeonamesError(f"line {line_number}: the {what} {value[:30]!r} is not a number") from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise GeonamesError(f"line {line_number}: the {what} {value[:30]!r} is out of range (-{limit} to {limit})")
    return number


def read_geonames(lines):
    """[(postal code, place name, latitude, longitude)] from the lines of a GeoNames postal-code file.

    One entry per postal code (upper-cased), sorted by code: several lines
    of one code (the places it serves) give the mean of their coordinates
    and their place names joined by ", " (cut to 200 characters). Blank
    lines, and lines without coordinates, are skipped; a line with too few
    fields or a coordinate that is not one raises a GeonamesError naming
    the line.
    """
    places = {}
    for line_number, row in enumerate(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
        if not any(field.strip() for field in row):
            continue
        if len(row) < GEONAMES_MIN_FIELDS:
            raise GeonamesError(
                f"line {line_number}: {len(row)} fields, a GeoNames postal-code line has {GEONAMES_MIN_FIELDS} or more"
            )
        code = row[GEONAMES_POSTAL_CODE].strip().upper()
        latitude = _geonames_coordinate(row[GEONAMES_LATITUDE], 90, "latitude", line_number)
        longitude = _geonames_coordinate(row[GEONAMES_LONGITUDE], 180, "longitude", line_number)
        if not code or latitude is None or longitude is None:
            continue
        entry = places.setdefault(code, ([], [], []))
        entry[0].append(row[GEONAMES_PLACE_NAME].strip())
        entry[1].append(latitude)
        entry[2].append(longitude)
    return [
        (
            code,
            ", ".join(name for name in names if name)[:PLACE_NAME_MAX],
            math.fsum(latitudes) / len(latitudes),
            math.fsum(longitudes) / len(longitudes),
        )
        for code, (names, latitudes, longitudes) in sorted(places.items())
    ]
