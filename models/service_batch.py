# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one loop of the addon's scheduled actions: locked batches, committed one by one."""

from .service_constants import CONCURRENCY_ERRORS

# a run meeting a concurrent run's committed rows starts again on fresh data at most this often
MAX_CONCURRENCY_RETRIES = 5


def owns_cursor(env):
    """Whether the code runs as a scheduled action, which owns its transaction and may commit.

    ``ir.cron`` hands its progress record to the job through the context
    (``ir_cron_progress_id``). Anywhere else (a button, an RPC call, a test)
    the transaction is the caller's, not ours to commit or roll back.
    """
    return bool(env.context.get("ir_cron_progress_id"))


def run_locked_batches(env, step, batch_size, commit=None):
    """Call ``step()`` until it locks less than a full batch; [(records, result)] of the batches.

    ``step`` locks its next batch (``FOR UPDATE SKIP LOCKED``: rows another
    run holds are left to it), acts on it and returns ``(records, result)``.
    Each batch is reported to the cron as progress. With ``commit`` (by
    default: when run by the scheduled action, see ``owns_cursor``) each
    batch is committed, and a batch that meets rows a concurrent run
    committed after this snapshot began is rolled back and taken again on
    fresh data. Without it every batch stays in the caller's transaction and
    a conflict is the caller's error (an RPC call is retried by Odoo).
    """
    if commit is None:
        commit = owns_cursor(env)
    batches = []
    retries = 0
    while True:
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
        if commit:
            env.cr.commit()  # pylint: disable=invalid-commit
        if len(records) < batch_size:
            break
    return batches
