# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the benchmark scripts share: their database, and how they read a series of timings."""

import time
from contextlib import closing

import psycopg2
from psycopg2 import errors

from odoo import sql_db
from odoo.modules.registry import Registry


def run_outside_transaction(dbname, *statements):
    """Runs ``statements`` on ``dbname`` outside a transaction, on a connection of its own."""
    _name, info = sql_db.connection_info_for(dbname)
    with closing(psycopg2.connect(**info)) as cnx:
        cnx.autocommit = True
        with cnx.cursor() as cr:
            for statement in statements:
                cr.execute(statement)


def vacuum_analyze(dbname, *tables):
    """VACUUM ANALYZE ``tables``, or every table of ``dbname`` if none is given."""
    run_outside_transaction(dbname, f"VACUUM ANALYZE {', '.join(tables)}".strip())


def checkpoint(dbname):
    """Has PostgreSQL write every changed page to its files now (CHECKPOINT), rather than over the
    next minutes. False where this role may not (neither superuser nor member of pg_checkpoint)."""
    try:
        run_outside_transaction(dbname, "CHECKPOINT")
    except errors.InsufficientPrivilege:
        return False
    return True


def copy_database(source, target):
    """Makes ``target`` a copy of ``source`` (made anew); this process's connections to ``source``
    are closed first, as PostgreSQL copies a database nobody is connected to."""
    sql_db.close_db(source)
    run_outside_transaction(
        "postgres",
        f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)',
        # files copied after a checkpoint, not every page written to the WAL again
        f'CREATE DATABASE "{target}" TEMPLATE "{source}" STRATEGY FILE_COPY',
    )


def drop_database(name):
    """Drops ``name`` (made by ``copy_database``) and forgets its registry."""
    Registry.delete(name)
    sql_db.close_db(name)
    run_outside_transaction("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def machine_speed(cr):
    """How fast this machine is, in two fixed tasks (the best of five runs each): 10,000,000 additions
    in a Python loop, and PostgreSQL counting 3,000,000 generated rows. The benchmarks' targets are
    in milliseconds; these tell how a machine that measured them compares with another."""

    def python_loop():
        total = 0
        for number in range(10_000_000):
            total += number
        return total

    def postgres_count():
        cr.execute("SELECT count(*) FROM generate_series(1, 3000000)")
        return cr.fetchone()

    timings = {}
    for name, task in (("python", python_loop), ("postgres", postgres_count)):
        runs = []
        for _run in range(5):
            start = time.perf_counter()
            task()
            runs.append(time.perf_counter() - start)
        timings[name] = min(runs)
    return (
        f"machine: a 10,000,000-addition Python loop {timings['python']:.2f} s, PostgreSQL counting "
        f"3,000,000 generated rows {timings['postgres']:.2f} s (best of 5)"
    )


def percentile(values, pct):
    """The ``pct`` percentile of ``values`` (the nearest of them, no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100.0 * (len(ordered) - 1)))]
