# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime

from psycopg2 import errors as pg_errors

from odoo import api, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools import mute_logger

from .crm_lead import SERVICE_OCCASIONS

try:
    import phonenumbers
except ImportError:  # pragma: no cover - declared in external_dependencies
    phonenumbers = None

# Keys an integration may send to submit_service_request(), and what they become.
INTAKE_KEYS = {
    "external_ref": "service_external_ref",
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
}


class CrmLead(models.Model):
    """Intake: service inquiries from integrations (XML-RPC / JSON-RPC)."""

    _inherit = "crm.lead"

    @api.model
    def submit_service_request(self, values):
        """Create (and route) one service inquiry from an integration.

        ``values`` uses the keys of ``INTAKE_KEYS`` (see README). Returns a
        dict: id, status (``created`` or ``duplicate``), customer, customer
        kind, routing state, technician, review reason. Raises ValidationError
        with a specific message on bad input; nothing is saved then.
        """
        if not isinstance(values, dict):
            raise ValidationError(self.env._("A service request must be a dictionary of values."))
        vals = self._service_intake_vals(values)
        ref = vals.get("service_external_ref")
        if ref:
            existing = self._service_find_by_ref(ref)
            if existing:
                return existing._service_intake_result("duplicate")
        try:
            with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                lead = self.create(vals)
        except pg_errors.UniqueViolation:
            # the same submission committed by a concurrent request
            existing = ref and self._service_find_by_ref(ref)
            if not existing:
                raise
            return existing._service_intake_result("duplicate")
        return lead._service_intake_result("created")

    @api.model
    def submit_service_requests(self, values_list):
        """Batch form of :meth:`submit_service_request`.

        Each request is created and routed on its own: a bad one gives
        ``{"status": "error", "error": message}`` at its position and does not
        stop the others.
        """
        if not isinstance(values_list, list | tuple):
            raise ValidationError(self.env._("Service requests must be a list of dictionaries."))
        results = []
        for index, values in enumerate(values_list):
            try:
                with self.env.cr.savepoint():
                    result = self.submit_service_request(values)
            except (ValidationError, UserError) as error:
                result = {"status": "error", "error": error.args[0], "index": index}
            results.append(result)
        return results

    @api.model
    def _service_intake_vals(self, values):
        unknown = sorted(set(values) - set(INTAKE_KEYS))
        if unknown:
            raise ValidationError(
                self.env._(
                    "Unknown fields in the service request: %(fields)s. Allowed: %(allowed)s.",
                    fields=", ".join(unknown),
                    allowed=", ".join(sorted(INTAKE_KEYS)),
                )
            )
        for key, value in values.items():
            if value is not None and value is not False and not isinstance(value, str):
                raise ValidationError(self.env._("The field %(field)s must be text.", field=key))
        values = {key: value.strip() for key, value in values.items() if value}
        vals = {INTAKE_KEYS[key]: value for key, value in values.items() if INTAKE_KEYS[key]}
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
        country = code and len(code) == 2 and self.env["res.country"].search([("code", "=", code.upper())], limit=1)
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
            vals["email_from"] = email
        if vals.get("phone"):
            vals["phone"] = self._service_phone_e164(vals["phone"], country)
        # equipment and SLA tier, named as sent (escaped: not a pattern)
        if values.get("equipment"):
            equipment = tools.escape_psql(values["equipment"])
            equipment_type = self.env["service.equipment.type"].search(
                ["|", ("code", "=ilike", equipment), ("name", "=ilike", equipment)], limit=1
            )
            if equipment_type:
                vals["equipment_type_id"] = equipment_type.id
            else:
                vals["equipment_received"] = values["equipment"]
        if values.get("service_level"):
            level = self.env["service.level"].search(
                [("code", "=ilike", tools.escape_psql(values["service_level"]))], limit=1
            )
            if not level:
                raise ValidationError(
                    self.env._(
                        "Unknown SLA tier %(code)s; known tiers: %(codes)s.",
                        code=values["service_level"],
                        codes=", ".join(self.env["service.level"].search([], limit=50).mapped("code")),
                    )
                )
            vals["service_level_id"] = level.id
        if vals.get("preferred_appointment"):
            vals["preferred_appointment"] = self._service_parse_datetime(
                vals["preferred_appointment"], "preferred_appointment"
            )
        if not vals.get("name"):
            vals["name"] = self._service_default_name(vals, country)
        return vals

    @api.model
    def _service_phone_e164(self, number, country):
        if phonenumbers is None:
            raise UserError(self.env._("The Python library phonenumbers is not installed."))
        try:
            parsed = phonenumbers.parse(number, country.code)
        except phonenumbers.NumberParseException:
            parsed = None
        if not parsed or not phonenumbers.is_valid_number(parsed):
            raise ValidationError(
                self.env._("%(phone)s is not a valid phone number for %(country)s.", phone=number, country=country.name)
            )
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    @api.model
    def _service_parse_datetime(self, value, field_name):
        """A naive UTC datetime from ISO 8601 text (an offset is honoured)."""
        if isinstance(value, datetime.datetime):
            parsed = value
        else:
            try:
                parsed = datetime.datetime.fromisoformat(str(value))
            except ValueError as error:
                raise ValidationError(
                    self.env._(
                        "%(field)s: %(value)s is not a date and time (use ISO 8601, e.g. 2026-05-04T09:30:00+02:00).",
                        field=field_name,
                        value=value,
                    )
                ) from error
        if parsed.tzinfo:
            parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
        return parsed.replace(microsecond=0)

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
    def _service_find_by_ref(self, ref):
        return self.with_context(active_test=False).search(
            [("service_external_ref", "=", ref), ("company_id", "=", self.env.company.id)], limit=1
        )

    def _service_intake_result(self, status):
        self.ensure_one()
        return {
            "id": self.id,
            "status": status,
            "external_ref": self.service_external_ref or False,
            "customer_id": self.partner_id.id or False,
            "customer_name": self.partner_id.display_name or self.contact_name or False,
            "customer_kind": self.customer_kind,
            "match_method": self.match_method or False,
            "service_level": self.service_level_id.code or False,
            "routing_state": self.routing_state,
            "technician_id": self.technician_id.id or False,
            "technician_name": self.technician_id.display_name or False,
            "review_reason": self.review_reason or False,
            "review_note": self.review_note or False,
        }
