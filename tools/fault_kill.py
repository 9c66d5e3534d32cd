# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Fault runs: kill -9 mid-work, restart, check. Run it through tools/fault.sh,
which makes a fresh database:

    tools/fault.sh [--batches 10] [--batch-size 30] [--kill-after 0.5] [--port 8089]

1. Batch intake: an Odoo server (2 workers) takes ``submit_service_requests``
   batches over XML-RPC, each request with its own external reference; the
   whole server (its process group) is killed with SIGKILL while batches are
   in flight (after two batches, half a second into the third). After a
   restart every batch is sent again, unchanged: each request must answer
   ``created`` or ``duplicate`` and each reference must name exactly one
   inquiry.
2. Escalation run: the open offers are made due; ``service.offer._cron_escalate``
   runs in a process of its own and is killed with SIGKILL mid-run; then two
   runs at once (two cron workers) go to the end: nothing may be left due.

After each, ``tools/check.sh`` checks the database. Prints what happened and
exits non-zero when a run lost or doubled something or the check failed.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_intake  # the load test's fixture and server helpers

SOURCE = "faultkill"


def log(message):
    print(message, flush=True)


def batches(args, zips):
    result = []
    for batch in range(args.batches):
        requests = []
        for index in range(args.batch_size):
            number = batch * args.batch_size + index
            requests.append(
                {
                    "external_ref": f"FAULT-{number:05d}",
                    "source": SOURCE,
                    "service_occasion": "repair",
                    "contact_name": f"Fault Customer {number}",
                    "email": f"fault{number}@example.org",
                    "zip": zips[number % len(zips)],
                    "city": "München",
                    "country": "DE",
                    "equipment": "HP",
                    "description": f"Request {number} of the kill -9 run: pressure < 2 bar & <noisy>",
                }
            )
        result.append(requests)
    return result


def send(url, database, uid, all_batches, outcome, timeout):
    models = load_intake.proxy(url, "object", timeout)
    for index, requests in enumerate(all_batches):
        try:
            results = models.execute_kw(
                database, uid, load_intake.PASSWORD, "crm.lead", "submit_service_requests", [requests]
            )
        except (OSError, xmlrpc.client.Error) as error:
            outcome.append((index, None, f"{type(error).__name__}: {str(error)[:80]}"))
            return
        outcome.append((index, results, None))


def intake_run(args, registry, zips):
    log("== 1. kill -9 of the server during a batch intake")
    port = load_intake.free_port(args.port)
    url = f"http://127.0.0.1:{port}"
    all_batches = batches(args, zips)
    server = load_intake.start_server(args, port, args.server_log)
    uid = load_intake.wait_ready(server, url, args.database, 120)
    outcome = []
    sender = threading.Thread(target=send, args=(url, args.database, uid, all_batches, outcome, 120))
    sender.start()
    # some batches committed, the next one in flight: then the kill
    deadline = time.monotonic() + 120
    while len(outcome) < args.kill_after_batches and sender.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(args.kill_after)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(10)
    sender.join(150)
    answered = [index for index, results, _error in outcome if results is not None]
    cut = [(index, error) for index, results, error in outcome if results is None]
    log(
        f"killed -9 {args.kill_after} s after batch {args.kill_after_batches} was answered: {len(answered)} of "
        f"{len(all_batches)} batches answered before, cut: {cut or 'none'}"
    )
    with registry.cursor() as cr:
        cr.execute("SELECT count(*) FROM crm_lead WHERE service_intake_source = %s", (SOURCE,))
        log(f"inquiries saved before the kill: {cr.fetchone()[0]}")
    server = load_intake.start_server(args, port, args.server_log)
    try:
        uid = load_intake.wait_ready(server, url, args.database, 120)
        again = []
        send(url, args.database, uid, all_batches, again, 300)
    finally:
        load_intake.stop_server(server)
    statuses = {}
    for _index, results, error in again:
        if error:
            statuses.setdefault("call failed", 0)
            statuses["call failed"] += 1
            continue
        for result in results:
            statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    sent = sum(len(requests) for requests in all_batches)
    with registry.cursor() as cr:
        cr.execute(
            """SELECT count(*), count(DISTINCT k.key) FROM crm_lead l
                 LEFT JOIN service_intake_key k ON k.lead_id = l.id
                WHERE l.service_intake_source = %s""",
            (SOURCE,),
        )
        leads, refs = cr.fetchone()
    log(f"after the restart, all {len(all_batches)} batches sent again: {statuses}")
    log(f"references sent {sent}, inquiries {leads}, distinct references {refs}")
    ok = leads == refs == sent and set(statuses) <= {"created", "duplicate"}
    log("intake run: " + ("PASS (nothing lost, nothing doubled)" if ok else "FAIL"))
    return ok


