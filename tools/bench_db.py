# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the benchmark scripts share: their database, and how they read a series of timings."""

from contextlib import closing

import psycopg2

from odoo import sql_db
from odoo.modules.registry import Registry


def vacuum_analyze(dbname, *tables):
    """VACUUM ANALYZE ``tables`` (outside a transaction, on a connection of its own)."""
    _name, info = sql_db.connection_info_for(dbname)
    with closing(psycopg2.connect(**info)) as cnx:
        cnx.autocommit = True
        with cnx.cursor() as cr:
            cr.execute(f"VACUUM ANALYZE {', '.join(tables)}")


def _maintenance(*statements):
    """Runs ``statements`` outside a transaction, connected to the ``postgres`` database."""
    _name, info = sql_db.connection_info_for("postgres")
    with closing(psycopg2.connect(**info)) as cnx:
        cnx.autocommit = True
        with cnx.cursor() as cr:
            for statement in statements:
                cr.execute(statement)


def copy_database(source, target):
    """Makes ``target`` a copy of ``source`` (made anew); this process's connections to ``source``
    are closed first, as PostgreSQL copies a database nobody is connected to."""
    sql_db.close_db(source)
    _maintenance(
        f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)',
        # files copied after a checkpoint, not every page written to the WAL again
        f'CREATE DATABASE "{target}" TEMPLATE "{source}" STRATEGY FILE_COPY',
    )


def drop_database(name):
    """Drops ``name`` (made by ``copy_database``) and forgets its registry."""
    Registry.delete(name)
    sql_db.close_db(name)
    _maintenance(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values, pct):
    """The ``pct`` percentile of ``values`` (the nearest of them, no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100.0 * (len(ordered) - 1)))]
