# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Routing decisions: which technician gets an inquiry, and why.

``decide()`` takes the facts of one inquiry and of its candidate technicians
and returns a :class:`Decision`: the eligible candidates ranked by the
strategy, every dropped candidate with the rule that dropped it, and the
choice. It reads no clock and no database; what it is given is all it knows,
so a decision can be replayed later from the same facts.
"""

import dataclasses
import datetime
import operator

from .postal import haversine_km

# Filters, in the order they are applied: a dropped candidate carries the
# first rule it fails.
RULE_COMPANY = "company"
RULE_INACTIVE = "inactive"
RULE_AREA = "area"
RULE_SPECIALIZATION = "specialization"
RULE_CERTIFICATION = "certification"
RULE_PAUSED = "paused"
RULE_AWAY = "away"
RULE_CAPACITY = "capacity"
RULE_DECLINED = "declined"
RULE_EXCLUDED = "excluded"
RULES = (
    RULE_COMPANY,
    RULE_INACTIVE,
    RULE_AREA,
    RULE_SPECIALIZATION,
    RULE_CERTIFICATION,
    RULE_PAUSED,
    RULE_AWAY,
    RULE_CAPACITY,
    RULE_DECLINED,
    RULE_EXCLUDED,
)

STRATEGY_ROTATION = "rotation"
STRATEGY_LEAST_LOADED = "least_loaded"
STRATEGY_BEST_RESPONSE = "best_response"
STRATEGY_NEAREST = "nearest"
STRATEGIES = (
    STRATEGY_ROTATION,
    STRATEGY_LEAST_LOADED,
    STRATEGY_BEST_RESPONSE,
    STRATEGY_NEAREST,
)

# Why an inquiry is held for a dispatcher instead of being offered.
REVIEW_SAFETY = "safety_critical"
REVIEW_LARGE_ACCOUNT = "large_account"
REVIEW_UNKNOWN_POSTAL_CODE = "unknown_postal_code"
REVIEW_POSTAL_DATA_MISSING = "postal_data_missing"
REVIEW_UNKNOWN_EQUIPMENT = "unknown_equipment"
REVIEW_NO_CANDIDATE = "no_candidate"
# a serial number or contract the caller's data do not confirm (see crm_lead_matching.py)
REVIEW_MATCH_TO_CONFIRM = "match_to_confirm"

# How a choice was made.
CHOSEN_CONTRACT = "contract"
CHOSEN_STRATEGY = "strategy"

# A technician with no answered offer in the window is scored as if it had
# accepted half of them, after a day.
NEUTRAL_ACCEPT_HOURS = 24.0
_EPOCH = datetime.datetime(1970, 1, 1)


@dataclasses.dataclass(frozen=True)
class Inquiry:
    """What routing needs to know of an inquiry."""

    company_id: int
    # the equipment type and its ancestors: a specialization in any covers it
    equipment_type_ids: frozenset = frozenset()
    # set when the inquiry's SLA tier asks for a certification
    required_certification_id: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    existing_customer: bool = False
    contract_technician_id: int | None = None
    declined_technician_ids: frozenset = frozenset()
    # passed over on purpose: Route Again does not offer the job to its current technician
    excluded_technician_ids: frozenset = frozenset()
    safety_critical: bool = False
    large_account: bool = False
    postal_code_known: bool = True
    # False when the country's postal data are not loaded yet: the code may be fine
    postal_data_loaded: bool = True
    equipment_known: bool = True
    # the caller named a serial number or contract its data do not confirm
    match_to_confirm: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class AreaHit:
    """A service area of a candidate found near the inquiry.

    ``kind`` is ``range`` (the postal code lies in a range: it covers) or
    ``radius`` (its base lies ``distance_km`` from the inquiry: it covers when
    that is within ``radius_km``).
    """

    kind: str
    distance_km: float | None = None
    radius_km: float | None = None

    def covers(self):
        if self.kind == "range":
            return True
        return self.distance_km is not None and self.distance_km <= self.radius_km


# Candidate, Ranked and Dropped are built by the hundred at every routing and never changed once
# built: they are not frozen, as a frozen dataclass sets each member through object.__setattr__,
# which makes it three to four times as slow to build (210 candidates: 1.05 ms frozen, 0.26 ms not).
# An AreaHit stays frozen: one object stands for every postal-code range hit.
@dataclasses.dataclass(slots=True)
class Candidate:
    """What routing needs to know of a technician."""

    id: int
    name: str = ""
    company_id: int | None = None
    active: bool = True
    area_hits: tuple = ()
    specialization_ids: frozenset = frozenset()
    certification_ids: frozenset = frozenset()
    paused: bool = False
    away_until: datetime.date | None = None
    capacity: int = 1
    open_count: int = 0
    latitude: float | None = None
    longitude: float | None = None
    last_offered_at: datetime.datetime | None = None
    # id of the technician's last offer: orders offers made in the same second
    last_offer_seq: int = 0
    # offers the technician was owed minus offers it got: every decision owes
    # each eligible technician 1/n of an offer, the chosen one is paid one
    rotation_credit: float = 0.0
    offers_answered: int = 0
    offers_accepted: int = 0
    mean_accept_hours: float | None = None


@dataclasses.dataclass(slots=True)
class Ranked:
    id: int
    rank: int
    score: float
    detail: str


@dataclasses.dataclass(slots=True)
class Dropped:
    id: int
    rule: str
    detail: str


@dataclasses.dataclass(frozen=True)
class Decision:
    strategy: str
    technician_id: int | None
    chosen_by: str | None
    review_reason: str | None
    ranking: tuple
    dropped: tuple
    contract_note: str | None = None

    def to_json(self):
        """A JSON-serialisable form, as stored in the routing log."""
        data = {
            "strategy": self.strategy,
            "technician_id": self.technician_id,
            "chosen_by": self.chosen_by,
            "review_reason": self.review_reason,
            "contract_note": self.contract_note,
            # hundreds of each at scale: their members are never null nor left out
            "ranking": [{"id": r.id, "rank": r.rank, "score": r.score, "detail": r.detail} for r in self.ranking],
            "dropped": [{"id": d.id, "rule": d.rule, "detail": d.detail} for d in self.dropped],
        }
        return {key: value for key, value in data.items() if value is not None}


def review_reason(inquiry):
    """Why the inquiry must go to a dispatcher before any technician, if it must."""
    if inquiry.safety_critical:
        return REVIEW_SAFETY
    if inquiry.match_to_confirm:
        return REVIEW_MATCH_TO_CONFIRM
    if inquiry.large_account:
        return REVIEW_LARGE_ACCOUNT
    if not inquiry.equipment_known:
        return REVIEW_UNKNOWN_EQUIPMENT
    if not inquiry.postal_code_known:
        return REVIEW_UNKNOWN_POSTAL_CODE if inquiry.postal_data_loaded else REVIEW_POSTAL_DATA_MISSING
    return None


def distance_km(inquiry, candidate):
    """Shortest distance from the inquiry to the candidate's base or a radius area's base."""
    distances = [hit.distance_km for hit in candidate.area_hits if hit.distance_km is not None]
    if None not in (inquiry.latitude, inquiry.longitude, candidate.latitude, candidate.longitude):
        distances.append(haversine_km(inquiry.latitude, inquiry.longitude, candidate.latitude, candidate.longitude))
    return min(distances) if distances else None


def check(inquiry, candidate, today):
    """The first rule ``candidate`` fails for ``inquiry``, as ``(rule, detail)``; None if eligible."""
    if candidate.company_id and candidate.company_id != inquiry.company_id:
        return RULE_COMPANY, "belongs to another company"
    if not candidate.active:
        return RULE_INACTIVE, "archived or not a technician"
    if not any(hit.covers() for hit in candidate.area_hits):
        radius = [hit for hit in candidate.area_hits if hit.kind == "radius"]
        if radius:
            nearest = min(radius, key=lambda hit: float("inf") if hit.distance_km is None else hit.distance_km)
            if nearest.distance_km is None:
                return RULE_AREA, f"distance unknown, covers {nearest.radius_km:.1f} km"
            return RULE_AREA, f"{nearest.distance_km:.1f} km away, covers {nearest.radius_km:.1f} km"
        return RULE_AREA, "postal code outside the service areas"
    if inquiry.equipment_type_ids and not (candidate.specialization_ids & inquiry.equipment_type_ids):
        return RULE_SPECIALIZATION, "not specialised in this equipment"
    if inquiry.required_certification_id and inquiry.required_certification_id not in candidate.certification_ids:
        return RULE_CERTIFICATION, "not certified for this service level"
    if candidate.paused:
        return RULE_PAUSED, "paused"
    if candidate.away_until and candidate.away_until >= today:
        return RULE_AWAY, f"away until {candidate.away_until.isoformat()}"
    if candidate.open_count >= candidate.capacity:
        return RULE_CAPACITY, f"{candidate.open_count} of {candidate.capacity} open inquiries"
    if candidate.id in inquiry.declined_technician_ids:
        return RULE_DECLINED, "declined this inquiry before"
    if candidate.id in inquiry.excluded_technician_ids:
        return RULE_EXCLUDED, "had the job when a dispatcher routed it again"
    return None


def _rotation_key(candidate):
    """Fair rotation: the largest credit first, then the least recently offered, then the id."""
    return (
        -round(candidate.rotation_credit, 9),
        candidate.last_offer_seq,
        candidate.last_offered_at or _EPOCH,
        candidate.id,
    )


def acceptance_score(candidate):
    """Smoothed acceptance rate divided by (1 + hours to accept / 24)."""
    rate = (candidate.offers_accepted + 1) / (candidate.offers_answered + 2)
    hours = candidate.mean_accept_hours
    if hours is None:
        hours = NEUTRAL_ACCEPT_HOURS
    return rate / (1.0 + hours / 24.0)


def _rank(strategy, inquiry, candidates):
    """[(candidate, score, detail)] best first; ties end on rotation, then id."""
    if strategy == STRATEGY_LEAST_LOADED:
        rows = [(c, c.open_count / c.capacity, f"{c.open_count} of {c.capacity} open") for c in candidates]
        rows.sort(key=lambda row: (row[1], row[0].open_count, _rotation_key(row[0])))
    elif strategy == STRATEGY_BEST_RESPONSE:
        rows = []
        for c in candidates:
            score = acceptance_score(c)
            hours = "-" if c.mean_accept_hours is None else f"{c.mean_accept_hours:.1f} h"
            detail = f"accepted {c.offers_accepted} of {c.offers_answered}, time to accept {hours}"
            rows.append((c, score, detail))
        rows.sort(key=lambda row: (-round(row[1], 9), _rotation_key(row[0])))
    elif strategy == STRATEGY_NEAREST:
        rows = []
        for c in candidates:
            dist = distance_km(inquiry, c)
            rows.append((c, dist, "distance unknown" if dist is None else f"{dist:.1f} km"))
        rows.sort(key=lambda row: (float("inf") if row[1] is None else row[1], _rotation_key(row[0])))
    elif strategy == STRATEGY_ROTATION:
        rows = []
        for c in candidates:
            last = c.last_offered_at
            detail = f"credit {c.rotation_credit:+.2f}, last offer {last.isoformat(sep=' ') if last else 'never'}"
            rows.append((c, c.rotation_credit, detail))
        rows.sort(key=lambda row: _rotation_key(row[0]))
    else:
        raise ValueError(f"unknown routing strategy {strategy!r}")
    return rows


def rotation_credits(decision):
    """{technician id: credit change} once ``decision``'s offer is made.

    Each eligible technician is owed 1/n of the offer, the chosen one gets it.
    Summed over time, a technician's credit is its fair share of the offers
    it was eligible for minus the offers it got; rotation serves the largest
    credit first, so no technician falls behind however the areas overlap.
    """
    if not decision.technician_id:
        return {}
    eligible = [row.id for row in decision.ranking]
    changes = dict.fromkeys(eligible, 1.0 / len(eligible)) if eligible else {}
    changes[decision.technician_id] = changes.get(decision.technician_id, 0.0) - 1.0
    return changes


def decide(inquiry, candidates, strategy, today):
    """Rank ``candidates`` for ``inquiry`` and choose one.

    The contract technician of an existing customer is chosen first when
    eligible; otherwise ``contract_note`` says why not and the strategy
    chooses. No eligible candidate, or an inquiry that needs review, gives a
    decision with no technician and a ``review_reason``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown routing strategy {strategy!r}")
    seen = set()
    eligible, dropped = [], []
    for candidate in sorted(candidates, key=lambda c: c.id):
        if candidate.id in seen:
            continue
        seen.add(candidate.id)
        failed = check(inquiry, candidate, today)
        if failed:
            dropped.append(Dropped(candidate.id, failed[0], failed[1]))
        else:
            eligible.append(candidate)
    rows = _rank(strategy, inquiry, eligible)
    ranking = tuple(
        Ranked(c.id, index, float(score) if score is not None else 0.0, detail)
        for index, (c, score, detail) in enumerate(rows, start=1)
    )

    contract_note = None
    contract_id = inquiry.contract_technician_id if inquiry.existing_customer else None
    if contract_id:
        if contract_id in {c.id for c in eligible}:
            contract_note = "contract technician is eligible"
        else:
            rule = next((d for d in dropped if d.id == contract_id), None)
            contract_note = (
                f"contract technician dropped: {rule.rule} ({rule.detail})"
                if rule
                else "contract technician is not a candidate"
            )

    held = review_reason(inquiry)
    if held:
        return Decision(strategy, None, None, held, ranking, tuple(dropped), contract_note)
    if not ranking:
        return Decision(strategy, None, None, REVIEW_NO_CANDIDATE, ranking, tuple(dropped), contract_note)
    if contract_id and any(r.id == contract_id for r in ranking):
        return Decision(strategy, contract_id, CHOSEN_CONTRACT, None, ranking, tuple(dropped), contract_note)
    return Decision(strategy, ranking[0].id, CHOSEN_STRATEGY, None, ranking, tuple(dropped), contract_note)


