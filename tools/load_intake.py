# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Intake load test. Run it through tools/load.sh, which makes a fresh database:

    tools/load.sh [--clients 4] [--requests 500] [--technicians 40] [--capacity 30] [--port 8079]
                  [--workers 2] [--servers 1]

Sets up technicians with overlapping postal-code ranges and radius areas in
Munich (rotation strategy), starts an Odoo server on 127.0.0.1 with 2 workers
and a cron thread (or ``--servers`` of them on the same database, as nodes
behind a proxy are; each client talks to one), then lets several client processes send
``submit_service_request`` calls over XML-RPC, each interleaved with a plain
``crm.lead`` ``create`` (a non-service lead) as the baseline. Prints what was
sent, created, answered as duplicate or failed, the share routed at arrival,
technicians over capacity, and the latencies of both calls. It stops the
server at the end, marks each target PASS or FAIL and exits 0 when the run
itself worked: it measures, it does not test.
"""

import argparse
import multiprocessing
import os
import queue
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
import xmlrpc.client
from collections import Counter

SEED = 20261123
ZIP_LOW, ZIP_HIGH = "80331", "81929"
LOGIN = PASSWORD = "admin"
EQUIPMENT = (("HP", "Heat Pump"), ("PV", "PV System"))
# stock crons that call Odoo's web services (lead enrichment is also triggered by
# every lead created): off, so that the run stays on loopback and the cron
# worker only runs what matters here
OUTBOUND_CRONS = (
    "crm_iap_enrich.ir_cron_lead_enrichment",
    "mail.ir_cron_module_update_notification",
    "partner_autocomplete.ir_cron_partner_autocomplete",
    "snailmail.snailmail_print",
    "sms.ir_cron_sms_scheduler_action",
)


def log(message):
    print(message, flush=True)


def percentile(values, pct):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100.0 * (len(ordered) - 1)))]


# ------------------------------------------------------------
# FIXTURE (ORM, in this process, before the server starts)
# ------------------------------------------------------------


def open_registry(args):
    import odoo

    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    return odoo.modules.registry.Registry(args.database)


def setup_fixture(registry, args):
    """Technicians in overlapping areas of Munich; returns the postal codes to send."""
    from odoo import SUPERUSER_ID, api

    from odoo.addons.crm_service_routing.engine.routing import haversine_km

    rng = random.Random(SEED)
    start = time.perf_counter()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nolog": True})
        de = env.ref("base.de")
        env.company.write({"country_id": de.id, "service_routing_strategy": "rotation"})
        env["ir.config_parameter"].set_param("crm.iap.lead.enrich.setting", "manual")
        for xmlid in OUTBOUND_CRONS:
            cron = env.ref(xmlid, raise_if_not_found=False)
            if cron:
                cron.active = False
        loaded = env["service.postal.code"]._load_countries(["DE"])
        cr.execute(
            """SELECT name, latitude, longitude FROM service_postal_code
                WHERE country_id = %s AND name BETWEEN %s AND %s ORDER BY name""",
            (de.id, ZIP_LOW, ZIP_HIGH),
        )
        points = {name: (lat, lon) for name, lat, lon in cr.fetchall()}
        zips = sorted(points)
        if not zips:
            raise SystemExit(f"no postal codes {ZIP_LOW}..{ZIP_HIGH} in the loaded GeoNames data for DE")
        types = env["service.equipment.type"].create([{"code": code, "name": name} for code, name in EQUIPMENT])
        hp, pv = types
        vals_list = []
        for index in range(args.technicians):
            base = rng.choice(zips)
            if index % 5 in (0, 1, 2):
                # postal-code ranges: a wide one for some, one or two narrower ones for the others
                if index % 15 == 0:
                    areas = [("range", "80000", "81999")]
                else:
                    areas = []
                    for _k in range(rng.randint(1, 2)):
                        low = rng.randrange(80000, 81800, 50)
                        areas.append(("range", str(low), str(min(81999, low + rng.randrange(200, 900, 50)))))
            else:
                areas = [("radius", base, rng.choice([6, 8, 10, 15, 20]))]
            area_vals = [
                {"kind": "range", "country_id": de.id, "zip_from": low, "zip_to": high}
                if kind == "range"
                else {"kind": "radius", "country_id": de.id, "base_zip": low, "radius_km": high}
                for kind, low, high in areas
            ]
            vals_list.append(
                {
                    "name": f"Load Technician {index:03d}",
                    "is_technician": True,
                    "zip": base,
                    "city": "München",
                    "country_id": de.id,
                    "email": f"tech{index:03d}@load.example.com",
                    "service_capacity": args.capacity,
                    "service_equipment_type_ids": [(6, 0, (hp | pv).ids if rng.random() < 0.6 else hp.ids)],
                    "service_area_ids": [(0, 0, vals) for vals in area_vals],
                }
            )
        technicians = env["res.partner"].create(vals_list)
        env.flush_all()
        # how many technicians cover each postal code (area only, as the routing's first rule)
        coverage = []
        Area = env["service.area"]
        for code in zips:
            lat, lon = points[code]
            covering = {
                tech_id
                for tech_id, kind, base_lat, base_lon, radius in Area._hits(de.id, code, lat, lon)
                if kind == "range" or haversine_km(lat, lon, base_lat, base_lon) <= radius
            }
            coverage.append(len(covering))
        cr.commit()
    log(
        f"Fixture: GeoNames {loaded}; {len(technicians)} technicians (capacity {args.capacity} each, rotation), "
        f"{sum(1 for v in vals_list for a in v['service_area_ids'] if a[2]['kind'] == 'range')} postal ranges and "
        f"{sum(1 for v in vals_list for a in v['service_area_ids'] if a[2]['kind'] == 'radius')} radius areas; "
        f"{len(zips)} postal codes {zips[0]}..{zips[-1]}, covered by {min(coverage)} to {max(coverage)} "
        f"technicians (median {statistics.median(coverage):.0f}); in {time.perf_counter() - start:.1f} s"
    )
    return zips


# ------------------------------------------------------------
# SERVER
# ------------------------------------------------------------


def free_port(preferred):
    """``preferred`` if free on 127.0.0.1, else a free port the system picks."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise SystemExit("no free TCP port on 127.0.0.1")


