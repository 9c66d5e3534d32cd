# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Escalation and follow-up decisions: plain Python over plain data, no ORM.

An SLA tier has a ladder of stages, each "after N hours without acceptance:
do X". An offer remembers how many stages of its ladder it has passed
(``step``); a stage fires once per offer, in ladder order. A stage that
closes the offer (reassign, review) ends its ladder: the new offer of a
reassignment starts its own.
"""

import dataclasses

ACTION_REMIND = "remind"
ACTION_REASSIGN = "reassign"
ACTION_NOTIFY = "notify"
ACTION_REVIEW = "review"
ACTIONS = (ACTION_REMIND, ACTION_REASSIGN, ACTION_NOTIFY, ACTION_REVIEW)
# stages after which the offer is no longer open
CLOSING_ACTIONS = frozenset({ACTION_REASSIGN, ACTION_REVIEW})

FOLLOWUP_WAIT = "wait"
FOLLOWUP_REMIND = "remind"
FOLLOWUP_NOTIFY = "notify"
FOLLOWUP_DONE = "done"


@dataclasses.dataclass(frozen=True)
class Stage:
    id: int
    after_hours: float
    action: str


def due_steps(stages, step, due_at, now):
    """Indices of the ladder stages to fire now, in order.

    ``stages`` are ordered; ``step`` stages are passed already; ``due_at(index)``
    is when stage ``index`` falls due (counted from the offer, in working or
    wall-clock time). Every due stage fires, in order, up to the first that
    closes the offer.
    """
    fired = []
    for index in range(step, len(stages)):
        if due_at(index) > now:
            break
        fired.append(index)
        if stages[index].action in CLOSING_ACTIONS:
            break
    return fired


def followup_decision(due_at_after_activity, now, misses):
    """What the follow-up of an accepted offer does now.

    ``due_at_after_activity``: when the follow-up falls due counted from the
    last activity on the inquiry; ``misses``: follow-ups already sent since.
    A first miss reminds the technician, a second one notifies the channel
    manager; then nothing until there is activity again.
    """
    if due_at_after_activity > now:
        return FOLLOWUP_WAIT
    if misses <= 0:
        return FOLLOWUP_REMIND
    if misses == 1:
        return FOLLOWUP_NOTIFY
    return FOLLOWUP_DONE
