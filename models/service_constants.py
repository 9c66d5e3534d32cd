# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Selections and markers shared by the addon's models, in one place.

The states themselves and the transitions between them are in
``engine/lifecycle.py``; here are their labels.
"""

from psycopg2 import errors as pg_errors

from ..engine import lifecycle

# errors that a concurrent transaction causes: the request is retried on them
CONCURRENCY_ERRORS = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.LockNotAvailable)

SERVICE_OCCASIONS = [
    ("repair", "Repair"),
    ("maintenance", "Maintenance"),
    ("extension", "Extension"),
    ("installation", "Installation"),
    ("assembly", "Assembly"),
    ("other", "Other"),
]
ROUTING_STATES = [
    (lifecycle.NEW, "New"),
    (lifecycle.REVIEW, "In Review"),
    (lifecycle.OFFERED, "Offered"),
    (lifecycle.ACCEPTED, "Accepted"),
    (lifecycle.DONE, "Done"),
    (lifecycle.CANCELLED, "Cancelled"),
    (lifecycle.LINKED, "Linked"),
]
OFFER_STATES = [
    (lifecycle.O_OFFERED, "Offered"),
    (lifecycle.O_ACCEPTED, "Accepted"),
    (lifecycle.O_DECLINED, "Declined"),
    (lifecycle.O_WITHDRAWN, "Withdrawn"),
    (lifecycle.O_EXPIRED, "Expired"),
    (lifecycle.O_DONE, "Job Done"),
    (lifecycle.O_CANCELLED, "Inquiry Closed"),
]
DECLINE_REASONS = [
    ("service_area", "Outside my service area"),
    ("capacity", "No capacity"),
    ("specialization", "Not my specialization"),
    ("other", "Other"),
]
DECLINE_NOTE_MAX = 2000
REVIEW_REASONS = [
    ("safety_critical", "Safety-critical equipment"),
    ("large_account", "Large account"),
    ("unknown_postal_code", "Unknown postal code"),
    ("postal_data_missing", "Postal data not loaded"),
    ("unknown_equipment", "Unknown equipment"),
    ("no_candidate", "No eligible technician"),
    ("copy", "Copy of another inquiry"),
    ("routing_error", "Routing error"),
    ("match_to_confirm", "Match to confirm"),
    ("unanswered", "Offer not answered"),
]
TRIGGERS = [
    ("create", "Inquiry created"),
    ("decline", "Declined"),
    ("manual", "Dispatcher"),
    ("cron", "Scheduled backstop"),
    ("escalation", "Escalation"),
    ("rerun", "Routed again"),
    ("reopen", "Reopened"),
    ("update", "Address or equipment corrected"),
]
MATCH_METHODS = [
    ("contract", "Contract reference"),
    ("serial", "Serial number"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("manual", "Dispatcher"),
]
OPEN_OFFER_STATES = lifecycle.OFFER_OPEN_STATES
OPEN_ROUTING_STATES = lifecycle.LEAD_OPEN_STATES
LIVE_ROUTING_STATES = lifecycle.LEAD_LIVE_STATES

# Marks the routing's own writes (context key ``service_routing_write``): a
# context that comes from outside (RPC, import, a view) cannot hold this
# object, so no caller can pass for the routing.
ROUTING_WRITE = object()
# Marks, beside ROUTING_WRITE, the routing's writes of a decision its engine
# made (context key ``service_engine_ruled``, see
# crm.lead._service_engine_ruled): the technician passed the engine's rules (an
# active technician of the inquiry's company, or of none), so the offer, its
# log and the inquiry skip the ORM's checks of the same, which would read each
# technician again.
ENGINE_RULED = object()
# Written only by crm.lead._service_transition and the routing's bookkeeping:
# a plain write, an import or a context key gets a clear error.
ROUTING_FIELDS = frozenset(
    {
        "routing_state",
        "routing_state_date",
        "technician_id",
        "offered_at",
        "accepted_at",
        "review_reason",
        "routing_attempts",
        "routing_retry_at",
        "routing_error",
        "service_review_todo",
        "service_unique_lead_id",
    }
)
