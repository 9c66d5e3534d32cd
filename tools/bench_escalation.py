# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Escalation benchmark. Run it through tools/bench_escalation.sh, which makes a fresh database:

    tools/bench_escalation.sh [--offers 200000] [--due-share 0.01] [--technicians 5000] [--covering 50]

Inserts open offers by set-based SQL (a share of them due: 60 % at their
reminder, 30 % at their reassignment, 10 % at the channel manager's notice,
on the STANDARD tier's default ladder), then times one escalation run and
counts its SQL queries. It does so twice: first with a tenth of the offers,
then with all of them and a fresh set of due ones, so that one sees whether
the queries grow with the offers that are not due. It checks that the run
acted on exactly the due offers, marks each target PASS or FAIL, and always
exits 0: it measures, it does not test.
"""

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import re
import tempfile
import time

from bench_db import vacuum_analyze

import odoo
from odoo import SUPERUSER_ID, api, sql_db

MIX = (("remind", 0.6, 5, 0), ("reassign", 0.3, 25, 1), ("notify", 0.1, 49, 2))  # action, share, hours ago, step


def log(message):
    print(message, flush=True)


@contextlib.contextmanager
def sql_timings(totals):
    """Time every statement the cursors run, summed in ``totals`` by statement shape (literals and
    placeholders elided): {shape: [count, seconds]}."""
    original = sql_db.Cursor.execute

    def execute(cursor, query, params=None, log_exceptions=True):
        start = time.perf_counter()
        try:
            return original(cursor, query, params, log_exceptions)
        finally:
            text = query.code if hasattr(query, "code") else str(query)
            shape = re.sub(r"\s+", " ", re.sub(r"'[^']*'|\b\d+\b|%s", "?", text)).strip()[:150]
            entry = totals.setdefault(shape, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - start

    sql_db.Cursor.execute = execute
    try:
        yield totals
    finally:
        sql_db.Cursor.execute = original


class Bench:
    def __init__(self, env, args):
        self.env, self.cr, self.args = env, env.cr, args
        self.figures = {}

    def setup(self):
        env = self.env
        env["ir.config_parameter"].set_param("crm_service_routing.geonames_dir", _geonames_dir())
        env["service.postal.code"]._load_countries(["DE"])
        self.de = env.ref("base.de")
        self.level = env.ref("crm_service_routing.service_level_standard")
        self.level.escalation_user_id = env.ref("base.user_admin")
        self.stages = {stage.action: stage for stage in self.level.escalation_stage_ids}
        self.type = env["service.equipment.type"].create({"name": "Bench Pump", "code": "BENCH-ESC"})
        # the technicians covering Munich, where the inquiries are: reassignments choose among them
        covering = env["res.partner"].create(
            [
                {
                    "name": f"Escalation Technician {index}",
                    "is_technician": True,
                    "email": f"esc{index}@tech.example.com",
                    "zip": "80331",
                    "country_id": self.de.id,
                    "service_capacity": 1000000,
                    "service_equipment_type_ids": [(6, 0, self.type.ids)],
                    "service_area_ids": [
                        (0, 0, {"kind": "range", "country_id": self.de.id, "zip_from": "80000", "zip_to": "81999"})
                    ],
                }
                for index in range(self.args.covering)
            ]
        )
        # the others hold offers too (open inquiries are spread over all technicians, as in the design's size)
        others = env["res.partner"].create(
            [
                {"name": f"Other Technician {index}", "is_technician": True, "service_capacity": 1000000}
                for index in range(max(self.args.technicians - self.args.covering, 0))
            ]
        )
        self.tech_ids = (covering | others).ids
        log(f"{len(self.tech_ids):,} technicians, {len(covering):,} of them covering the inquiries' area")
        self.cr.execute(
            "SELECT name FROM service_postal_code WHERE country_id = %s AND name BETWEEN '80000' AND '81999'",
            (self.de.id,),
        )
        self.zips = [row[0] for row in self.cr.fetchall()] or ["80331"]
        env.flush_all()
        self.cr.commit()

    def insert(self, not_due, due, label):
        """Insert ``not_due`` offers due later and ``due`` offers due now, each on its own open inquiry."""
        start = time.perf_counter()
        self.cr.execute("SELECT coalesce(max(id), 0) FROM crm_lead")
        first_lead = self.cr.fetchone()[0] + 1
        total = not_due + due
        # kind: 0 = not due, else the index in MIX + 1
        bounds, acc = [], 0.0
        for _action, share, _hours, _step in MIX:
            acc += share
            bounds.append(acc)
        params = {
            "total": total,
            "due": due,
            "first": first_lead,
            "techs": self.tech_ids,
            "zips": self.zips,
            "company": self.env.company.id,
            "country": self.de.id,
            "type": self.type.id,
            "level": self.level.id,
            "uid": SUPERUSER_ID,
            "label": label,
            "b1": bounds[0],
            "b2": bounds[1],
        }
        self.cr.execute(
            """
            DROP TABLE IF EXISTS bench_esc;
            CREATE TEMP TABLE bench_esc AS
            SELECT %(first)s + g - 1 AS lead_id,
                   (%(techs)s::int[])[1 + floor(random() * array_length(%(techs)s::int[], 1))::int] AS tech,
                   (%(zips)s::varchar[])[1 + floor(random() * array_length(%(zips)s::varchar[], 1))::int] AS zip,
                   CASE WHEN g > %(due)s THEN 0
                        WHEN g <= %(due)s * %(b1)s THEN 1
                        WHEN g <= %(due)s * %(b2)s THEN 2
                        ELSE 3 END AS kind,
                   random() AS r
              FROM generate_series(1, %(total)s) g;
            """,
            params,
        )
        now = "(now() at time zone 'UTC')"
        offered_at = (
            f"CASE e.kind WHEN 0 THEN {now} - e.r * interval '3 hours' "
            f"WHEN 1 THEN {now} - interval '5 hours' WHEN 2 THEN {now} - interval '25 hours' "
            f"ELSE {now} - interval '49 hours' END"
        )
        self.cr.execute(
            f"""
            INSERT INTO crm_lead (id, name, type, active, company_id, country_id, zip, equipment_type_id,
                                  service_occasion, service_level_id, routing_state, technician_id, offered_at,
                                  priority, create_date, write_date, create_uid, write_uid)
            SELECT e.lead_id, %(label)s || ' ' || e.lead_id, 'opportunity', true, %(company)s, %(country)s,
                   e.zip, %(type)s, 'repair', %(level)s, 'offered', e.tech, {offered_at}, '0',
                   {offered_at}, {offered_at}, %(uid)s, %(uid)s
              FROM bench_esc e;
            SELECT setval('crm_lead_id_seq', (SELECT max(id) FROM crm_lead));
            """,
            params,
        )
        stage_ids = [self.stages[action].id for action, _share, _hours, _step in MIX]
        self.cr.execute(
            f"""
            INSERT INTO service_offer (lead_id, company_id, technician_id, state, offered_at, service_level_id,
                                       answer_deadline, escalation_step, next_escalation_stage_id,
                                       next_escalation_at, create_date, write_date, create_uid, write_uid)
            SELECT e.lead_id, %(company)s, e.tech, 'offered', {offered_at}, %(level)s,
                   {offered_at} + interval '24 hours',
                   CASE e.kind WHEN 0 THEN 0 ELSE e.kind - 1 END,
                   (%(stages)s::int[])[greatest(e.kind, 1)],
                   CASE e.kind WHEN 0 THEN {offered_at} + interval '4 hours'
                        ELSE {now} - interval '1 minute' END,
                   {offered_at}, {offered_at}, %(uid)s, %(uid)s
              FROM bench_esc e
             ORDER BY e.lead_id;
            ANALYZE crm_lead;
            ANALYZE service_offer;
            """,
            dict(params, stages=stage_ids),
        )
        self.cr.execute(
            "SELECT id FROM service_offer WHERE lead_id >= %s AND next_escalation_at <= %s",
            (first_lead, _now_sql(self.cr)),
        )
        due_ids = {row[0] for row in self.cr.fetchall()}
        self.cr.commit()
        log(f"{label}: inserted {total:,} open offers ({len(due_ids):,} due) in {time.perf_counter() - start:.1f} s")
        return due_ids

    def open_counts(self):
        self.cr.execute(
            """SELECT count(*), count(*) FILTER (WHERE next_escalation_at <= (now() at time zone 'UTC'))
                 FROM service_offer WHERE state = 'offered'"""
        )
        return self.cr.fetchone()

    def run(self, due_ids, label):
        """One escalation run on a fresh cursor: time, queries, and what it acted on."""
        total, due_now = self.open_counts()
        self.cr.execute("SELECT count(*) FROM mail_mail")
        mails_before = self.cr.fetchone()[0]
        self.cr.execute("SELECT count(*) FROM service_offer WHERE state = 'expired'")
        expired_before = self.cr.fetchone()[0]
        # the rotation ledger is folded every 15 minutes by its own scheduled action
        self.env["service.rotation.entry"]._cron_fold()
        self.env.flush_all()
        self.cr.commit()
        # as autovacuum would have, before the run rather than during it
        vacuum_analyze(self.cr.dbname, "service_offer", "crm_lead", "service_technician_slot", "service_rotation_entry")
        registry = self.env.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            profiler = cProfile.Profile() if self.args.profile and label == "Full" else None
            timings = {}
            timed = sql_timings(timings) if self.args.queries and label == "Full" else contextlib.nullcontext()
            q0, t0 = sql_db.sql_counter, time.perf_counter()
            if profiler:
                profiler.enable()
            with timed:
                acted = env["service.offer"]._escalate(batch_size=self.args.batch_size)
            seconds = time.perf_counter() - t0
            if profiler:
                profiler.disable()
            queries = sql_db.sql_counter - q0
            acted_ids = set(acted.ids)
        self.cr.execute("SELECT count(*) FROM mail_mail")
        mails = self.cr.fetchone()[0] - mails_before
        self.cr.execute("SELECT count(*) FROM service_offer WHERE state = 'expired'")
        expired = self.cr.fetchone()[0] - expired_before
        exact = acted_ids == due_ids
        log(
            f"{label}: {total:,} open offers, {due_now:,} due; one run acted on {len(acted_ids):,} "
            f"(exactly the due ones: {'yes' if exact else 'NO'}) in {seconds:.1f} s, {queries:,} queries "
            f"({queries / max(len(acted_ids), 1):.1f} per due offer), {mails:,} mails queued, "
            f"{expired:,} offers reassigned"
        )
        if profiler:
            log(f"{label}: where the time went (cProfile, the run profiled, so slower than timed above)")
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(self.args.profile)
            log(out.getvalue())
            path = os.path.join(tempfile.gettempdir(), "bench_escalation.prof")
            profiler.dump_stats(path)
            log(f"{label}: the whole profile is in {path} (python3 -m pstats {path})")
        if timings:
            log(f"{label}: where the SQL time went ({sum(t for _n, t in timings.values()):.1f} s in all)")
            costliest = sorted(timings.items(), key=lambda item: -item[1][1])[: self.args.queries]
            for shape, (count, spent) in costliest:
                log(f"  {spent:6.2f} s {count:6,} x {shape}")
        return {"seconds": seconds, "queries": queries, "acted": len(acted_ids), "exact": exact, "total": total}

    def explain(self):
        self.cr.execute(
            """EXPLAIN SELECT id FROM service_offer
                WHERE state = 'offered' AND next_escalation_at IS NOT NULL AND next_escalation_at <= now()
                ORDER BY next_escalation_at, id LIMIT 200 FOR UPDATE SKIP LOCKED"""
        )
        return " / ".join(row[0].strip() for row in self.cr.fetchall()[:3])


def _now_sql(cr):
    cr.execute("SELECT now() at time zone 'UTC'")
    return cr.fetchone()[0]


def _geonames_dir():
    from odoo.modules.module import get_module_path

    return f"{get_module_path('crm_service_routing')}/data/geonames"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--offers", type=int, default=200000, help="open offers in the full run")
    parser.add_argument("--due-share", type=float, default=0.01, help="share of the open offers that is due")
    parser.add_argument("--technicians", type=int, default=5000, help="technicians holding the open offers")
    parser.add_argument("--covering", type=int, default=50, help="technicians covering the inquiries' area")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--target-seconds", type=float, default=15.0)
    parser.add_argument("--target-queries", type=float, default=3.0, help="queries per due offer")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="profile the full run, print its N costliest functions"
    )
    parser.add_argument(
        "--queries", type=int, default=0, metavar="N", help="time the full run's SQL, print its N costliest statements"
    )
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        bench = Bench(env, args)
        due = round(args.offers * args.due_share)
        log(f"== escalation benchmark: {args.offers:,} open offers, {due:,} due, {args.technicians} technicians")
        bench.setup()
        # a tenth of the offers, the same number due
        small_total = max(args.offers // 10, due)
        due_ids = bench.insert(small_total - due, due, "Small")
        small = bench.run(due_ids, "Small")
        # all of them: the rest not due, and a fresh set of due ones
        total, _due_now = bench.open_counts()
        due_ids = bench.insert(max(args.offers - total - due, 0), due, "Full")
        full = bench.run(due_ids, "Full")
        log(f"Plan of the batch query: {bench.explain()}")
        growth = full["queries"] / max(small["queries"], 1)
        log("== figures")
        log(
            f"one run on {full['total']:,} open offers, {full['acted']:,} due: {full['seconds']:.1f} s "
            f"(target <= {args.target_seconds:g} s): {'PASS' if full['seconds'] <= args.target_seconds else 'FAIL'}"
        )
        log(f"acted on exactly the due offers: {'PASS' if full['exact'] and small['exact'] else 'FAIL'}")
        per_offer = full["queries"] / max(full["acted"], 1)
        log(
            f"queries per due offer: {per_offer:.1f} (target <= {args.target_queries:g}): "
            f"{'PASS' if per_offer <= args.target_queries else 'FAIL'}"
        )
        log(
            f"queries: {small['queries']:,} with {small['total']:,} open offers, {full['queries']:,} with "
            f"{full['total']:,} (x{growth:.2f} for x{full['total'] / max(small['total'], 1):.1f} offers, same due "
            f"count): {'PASS' if growth <= 1.1 else 'FAIL'}"
        )


if __name__ == "__main__":
    main()
