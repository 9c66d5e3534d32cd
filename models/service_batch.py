# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one loop of the addon's scheduled actions: locked batches, committed one by one."""

import threading

from .service_constants import CONCURRENCY_ERRORS

# a run meeting a concurrent run's committed rows starts again on fresh data at most this often
MAX_CONCURRENCY_RETRIES = 5


def run_locked_batches(env, step, batch_size):
    """Call ``step()`` until it locks less than a full batch; [(records, result)] of the batches.

    ``step`` locks its next batch (``FOR UPDATE SKIP LOCKED``: rows another
    run holds are left to it), acts on it and returns ``(records, result)``.
    Each batch is committed and reported to the cron as progress. A batch
    that meets rows a concurrent run committed after this snapshot began is
    rolled back and taken again on fresh data. A test (its main thread) keeps
    every batch in its own transaction and sees a conflict as an error.
    """
    testing = getattr(threading.current_thread(), "testing", False) or env.registry.in_test_mode()
    batches = []
    retries = 0
    while True:
        try:
            records, result = step()
            if not records:
                break
        except CONCURRENCY_ERRORS:
            if testing or retries >= MAX_CONCURRENCY_RETRIES:
                raise
            retries += 1
            env.cr.rollback()
            env.invalidate_all(flush=False)
            continue
        batches.append((records, result))
        env["ir.cron"]._notify_progress(
            done=sum(len(done) for done, _result in batches), remaining=int(len(records) == batch_size)
        )
        if not testing:
            env.cr.commit()  # pylint: disable=invalid-commit
        if len(records) < batch_size:
            break
    return batches
