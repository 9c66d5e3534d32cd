# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the benchmark scripts share: their database, and how they read a series of timings."""

from contextlib import closing

import psycopg2

from odoo import sql_db


def vacuum_analyze(dbname, *tables):
    """VACUUM ANALYZE ``tables`` (outside a transaction, on a connection of its own)."""
    _name, info = sql_db.connection_info_for(dbname)
    with closing(psycopg2.connect(**info)) as cnx:
        cnx.autocommit = True
        with cnx.cursor() as cr:
            cr.execute(f"VACUUM ANALYZE {', '.join(tables)}")


def percentile(values, pct):
    """The ``pct`` percentile of ``values`` (the nearest of them, no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100.0 * (len(ordered) - 1)))]