# ------------------------------------------------------------
# FACTS AS JSON: stored with each decision, read back for a replay
# ------------------------------------------------------------


def _encode(value):
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_to_json(item) if dataclasses.is_dataclass(item) else item for item in value]
    return value


# (name, default) of the fields of each dataclass written to JSON
_JSON_FIELDS = {}


def _to_json(item):
    """A dataclass instance as a JSON object without the members that are null or hold their
    default: the object reads back the same (the dataclass fills them in), in a fraction of
    the space a decision among hundreds of candidates would take."""
    fields = _JSON_FIELDS.get(type(item))
    if fields is None:
        fields = _JSON_FIELDS[type(item)] = tuple((f.name, f.default) for f in dataclasses.fields(item))
    result = {}
    for name, default in fields:
        value = getattr(item, name)
        if value is None or (default is not dataclasses.MISSING and value == default):
            continue
        result[name] = _encode(value)
    return result


# (name, default) of each member of Candidate, in order: the columns of the stored candidates
_CANDIDATE_COLUMNS = tuple((f.name, f.default) for f in dataclasses.fields(Candidate))
# a candidate's members, in that order, as a tuple
_CANDIDATE_MEMBERS = operator.attrgetter(*(name for name, _default in _CANDIDATE_COLUMNS))


def _null_to_json(value):
    # XML-RPC, which integrations read decisions over, has no null: false stands for none, as in Odoo
    return False if value is None else value