def escalation_run(args, registry):
    log("== 2. kill -9 of an escalation run")
    with registry.cursor() as cr:
        cr.execute(
            """UPDATE service_offer SET next_escalation_at = now() at time zone 'UTC' - interval '1 minute'
                WHERE state = 'offered' AND next_escalation_stage_id IS NOT NULL"""
        )
        due = cr.rowcount
    log(f"offers made due: {due}")
    code = (
        "import sys, odoo\n"
        "from odoo import api, SUPERUSER_ID\n"
        "odoo.tools.config.parse_config(['-c', sys.argv[1], '-d', sys.argv[2], '--log-level=warn'])\n"
        "registry = odoo.modules.registry.Registry(sys.argv[2])\n"
        "with registry.cursor() as cr:\n"
        "    env = api.Environment(cr, SUPERUSER_ID, {})\n"
        # as ir.cron runs it: with its progress record, so that each batch is committed
        "    cron, _progress = env.ref('crm_service_routing.ir_cron_service_escalate')._add_progress()\n"
        "    cr.commit()\n"
        "    env = env(context=cron.env.context)\n"
        "    print('started', flush=True)\n"
        "    escalated, followed = env['service.offer']._cron_escalate(batch_size=int(sys.argv[3]))\n"
        "    print(f'escalation run: {len(escalated)} escalated, {len(followed)} followed up', flush=True)\n"
    )
    command = [sys.executable, "-c", code, args.config, args.database, str(args.escalation_batch)]
    runner = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, text=True)
    # the registry loaded and the run begun: then the kill, mid-run
    runner.stdout.readline()
    time.sleep(args.kill_after)
    killed = runner.poll() is None
    if killed:
        os.killpg(runner.pid, signal.SIGKILL)
    runner.wait(10)
    with registry.cursor() as cr:
        cr.execute(
            """SELECT count(*) FROM service_offer
                WHERE state = 'offered' AND next_escalation_at <= now() at time zone 'UTC'"""
        )
        left = cr.fetchone()[0]
    log(
        f"escalation run {'killed -9' if killed else 'ended before the kill'} after {args.kill_after} s: "
        f"{due - left} of {due} due offers handled, {left} left due"
    )
    # then two runs at once (two cron workers) to the end
    runners = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _index in range(2)]
    codes = []
    for runner in runners:
        output, _errors = runner.communicate(timeout=600)
        codes.append(runner.returncode)
        log(output.replace("started\n", "").strip())
    with registry.cursor() as cr:
        cr.execute(
            """SELECT count(*) FROM service_offer
                WHERE state = 'offered' AND next_escalation_at <= now() at time zone 'UTC'"""
        )
        left = cr.fetchone()[0]
    ok = codes == [0, 0] and left == 0
    log(f"two runs at once after it: exit codes {codes}, {left} offers left due")
    log("escalation run: " + ("PASS" if ok else "FAIL"))
    return ok


def check(args):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check.sh")
    return subprocess.run([script, args.database], check=False).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--kill-after-batches", type=int, default=2, help="batches answered before the kill")
    parser.add_argument("--kill-after", type=float, default=0.5, help="seconds into the next batch or the run")
    parser.add_argument("--technicians", type=int, default=20)
    parser.add_argument("--capacity", type=int, default=200)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--escalation-batch", type=int, default=20)
    parser.add_argument("--server-log", default="fault-server.log")
    args = parser.parse_args()
    args.server_log = os.path.abspath(args.server_log)
    registry = load_intake.open_registry(args)
    zips = load_intake.setup_fixture(registry, args)
    results = [intake_run(args, registry, zips)]
    log("== consistency check after the intake run")
    results.append(check(args))
    results.append(escalation_run(args, registry))
    log("== consistency check after the escalation run")
    results.append(check(args))
    log("fault runs: " + ("PASS" if all(results) else "FAIL"))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
