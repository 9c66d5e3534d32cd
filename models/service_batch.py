# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one loop of the addon's scheduled actions: locked batches, committed one by one."""

import os
import time

from odoo import fields

from .service_constants import CONCURRENCY_ERRORS

# a run meeting a concurrent run's committed rows starts again on fresh data at most this often
MAX_CONCURRENCY_RETRIES = 5
# seconds a scheduled action's run goes on taking batches; then it leaves the rest to its next
# run, woken at once: Odoo stops a cron worker whose run takes longer than limit_time_real
# (120 s by default), and work keeps arriving while it runs
TIME_BUDGET = 60
# postcommit.data key: the cron workers are told after this transaction's commit
CRON_WORKERS_TOLD = "crm_service_routing.cron_workers_told"


def owns_cursor(env):
    """Whether the code runs as a scheduled action, which owns its transaction and may commit.

    ``ir.cron`` hands its progress record to the job through the context
    (``ir_cron_progress_id``). Anywhere else (a button, an RPC call, a test)
    the transaction is the caller's, not ours to commit or roll back.
    """
    return bool(env.context.get("ir_cron_progress_id"))


# wake_cron's one statement; made by crm.lead's init()
WAKE_CRON_FUNCTION = """
    CREATE OR REPLACE FUNCTION service_wake_cron(
        p_cron integer, p_at timestamp, p_now timestamp, p_uid integer, p_made integer[]
    ) RETURNS integer LANGUAGE plpgsql AS $$
    DECLARE
        made integer;
    BEGIN
        INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid, write_uid, create_date, write_date)
        SELECT c.id, p_at, p_uid, p_uid, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
          FROM ir_cron c
         WHERE c.id = p_cron AND c.active
           AND NOT EXISTS (SELECT 1 FROM ir_cron_trigger t WHERE t.id = ANY(p_made))
           AND NOT (p_at > p_now AND (c.nextcall > p_now AND c.nextcall <= p_at
                                      OR EXISTS (SELECT 1 FROM ir_cron_trigger t
                                                  WHERE t.cron_id = c.id AND t.call_at > p_now
                                                    AND t.call_at <= p_at)))
        RETURNING id INTO made;
        RETURN made;
    END $$
"""


def wake_cron(env, xmlid, at, made=()):
    """Wake the scheduled action ``xmlid`` at ``at``, unless it is archived or gone, or a trigger or its
    next call still to come runs it by then; returns the trigger made, if any.

    Only what is still to come counts: a trigger or a ``nextcall`` already
    due may be the one a running action consumes (it deletes its past
    triggers when it ends), and that run may have locked its batch before
    the caller's rows were committed. ``made``: triggers this transaction
    made for it by ``at``; one of them still there (not undone with a
    savepoint) counts, due or not, as no run can use it up before this
    transaction commits. One statement decides and makes the trigger (every
    intake wakes the escalation for its offer): what ``ir.cron._trigger``
    does, without reading the scheduled action once more, and its workers
    told once per transaction. The statement is a function's
    (``WAKE_CRON_FUNCTION``), so that it is planned once per connection:
    planned at every call, it took three times as long (0.37 against 0.13 ms).
    """
    cron_id = env["ir.model.data"]._xmlid_to_res_id(xmlid, raise_if_not_found=False)
    if not cron_id:
        return None
    cron = env["ir.cron"].sudo().browse(cron_id)
    cron.flush_recordset(["active", "nextcall"])
    now = fields.Datetime.now()
    env.cr.execute("SELECT service_wake_cron(%s, %s, %s, %s, %s)", (cron_id, at, now, env.uid, list(made)))
    row = env.cr.fetchone()
    if not row[0]:
        return None
    if at <= now or os.getenv("ODOO_NOTIFY_CRON_CHANGES"):
        notify_cron_workers(env, cron)
    return env["ir.cron.trigger"].sudo().browse(row[0])


def notify_cron_workers(env, cron):
    """Tell the cron workers after the commit that a trigger is due (``ir.cron._notifydb``), once per
    transaction: the message wakes them for every scheduled action of the database."""
    postcommit = env.cr.postcommit
    if not postcommit.data.get(CRON_WORKERS_TOLD):
        postcommit.data[CRON_WORKERS_TOLD] = True
        postcommit.add(cron._notifydb)


def run_locked_batches(env, step, batch_size, commit=None, time_budget=None):
    """Call ``step()`` until it locks less than a full batch; [(records, result)] of the batches.

    ``step`` locks its next batch (``FOR UPDATE SKIP LOCKED``: rows another
    run holds are left to it), acts on it and returns ``(records, result)``.
    Each batch is reported to the cron as progress. With ``commit`` (by
    default: when run by the scheduled action, see ``owns_cursor``) each
    batch is committed, and a batch that meets rows a concurrent run
    committed after this snapshot began is rolled back and taken again on
    fresh data. Without it every batch stays in the caller's transaction and
    a conflict is the caller's error (an RPC call is retried by Odoo).
    No batch is taken that would end past ``time_budget`` seconds (by default
    TIME_BUDGET when committing, none otherwise), judging it by the batch
    before: the scheduled action is woken again for the rest. Under load a
    batch of mails takes tens of seconds, and a run that started one more
    just before its budget was spent went on that long past it, towards the
    scheduler's time limit.
    """
    if commit is None:
        commit = owns_cursor(env)
    if time_budget is None and commit:
        time_budget = TIME_BUDGET
    deadline = time.monotonic() + time_budget if time_budget is not None else None
    batches = []
    retries = 0
    while True:
        started = time.monotonic()
        try:
            records, result = step()
            if not records:
                break
        except CONCURRENCY_ERRORS:
            if not commit or retries >= MAX_CONCURRENCY_RETRIES:
                raise
            retries += 1
            env.cr.rollback()
            env.invalidate_all(flush=False)
            continue
        batches.append((records, result))
        env["ir.cron"]._notify_progress(
            done=sum(len(done) for done, _result in batches), remaining=int(len(records) == batch_size)
        )
        finished = len(records) < batch_size
        now = time.monotonic()
        # the next batch would take as long as this one
        out_of_time = not finished and deadline is not None and now + (now - started) >= deadline
        if out_of_time:
            # the rest in the next run, woken at once (this one reports nothing left: ir.cron ends it)
            env["ir.cron"]._notify_progress(done=sum(len(done) for done, _result in batches), remaining=0)
            cron = env["ir.cron"].browse(env.context.get("cron_id")).exists()
            if cron:
                cron.sudo()._trigger()
        if commit:
            env.cr.commit()  # pylint: disable=invalid-commit
        if finished or out_of_time:
            break
    return batches
