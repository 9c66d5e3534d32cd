# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One strict parser per type for what arrives from outside: the technician
portal's form fields and the intake's values.

Each parser takes the value as sent (text from a form, or a value of an RPC
call), returns it typed, or raises a ValidationError whose message says what
to send instead. Nothing here guesses: ``"²"`` is no id, ``"nan"`` no amount,
and a date outside the years the addon works with is refused before any time
zone conversion can overflow.
"""

import datetime
import math
import re

import pytz

from odoo.exceptions import ValidationError

# the largest id PostgreSQL's integer column takes
ID_MAX = 2**31 - 1
ID_PATTERN = re.compile(r"[1-9][0-9]{0,9}")
# dates the addon works with: appointments, visits, absences
YEAR_MIN = 1900
YEAR_MAX = 9999
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# <input type="datetime-local"> sends minutes, sometimes seconds
LOCAL_DATETIME_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?")
# amounts as a person types them: digits, one decimal point or comma, two decimals at most
AMOUNT_PATTERN = re.compile(r"[0-9]{1,12}([.,][0-9]{1,2})?")
AMOUNT_MAX = 10**12
# control characters (Unicode Cc, DEL and C1 included) and lone surrogates
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MULTILINE_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
TRUE_VALUES = ("1", "on", "true")
FALSE_VALUES = ("", "0", "off", "false")


class InputRangeError(ValidationError):
    """A value of the right type that lies outside what the addon works with."""


def parse_id(env, value, what):
    """A record id: a positive integer PostgreSQL can hold, as an int or ASCII digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and ID_PATTERN.fullmatch(value):
        number = int(value)
    else:
        number = 0
    if not 0 < number <= ID_MAX:
        raise ValidationError(env._("The %(what)s is not a valid reference.", what=what))
    return number


def parse_selection(env, value, selection, what):
    """One of the keys of ``selection`` (a list of (key, label) or a dict), exactly."""
    choices = dict(selection)
    if not isinstance(value, str) or value not in choices:
        raise ValidationError(
            env._(
                "Choose the %(what)s from the list: %(choices)s.",
                what=what,
                choices=", ".join(str(label) for label in choices.values()),
            )
        )
    return value


def parse_bool(env, value, what):
    """A checkbox: absent, or one of the usual ways a form says yes or no."""
    if value is None or value is False or value is True:
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_VALUES + FALSE_VALUES:
        return value.strip().lower() in TRUE_VALUES
    raise ValidationError(env._("The %(what)s is a yes or no.", what=what))


def _check_year(env, value, what):
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise InputRangeError(
            env._(
                "The %(what)s lies outside the years %(first)s to %(last)s.",
                what=what,
                first=YEAR_MIN,
                last=YEAR_MAX,
            )
        )
    return value


def parse_date(env, value, what):
    """A date (YYYY-MM-DD, or a date object), or False when nothing was sent."""
    if value is None or value is False or value == "":
        return False
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return _check_year(env, value, what)
    text = value.strip() if isinstance(value, str) else None
    try:
        if not text or not DATE_PATTERN.fullmatch(text):
            raise ValueError(text)
        parsed = datetime.date.fromisoformat(text)
    except ValueError as error:
        raise ValidationError(
            env._("The %(what)s is not a date: pick it with the date picker, or give it as YYYY-MM-DD.", what=what)
        ) from error
    return _check_year(env, parsed, what)


def parse_datetime(env, value, tz, what):
    """A naive UTC datetime, or False when nothing was sent.

    Takes a datetime object (naive: UTC), the text of an
    ``<input type="datetime-local">`` (in the time zone ``tz``), or ISO 8601
    text with an offset. Years outside the supported range are refused
    before any conversion.
    """
    if value is None or value is False or value == "":
        return False
    if isinstance(value, datetime.datetime):
        parsed = value
        zone = None if value.tzinfo else pytz.utc
    else:
        text = value.strip() if isinstance(value, str) else None
        try:
            if not text or not text.isascii():
                raise ValueError(text)
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError as error:
            raise ValidationError(
                env._(
                    "The %(what)s is not a date and time: pick it with the date picker, or give it as "
                    "YYYY-MM-DDTHH:MM or in ISO 8601 with an offset.",
                    what=what,
                )
            ) from error
        if not parsed.tzinfo and not LOCAL_DATETIME_PATTERN.fullmatch(text):
            raise ValidationError(env._("The %(what)s needs a date and a time (YYYY-MM-DDTHH:MM).", what=what))
        zone = None if parsed.tzinfo else _zone(tz)
    _check_year(env, parsed, what)
    try:
        aware = zone.localize(parsed) if zone else parsed
        utc = aware.astimezone(pytz.utc).replace(tzinfo=None)
    except (OverflowError, ValueError) as error:
        raise InputRangeError(env._("The %(what)s lies outside the dates that can be stored.", what=what)) from error
    return _check_year(env, utc, what).replace(microsecond=0)


def _zone(tz):
    try:
        return pytz.timezone(tz or "UTC")
    except pytz.UnknownTimeZoneError:
        return pytz.utc


def parse_amount(env, value, what):
    """An amount of money: finite, zero or more, as a number or as typed (250, 250.00, 250,00)."""
    if value is None or value is False or value == "":
        return 0.0
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and AMOUNT_PATTERN.fullmatch(value.strip()):
        number = float(value.strip().replace(",", "."))
    else:
        number = None
    if number is None or not math.isfinite(number) or number < 0 or number >= AMOUNT_MAX:
        raise ValidationError(env._("The %(what)s must be an amount of zero or more, such as 250.00.", what=what))
    return number


def parse_text(env, value, limit, what, multiline=False):
    """Text as typed, trimmed, or "" when nothing was sent; refused when too long or
    holding control characters (line breaks and tabs only where it may span lines)."""
    if value is None or value is False:
        return ""
    if not isinstance(value, str):
        raise ValidationError(env._("The %(what)s must be text.", what=what))
    text = value.strip()
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > limit:
        raise ValidationError(env._("The %(what)s is too long: at most %(max)s characters.", what=what, max=limit))
    bad = (MULTILINE_CONTROL_CHARACTERS if multiline else CONTROL_CHARACTERS).search(text)
    if bad:
        raise ValidationError(
            env._(
                "The %(what)s contains the control character %(character)s.",
                what=what,
                character=f"U+{ord(bad.group()):04X}",
            )
        )
    return text