def _null_from_json(value):
    return None if value is False else value


def _column_to_json(name, default, values):
    if name == "area_hits":
        return [
            [[hit.kind, _null_to_json(hit.distance_km), _null_to_json(hit.radius_km)] for hit in hits]
            for hits in values
        ]
    if name in ("specialization_ids", "certification_ids"):
        return [sorted(ids) for ids in values]
    if name in ("away_until", "last_offered_at"):
        return [value.isoformat() if value else False for value in values]
    if default is None:
        return [_null_to_json(value) for value in values]
    return list(values)


# default of each member of Candidate: a member whose default is None was stored as false when none
_CANDIDATE_DEFAULTS = dict(_CANDIDATE_COLUMNS)


def _member_from_json(name, value):
    """A member of a stored candidate back, from either stored form (an area hit is an object in the form
    stored before the candidates were stored by column, a triple since)."""
    if name == "area_hits":
        return tuple(
            AreaHit(**hit) if isinstance(hit, dict) else AreaHit(*map(_null_from_json, hit)) for hit in value or ()
        )
    if name in ("specialization_ids", "certification_ids"):
        return frozenset(value or ())
    if name == "away_until":
        return datetime.date.fromisoformat(value) if value else None
    if name == "last_offered_at":
        return datetime.datetime.fromisoformat(value) if value else None
    if _CANDIDATE_DEFAULTS[name] is None:
        return _null_from_json(value)
    return value


