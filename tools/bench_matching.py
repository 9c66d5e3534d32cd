# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Customer matching benchmark. Run it through tools/bench_matching.sh, which makes a fresh database:

    tools/bench_matching.sh [--customers 300000] [--contracts 100000] [--requests 600]

A manufacturer's customer base: ``--customers`` partners with an e-mail
address and ``--contracts`` service contracts, inserted by set-based SQL.
Then it matches ``--requests`` new inquiries to it as the intake does
(``crm.lead._service_match_values``): a third by a known e-mail address, a
third by an unknown one, a third by a contract reference typed in another
case. It times each kind, first on a tenth of the customer base and then on
all of it, so that one sees whether matching grows with the base; and once
more on all of it without the look-ups' indexes (in a transaction rolled
back), as an inquiry was matched before they existed. It prints the plans of
the look-ups, marks each target PASS or FAIL and always exits 0: it
measures, it does not test.
"""

import argparse
import random
import statistics
import time

from bench_db import percentile, vacuum_analyze

import odoo
from odoo import SUPERUSER_ID, api

SEED = 20261203
KINDS = ("known e-mail", "unknown e-mail", "contract reference")
# the indexes this benchmark times matching without
INDEXES = ("res_partner__email_normalized_index", "service_contract__reference_key_index")


def log(message):
    print(message, flush=True)


class Bench:
    def __init__(self, env, args):
        self.env, self.cr, self.args = env, env.cr, args
        self.rng = random.Random(SEED)
        self.customers = self.contracts = 0

    def insert(self, customers, contracts):
        """Customers ``self.customers + 1`` .. ``customers`` and contracts likewise, one contract per customer."""
        start = time.perf_counter()
        company = self.env.company.id
        level = self.env.ref("crm_service_routing.service_level_standard").id
        self.cr.execute(
            """INSERT INTO res_partner (name, complete_name, email, email_normalized, active, type, is_company,
                                        lang, create_uid, write_uid, create_date, write_date)
               SELECT 'Customer ' || g, 'Customer ' || g, 'customer' || g || '@base.example.org',
                      'customer' || g || '@base.example.org', TRUE, 'contact', FALSE, 'en_US',
                      %(uid)s, %(uid)s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
                 FROM generate_series(%(first)s, %(last)s) g
               RETURNING id""",
            {"first": self.customers + 1, "last": customers, "uid": SUPERUSER_ID},
        )
        partner_ids = [row[0] for row in self.cr.fetchall()]
        self.cr.execute("UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", (partner_ids,))
        self.cr.execute(
            """INSERT INTO service_contract (name, reference_key, partner_id, service_level_id, company_id,
                                             date_start, active, create_uid, write_uid, create_date, write_date)
               SELECT 'SC-' || lpad(g::text, 8, '0'), 'sc-' || lpad(g::text, 8, '0'), p.id, %(level)s, %(company)s,
                      DATE '2024-01-01', TRUE,
                      %(uid)s, %(uid)s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
                 FROM generate_series(%(first)s, %(last)s) g
                 JOIN res_partner p ON p.id = (%(partners)s::int[])[1 + (g - %(first)s) %% %(count)s]""",
            {
                "first": self.contracts + 1,
                "last": contracts,
                "partners": partner_ids,
                "count": len(partner_ids),
                "level": level,
                "company": company,
                "uid": SUPERUSER_ID,
            },
        )
        self.cr.commit()
        vacuum_analyze(self.cr.dbname, "res_partner", "service_contract")
        self.customers, self.contracts = customers, contracts
        log(
            f"customer base: {customers:,} customers, {contracts:,} contracts "
            f"({time.perf_counter() - start:.0f} s to insert)"
        )

    def requests(self):
        """The values of new inquiries, of each kind in turn."""
        requests = []
        for number in range(self.args.requests):
            kind = KINDS[number % len(KINDS)]
            vals = {"name": f"Match {number}", "service_occasion": "repair", "zip": "80331"}
            if kind == "known e-mail":
                vals["email_from"] = f"Customer{self.rng.randint(1, self.customers)}@BASE.example.org"
            elif kind == "unknown e-mail":
                vals["email_from"] = f"stranger{number}@elsewhere.example.org"
            else:
                vals["contract_ref"] = f"sc-{self.rng.randint(1, self.contracts):08d}"
                vals["email_from"] = f"tenant{number}@elsewhere.example.org"
            requests.append((kind, vals))
        return requests

    def run(self, label):
        """{kind: [ms]} of matching each request, and how many of each kind found their customer."""
        Lead = self.env["crm.lead"]
        times = {kind: [] for kind in KINDS}
        found = dict.fromkeys(KINDS, 0)
        for kind, vals in self.requests():
            self.env.invalidate_all()
            start = time.perf_counter()
            result = Lead._service_match_values(dict(vals))
            times[kind].append((time.perf_counter() - start) * 1000)
            found[kind] += bool(result.get("partner_id"))
        summary = "; ".join(
            f"{kind} p50 {percentile(ms, 50):.2f} ms, p95 {percentile(ms, 95):.2f} ms ({found[kind]} of {len(ms)} "
            f"matched)"
            for kind, ms in times.items()
        )
        log(f"[{label}] {summary}")
        return times, found

    def run_without_indexes(self, label):
        """``run`` with the look-ups as they were before their indexes, undone afterwards."""
        for name in INDEXES:
            self.cr.execute(f"DROP INDEX IF EXISTS {name}")
        self.cr.execute("ANALYZE res_partner, service_contract")
        try:
            return self.run(label)
        finally:
            self.cr.rollback()

    def plans(self):
        Lead = self.env["crm.lead"]
        company = self.env.company.id
        look_ups = (
            ("e-mail", "res.partner", Lead._service_email_customer_domain("customer7@base.example.org", company)),
            ("contract reference", "service.contract", Lead._service_contract_ref_domain("sc-00000007", company)),
        )
        for label, model, domain in look_ups:
            query = self.env[model]._search(domain, limit=1)
            self.cr.execute(odoo.tools.SQL("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) %s", query.select()))
            log(f"plan of the {label} look-up:")
            for (line,) in self.cr.fetchall():
                log(f"    {line}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--customers", type=int, default=300000)
    parser.add_argument("--contracts", type=int, default=100000)
    parser.add_argument("--requests", type=int, default=600, help="inquiries matched per run")
    parser.add_argument("--target-ms", type=float, default=5.0, help="p95 of one kind of match")
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        bench = Bench(env, args)
        log(
            f"== matching benchmark: {args.customers:,} customers, {args.contracts:,} contracts, "
            f"{args.requests} inquiries per run"
        )
        bench.insert(args.customers // 10, args.contracts // 10)
        small, _found = bench.run("a tenth of the base")
        bench.insert(args.customers, args.contracts)
        full, found = bench.run("the whole base")
        before, _found = bench.run_without_indexes("the whole base, without the look-ups' indexes")
        bench.plans()
        log("== figures")
        for kind in KINDS:
            p95, p95_small, p95_before = (percentile(times[kind], 95) for times in (full, small, before))
            verdict = "PASS" if p95 <= args.target_ms else "FAIL"
            log(
                f"{kind}: p95 {p95:.2f} ms with {args.customers:,} customers (target <= {args.target_ms:g} ms) "
                f"{verdict}; {p95_small:.2f} ms with a tenth of them; {p95_before:.2f} ms without the index "
                f"({p95_before / p95:.0f}x); mean {statistics.fmean(full[kind]):.2f} ms"
            )
        log(f"matched: {', '.join(f'{kind} {count}' for kind, count in found.items())}")


if __name__ == "__main__":
    main()
