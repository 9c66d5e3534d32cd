# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The life cycle of an inquiry and of its offers: states, events, allowed transitions.

Plain data, no ORM. ``crm.lead._service_transition`` and
``service.offer._service_transition`` are the only writers of the state
fields; they look the event up here, refuse what the table does not allow
and apply the offer event the inquiry event implies to its open offer.
"""

# ------------------------------------------------------------
# INQUIRY (crm.lead.routing_state)
# ------------------------------------------------------------
NEW = "new"  # to be routed (now, or by the backstop)
REVIEW = "review"  # held for a dispatcher (review_reason says why)
OFFERED = "offered"  # its open offer waits for the technician's answer
ACCEPTED = "accepted"  # the technician took the job
DONE = "done"  # won
CANCELLED = "cancelled"  # lost, archived or merged into another inquiry
LINKED = "linked"  # repeats an open inquiry of the same customer and equipment: handled there

LEAD_STATES = (NEW, REVIEW, OFFERED, ACCEPTED, DONE, CANCELLED, LINKED)
LEAD_OPEN_STATES = (OFFERED, ACCEPTED)  # an open offer exists
LEAD_LIVE_STATES = (NEW, REVIEW, OFFERED, ACCEPTED)  # not closed
LEAD_CLOSED_STATES = (DONE, CANCELLED)

# the state of the offer the event leaves open (merge: the head takes over a tail's open offer)
OFFER_STATE = "<open offer's state>"

# ------------------------------------------------------------
# OFFER (service.offer.state)
# ------------------------------------------------------------
O_OFFERED = "offered"
O_ACCEPTED = "accepted"
O_DECLINED = "declined"
O_WITHDRAWN = "withdrawn"  # a dispatcher gave the job to someone else, or merged the inquiry
O_EXPIRED = "expired"  # not answered in time: escalation passed it on
O_DONE = "done"  # the inquiry was won with this technician
O_CANCELLED = "cancelled"  # the inquiry was closed (lost, archived)

OFFER_STATES = (O_OFFERED, O_ACCEPTED, O_DECLINED, O_WITHDRAWN, O_EXPIRED, O_DONE, O_CANCELLED)
OFFER_OPEN_STATES = (O_OFFERED, O_ACCEPTED)

#: offer event: (states it may leave, state it enters)
OFFER_TRANSITIONS = {
    "accept": ((O_OFFERED,), O_ACCEPTED),
    "decline": ((O_OFFERED, O_ACCEPTED), O_DECLINED),
    "withdraw": ((O_OFFERED, O_ACCEPTED), O_WITHDRAWN),
    "expire": ((O_OFFERED,), O_EXPIRED),
    "done": ((O_ACCEPTED,), O_DONE),
    "cancel": ((O_OFFERED, O_ACCEPTED), O_CANCELLED),
    "restore": ((O_DONE, O_CANCELLED), O_ACCEPTED),  # a reopened inquiry gets its accepted job back
}

#: inquiry event: (states it may leave, state it enters, {open offer's state: offer event})
# (None: not a service inquiry yet)
LEAD_TRANSITIONS = {
    "open": ((None,), NEW, {}),
    "open_linked": ((None,), LINKED, {}),  # a repeat, linked at arrival: never routed on its own
    "link": ((NEW, REVIEW, OFFERED, ACCEPTED), LINKED, {O_OFFERED: "withdraw", O_ACCEPTED: "withdraw"}),
    "unlink": ((LINKED,), NEW, {}),
    "offer": ((NEW, REVIEW), OFFERED, {}),  # the caller creates the offer
    "accept": ((OFFERED,), ACCEPTED, {O_OFFERED: "accept"}),
    "decline": ((OFFERED, ACCEPTED), NEW, {O_OFFERED: "decline", O_ACCEPTED: "decline"}),
    "withdraw": ((OFFERED, ACCEPTED), NEW, {O_OFFERED: "withdraw", O_ACCEPTED: "withdraw"}),
    "expire": ((OFFERED,), NEW, {O_OFFERED: "expire"}),
    "review": ((NEW, REVIEW, OFFERED), REVIEW, {O_OFFERED: "expire"}),
    "retry": ((REVIEW,), NEW, {}),  # held no longer: corrected, data loaded
    "win": ((*LEAD_LIVE_STATES, LINKED), DONE, {O_OFFERED: "cancel", O_ACCEPTED: "done"}),
    "lose": ((*LEAD_LIVE_STATES, LINKED), CANCELLED, {O_OFFERED: "cancel", O_ACCEPTED: "cancel"}),
    "reopen": (LEAD_CLOSED_STATES, NEW, {}),
    "restore": (LEAD_CLOSED_STATES, ACCEPTED, {}),  # the caller restores the accepted offer
    "merge": ((NEW, REVIEW), OFFER_STATE, {}),  # the head takes over a merged inquiry's open offer
}

#: what each state implies, checked by PostgreSQL (see crm_lead.py and service_offer.py)
LEAD_CHECKS = {
    "service_open_has_technician": "routing_state NOT IN ('offered', 'accepted') "
    "OR (technician_id IS NOT NULL AND offered_at IS NOT NULL)",
    "service_accepted_has_time": "routing_state IS DISTINCT FROM 'accepted' OR accepted_at IS NOT NULL",
    "service_review_reason_in_review": "review_reason IS NULL OR routing_state = 'review'",
    "service_linked_has_unique": "routing_state IS DISTINCT FROM 'linked' OR service_unique_lead_id IS NOT NULL",
}
OFFER_CHECKS = {
    "declined_has_reason": "state != 'declined' OR (decline_reason IS NOT NULL AND responded_at IS NOT NULL)",
    "accepted_has_time": "state NOT IN ('accepted', 'done') OR responded_at IS NOT NULL",
    "closed_has_time": "state IN ('offered', 'accepted') OR closed_at IS NOT NULL",
}


#: for reports, over an offer aliased ``o``: its technician accepted it (the job may have ended
#: since: done, or cancelled with the inquiry), and it was answered at all (accepted or declined)
OFFER_ACCEPTED_SQL = "(o.state IN ('accepted', 'done') OR (o.state = 'cancelled' AND o.responded_at IS NOT NULL))"
OFFER_ANSWERED_SQL = f"(o.state = 'declined' OR {OFFER_ACCEPTED_SQL})"


class IllegalTransition(Exception):
    """An event the current state does not allow: (event, state) in ``args``."""


def lead_target(event, state, offer_state=None):
    """(new state, offer event or None) for ``event`` on an inquiry in ``state``; raises IllegalTransition."""
    sources, target, offer_events = LEAD_TRANSITIONS[event]
    if (state or None) not in sources:
        raise IllegalTransition(event, state)
    if target == OFFER_STATE:
        if offer_state not in OFFER_OPEN_STATES:
            raise IllegalTransition(event, state)
        target = offer_state
    return target, offer_events.get(offer_state)


def offer_target(event, state):
    """The state ``event`` takes an offer in ``state`` to; raises IllegalTransition."""
    sources, target = OFFER_TRANSITIONS[event]
    if state not in sources:
        raise IllegalTransition(event, state)
    return target