def start_server(args, port, server_log):
    # a script file, not "python -c": the prefork master starts its gevent
    # (websocket) process as [python, sys.argv[0], "gevent", ...] and starts it
    # again whenever it exits. XML-RPC needs no websocket, so a process that
    # sleeps until the server stops stands in for it.
    launcher = os.path.join(os.path.dirname(server_log), "odoo-launcher.py")
    with open(launcher, "w", encoding="utf-8") as handle:
        handle.write(
            "import sys\n"
            "import time\n\n"
            "if sys.argv[1:2] == ['gevent']:\n"
            "    while True:\n"
            "        time.sleep(3600)\n"
            "import odoo.cli\n\n"
            "odoo.cli.main()\n"
        )
    command = [
        sys.executable,
        launcher,
        "-c",
        args.config,
        "-d",
        args.database,
        f"--db-filter=^{re.escape(args.database)}$",
        "--http-interface=127.0.0.1",
        f"--http-port={port}",
        f"--workers={args.workers}",
        "--max-cron-threads=1",
        f"--logfile={server_log}",
        "--log-level=info",
    ]
    # its own process group: the workers are stopped with it
    return subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL)


def stop_server(server, timeout=30):
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)  # the master stops its workers gracefully
    try:
        server.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


class TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


def proxy(url, path, timeout):
    return xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/{path}", transport=TimeoutTransport(timeout), allow_none=True)


