# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import dataclasses
import hashlib
import json
import logging
import re

from psycopg2 import IntegrityError

from odoo import api, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY, _as_validation_error
from odoo.tools import plaintext2html

from ..engine import routing as engine
from .crm_lead import SERVICE_OCCASIONS
from .service_input import CONTROL_CHARACTERS, MULTILINE_CONTROL_CHARACTERS, InputRangeError, parse_datetime
from .service_intake_key import KEY_SIZE, SOURCE_SIZE

_logger = logging.getLogger(__name__)

# Keys an integration may send to submit_service_request(), and what they become.
INTAKE_KEYS = {
    "external_ref": None,  # the key: a service.intake.key, not a value of the inquiry
    "source": "service_intake_source",
    "service_occasion": "service_occasion",
    "name": "name",
    "description": "description",
    "contact_name": "contact_name",
    "partner_name": "partner_name",
    "email": "email_from",
    "phone": "phone",
    "street": "street",
    "street2": "street2",
    "zip": "zip",
    "city": "city",
    "country": None,
    "equipment": None,
    "serial_number": "serial_number",
    "contract": "contract_ref",
    "service_level": None,
    "preferred_appointment": "preferred_appointment",
    "utm_source": None,
    "utm_medium": None,
    "utm_campaign": None,
    "notify_customer": "notify_customer",  # customer notice: see crm_lead_customer_notice.py
}
# Marketing channel keys: a name (created when unknown, as utm does) or an id, and the field each fills.
INTAKE_UTM_KEYS = {
    "utm_source": ("source_id", "utm.source"),
    "utm_medium": ("medium_id", "utm.medium"),
    "utm_campaign": ("campaign_id", "utm.campaign"),
}
# The longest text each key takes (after trimming): beyond it, a ValidationError.
INTAKE_MAX_LENGTHS = {
    "external_ref": KEY_SIZE,
    "source": SOURCE_SIZE,
    "service_occasion": 64,
    "name": 200,
    "description": 10000,
    "contact_name": 200,
    "partner_name": 200,
    "email": 254,
    "phone": 32,
    "street": 200,
    "street2": 200,
    "zip": 20,
    "city": 200,
    "country": 64,
    "equipment": 64,
    "serial_number": 64,
    "contract": 64,
    "service_level": 64,
    "preferred_appointment": 64,
    "utm_source": 100,
    "utm_medium": 100,
    "utm_campaign": 100,
}
# Keys whose text may span lines: line breaks and tabs are allowed there.
INTAKE_MULTILINE_KEYS = {"description"}
# Control characters (Unicode Cc) and lone surrogates, which no text field takes:
# CONTROL_CHARACTERS, MULTILINE_CONTROL_CHARACTERS (service_input, shared with the portal).
SOURCE_PATTERN = re.compile(r"[A-Za-z0-9_.:-]+")
# Keys that name a request rather than describe it: not part of its fingerprint.
INTAKE_KEY_FIELDS = ("external_ref", "source")
# The most requests one submit_service_requests() call takes.
INTAKE_BATCH_LIMIT = 200
# Review reasons the request alone shows (what it sent is unknown here, or
# names a serial number or contract its own data do not confirm): the caller
# is told these. Every other reason (the customer matched, the equipment's
# safety flag, the technicians available, the postal data loaded) is told as
# ``review``, and the reason told is worked out from the request's facts
# only, so that no other reason shows through which one is told.
INTAKE_TOLD_REVIEW_REASONS = frozenset({"match_to_confirm", "unknown_equipment", "unknown_postal_code"})


