# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import functools
import re

import babel.dates
import pytz

from odoo.tools.misc import babel_locale_parse, get_lang, posix_to_ldml


@functools.lru_cache(maxsize=64)
def _minutes_format(code, date_format, time_format):
    locale = babel_locale_parse(code)
    time_format = re.sub(r"[:.]%S", "", time_format)
    return f"{posix_to_ldml(date_format, locale=locale)} {posix_to_ldml(time_format, locale=locale)}", locale


def minutes_pattern(env):
    """The date and time format of the reader's language without seconds, as a babel pattern: the format
    of the back office's fields. Kept per format (a mail run formats thousands of times in a few languages)."""
    lang = get_lang(env)
    return _minutes_format(lang.code, lang.date_format, lang.time_format)[0]


def format_minutes_zoned(env, value, tz):
    """``value`` (a naive UTC datetime) as read in the zone ``tz``: in the date and time format of
    the reader's language without seconds, and the zone named (MEZ in German; CET in English, where
    babel has no short name for Berlin). What odoo.tools.format_datetime does, with the language
    and its format looked up once rather than for each part."""
    lang = get_lang(env)
    pattern, locale = _minutes_format(lang.code, lang.date_format, lang.time_format)
    try:
        zone = pytz.timezone(tz)
    except pytz.UnknownTimeZoneError:
        zone = pytz.utc
    local = pytz.utc.localize(value).astimezone(zone)
    name = babel.dates.format_datetime(local, "z", locale=locale)
    if any(char.isdigit() for char in name):
        # no short name in this language: the zone's own abbreviation
        name = local.tzname()
    return f"{babel.dates.format_datetime(local, pattern, locale=locale)} {name}"
