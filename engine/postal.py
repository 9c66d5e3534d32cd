# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Postal codes and great-circle distances."""

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

# Countries whose GeoNames files hold the outward code only (pgeocode does the
# same): the lookup key is the part before the space.
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