class CrmLead(models.Model):
    """Intake: service inquiries from integrations (XML-RPC / JSON-RPC)."""

    _inherit = "crm.lead"

    def init(self):
        res = super().init()
        # the external references are kept by service.intake.key alone: the
        # unique index the inquiry had on them, and the index of their former
        # column, go (the column's values are taken over by the keys: see
        # ServiceIntakeKey.init())
        self.env.cr.execute("DROP INDEX IF EXISTS crm_lead_service_external_ref_uniq")
        self.env.cr.execute("DROP INDEX IF EXISTS crm_lead__service_external_ref_index")
        return res

    # ------------------------------------------------------------
    # EXTERNAL REFERENCE (kept by service.intake.key)
    # ------------------------------------------------------------

    def _compute_service_external_ref(self):
        refs = {}
        ids = [lead_id for lead_id in self.ids if lead_id]
        if ids:
            self.env.cr.execute(
                """SELECT lead_id, string_agg(key, ', ' ORDER BY id) FROM service_intake_key
                    WHERE lead_id = ANY(%s) GROUP BY lead_id""",
                [ids],
            )
            refs = dict(self.env.cr.fetchall())
        for lead in self:
            lead.service_external_ref = refs.get(lead.id, False)

    def _search_service_external_ref(self, operator, value):
        negative = operator in expression.NEGATIVE_TERM_OPERATORS
        if value is False or value is None:
            domain, negative = [], not negative  # = False: no key at all
        else:
            positive = expression.TERM_OPERATORS_NEGATION[operator] if negative else operator
            domain = [("key", positive, value)]
        keys = self.env["service.intake.key"].sudo()._search([*domain, ("lead_id", "!=", False)])
        return [("id", "not in" if negative else "in", keys.subselect("lead_id"))]

    def _inverse_service_external_ref(self):
        """An external reference set by a plain create: a key of its own (no fingerprint: no
        request of the intake matches it), refused when the key is taken."""
        Key = self.env["service.intake.key"]
        self.env.cr.execute(
            "SELECT lead_id, key FROM service_intake_key WHERE lead_id = ANY(%s) ORDER BY id", [self.ids]
        )
        held = {}
        for lead_id, key in self.env.cr.fetchall():
            held.setdefault(lead_id, []).append(key)
        for lead in self:
            ref = (lead.service_external_ref or "").strip()
            if lead.id in held:
                # the same value again (a form sending what it shows) is no change
                if ref not in held[lead.id] and ref != ", ".join(held[lead.id]):
                    raise UserError(
                        self.env._(
                            "The external reference of %(lead)s cannot be changed: its integration retries under it.",
                            lead=lead.display_name,
                        )
                    )
                continue
            if not ref:
                continue
            if len(ref) > KEY_SIZE:
                raise ValidationError(
                    self.env._("An external reference has at most %(limit)s characters.", limit=KEY_SIZE)
                )
            company_id = lead.company_id.id or self.env.company.id
            if not Key._reserve(company_id, lead.service_intake_source or "", ref, None, lead.id):
                raise ValidationError(self.env._("An external reference is used once per company and source."))
        self.invalidate_recordset(["service_external_ref"])

    # ------------------------------------------------------------
    # INTAKE
    # ------------------------------------------------------------

    @api.model
    def submit_service_request(self, values):
        """Create (and route) one service inquiry from an integration.

        ``values`` uses the keys of ``INTAKE_KEYS`` (see README). Returns a
        dict: id, status (``created``, ``linked`` or ``duplicate``), the caller's external
        reference, routing state and, when held for review, its reason: never
        what the inquiry was matched to (see :meth:`_service_intake_result`).
        A serial number or contract links its customer only when the
        request's postal code or e-mail confirm it. Raises ValidationError
        with a specific message on bad input; nothing is saved then.

        ``external_ref`` is an idempotency key, unique per company and
        ``source`` (default: the calling user). The same request sent again
        returns the inquiry it created with status ``duplicate``, also when
        the two race: the later one waits for the first and fails with a
        serialization error once it commits, which must reach the request
        layer (``odoo.service.model.retrying``) so that the call is retried on
        a snapshot that shows the key. Another request under a used key is
        refused.
        """
        if not isinstance(values, dict):
            raise ValidationError(self.env._("A service request must be a dictionary of values."))
        values = self._service_intake_clean(values)
        ref = values.get("external_ref")
        if not ref:
            return self._service_intake_create(self._service_intake_vals(values))._service_intake_result("created", ref)
        Key = self.env["service.intake.key"]
        company_id, source = self.env.company.id, self._service_intake_source(values)
        fingerprint = self._service_intake_fingerprint(values)
        # the key first (one query for a new key): a request that turns out
        # bad below leaves nothing, its transaction (or savepoint) rolled back
        key_id = Key._reserve(company_id, source, ref, fingerprint)
        if not key_id:
            # a retry answers with what the first request created, whatever has
            # changed since (an appointment now past, a retired SLA tier)
            return self._service_intake_duplicate(Key._lookup(company_id, source, ref), ref, source, fingerprint)
        lead = self._service_intake_create(self._service_intake_vals(values))
        Key._attach(key_id, lead.id)
        return lead._service_intake_result("created", ref)

    @api.model
    def submit_service_requests(self, values_list):
        """Batch form of :meth:`submit_service_request`, for at most
        ``INTAKE_BATCH_LIMIT`` requests.

        Each request is created and routed on its own (in a savepoint): a bad
        one gives ``{"status": "error", "error": message, "index": n}`` at its
        position and does not stop the others. Concurrency errors are no bad
        requests: they propagate, and the whole batch is retried. The batch's
        keys are locked first, in one order: batches that share keys wait for
        each other instead of deadlocking.
        """
        if not isinstance(values_list, list | tuple):
            raise ValidationError(self.env._("Service requests must be a list of dictionaries."))
        if len(values_list) > INTAKE_BATCH_LIMIT:
            raise ValidationError(
                self.env._(
                    "A batch takes at most %(limit)s service requests, this one has %(count)s: "
                    "send them in several batches.",
                    limit=INTAKE_BATCH_LIMIT,
                    count=len(values_list),
                )
            )
        self.env["service.intake.key"]._lock(self._service_intake_batch_keys(values_list))
        results = []
        for index, values in enumerate(values_list):
            try:
                with self.env.cr.savepoint():
                    result = self.submit_service_request(values)
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                raise
            except UserError as error:  # ValidationError, AccessError, ...
                result = {"status": "error", "error": error.args[0], "index": index}
            except IntegrityError as error:
                result = {"status": "error", "error": _as_validation_error(self.env, error).args[0], "index": index}
            except Exception as error:
                _logger.exception("Service request %s of a batch failed.", index)
                result = {"status": "error", "error": self._service_intake_crash_message(error), "index": index}
            results.append(result)
        return results

    @api.model
    def _service_intake_clean(self, values):
        """The request's texts trimmed, without empty ones, checked for
        unknown keys, type, length and control characters."""
        unknown = sorted(set(values) - set(INTAKE_KEYS))
        if unknown:
            raise ValidationError(
                self.env._(
                    "Unknown fields in the service request: %(fields)s. Allowed: %(allowed)s.",
                    fields=", ".join(unknown),
                    allowed=", ".join(sorted(INTAKE_KEYS)),
                )
            )
        values, cleaned = self._service_notice_intake_split(values)  # customer notice: the notify_customer flag
        for key, value in values.items():
            if value is None or value is False:
                continue
            if key in INTAKE_UTM_KEYS and isinstance(value, int) and not isinstance(value, bool):
                cleaned[key] = value
                continue
            if not isinstance(value, str):
                raise ValidationError(self.env._("The field %(field)s must be text.", field=key))
            value = value.strip()
            if key in INTAKE_MULTILINE_KEYS:
                value = value.replace("\r\n", "\n").replace("\r", "\n")
            if len(value) > INTAKE_MAX_LENGTHS[key]:
                raise ValidationError(
                    self.env._(
                        "The field %(field)s is too long: %(length)s characters, at most %(limit)s.",
                        field=key,
                        length=len(value),
                        limit=INTAKE_MAX_LENGTHS[key],
                    )
                )
            multiline = key in INTAKE_MULTILINE_KEYS
            bad = (MULTILINE_CONTROL_CHARACTERS if multiline else CONTROL_CHARACTERS).search(value)
            if bad:
                character = f"U+{ord(bad.group()):04X}"
                message = (
                    self.env._(
                        "The field %(field)s contains the control character %(character)s; "
                        "only line breaks and tabs are allowed.",
                        field=key,
                        character=character,
                    )
                    if multiline
                    else self.env._(
                        "The field %(field)s contains the control character %(character)s; send it as a single line "
                        "of text.",
                        field=key,
                        character=character,
                    )
                )
                raise ValidationError(message)
            if value:
                cleaned[key] = value
            elif key in INTAKE_KEY_FIELDS:
                raise ValidationError(
                    self.env._("The field %(field)s is blank: send a value, or leave the field out.", field=key)
                )
        if cleaned.get("source") and not SOURCE_PATTERN.fullmatch(cleaned["source"]):
            raise ValidationError(
                self.env._(
                    "The source %(code)s is not a code: use letters, digits and _ . : - only (e.g. webform, hotline).",
                    code=cleaned["source"],
                )
            )
        return cleaned

    @api.model
    def _service_intake_batch_keys(self, values_list):
        """The idempotency keys (company id, source, external reference) of a batch's good requests."""
        keys = set()
        for values in values_list:
            try:
                values = self._service_intake_clean(values) if isinstance(values, dict) else {}
            except ValidationError:
                continue  # reported with the request
            if values.get("external_ref"):
                keys.add((self.env.company.id, self._service_intake_source(values), values["external_ref"]))
        return keys

    @api.model
    def _service_intake_source(self, values):
        """The scope of the request's external reference: the source sent, else the calling user."""
        return values.get("source") or f"user:{self.env.uid}"

    @api.model
    def _service_intake_fingerprint(self, values):
        """SHA-256 of the cleaned request (without its key) as canonical JSON."""
        payload = {key: value for key, value in values.items() if key not in INTAKE_KEY_FIELDS}
        text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @api.model
    def _service_intake_duplicate(self, used, ref, source, fingerprint):
        """The result for a key already used: the same request again, or a refusal."""
        lead_id, used_fingerprint = used
        if used_fingerprint != fingerprint:
            raise ValidationError(
                self.env._(
                    "The external reference %(ref)s of source %(code)s was already used for another request "
                    "(inquiry %(lead)s); send a new external reference for a new request.",
                    ref=ref,
                    code=source,
                    lead=lead_id,
                )
            )
        return self.browse(lead_id)._service_intake_result("duplicate", ref)

    @api.model
    def _service_intake_crash_message(self, error):
        """What the caller of a batch learns about an unexpected error (logged in full)."""
        detail = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
        kind = type(error).__name__
        summary = f"{kind}: {detail}" if detail else kind
        return self.env._(
            "The request could not be saved because of an unexpected error (%(error)s); the other requests "
            "are not affected. Check this request or report the error to the administrator.",
            error=summary,
        )

    @api.model
    def _service_intake_vals(self, values):
        values = self._service_intake_clean(values)
        vals = {INTAKE_KEYS[key]: value for key, value in values.items() if INTAKE_KEYS[key]}
        vals["service_intake_source"] = self._service_intake_source(values)
        vals["company_id"] = self.env.company.id
        vals["type"] = "lead" if self.env.user.has_group("crm.group_use_lead") else "opportunity"
        if not vals.get("service_occasion"):
            raise ValidationError(
                self.env._(
                    "The service occasion is missing; send one of: %(occasions)s.",
                    occasions=", ".join(key for key, _label in SERVICE_OCCASIONS),
                )
            )
        if vals["service_occasion"] not in dict(SERVICE_OCCASIONS):
            raise ValidationError(
                self.env._(
                    "Unknown service occasion %(occasion)s; send one of: %(occasions)s.",
                    occasion=vals["service_occasion"],
                    occasions=", ".join(key for key, _label in SERVICE_OCCASIONS),
                )
            )
        # country: exactly a code (a longer value would be truncated to the field's size)
        code = values.get("country") or self.env.company.country_id.code
        country = (
            code
            and len(code) == 2
            and self.env["res.country"].browse(self.env["res.country"]._service_id_for_code(code.upper()))
        )
        if not country:
            raise ValidationError(
                self.env._("Unknown country %(country)s; send an ISO 3166 code such as DE.", country=code or "")
            )
        vals["country_id"] = country.id
        if not vals.get("zip"):
            raise ValidationError(self.env._("The postal code of the service site is missing."))
        # contact
        if not vals.get("email_from") and not vals.get("phone"):
            raise ValidationError(
                self.env._("Send an e-mail address or a phone number so the technician can reach the customer.")
            )
        if vals.get("email_from"):
            email = tools.email_normalize(vals["email_from"])
            if not email:
                raise ValidationError(self.env._("%(email)s is not a valid e-mail address.", email=vals["email_from"]))
            # the whole address has at most 254 characters (INTAKE_MAX_LENGTHS), so has its domain
            local, _at, domain = email.rpartition("@")
            if len(local) > 64 or any(len(label) > 63 for label in domain.split(".")):
                raise ValidationError(
                    self.env._(
                        "%(email)s is not a valid e-mail address: at most 64 characters before the @ "
                        "and 63 between two dots after it.",
                        email=vals["email_from"],
                    )
                )
            vals["email_from"] = email
        if vals.get("phone"):
            vals["phone"] = self._service_phone_e164(vals["phone"], country)
        # equipment and SLA tier, named as sent (escaped: not a pattern)
        # codes are looked up in the inquiry's company: its own records or shared ones
        in_company = [("company_id", "in", [vals["company_id"], False])]
        if values.get("equipment"):
            equipment_type = self.env["service.equipment.type"]._service_intake_type(
                vals["company_id"], values["equipment"]
            )
            if equipment_type:
                vals["equipment_type_id"] = equipment_type.id
            else:
                vals["equipment_received"] = values["equipment"]
        if values.get("service_level"):
            level = self.env["service.level"].search(
                in_company + [("code", "=ilike", tools.escape_psql(values["service_level"]))], limit=1
            )
            if not level:
                known = ", ".join(self.env["service.level"].search(in_company, limit=50).mapped("code"))
                raise ValidationError(
                    self.env._(
                        "Unknown SLA tier %(code)s; known tiers: %(codes)s.",
                        code=values["service_level"],
                        codes=known,
                    )
                )
            vals["service_level_id"] = level.id
        if vals.get("description"):
            # plain text as sent: every character kept, escaped for crm's HTML description
            vals["description"] = plaintext2html(vals["description"])
        if vals.get("preferred_appointment"):
            # neither past nor too far ahead: checked with every inquiry's appointments
            vals["preferred_appointment"] = self._service_parse_datetime(
                vals["preferred_appointment"], "preferred_appointment"
            )
            self._service_check_appointments(vals)
        vals.update(self._service_intake_utm(values))
        if not vals.get("name"):
            vals["name"] = self._service_default_name(vals, country)
        return vals

    @api.model
    def _service_intake_utm(self, values):
        """Source, medium and campaign named by id or by name; an unknown name is created, as utm does."""
        vals = {}
        for key, (fname, model) in INTAKE_UTM_KEYS.items():
            value = values.get(key)
            if isinstance(value, int):
                record = self.env[model].browse(value).exists()
                if not record:
                    raise ValidationError(self.env._("Unknown %(field)s id %(id)s.", field=key, id=value))
            elif value:
                record = self.env["utm.mixin"]._find_or_create_record(model, value)
            else:
                continue
            vals[fname] = record.id
        return vals

    @api.model
    def _service_phone_e164(self, number, country):
        """``number`` in E.164 through phone_validation (parsed for ``country``), or a clear error."""
        formatted = self._phone_format(number=number, country=country, force_format="E164")
        if not formatted:
            raise ValidationError(
                self.env._("%(phone)s is not a valid phone number for %(country)s.", phone=number, country=country.name)
            )
        return formatted

    @api.model
    def _service_parse_datetime(self, value, field_name):
        """A naive UTC datetime from ISO 8601 text (an offset is honoured; without one, UTC)."""
        try:
            return parse_datetime(self.env, value, "UTC", field_name)
        except InputRangeError as error:
            raise ValidationError(
                self.env._(
                    "%(field)s: %(value)s is out of range; send a date and time of the coming years.",
                    field=field_name,
                    value=value,
                )
            ) from error
        except ValidationError as error:
            raise ValidationError(
                self.env._(
                    "%(field)s: %(value)s is not a date and time (use ISO 8601, e.g. 2026-05-04T09:30:00+02:00).",
                    field=field_name,
                    value=value,
                )
            ) from error

    @api.model
    def _service_default_name(self, vals, country):
        occasion = dict(self._fields["service_occasion"]._description_selection(self.env))[vals["service_occasion"]]
        equipment = (
            self.env["service.equipment.type"].browse(vals["equipment_type_id"]).name
            if vals.get("equipment_type_id")
            else vals.get("equipment_received")
        )
        place = " ".join(filter(None, [vals.get("zip"), vals.get("city")]))
        return " – ".join(filter(None, [occasion, equipment, place]))

    @api.model
    def _service_intake_create(self, vals):
        """Create an inquiry of the intake: its serial number or contract must be confirmed by its data."""
        lead = self.with_context(service_confirm_match=True).create(vals).with_env(self.env)
        lead._service_notify_customer("arrival")  # customer notice: after the intake's routing
        return lead

    def _service_intake_result(self, status, ref=False):
        """What the caller learns: only what it needs to follow its own request
        (``ref``: its external reference, also when the inquiry has since
        taken over others by a merge).

        Never the customer, contract, equipment or technician it was matched
        to, nor the review note: those stay on the inquiry for internal users.
        """
        self.ensure_one()
        if status == "created" and self.routing_state == "linked":
            # a repeat of an open inquiry of the same customer: handled there
            status = "linked"
        return {
            "id": self.id,
            "status": status,
            "external_ref": ref or False,
            "routing_state": self.routing_state,
            "review_reason": self._service_intake_review_code(),
            "unique_inquiry_id": self.service_unique_lead_id.id or False,
        }

    def _service_intake_review_code(self):
        """The review reason told to the caller: one the request alone shows, else ``review``.

        Worked out from the facts of the inquiry's last decision with what the
        caller may not know (large account, safety-critical equipment) left
        out: a large account's request that names an unknown postal code is
        told ``unknown_postal_code`` as anyone's is, and every other reason
        (no technician, postal data not loaded, ...) is told ``review`` alike.
        """
        self.ensure_one()
        if self.routing_state != "review" or not self.review_reason:
            return False
        told = self.review_reason
        # the inquiry's part of the facts only, not its candidates (hundreds of them at scale, read and
        # parsed for nothing): the caller's own inquiry, whose decisions it may not read itself
        self.env["service.routing.log"].flush_model(["lead_id", "facts"])
        self.env.cr.execute(
            "SELECT facts -> 'inquiry' FROM service_routing_log WHERE lead_id = %s ORDER BY id DESC LIMIT 1",
            (self.id,),
        )
        stored = (self.env.cr.fetchone() or (None,))[0]
        if isinstance(stored, dict) and stored:
            try:
                inquiry = engine.facts_from_json({"inquiry": stored, "candidates": []})[0]
            except (TypeError, ValueError, KeyError):
                inquiry = None
            if inquiry is not None:
                told = engine.review_reason(dataclasses.replace(inquiry, safety_critical=False, large_account=False))
        return told if told in INTAKE_TOLD_REVIEW_REASONS else "review"
