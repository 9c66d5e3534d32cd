# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import functools
import re

from odoo.tools.misc import babel_locale_parse, get_lang, posix_to_ldml


@functools.lru_cache(maxsize=64)
def _minutes_pattern(code, date_format, time_format):
    locale = babel_locale_parse(code)
    time_format = re.sub(r"[:.]%S", "", time_format)
    return f"{posix_to_ldml(date_format, locale=locale)} {posix_to_ldml(time_format, locale=locale)}"


def minutes_pattern(env):
    """The date and time format of the reader's language without seconds, as a babel pattern: the format
    of the back office's fields. Kept per format (a mail run formats thousands of times in a few languages)."""
    lang = get_lang(env)
    return _minutes_pattern(lang.code, lang.date_format, lang.time_format)
