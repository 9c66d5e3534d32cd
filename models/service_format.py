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


def _localized(env, value, tz):
    """(``value`` in the zone ``tz``, the reader's date and time pattern without seconds, its locale), with the
    language and its format looked up once (a mail run formats thousands of times in a few languages)."""
    lang = get_lang(env)
    pattern, locale = _minutes_format(lang.code, lang.date_format, lang.time_format)
    try:
        zone = pytz.timezone(tz or env.user.tz or "UTC")
    except pytz.UnknownTimeZoneError:
        zone = pytz.utc
    return pytz.utc.localize(value).astimezone(zone), pattern, locale


def format_minutes(env, value, tz=None):
    """``value`` (a naive UTC datetime) in the zone ``tz`` (the user's by default), in the date and time
    format of the reader's language without seconds: the format of the back office's fields."""
    local, pattern, locale = _localized(env, value, tz)
    return babel.dates.format_datetime(local, pattern, locale=locale)


def format_minutes_zoned(env, value, tz):
    """``value`` as :func:`format_minutes` gives it, and the zone named (MEZ in German; CET in English,
    where babel has no short name for Berlin): the times of the mails, read away from the back office."""
    local, pattern, locale = _localized(env, value, tz)
    name = babel.dates.format_datetime(local, "z", locale=locale)
    if any(char.isdigit() for char in name):
        # no short name in this language: the zone's own abbreviation
        name = local.tzname()
    return f"{babel.dates.format_datetime(local, pattern, locale=locale)} {name}"
