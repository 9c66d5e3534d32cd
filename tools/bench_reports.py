# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Reporting benchmark. Run it through tools/bench_reports.sh, which makes a fresh database:

    tools/bench_reports.sh [--inquiries 200000] [--offers 1000000] [--technicians 5000] [--repeats 0.05]
                           [--spread line|any]

Inserts a year of service inquiries by set-based SQL (each with 1 to 9 offers,
declined with a reason, expired by the escalation, withdrawn, the last one
accepted mostly; visits with follow-on orders; linked repeats), then times,
as the administrator (record rules apply) on a fresh cursor:

- the technician scorecard (every row of the last 90 days, in its order);
- a grouped read of the inquiry analysis by technician and equipment type with
  all its measures, as the pivot asks for it; the same by technician and
  product line; and by technician alone, the pivot's first level, with the
  technicians' names.

Each technician is specialised in one of the 4 product lines (5 of the 20
equipment types), and its offers are of inquiries of that line, as the routing
makes them: about 25,000 groups by technician and equipment type.
``--spread any`` gives every technician inquiries of every type instead, which
the routing never does (about 86,000 groups): a worst case for the grouped read.

Each is run three times; the best and the median time are printed with the
plan PostgreSQL used (EXPLAIN ANALYZE). The target is 1 s each. It always
exits 0: it measures, it does not test.
"""

import argparse
import statistics
import time

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.tools import SQL

REASONS = ["service_area", "capacity", "specialization", "other"]
LINES = ("Heat Pump", "PV", "Smart Home", "Lift")
TYPES_PER_LINE = 5
MEASURES = [
    "__count",
    "inquiry_count:sum",
    "linked_count:sum",
    "offer_count:sum",
    "answered_count:sum",
    "accepted_count:sum",
    "decline_count:sum",
    "decline_area_count:sum",
    "decline_capacity_count:sum",
    "decline_specialization_count:sum",
    "decline_other_count:sum",
    "reassign_count:sum",
    "escalation_count:sum",
    "order_amount:sum",
    "hours_to_first_offer:avg",
    "hours_to_accept:avg",
    "hours_to_accept_median:avg",
    "hours_to_first_activity:avg",
    "within_sla_rate:avg",
    "acceptance_rate:avg",
    "conversion_rate:avg",
    "average_order:avg",
    "existing_share:avg",
]


def log(message=""):
    print(message, flush=True)


class Bench:
    def __init__(self, env, args):
        self.env, self.cr, self.args = env, env.cr, args

    def setup(self):
        env = self.env
        self.de = env.ref("base.de")
        self.levels = [
            env.ref("crm_service_routing.service_level_standard").id,
            env.ref("crm_service_routing.service_level_premium").id,
        ]
        Type = env["service.equipment.type"]
        self.type_ids = []
        self.line_ids = []
        for line_index, line in enumerate(LINES):
            parent = Type.create({"name": f"Bench {line}", "code": f"BENCH-L{line_index}"})
            self.line_ids.append(parent.id)
            self.type_ids += Type.create(
                [
                    {"name": f"{line} {index}", "code": f"BENCH-L{line_index}-{index}", "parent_id": parent.id}
                    for index in range(TYPES_PER_LINE)
                ]
            ).ids
        # technician i is specialised in product line i mod 4 (all of its types), or in all of them
        techs = env["res.partner"].create(
            [
                {
                    "name": f"Bench Technician {index}",
                    "is_technician": True,
                    "service_equipment_type_ids": [
                        Command.set(self.line_ids if self.args.spread == "any" else [self.line_ids[index % len(LINES)]])
                    ],
                }
                for index in range(self.args.technicians)
            ]
        )
        self.tech_ids = techs.ids
        self.source_ids = [env["utm.source"].create({"name": f"Bench source {index}"}).id for index in range(5)]
        self.campaign_ids = [env["utm.campaign"].create({"name": f"Bench campaign {index}"}).id for index in range(8)]
        env.flush_all()
        self.cr.commit()

    def insert(self):
        start = time.perf_counter()
        inquiries, repeats = self.args.inquiries, round(self.args.inquiries * self.args.repeats)
        # offers per inquiry: 1 .. 2 * mean - 1, uniform, so that the total is about --offers
        mean = self.args.offers / inquiries
        params = {
            "n": inquiries,
            "repeats": repeats,
            "max_offers": max(round(2 * mean - 1), 1),
            "techs": self.tech_ids,
            "types": self.type_ids,
            "levels": self.levels,
            "sources": self.source_ids,
            "campaigns": self.campaign_ids,
            "reasons": REASONS,
            "spread_any": self.args.spread == "any",
            "lines": len(LINES),
            "per_line": TYPES_PER_LINE,
            "techs_per_line": max(len(self.tech_ids) // len(LINES), 1),
            "company": self.env.company.id,
            "country": self.de.id,
            "uid": SUPERUSER_ID,
        }
        self.cr.execute("SELECT coalesce(max(id), 0) FROM crm_lead")
        params["first"] = self.cr.fetchone()[0] + 1
        pick = "(%(a)s::int[])[1 + floor(random() * array_length(%(a)s::int[], 1))::int]"
        self.cr.execute(
            """
            DROP TABLE IF EXISTS bench_lead;
            CREATE TEMP TABLE bench_lead AS
            SELECT %(first)s + g - 1 AS id,
                   (now() AT TIME ZONE 'UTC') - random() * interval '365 days' AS created,
                   1 + floor(random() * %(max_offers)s)::int AS n,
                   random() < 0.85 AS accepted,
                   (%(techs)s::int[])[t.tech_index + 1] AS last_tech,
                   t.line,
                   CASE WHEN %(spread_any)s THEN {type}
                        ELSE (%(types)s::int[])[t.line * %(per_line)s + 1 + floor(random() * %(per_line)s)::int]
                   END AS type_id,
                   {level} AS level_id,
                   lpad((floor(random() * 99999))::int::text, 5, '0') AS zip,
                   random() AS r
              FROM generate_series(1, %(n)s) g
             -- technician i (from 0, in the order made) is specialised in product line i mod 4
             CROSS JOIN LATERAL (
                SELECT pick.tech_index, pick.tech_index %% %(lines)s AS line
                  FROM (SELECT floor(random() * array_length(%(techs)s::int[], 1))::int AS tech_index, g) pick
             ) t;
            """.format(
                type=pick.replace("%(a)s", "%(types)s"),
                level=pick.replace("%(a)s", "%(levels)s"),
            ),
            params,
        )
        self.cr.execute(
            """
            INSERT INTO crm_lead (id, name, type, active, company_id, country_id, zip, equipment_type_id,
                                  service_occasion, service_level_id, routing_state, technician_id, offered_at,
                                  accepted_at, customer_kind, source_id, campaign_id, priority, probability,
                                  date_closed, create_date, write_date, create_uid, write_uid)
            SELECT b.id, 'Bench inquiry ' || b.id, 'opportunity', b.r >= 0.05, %(company)s, %(country)s, b.zip,
                   b.type_id, 'repair', b.level_id,
                   CASE WHEN b.r < 0.05 THEN 'cancelled' WHEN b.accepted AND b.r < 0.5 THEN 'done'
                        WHEN b.accepted THEN 'accepted' ELSE 'review' END,
                   CASE WHEN b.accepted THEN b.last_tech END,
                   CASE WHEN b.accepted THEN b.created + b.n * interval '2 hours' END,
                   CASE WHEN b.accepted THEN b.created + b.n * interval '2 hours' + interval '3 hours' END,
                   CASE WHEN b.r < 0.6 THEN 'existing' ELSE 'new' END,
                   (%(sources)s::int[])[1 + (b.id %% array_length(%(sources)s::int[], 1))],
                   (%(campaigns)s::int[])[1 + (b.id %% array_length(%(campaigns)s::int[], 1))],
                   '0', CASE WHEN b.r < 0.05 THEN 0 ELSE 10 END,
                   CASE WHEN b.r < 0.05 OR (b.accepted AND b.r < 0.5) THEN b.created + interval '5 days' END,
                   b.created, b.created, %(uid)s, %(uid)s
              FROM bench_lead b;
            SELECT setval('crm_lead_id_seq', (SELECT max(id) FROM crm_lead));
            """,
            params,
        )
        # offer k of n: before the last, declined (60 %%), expired by the escalation (30 %%) or withdrawn;
        # the last one accepted when the inquiry was, else declined
        self.cr.execute(
            """
            INSERT INTO service_offer (lead_id, company_id, technician_id, state, offered_at, responded_at,
                                       response_hours, decline_reason, answer_deadline, service_level_id,
                                       escalation_step, closed_at, create_date, write_date, create_uid, write_uid)
            SELECT o.lead_id, %(company)s, o.tech, o.state, o.offered_at, o.offered_at + o.hours * interval '1 hour',
                   o.hours, CASE WHEN o.state = 'declined' THEN (%(reasons)s::varchar[])[1 + floor(o.r2 * 4)::int] END,
                   o.offered_at + interval '24 hours', o.level_id,
                   CASE WHEN o.state = 'expired' THEN 1 + floor(o.r2 * 2)::int ELSE 0 END,
                   CASE WHEN o.state NOT IN ('offered', 'accepted') THEN o.offered_at + o.hours * interval '1 hour' END,
                   o.offered_at, o.offered_at, %(uid)s, %(uid)s
              FROM (
                SELECT b.id AS lead_id, b.level_id,
                       CASE WHEN k = b.n THEN b.last_tech
                            WHEN %(spread_any)s THEN {tech}
                            -- another technician of the inquiry's product line
                            ELSE (%(techs)s::int[])[1 + floor(random() * %(techs_per_line)s)::int * %(lines)s
                                                    + b.line] END AS tech,
                       b.created + k * interval '2 hours' AS offered_at,
                       CASE WHEN k = b.n AND b.accepted THEN 'accepted'
                            WHEN k = b.n THEN 'declined'
                            WHEN s.r1 < 0.6 THEN 'declined'
                            WHEN s.r1 < 0.9 THEN 'expired'
                            ELSE 'withdrawn' END AS state,
                       CASE WHEN k = b.n AND b.accepted THEN 0.2 + s.r2 * 40 ELSE 2 * s.r2 END AS hours,
                       s.r2
                  FROM bench_lead b
                  CROSS JOIN LATERAL generate_series(1, b.n) k
                  CROSS JOIN LATERAL (SELECT random() AS r1, random() AS r2, k AS kk) s
              ) o;
            """.format(tech=pick.replace("%(a)s", "%(techs)s")),
            params,
        )
        # visits: half the accepted inquiries, half of those with a follow-on order
        self.cr.execute(
            """
            INSERT INTO service_visit (lead_id, technician_id, company_id, visit_date, work_done, followon_order,
                                       followon_amount, create_date, write_date, create_uid, write_uid)
            SELECT b.id, b.last_tech, %(company)s, (b.created + interval '2 days')::date, 'Bench visit',
                   b.r < 0.4, CASE WHEN b.r < 0.4 THEN round((100 + b.r * 5000)::numeric, 2) END,
                   b.created + interval '2 days', b.created + interval '2 days', %(uid)s, %(uid)s
              FROM bench_lead b
             WHERE b.accepted AND b.r < 0.8;
            """,
            params,
        )
        # repeats linked to a unique inquiry
        self.cr.execute(
            """
            INSERT INTO crm_lead (name, type, active, company_id, country_id, zip, equipment_type_id,
                                  service_occasion, service_level_id, routing_state, service_unique_lead_id,
                                  priority, create_date, write_date, create_uid, write_uid)
            SELECT 'Bench repeat ' || b.id, 'opportunity', true, %(company)s, %(country)s, b.zip, b.type_id,
                   'repair', b.level_id, 'linked', b.id, '0', b.created + interval '1 hour',
                   b.created + interval '1 hour', %(uid)s, %(uid)s
              FROM bench_lead b
             ORDER BY random()
             LIMIT %(repeats)s;
            ANALYZE crm_lead;
            ANALYZE service_offer;
            ANALYZE service_visit;
            """,
            params,
        )
        self.cr.commit()
        self.cr.execute(
            "SELECT (SELECT count(*) FROM crm_lead WHERE service_occasion IS NOT NULL), (SELECT count(*) FROM "
            "service_offer), (SELECT count(*) FROM service_visit), (SELECT count(*) FROM service_offer "
            "WHERE offered_at >= (now() AT TIME ZONE 'UTC') - interval '90 days')"
        )
        leads, offers, visits, recent = self.cr.fetchone()
        log(
            f"inserted {leads:,} service inquiries ({repeats:,} of them linked repeats), {offers:,} offers "
            f"({recent:,} in the last 90 days), {visits:,} visits in {time.perf_counter() - start:.0f} s"
        )

    def timed(self, label, func, rounds=3):
        """Best and median of ``rounds`` runs of ``func(env)``, each on a fresh cursor as the administrator,
        with the server's JIT setting and with JIT off."""
        for jit in (None, "off"):
            result = self._timed(f"{label}{', jit off' if jit else ''}", func, rounds, jit)
        return result

    def _timed(self, label, func, rounds, jit):
        registry = self.env.registry
        times, result = [], None
        for _round in range(rounds):
            with registry.cursor() as cr:
                if jit:
                    cr.execute(SQL("SET jit = %s", SQL(jit)))
                env = api.Environment(cr, self.admin_id, {"lang": "en_US"})
                start = time.perf_counter()
                result = func(env)
                times.append(time.perf_counter() - start)
        best, median = min(times), statistics.median(times)
        verdict = "PASS" if median <= self.args.target_seconds else "FAIL"
        log(f"{label}: best {best:.3f} s, median {median:.3f} s (target <= {self.args.target_seconds:g} s): {verdict}")
        return result

    def explain_search(self, model):
        """EXPLAIN ANALYZE of the query a search_read of every row sends, as the administrator."""
        Model = self.env(user=self.admin_id)[model]
        Model._service_plain_plan()
        query = Model._search([], order=Model._order)
        self.cr.execute(SQL("EXPLAIN (ANALYZE, TIMING OFF) %s", query.select(SQL("*"))))
        return "\n".join("    " + row[0] for row in self.cr.fetchall())

    def explain(self, model, groupby, aggregates, order=None):
        """EXPLAIN ANALYZE of the query the ORM sends for this grouped read, as the administrator."""
        env = self.env(user=self.admin_id)
        Model = env[model]
        # the settings the grouped read itself runs with (work_mem for its sort in memory)
        Model._service_plain_plan()
        query = Model._search([])
        groupby_terms = {spec: Model._read_group_groupby(spec, query) for spec in groupby}
        select = [*groupby_terms.values(), *(Model._read_group_select(spec, query) for spec in aggregates)]
        sql = SQL(
            "EXPLAIN (ANALYZE, TIMING OFF) SELECT %s FROM %s WHERE %s %s",
            SQL(", ").join(select),
            query.from_clause,
            query.where_clause or SQL("TRUE"),
            SQL("GROUP BY %s", SQL(", ").join(groupby_terms.values())) if groupby else SQL(),
        )
        if order:
            sql = SQL("%s ORDER BY %s", sql, SQL(order))
        self.cr.execute(sql)
        return "\n".join("    " + row[0] for row in self.cr.fetchall())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--inquiries", type=int, default=200000, help="unique service inquiries")
    parser.add_argument("--offers", type=int, default=1000000, help="offers in all (about)")
    parser.add_argument("--technicians", type=int, default=5000)
    parser.add_argument("--repeats", type=float, default=0.05, help="linked repeats, as a share of the inquiries")
    parser.add_argument(
        "--spread",
        choices=("line", "any"),
        default="line",
        help="line: each technician takes inquiries of its one product line, as the routing offers them; "
        "any: of every equipment type (a worst case for the grouped read)",
    )
    parser.add_argument("--target-seconds", type=float, default=1.0)
    parser.add_argument("--no-insert", action="store_true", help="time the data already in the database")
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        bench = Bench(env, args)
        bench.admin_id = env.ref("base.user_admin").id
        log(
            f"== reporting benchmark: {args.inquiries:,} inquiries, about {args.offers:,} offers, "
            f"{args.technicians:,} technicians, "
            + ("each specialised in one product line" if args.spread == "line" else "each taking every equipment type")
        )
        if not args.no_insert:
            bench.setup()
            bench.insert()
        log("== figures")
        cards = bench.timed(
            "scorecard, every technician of the last 90 days in its order (search_read)",
            lambda env: env["service.technician.scorecard"].search_read(
                [], ["technician_id", "within_sla_rate", "acceptance_rate", "conversion_rate", "average_order"]
            ),
        )
        log(f"    {len(cards):,} rows")
        page = bench.timed(
            "scorecard as its list view opens it (first 80 rows in its order, and the count)",
            lambda env: env["service.technician.scorecard"].web_search_read(
                [],
                {
                    "technician_id": {"fields": {"display_name": {}}},
                    "within_sla_rate": {},
                    "acceptance_rate": {},
                    "conversion_rate": {},
                    "average_order": {},
                    "median_hours_to_accept": {},
                },
                limit=80,
                count_limit=10001,
            ),
        )
        log(f"    {len(page['records']):,} rows of {page['length']:,}")
        for groupby in (["technician_id", "equipment_type_id"], ["technician_id", "equipment_line_id"]):
            groups = bench.timed(
                f"inquiry analysis by {' x '.join(groupby)}, {len(MEASURES)} measures (_read_group)",
                lambda env, groupby=groupby: env["service.inquiry.report"]._read_group([], groupby, MEASURES),
            )
            log(f"    {len(groups):,} groups")
        groups = bench.timed(
            "inquiry analysis by technician, as the pivot's first level (read_group, names included)",
            lambda env: env["service.inquiry.report"].read_group([], MEASURES[1:], ["technician_id"], lazy=False),
        )
        log(f"    {len(groups):,} groups")
        log("== plans (jit off)")
        cr.execute("SET jit = off")
        log("scorecard:")
        log(bench.explain_search("service.technician.scorecard"))
        log("inquiry analysis by technician x equipment type:")
        log(bench.explain("service.inquiry.report", ["technician_id", "equipment_type_id"], MEASURES))


if __name__ == "__main__":
    main()
