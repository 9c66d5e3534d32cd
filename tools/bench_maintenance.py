# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Maintenance benchmark. Run it through tools/bench_maintenance.sh, which makes a fresh database:

    tools/bench_maintenance.sh [--plans 100000] [--due 1000] [--customers 1000] [--covering 50]

Inserts installed equipment and its maintenance plans by set-based SQL (the
customers and their contracts, each with a contract technician covering
Munich, through the ORM), a given number of them due, then times one run of
the scheduled action that opens the due plans' inquiries (each created and
routed as any inquiry, its customer's message recorded), run as ir.cron runs
it (a commit per batch), and counts its SQL queries. It does so twice: first
with a tenth of the plans, then with all of them and a fresh set of due ones,
so that one sees whether the queries grow with the plans that are not due.
It checks that the run opened exactly one inquiry per due plan, each offered
to its contract technician, marks each target PASS or FAIL, and always exits
0: it measures, it does not test.
"""

import argparse
import datetime
import time

from bench_db import vacuum_analyze

import odoo
from odoo import SUPERUSER_ID, api, fields, sql_db

# the tables a run reads and writes most
VACUUMED = (
    "crm_lead",
    "service_offer",
    "service_routing_log",
    "service_rotation_entry",
    "service_technician_slot",
    "service_maintenance_plan",
    "service_equipment",
    "mail_message",
    "mail_followers",
)


def log(message):
    print(message, flush=True)


class Bench:
    def __init__(self, env, args):
        self.env, self.cr, self.args = env, env.cr, args
        self.serial = 0

    def setup(self):
        env = self.env
        env["ir.config_parameter"].set_param("crm_service_routing.geonames_dir", _geonames_dir())
        env["service.postal.code"]._load_countries(["DE"])
        self.de = env.ref("base.de")
        self.level = env.ref("crm_service_routing.service_level_standard")
        self.type = env["service.equipment.type"].create({"name": "Bench Heat Pump", "code": "BENCH-MNT"})
        technicians = env["res.partner"].create(
            [
                {
                    "name": f"Maintenance Technician {index}",
                    "is_technician": True,
                    "email": f"mnt{index}@tech.example.com",
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
        customers = env["res.partner"].create(
            [
                {"name": f"Customer {index}", "email": f"customer{index}@example.org", "country_id": self.de.id}
                for index in range(self.args.customers)
            ]
        )
        contracts = env["service.contract"].create(
            [
                {
                    "name": f"BENCH-{index}",
                    "partner_id": customer.id,
                    "service_level_id": self.level.id,
                    "technician_id": technicians[index % len(technicians)].id,
                    "date_start": "2020-01-01",
                }
                for index, customer in enumerate(customers)
            ]
        )
        self.contracts = [(c.id, c.partner_id.id, c.technician_id.id) for c in contracts]
        self.cr.execute(
            "SELECT name FROM service_postal_code WHERE country_id = %s AND name BETWEEN '80000' AND '81999'",
            (self.de.id,),
        )
        self.zips = [row[0] for row in self.cr.fetchall()] or ["80331"]
        env.flush_all()
        self.cr.commit()
        log(f"{len(technicians)} technicians covering Munich, {len(customers):,} customers with a contract each")

    def insert(self, not_due, due, label):
        """Insert ``not_due`` plans due in the future and ``due`` plans opening today, each on its own equipment."""
        start = time.perf_counter()
        today = fields.Date.today()
        total = not_due + due
        params = {
            "total": total,
            "due": due,
            "first": self.serial,
            "contracts": [c[0] for c in self.contracts],
            "partners": [c[1] for c in self.contracts],
            "technicians": [c[2] for c in self.contracts],
            "zips": self.zips,
            "company": self.env.company.id,
            "country": self.de.id,
            "type": self.type.id,
            "uid": SUPERUSER_ID,
            "today": today,
            "label": label,
        }
        self.serial += total
        self.cr.execute(
            """
            DROP TABLE IF EXISTS bench_mnt;
            CREATE TEMP TABLE bench_mnt AS
            SELECT g, 1 + mod(g, array_length(%(contracts)s::int[], 1)) AS k,
                   (%(zips)s::varchar[])[1 + floor(random() * array_length(%(zips)s::varchar[], 1))::int] AS zip,
                   CASE WHEN g <= %(due)s THEN %(today)s::date + 7
                        ELSE %(today)s::date + 30 + floor(random() * 330)::int END AS due_date
              FROM generate_series(1, %(total)s) g;
            INSERT INTO service_equipment (serial_number, equipment_type_id, partner_id, contract_id, company_id,
                                           active, zip, country_id, create_date, write_date, create_uid, write_uid)
            SELECT 'BENCH-' || %(label)s || '-' || (%(first)s + e.g), %(type)s, (%(partners)s::int[])[e.k],
                   (%(contracts)s::int[])[e.k], %(company)s, true, e.zip, %(country)s,
                   now() at time zone 'UTC', now() at time zone 'UTC', %(uid)s, %(uid)s
              FROM bench_mnt e ORDER BY e.g;
            INSERT INTO service_maintenance_plan (name, equipment_id, partner_id, equipment_type_id, contract_id,
                                                  technician_id, covered_by_contract, interval_months, next_due_date,
                                                  lead_days, open_date, due_opened, company_id, active,
                                                  create_date, write_date, create_uid, write_uid)
            SELECT 'Yearly maintenance', eq.id, eq.partner_id, eq.equipment_type_id, eq.contract_id,
                   (%(technicians)s::int[])[e.k], true, 12, e.due_date, 14, e.due_date - 14, false, %(company)s, true,
                   now() at time zone 'UTC', now() at time zone 'UTC', %(uid)s, %(uid)s
              FROM bench_mnt e
              JOIN service_equipment eq ON eq.serial_number = 'BENCH-' || %(label)s || '-' || (%(first)s + e.g)
                                       AND eq.company_id = %(company)s;
            ANALYZE service_equipment;
            ANALYZE service_maintenance_plan;
            """,
            params,
        )
        self.cr.execute(
            """SELECT p.id FROM service_maintenance_plan p JOIN service_equipment e ON e.id = p.equipment_id
                WHERE e.serial_number LIKE %s AND p.open_date <= %s""",
            (f"BENCH-{label}-%", today),
        )
        due_ids = {row[0] for row in self.cr.fetchall()}
        self.cr.commit()
        log(f"{label}: inserted {total:,} plans ({len(due_ids):,} due) in {time.perf_counter() - start:.1f} s")
        return due_ids

    def counts(self):
        self.cr.execute(
            "SELECT count(*), count(*) FILTER (WHERE open_date <= %s AND NOT due_opened) FROM service_maintenance_plan",
            (fields.Date.today(),),
        )
        return self.cr.fetchone()

    def run(self, due_ids, label):
        """One run of the scheduled action on a fresh cursor: time, queries, and what it opened.

        The time spent routing the new inquiries (the routing engine, the same
        for every inquiry however it arrives) is measured apart.
        """
        total, due_now = self.counts()
        routing = _RoutingTimer(self.env.registry["crm.lead"])
        self.env["service.rotation.entry"]._cron_fold()
        self.env.flush_all()
        self.cr.commit()
        # as autovacuum keeps them on a running server (this one may have it off): statistics of
        # the tables the run reads, and none of the ledger entries the fold removed left to skip
        self.vacuum(*VACUUMED)
        registry = self.env.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            # as ir.cron runs it: with its progress record, so that each batch is committed
            cron, _progress = env.ref("crm_service_routing.ir_cron_open_due_maintenance")._add_progress()
            cr.commit()
            env = env(context=cron.env.context)
            q0, t0 = sql_db.sql_counter, time.perf_counter()
            with routing:
                opened = env["service.maintenance.plan"]._open_due_maintenance(batch_size=self.args.batch_size)
            seconds = time.perf_counter() - t0
            queries = sql_db.sql_counter - q0
            opened_ids = opened.ids
        self.cr.execute(
            """SELECT l.service_maintenance_plan_id, l.technician_id, c.technician_id, l.routing_state
                 FROM crm_lead l JOIN service_maintenance_plan p ON p.id = l.service_maintenance_plan_id
                 JOIN service_contract c ON c.id = p.contract_id
                WHERE l.id = ANY(%s)""",
            (opened_ids,),
        )
        rows = self.cr.fetchall()
        plans = [row[0] for row in rows]
        exact = len(plans) == len(set(plans)) and set(plans) == due_ids
        contract_first = sum(1 for row in rows if row[1] == row[2] and row[3] == "offered")
        self.cr.execute(
            "SELECT count(*) FROM service_customer_notice WHERE lead_id = ANY(%s) AND event = 'maintenance'",
            (opened_ids,),
        )
        notices = self.cr.fetchone()[0]
        log(
            f"{label}: {total:,} plans, {due_now:,} due; one run opened {len(opened_ids):,} inquiries "
            f"(one per due plan: {'yes' if exact else 'NO'}; offered to the contract technician: {contract_first:,}) "
            f"in {seconds:.1f} s (routing them: {routing.seconds:.1f} s, {routing.queries:,} queries), "
            f"{queries:,} queries ({queries / max(len(opened_ids), 1):.1f} per inquiry), "
            f"{notices:,} customer messages recorded"
        )
        return {
            "seconds": seconds,
            "queries": queries,
            "opened": len(opened_ids),
            "exact": exact,
            "total": total,
            "contract_first": contract_first,
            "routing": routing.seconds,
        }

    def vacuum(self, *tables):
        vacuum_analyze(self.cr.dbname, *tables)

    def run_again(self):
        registry = self.env.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            q0, t0 = sql_db.sql_counter, time.perf_counter()
            opened = env["service.maintenance.plan"]._open_due_maintenance(batch_size=self.args.batch_size)
            return len(opened), time.perf_counter() - t0, sql_db.sql_counter - q0

    def send_notices(self):
        registry = self.env.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            q0, t0 = sql_db.sql_counter, time.perf_counter()
            sent = env["service.customer.notice"]._send_pending(batch_size=100)
            return len(sent), time.perf_counter() - t0, sql_db.sql_counter - q0

    def explain(self):
        today = fields.Date.today()
        self.cr.execute(
            """EXPLAIN SELECT p.id FROM service_maintenance_plan p
                 LEFT JOIN service_contract c ON c.id = p.contract_id
                WHERE p.active AND p.next_due_date IS NOT NULL AND p.due_opened IS NOT TRUE
                  AND p.open_date <= %(today)s
                ORDER BY p.open_date, p.id LIMIT 100 FOR UPDATE OF p SKIP LOCKED""",
            {"today": today + datetime.timedelta(days=0)},
        )
        return " / ".join(row[0].strip() for row in self.cr.fetchall()[:4])


class _RoutingTimer:
    """Times the routing of new inquiries (``crm.lead._service_route_safely``) while it is entered."""

    def __init__(self, model_class):
        self.model_class, self.seconds, self.queries = model_class, 0.0, 0

    def __enter__(self):
        original = self.original = self.model_class._service_route_safely
        timer = self

        def timed(records, *args, **kwargs):
            q0, t0 = sql_db.sql_counter, time.perf_counter()
            try:
                return original(records, *args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - t0
                timer.queries += sql_db.sql_counter - q0

        self.model_class._service_route_safely = timed
        return self

    def __exit__(self, *exc):
        self.model_class._service_route_safely = self.original


def _geonames_dir():
    from odoo.modules.module import get_module_path

    return f"{get_module_path('crm_service_routing')}/data/geonames"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--plans", type=int, default=100000, help="maintenance plans in the full run")
    parser.add_argument("--due", type=int, default=1000, help="plans coming due in each run")
    parser.add_argument("--customers", type=int, default=1000, help="customers, each with a contract")
    parser.add_argument("--covering", type=int, default=50, help="contract technicians covering the area")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--target-seconds", type=float, default=30.0)
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        bench = Bench(env, args)
        log(f"== maintenance benchmark: {args.plans:,} plans, {args.due:,} due")
        bench.setup()
        small_total = max(args.plans // 10, args.due)
        due_ids = bench.insert(small_total - args.due, args.due, "Small")
        small = bench.run(due_ids, "Small")
        total, _due_now = bench.counts()
        due_ids = bench.insert(max(args.plans - total - args.due, 0), args.due, "Full")
        full = bench.run(due_ids, "Full")
        again, again_seconds, again_queries = bench.run_again()
        log(f"Run again at once: {again} inquiries opened in {again_seconds:.2f} s, {again_queries} queries")
        sent, send_seconds, send_queries = bench.send_notices()
        log(
            f"Sending the customer messages (separate action): {sent:,} in {send_seconds:.1f} s, "
            f"{send_queries:,} queries"
        )
        log(f"Plan of the batch query: {bench.explain()}")
        growth = full["queries"] / max(small["queries"], 1)
        log("== figures")
        log(
            f"one run on {full['total']:,} plans, {full['opened']:,} due: {full['seconds']:.1f} s, of which "
            f"{full['routing']:.1f} s routing the inquiries (target <= {args.target_seconds:g} s): "
            f"{'PASS' if full['seconds'] <= args.target_seconds else 'FAIL'}"
        )
        log(
            f"one inquiry per due plan, none twice: "
            f"{'PASS' if full['exact'] and small['exact'] and not again else 'FAIL'}"
        )
        log(
            f"offered to the contract technician: {full['contract_first']:,} of {full['opened']:,}: "
            f"{'PASS' if full['contract_first'] == full['opened'] else 'FAIL'}"
        )
        log(
            f"queries: {small['queries']:,} with {small['total']:,} plans, {full['queries']:,} with "
            f"{full['total']:,} (x{growth:.2f} for x{full['total'] / max(small['total'], 1):.1f} plans, same due "
            f"count): {'PASS' if growth <= 1.1 else 'FAIL'}"
        )


if __name__ == "__main__":
    main()