def wait_ready(server, url, database, timeout):
    """Until the server authenticates admin; returns the uid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the Odoo server exited with code {server.returncode} (see its log)")
        try:
            uid = proxy(url, "common", 10).authenticate(database, LOGIN, PASSWORD, {})
            if uid:
                return uid
        except (OSError, xmlrpc.client.Error):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the Odoo server did not answer within {timeout} s (see its log)")


# ------------------------------------------------------------
# CLIENTS (one process each)
# ------------------------------------------------------------


def client(index, cfg, results):
    """Sends cfg['requests'] service requests, each followed by a plain lead create."""
    rng = random.Random(SEED + index)
    models = proxy(cfg["urls"][index % len(cfg["urls"])], "object", cfg["call_timeout"])
    result = {"submit_ms": [], "create_ms": [], "answers": [], "faults": Counter(), "sent": 0, "plain_sent": 0}

    def call(kind, method, values):
        """The answer of one timed call, or None after a fault (counted)."""
        result["sent" if kind == "submit" else "plain_sent"] += 1
        start = time.perf_counter()
        try:
            answer = models.execute_kw(cfg["database"], cfg["uid"], PASSWORD, "crm.lead", method, [values])
        except xmlrpc.client.Fault as fault:
            result["faults"][f"{kind}: " + fault.faultString.strip().splitlines()[-1][:160]] += 1
            return None
        except (OSError, xmlrpc.client.ProtocolError) as error:
            result["faults"][f"{kind}: {type(error).__name__}: {str(error)[:120]}"] += 1
            return None
        result[f"{kind}_ms"].append((time.perf_counter() - start) * 1000)
        return answer

    for number in range(cfg["requests"]):
        if time.time() > cfg["deadline"]:
            result["faults"]["client deadline reached"] += 1
            break
        ref = f"{cfg['run']}-{index}-{number:05d}"
        values = {
            "external_ref": ref,
            "service_occasion": "repair",
            "name": f"Load repair {ref}",
            "contact_name": f"Customer {index}-{number:05d}",
            "email": f"customer.{index}.{number:05d}@load.example.org",
            "zip": rng.choice(cfg["zips"]),
            "city": "München",
            "country": "DE",
        }
        equipment = rng.choice(["HP", "HP", "PV", None])
        if equipment:
            values["equipment"] = equipment
        answer = call("submit", "submit_service_request", values)
        if answer:
            result["answers"].append((answer.get("status"), answer.get("routing_state"), answer.get("review_reason")))
        call(
            "create",
            "create",
            {"name": f"Load sales lead {ref}", "email_from": f"buyer.{index}.{number:05d}@load.example.org"},
        )
    results.put((index, result))


def run_clients(cfg, count, timeout):
    context = multiprocessing.get_context("spawn")
    results_queue = context.Queue()
    processes = [
        context.Process(target=client, args=(index, cfg, results_queue), daemon=True) for index in range(count)
    ]
    start = time.perf_counter()
    for process in processes:
        process.start()
    results = {}
    end = time.monotonic() + timeout
    while len(results) < count and time.monotonic() < end:
        try:
            index, result = results_queue.get(timeout=max(0.1, min(5.0, end - time.monotonic())))
        except queue.Empty:
            if not any(process.is_alive() for process in processes) and results_queue.empty():
                break
            continue
        results[index] = result
    elapsed = time.perf_counter() - start
    for process in processes:
        process.join(5)
        if process.is_alive():
            process.terminate()
            process.join(5)
    return results, elapsed


# ------------------------------------------------------------
# FIGURES
# ------------------------------------------------------------


def db_figures(registry, run):
    with registry.cursor() as cr:
        cr.execute(
            """SELECT l.routing_state, l.review_reason, count(*)
                 FROM crm_lead l JOIN service_intake_key k ON k.lead_id = l.id
                WHERE k.key LIKE %s GROUP BY 1, 2 ORDER BY 1, 2""",
            (f"{run}-%",),
        )
        states = cr.fetchall()
        cr.execute("SELECT count(*) FROM crm_lead WHERE name LIKE %s", (f"Load sales lead {run}-%",))
        plain = cr.fetchone()[0]
        cr.execute(
            """SELECT p.name, p.service_capacity, count(l.id)
                 FROM res_partner p
                 JOIN crm_lead l ON l.technician_id = p.id AND l.active AND l.routing_state IN ('offered', 'accepted')
                WHERE p.is_technician
                GROUP BY p.id
               HAVING count(l.id) > p.service_capacity
                ORDER BY count(l.id) - p.service_capacity DESC, p.name"""
        )
        over = cr.fetchall()
        cr.execute(
            # one inquiry per request: each is named after its external reference
            """SELECT count(*) FROM (SELECT 1 FROM crm_lead WHERE name LIKE %s
                                      GROUP BY name HAVING count(*) > 1) twice""",
            (f"Load repair {run}-%",),
        )
        twice = cr.fetchone()[0]
    return {"states": states, "plain": plain, "over": over, "twice": twice}


def server_log_summary(path):
    """(transactions Odoo retried, Counter of ERROR lines by message and cause) from the server log."""
    retries, errors = 0, Counter()
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return retries, errors
    for number, line in enumerate(lines):
        if "tries left, try again in" in line:
            retries += 1
        elif " ERROR " in line or " CRITICAL " in line:
            message = re.sub(r"\d+", "N", line.split(": ", 1)[-1])[:90]
            # the lines after it, up to the next log record, say why
            for follow in lines[number + 1 : number + 80]:
                if re.match(r"^\d{4}-\d\d-\d\d ", follow):
                    break
                if re.match(r"^(ERROR: |[\w.]+(Error|Exception|Failure|Violation|Detected)\b)", follow):
                    message += " <- " + re.sub(r"\d+", "N", follow)[:120]
            errors[message] += 1
    return retries, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--clients", type=int, default=4, help="parallel client processes")
    parser.add_argument("--requests", type=int, default=500, help="service requests per client")
    parser.add_argument("--technicians", type=int, default=40)
    parser.add_argument("--capacity", type=int, default=30, help="max open inquiries per technician")
    parser.add_argument("--port", type=int, default=8079, help="HTTP port on 127.0.0.1 (another if taken)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of each server")
    parser.add_argument("--servers", type=int, default=1, help="Odoo server processes on the same database")
    parser.add_argument("--call-timeout", type=float, default=60.0, help="seconds one XML-RPC call may take")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds all clients together may take")
    parser.add_argument("--server-log", default="load-server.log")
    args = parser.parse_args()
    args.server_log = os.path.abspath(args.server_log)
    wall = time.perf_counter()
    log(
        f"== crm_service_routing intake load: {args.clients} clients x {args.requests} service requests "
        f"(+ as many plain lead creates), {args.technicians} technicians, "
        f"{args.servers} server(s) with {args.workers} workers each"
    )
    registry = open_registry(args)
    zips = setup_fixture(registry, args)
    import odoo

    odoo.sql_db.close_all()  # the server's workers are the ones to talk to the database now
    urls, servers, logs = [], [], []
    for number in range(args.servers):
        port = free_port(args.port + number)
        urls.append(f"http://127.0.0.1:{port}")
        logs.append(args.server_log if number == 0 else f"{args.server_log}.{number + 1}")
        open(logs[-1], "w").close()  # this run's log only
    try:
        for port_url, server_log in zip(urls, logs, strict=True):
            servers.append(start_server(args, int(port_url.rsplit(":", 1)[1]), server_log))
        for server, port_url in zip(servers, urls, strict=True):
            uid = wait_ready(server, port_url, args.database, 120)
        log(
            f"{args.servers} server(s) up on {', '.join(urls)} ({args.workers} workers and 1 cron thread each; "
            f"log {args.server_log})"
        )
        run = f"load-{uuid.uuid4().hex[:8]}"
        cfg = {
            "urls": urls,
            "database": args.database,
            "uid": uid,
            "zips": zips,
            "requests": args.requests,
            "run": run,
            "call_timeout": args.call_timeout,
            "deadline": time.time() + args.timeout,
        }
        results, elapsed = run_clients(cfg, args.clients, args.timeout + args.call_timeout + 10)
    finally:
        for server in servers:
            stop_server(server)
    log(
        f"Server stopped; clients ran {elapsed:.1f} s; machine load average {os.getloadavg()[1]:.1f} "
        f"over the last 5 minutes on {os.cpu_count()} cores (other processes slow the figures down)"
    )
    figures = db_figures(registry, run)

    submit_ms = [ms for r in results.values() for ms in r["submit_ms"]]
    create_ms = [ms for r in results.values() for ms in r["create_ms"]]
    answers = [a for r in results.values() for a in r["answers"]]
    faults = sum((r["faults"] for r in results.values()), Counter())
    sent = sum(r["sent"] for r in results.values())
    plain_sent = sum(r["plain_sent"] for r in results.values())
    created = sum(count for _state, _reason, count in figures["states"])
    duplicates = sum(1 for status, _state, _reason in answers if status == "duplicate")
    at_arrival = Counter(state for status, state, _reason in answers if status == "created")
    routed = sum(count for state, count in at_arrival.items() if state != "new")
    routed_pct = routed * 100.0 / created if created else 0.0
    errors = sum(faults.values())
    p95_submit, p95_create = percentile(submit_ms, 95), percentile(create_ms, 95)
    ratio = p95_submit / p95_create if create_ms and submit_ms else float("nan")

    log("")
    log("== Results")
    if len(results) < args.clients:
        log(f"WARNING: only {len(results)} of {args.clients} clients reported (timeout or crash)")
    log(
        f"sent: {sent} service requests, {plain_sent} plain leads in {elapsed:.1f} s "
        f"({(sent + plain_sent) / elapsed:.1f} calls/s)"
    )
    log(f"created (in the database): {created} service inquiries, {figures['plain']} plain leads")
    log(
        f"duplicates (status 'duplicate' answers): {duplicates} (expected 0) {'PASS' if duplicates == 0 else 'FAIL'}; "
        f"external references stored twice: {figures['twice']}"
    )
    log(f"errors (faults): {errors} {'PASS' if errors == 0 else 'FAIL'}")
    for message, count in faults.most_common(8):
        log(f"    {count:5d}  {message}")
    log(
        f"routed at arrival (answer's routing_state not 'new'): {routed} of {created} = {routed_pct:.1f} % "
        f"(target >= 99 %) {'PASS' if routed_pct >= 99 else 'FAIL'}; answers by routing state: "
        + ", ".join(f"{state}={count}" for state, count in sorted(at_arrival.items(), key=lambda i: str(i[0])))
    )
    log(
        "in the database at the end (the backstop cron may have routed some since): "
        + ", ".join(f"{state}{'/' + reason if reason else ''}={count}" for state, reason, count in figures["states"])
    )
    log(
        f"capacity violations (technicians with more open inquiries than their capacity): {len(figures['over'])} "
        f"(target 0) {'PASS' if not figures['over'] else 'FAIL'}"
        + (
            "; worst: " + ", ".join(f"{name} {count}/{capacity}" for name, capacity, count in figures["over"][:5])
            if figures["over"]
            else ""
        )
    )
    log(
        f"latency submit_service_request: p50 {percentile(submit_ms, 50):.0f} ms, p95 {p95_submit:.0f} ms; "
        f"plain create: p50 {percentile(create_ms, 50):.0f} ms, p95 {p95_create:.0f} ms; "
        f"p95 submit / p95 create = {ratio:.2f} (target <= 1.5) {'PASS' if ratio <= 1.5 else 'FAIL'}"
    )
    retries, errors_logged = 0, Counter()
    for server_log in logs:
        server_retries, server_errors = server_log_summary(server_log)
        retries += server_retries
        errors_logged += server_errors
    calls = sum(len(r["submit_ms"]) + len(r["create_ms"]) for r in results.values()) + errors
    retried_pct = retries * 100.0 / calls if calls else 0.0
    log(
        f"server log: {retries} transactions retried by Odoo (concurrency errors) of {calls} calls = "
        f"{retried_pct:.2f} % (target < 0.5 %) {'PASS' if retried_pct < 0.5 else 'FAIL'}; "
        f"{sum(errors_logged.values())} ERROR lines" + (", most frequent:" if errors_logged else "")
    )
    for message, count in errors_logged.most_common(5):
        log(f"    {count:5d}  {message}")
    log(f"wall time {time.perf_counter() - wall:.0f} s")
    return 0 if len(results) == args.clients else 1


if __name__ == "__main__":
    sys.exit(main())