def facts_to_json(inquiry, candidates):
    """The input of a decision, JSON-serialisable.

    The candidates are stored by column, ``{member: [value of each candidate]}``, a member
    that holds its default for every candidate left out: a decision among 200 technicians
    stores their names and members once each, not 200 objects with their keys (half the
    size, and written in a fraction of the time)."""
    if not candidates:
        return {"inquiry": _to_json(inquiry), "candidates": {"id": []}}
    columns = {}
    # one tuple of values per member: the transpose of one tuple of members per candidate
    members = zip(*map(_CANDIDATE_MEMBERS, candidates), strict=True)
    for (name, default), values in zip(_CANDIDATE_COLUMNS, members, strict=True):
        if name == "id" or values.count(default) != len(values):
            columns[name] = _column_to_json(name, default, values)
    return {"inquiry": _to_json(inquiry), "candidates": columns}


def facts_from_json(data):
    """(Inquiry, [Candidate]) back from :func:`facts_to_json`; also from the form stored before the
    candidates were stored by column (a list of objects)."""
    raw = dict(data["inquiry"])
    for key in ("equipment_type_ids", "declined_technician_ids", "excluded_technician_ids"):
        raw[key] = frozenset(raw.get(key) or ())
    inquiry = Inquiry(**raw)
    stored = data["candidates"]
    if isinstance(stored, dict):
        # by column: {member: [value of each candidate]}
        names = [name for name in _CANDIDATE_DEFAULTS if name in stored]
        stored = [dict(zip(names, row, strict=True)) for row in zip(*(stored[name] for name in names), strict=True)]
    candidates = [
        Candidate(**{name: _member_from_json(name, value) for name, value in item.items()}) for item in stored
    ]
    return inquiry, candidates
