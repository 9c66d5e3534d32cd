# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import logging

from psycopg2 import errors as pg_errors

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import mute_logger

from ..engine import routing as engine
from ..engine.postal import is_valid_postal_code, normalize_postal_code
from .service_offer import DECLINE_REASONS
from .service_routing_log import REVIEW_REASONS

_logger = logging.getLogger(__name__)

try:
    import phonenumbers
except ImportError:  # pragma: no cover - declared in external_dependencies
    phonenumbers = None

SERVICE_OCCASIONS = [
    ("repair", "Repair"),
    ("maintenance", "Maintenance"),
    ("extension", "Extension"),
    ("installation", "Installation"),
    ("assembly", "Assembly"),
    ("other", "Other"),
]
ROUTING_STATES = [
    ("new", "New"),
    ("review", "In Review"),
    ("offered", "Offered"),
    ("accepted", "Accepted"),
]
OPEN_ROUTING_STATES = ("offered", "accepted")
MATCH_METHODS = [
    ("contract", "Contract reference"),
    ("serial", "Serial number"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("manual", "Dispatcher"),
]

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
    _name = "crm.lead"
    _inherit = ["crm.lead", "service.code.mixin"]
    _code_fields = ("serial_number",)

    # ------------------------------------------------------------
    # SERVICE CONTEXT
    # ------------------------------------------------------------
    service_occasion = fields.Selection(
        SERVICE_OCCASIONS, tracking=True, index="btree_not_null", help="Set on service inquiries only."
    )
    equipment_type_id = fields.Many2one("service.equipment.type", tracking=True)
    equipment_received = fields.Char(
        "Equipment (as received)",
        readonly=True,
        help="The equipment an integration named that matched no equipment type.",
    )
    serial_number = fields.Char(index="btree_not_null", tracking=True)
    contract_ref = fields.Char("Contract Reference", help="As given by the customer or the integration.")
    contract_id = fields.Many2one("service.contract", index="btree_not_null", tracking=True)
    equipment_id = fields.Many2one("service.equipment", "Installed Equipment", index="btree_not_null", tracking=True)
    service_level_id = fields.Many2one("service.level", "SLA Tier", tracking=True)
    preferred_appointment = fields.Datetime()
    agreed_appointment = fields.Datetime(tracking=True)
    customer_kind = fields.Selection(
        [("existing", "Existing Customer"), ("new", "New Customer")],
        compute="_compute_customer_kind",
        store=True,
        readonly=False,
        tracking=True,
        help="Existing: the customer has a contract or installed equipment. Derived from the match; "
        "a dispatcher may correct it.",
    )
    match_method = fields.Selection(MATCH_METHODS, "Matched By", readonly=True)
    safety_critical = fields.Boolean(compute="_compute_safety_critical", store=True)
    service_history = fields.Text(help="Earlier inquiries of this customer and equipment, filled at intake.")
    service_external_ref = fields.Char(
        "External Reference",
        copy=False,
        index="btree_not_null",
        help="Idempotency key of the integration that sent the inquiry: a retried submission "
        "returns the inquiry it created the first time.",
    )
    is_large_account = fields.Boolean(related="partner_id.commercial_partner_id.is_large_account")

    # ------------------------------------------------------------
    # ROUTING
    # ------------------------------------------------------------
    routing_state = fields.Selection(ROUTING_STATES, copy=False, index="btree_not_null", tracking=True)
    technician_id = fields.Many2one(
        "res.partner",
        copy=False,
        index="btree_not_null",
        tracking=True,
        domain="[('is_technician', '=', True)]",
    )
    offered_at = fields.Datetime(copy=False, readonly=True)
    accepted_at = fields.Datetime(copy=False, readonly=True)
    review_reason = fields.Selection(REVIEW_REASONS, copy=False, tracking=True)
    review_note = fields.Char(copy=False, help="What the dispatcher should look at.")
    offer_ids = fields.One2many("service.offer", "lead_id", "Offers", readonly=True)
    routing_log_ids = fields.One2many("service.routing.log", "lead_id", "Routing Decisions", readonly=True)
    declined_technician_ids = fields.Many2many(
        "res.partner", compute="_compute_declined_technician_ids", string="Declined By"
    )

    _sql_constraints = [
        (
            "service_external_ref_uniq",
            "unique(company_id, service_external_ref)",
            "An external reference is used once per company.",
        ),
    ]

    def init(self):
        res = super().init()
        # the open inquiries of a technician, counted at every routing
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS crm_lead_technician_open_idx
                   ON crm_lead (technician_id) WHERE routing_state IN ('offered', 'accepted') AND active"""
        )
        return res

    @api.depends("service_occasion", "partner_id", "contract_id", "equipment_id")
    def _compute_customer_kind(self):
        for lead in self:
            if not lead.service_occasion:
                lead.customer_kind = False
            elif lead.contract_id or lead.equipment_id:
                lead.customer_kind = "existing"
            else:
                lead.customer_kind = "existing" if lead._service_has_installed_base(lead.partner_id) else "new"

    @api.depends("equipment_type_id.is_safety_critical")
    def _compute_safety_critical(self):
        for lead in self:
            lead.safety_critical = lead.equipment_type_id.is_safety_critical

    @api.depends("offer_ids.state")
    def _compute_declined_technician_ids(self):
        for lead in self:
            lead.declined_technician_ids = lead.offer_ids.filtered(lambda o: o.state == "declined").technician_id

    @api.onchange("contract_id")
    def _onchange_contract_id(self):
        if self.contract_id:
            self.match_method = "manual"
            self.partner_id = self.contract_id.partner_id
            if self.contract_id.state == "valid":
                self.service_level_id = self.contract_id.service_level_id

    @api.onchange("equipment_id")
    def _onchange_equipment_id(self):
        if self.equipment_id:
            self.match_method = "manual"
            self.serial_number = self.equipment_id.serial_number
            self.equipment_type_id = self.equipment_id.equipment_type_id
            self.partner_id = self.equipment_id.partner_id
            if self.equipment_id.contract_id and not self.contract_id:
                self.contract_id = self.equipment_id.contract_id

    @api.constrains("technician_id")
    def _check_technician_id(self):
        if self.env.context.get("service_routing_offer"):
            return  # the routing offers technicians only
        for lead in self:
            if lead.technician_id and not lead.technician_id.is_technician:
                raise ValidationError(
                    self.env._("%(partner)s is not a service technician.", partner=lead.technician_id.display_name)
                )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("service_occasion"):
                self._service_prepare_vals(vals)
                vals.update(self._service_match_values(vals))
                vals.setdefault("routing_state", "new")
        # a matched customer's contact data stay as they are: the inquiry may
        # come from a tenant or a relative with another phone; other leads
        # keep crm's behaviour
        service = [bool(vals.get("service_occasion")) for vals in vals_list]
        if all(service):
            leads = super(CrmLead, self.with_context(service_keep_partner_contact=True)).create(vals_list)
            leads = leads.with_env(self.env)
        elif not any(service):
            return super().create(vals_list)
        else:
            created = {
                True: iter(self.create([vals for vals, flag in zip(vals_list, service, strict=True) if flag])),
                False: iter(super().create([vals for vals, flag in zip(vals_list, service, strict=True) if not flag])),
            }
            return self.browse([next(created[flag]).id for flag in service])
        to_route = leads.filtered(lambda lead: lead.routing_state == "new")
        if to_route and not self.env.context.get("service_no_routing"):
            to_route._service_route_safely("create")
        return leads

    def write(self, vals):
        if "preferred_appointment" in vals or "agreed_appointment" in vals:
            self._service_check_appointments(vals)
        # a lead that becomes a service inquiry is routed like a new one
        to_route = self.filtered(lambda lead: not lead.routing_state) if vals.get("service_occasion") else self.browse()
        result = super().write(vals)
        if to_route:
            to_route.write({"routing_state": "new"})
            if not self.env.context.get("service_no_routing"):
                to_route._service_route_safely("create")
        return result

    def _inverse_phone(self):
        if self.env.context.get("service_keep_partner_contact"):
            return
        return super()._inverse_phone()

    def _inverse_email_from(self):
        if self.env.context.get("service_keep_partner_contact"):
            return
        return super()._inverse_email_from()

    # ------------------------------------------------------------
    # INTAKE
    # ------------------------------------------------------------

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

    # ------------------------------------------------------------
    # VALIDATION AND MATCHING
    # ------------------------------------------------------------

    @api.model
    def _service_prepare_vals(self, vals):
        """Normalise and check the service values of a new inquiry, in place."""
        self._normalize_codes(vals)
        if vals.get("contract_ref"):
            vals["contract_ref"] = vals["contract_ref"].strip()
        if vals.get("zip"):
            country = self.env["res.country"].browse(vals.get("country_id")) or self.env.company.country_id
            zip_code = normalize_postal_code(vals["zip"])
            if country and not is_valid_postal_code(country.code, zip_code):
                raise ValidationError(
                    self.env._(
                        "%(zip)s is not a valid postal code for %(country)s.",
                        zip=vals["zip"],
                        country=country.name,
                    )
                )
            vals["zip"] = zip_code
            vals.setdefault("country_id", country.id)
        self._service_check_appointments(vals)

    @api.model
    def _service_check_appointments(self, vals):
        now = fields.Datetime.now().replace(second=0, microsecond=0)
        for key in ("preferred_appointment", "agreed_appointment"):
            if vals.get(key):
                value = fields.Datetime.to_datetime(vals[key])
                if value < now:
                    raise ValidationError(
                        self.env._(
                            "The %(field)s %(value)s lies in the past.",
                            field=self._fields[key]._description_string(self.env),
                            value=fields.Datetime.to_string(value),
                        )
                    )

    @api.model
    def _service_match_values(self, vals):
        """Values linking a new inquiry to the installed base.

        Tried in order: contract reference, serial number, e-mail, phone. The
        first that is known sets the customer; contract and equipment are
        linked whenever known. Values the caller set are kept.
        """
        company_id = vals.get("company_id") or self.env.company.id
        result = {}
        contract = equipment = self.env["service.contract"]
        if vals.get("contract_ref") and not vals.get("contract_id"):
            contract = self.env["service.contract"].search(
                # escaped: a reference as typed by a customer, not a pattern
                [("name", "=ilike", tools.escape_psql(vals["contract_ref"])), ("company_id", "=", company_id)],
                limit=1,
            )
            if contract:
                result.update(contract_id=contract.id, match_method="contract")
        if vals.get("serial_number") and not vals.get("equipment_id"):
            equipment = self.env["service.equipment"].search(
                [("serial_number", "=", vals["serial_number"]), ("company_id", "=", company_id)], limit=1
            )
            if equipment:
                result["equipment_id"] = equipment.id
                result.setdefault("match_method", "serial")
                if not vals.get("equipment_type_id") and not vals.get("equipment_received"):
                    result["equipment_type_id"] = equipment.equipment_type_id.id
                if not contract and equipment.contract_id:
                    contract = equipment.contract_id
                    result["contract_id"] = contract.id
                elif (
                    contract and equipment.partner_id.commercial_partner_id != contract.partner_id.commercial_partner_id
                ):
                    result["review_note"] = self.env._(
                        "Serial number %(serial)s belongs to %(owner)s, contract %(ref)s to %(customer)s.",
                        serial=equipment.serial_number,
                        owner=equipment.partner_id.display_name,
                        ref=contract.name,
                        customer=contract.partner_id.display_name,
                    )
        customer = contract.partner_id or equipment.partner_id
        if not customer and not vals.get("partner_id"):
            if vals.get("email_from"):
                email = tools.email_normalize(vals["email_from"])
                customer = email and self.env["res.partner"].search(
                    [("email_normalized", "=", email), ("is_technician", "=", False)], limit=1
                )
                if customer:
                    result["match_method"] = "email"
            if not customer and vals.get("phone"):
                sanitized = self._phone_format(
                    number=vals["phone"], country=self.env["res.country"].browse(vals.get("country_id"))
                )
                earlier = sanitized and self.search(
                    [
                        ("phone_sanitized", "=", sanitized),
                        ("partner_id", "!=", False),
                        ("company_id", "in", [company_id, False]),
                    ],
                    limit=1,
                    order="id desc",
                )
                if earlier:
                    customer = earlier.partner_id
                    result["match_method"] = "phone"
        if customer and not vals.get("partner_id"):
            result["partner_id"] = customer.id
        if contract and contract.state == "valid" and not vals.get("service_level_id"):
            result["service_level_id"] = contract.service_level_id.id
        if not vals.get("service_level_id") and not result.get("service_level_id"):
            company = self.env["res.company"].browse(company_id)
            if company.service_level_id:
                result["service_level_id"] = company.service_level_id.id
        if not vals.get("service_history"):
            history = self._service_history_text(
                self.env["res.partner"].browse(vals.get("partner_id") or result.get("partner_id")),
                self.env["service.equipment"].browse(vals.get("equipment_id") or result.get("equipment_id")),
            )
            if history:
                result["service_history"] = history
        return result

    @api.model
    def _service_has_installed_base(self, partner):
        if not partner:
            return False
        commercial = partner.commercial_partner_id
        domain = [("partner_id", "child_of", commercial.id)]
        return bool(
            self.env["service.contract"].search_count(domain, limit=1)
            or self.env["service.equipment"].search_count(domain, limit=1)
        )

    @api.model
    def _service_history_text(self, partner, equipment, limit=5):
        """Earlier service inquiries of the equipment or customer, newest first."""
        if not partner and not equipment:
            return False
        domain = [("service_occasion", "!=", False)]
        if equipment:
            domain += [("equipment_id", "=", equipment.id)]
        else:
            domain += [("partner_id", "child_of", partner.commercial_partner_id.id)]
        earlier = self.with_context(active_test=False).search(domain, limit=limit, order="create_date desc, id desc")
        occasions = dict(self._fields["service_occasion"]._description_selection(self.env))
        lines = [
            "{}  {}  {}{}".format(
                fields.Date.to_string(lead.create_date.date()),
                occasions.get(lead.service_occasion, ""),
                lead.equipment_id.serial_number or lead.equipment_type_id.name or "",
                f"  ({lead.technician_id.name})" if lead.technician_id else "",
            )
            for lead in earlier
        ]
        return "\n".join(lines) or False

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_service_accept(self):
        """The technician (or a dispatcher for them) accepts the inquiry."""
        for lead in self:
            lead._service_check_technician_access()
            if lead.routing_state != "offered":
                raise UserError(
                    self.env._(
                        "%(lead)s is not offered to a technician and cannot be accepted.", lead=lead.display_name
                    )
                )
            now = fields.Datetime.now()
            offer = lead._service_current_offer()
            offer.sudo()._respond("accepted")
            lead.sudo().write({"routing_state": "accepted", "accepted_at": now})
            lead.sudo().message_post(
                body=self.env._("Accepted by %(technician)s.", technician=lead.technician_id.display_name),
                subtype_xmlid="mail.mt_note",
            )
        return True

    def action_service_decline(self, reason, note=False):
        """The technician declines with a reason; the inquiry is routed to the next one."""
        if reason not in dict(DECLINE_REASONS):
            raise ValidationError(
                self.env._(
                    "Unknown decline reason %(reason)s; use one of: %(reasons)s.",
                    reason=reason,
                    reasons=", ".join(key for key, _label in DECLINE_REASONS),
                )
            )
        if reason == "other" and not (note or "").strip():
            raise ValidationError(self.env._("Say why you decline when the reason is 'Other'."))
        for lead in self:
            lead._service_check_technician_access()
            if lead.routing_state not in OPEN_ROUTING_STATES:
                raise UserError(
                    self.env._(
                        "%(lead)s is not offered to a technician and cannot be declined.", lead=lead.display_name
                    )
                )
            technician = lead.technician_id
            offer = lead._service_current_offer()
            offer.sudo()._respond("declined", decline_reason=reason, decline_note=note or False)
            lead.sudo().write({"routing_state": "new", "technician_id": False, "accepted_at": False})
            lead.sudo().message_post(
                body=self.env._(
                    "Declined by %(technician)s: %(reason)s %(note)s",
                    technician=technician.display_name,
                    reason=dict(DECLINE_REASONS)[reason],
                    note=note or "",
                ),
                subtype_xmlid="mail.mt_note",
            )
            lead.sudo()._service_route("decline")
        return True

    def action_service_reroute(self):
        """Dispatcher: route again now, withdrawing the current offer."""
        self._service_check_dispatcher()
        self._service_withdraw_offers()
        self._service_route("rerun")
        return True

    def action_service_open_assign(self):
        self.ensure_one()
        self._service_check_dispatcher()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Assign Technician"),
            "res_model": "crm.lead.assign",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_id": self.id},
        }

    def action_service_open_decline(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Decline Inquiry"),
            "res_model": "crm.lead.decline",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_id": self.id},
        }

    # ------------------------------------------------------------
    # BUSINESS: ACCESS
    # ------------------------------------------------------------

    def _service_is_dispatcher(self):
        return self.env.su or self.env.user.has_group("crm_service_routing.group_service_dispatcher")

    def _service_check_dispatcher(self):
        if not self._service_is_dispatcher():
            raise AccessError(self.env._("Only service dispatchers can route inquiries by hand."))
        self.check_access("write")

    def _service_check_technician_access(self):
        """The current user acts for the lead's technician, or is a dispatcher."""
        self.ensure_one()
        if self._service_is_dispatcher():
            self.check_access("write")
            return
        user_partner = self.env.user.partner_id
        technician = self.technician_id
        if not technician or (
            user_partner != technician and user_partner.commercial_partner_id != technician.commercial_partner_id
        ):
            raise AccessError(self.env._("Only the technician the inquiry is offered to can answer it."))

    def _service_current_offer(self):
        self.ensure_one()
        return self.offer_ids.filtered(
            lambda o: o.technician_id == self.technician_id and o.state in ("offered", "accepted")
        )[:1]

    # ------------------------------------------------------------
    # BUSINESS: ROUTING
    # ------------------------------------------------------------

    def _service_route_safely(self, trigger):
        """Route, but never lose an inquiry to a routing error: it stays new for the backstop."""
        # the savepoints below flush first: an error in the caller's pending
        # writes (e.g. a duplicate external reference) is the caller's, not a
        # routing error to swallow in an aborted transaction
        self.env.flush_all()
        for lead in self:
            try:
                with self.env.cr.savepoint():
                    lead._service_route(trigger)
            except Exception:
                _logger.exception("Routing of inquiry %s failed; the backstop will retry it.", lead.id)

    def _service_route(self, trigger):
        """Route each inquiry: offer it to the chosen technician or hold it for review.

        Returns {lead id: decision}.
        """
        decisions = {}
        for lead in self:
            inquiry, candidates = lead._service_gather_facts()
            decision = engine.decide(inquiry, candidates, lead._service_strategy(), fields.Date.context_today(lead))
            lead._service_apply_decision(decision, trigger, inquiry, candidates)
            decisions[lead.id] = decision
        return decisions

    def _service_strategy(self):
        self.ensure_one()
        return (
            self.service_level_id.routing_strategy
            or self.company_id.service_routing_strategy
            or (self.env.company.service_routing_strategy)
        )

    def _service_gather_facts(self, extra_technician_ids=()):
        """(engine.Inquiry, [engine.Candidate]) for this inquiry, in a few queries."""
        self.ensure_one()
        # the queries below read offers, loads and areas written through the ORM
        self.env.flush_all()
        company = self.company_id or self.env.company
        point = self.env["service.postal.code"]._locate(self.country_id, self.zip) if self.zip else None
        contract = self.contract_id if self.contract_id.state == "valid" else self.env["service.contract"]
        contract_technician = contract.technician_id
        hits = {}
        if point:
            extra = set(extra_technician_ids) | ({contract_technician.id} if contract_technician else set())
            for tech_id, kind, lat, lon, radius in self.env["service.area"]._hits(
                self.country_id.id, normalize_postal_code(self.zip), point[0], point[1], extra
            ):
                distance = engine.haversine_km(point[0], point[1], lat, lon) if kind == "radius" else None
                hits.setdefault(tech_id, []).append(engine.AreaHit(kind, distance, radius))
        technician_ids = set(hits) | set(extra_technician_ids)
        if contract_technician:
            technician_ids.add(contract_technician.id)
        candidates, declined = self._service_candidates(technician_ids, hits, company)
        level = self.service_level_id
        inquiry = engine.Inquiry(
            company_id=company.id,
            equipment_type_ids=self.equipment_type_id._ancestor_ids() if self.equipment_type_id else frozenset(),
            required_certification_id=level.id if level.certification_required else None,
            latitude=point[0] if point else None,
            longitude=point[1] if point else None,
            existing_customer=self.customer_kind == "existing",
            contract_technician_id=contract_technician.id or None,
            declined_technician_ids=declined,
            safety_critical=self.safety_critical,
            large_account=self.partner_id.commercial_partner_id.is_large_account,
            postal_code_known=bool(point),
            equipment_known=not (self.equipment_received and not self.equipment_type_id),
        )
        return inquiry, candidates

    def _service_candidates(self, technician_ids, hits, company):
        """([engine.Candidate], ids of those who declined this inquiry), in one query."""
        if not technician_ids:
            return [], frozenset()
        since = fields.Datetime.now() - datetime.timedelta(days=company.service_response_window_days or 90)
        self.env.cr.execute(
            """
            SELECT p.id, p.name, p.company_id, p.active AND p.is_technician,
                   ARRAY(SELECT equipment_type_id FROM res_partner_service_equipment_type_rel r
                          WHERE r.partner_id = p.id),
                   ARRAY(SELECT service_level_id FROM res_partner_service_level_rel r
                          WHERE r.partner_id = p.id),
                   p.service_paused, p.service_away_until, p.service_capacity,
                   NULLIF(p.service_latitude, 0), NULLIF(p.service_longitude, 0),
                   (SELECT count(*) FROM crm_lead l
                     WHERE l.technician_id = p.id AND l.active AND l.id != %(lead)s
                       AND l.routing_state IN ('offered', 'accepted') AND COALESCE(l.probability, 0) < 100),
                   last.offered_at,
                   stats.answered, stats.accepted, stats.hours,
                   last.id,
                   p.service_rotation_credit,
                   EXISTS(SELECT 1 FROM service_offer d
                           WHERE d.lead_id = %(lead)s AND d.technician_id = p.id AND d.state = 'declined')
              FROM res_partner p
              LEFT JOIN LATERAL (
                    SELECT o.id, o.offered_at FROM service_offer o
                     WHERE o.technician_id = p.id ORDER BY o.id DESC LIMIT 1
                   ) last ON TRUE
              LEFT JOIN LATERAL (
                    SELECT count(*) FILTER (WHERE o.state IN ('accepted', 'declined')) AS answered,
                           count(*) FILTER (WHERE o.state = 'accepted') AS accepted,
                           avg(o.response_hours) FILTER (WHERE o.state = 'accepted') AS hours
                      FROM service_offer o
                     WHERE o.technician_id = p.id AND o.offered_at >= %(since)s
                   ) stats ON TRUE
             WHERE p.id = ANY(%(ids)s)
            """,
            {"ids": list(technician_ids), "lead": self.id or 0, "since": since},
        )
        rows = self.env.cr.fetchall()
        candidates = [
            engine.Candidate(
                id=row[0],
                name=row[1],
                company_id=row[2],
                active=bool(row[3]),
                area_hits=tuple(hits.get(row[0], ())),
                specialization_ids=frozenset(row[4]),
                certification_ids=frozenset(row[5]),
                paused=bool(row[6]),
                away_until=row[7],
                capacity=row[8] or 0,
                latitude=row[9],
                longitude=row[10],
                open_count=row[11],
                last_offered_at=row[12],
                offers_answered=row[13] or 0,
                offers_accepted=row[14] or 0,
                mean_accept_hours=float(row[15]) if row[15] is not None else None,
                last_offer_seq=row[16] or 0,
                rotation_credit=row[17] or 0.0,
            )
            for row in rows
        ]
        return candidates, frozenset(row[0] for row in rows if row[18])

    def _service_apply_decision(self, decision, trigger, inquiry, candidates, chosen_by=None):
        """Write a decision: an offer to its technician, or the review queue; and its log."""
        self.ensure_one()
        log = self._service_log(decision, trigger, inquiry, candidates, chosen_by=chosen_by)
        if decision.technician_id:
            self._service_offer(decision.technician_id, log)
            self._service_pay_rotation(engine.rotation_credits(decision))
        else:
            self.sudo().with_context(tracking_disable=True).write(
                {
                    "routing_state": "review",
                    "technician_id": False,
                    "review_reason": decision.review_reason,
                }
            )
        return log

    def _service_offer(self, technician_id, log):
        now = fields.Datetime.now()
        self.env["service.offer"].sudo().create(
            {
                "lead_id": self.id,
                "company_id": self.company_id.id,
                "technician_id": technician_id,
                "offered_at": now,
                "routing_log_id": log.id,
            }
        )
        self.sudo().with_context(tracking_disable=True, service_routing_offer=True).write(
            {
                "routing_state": "offered",
                "technician_id": technician_id,
                "offered_at": now,
                "accepted_at": False,
                "review_reason": False,
            }
        )

    def _service_pay_rotation(self, changes):
        """Apply rotation credit changes in one statement (rows in id order, as every routing locks them)."""
        if not changes:
            return
        ids = sorted(changes)
        self.env.cr.execute(
            """UPDATE res_partner p SET service_rotation_credit = COALESCE(p.service_rotation_credit, 0) + c.change
                 FROM unnest(%s::int[], %s::float[]) AS c(id, change)
                WHERE p.id = c.id""",
            (ids, [changes[i] for i in ids]),
        )
        self.env["res.partner"].browse(ids).invalidate_recordset(["service_rotation_credit"])

    def _service_withdraw_offers(self):
        offers = self.offer_ids.filtered(lambda o: o.state in ("offered", "accepted"))
        offers.sudo()._respond("withdrawn")

    def _service_log(self, decision, trigger, inquiry, candidates, chosen_by=None):
        names = {c.id: c.name for c in candidates}
        if decision.technician_id:
            by = chosen_by or decision.chosen_by
            reason = {
                "contract": self.env._("Offered to the contract technician %(name)s."),
                "dispatcher": self.env._("Offered to %(name)s by a dispatcher."),
            }.get(by, self.env._("Offered to %(name)s, first by %(strategy)s of %(count)s eligible."))
            reason = reason % {
                "name": names.get(decision.technician_id, decision.technician_id),
                "strategy": decision.strategy,
                "count": len(decision.ranking),
            }
        else:
            by = None
            reason = dict(self.env["service.routing.log"]._fields["review_reason"]._description_selection(self.env))[
                decision.review_reason
            ]
        if decision.contract_note and by != "contract":
            reason = f"{reason} ({decision.contract_note})"
        return (
            self.env["service.routing.log"]
            .sudo()
            .create(
                {
                    "lead_id": self.id,
                    "company_id": self.company_id.id,
                    "trigger": trigger,
                    "outcome": "offered" if decision.technician_id else "review",
                    "technician_id": decision.technician_id,
                    "strategy": decision.strategy,
                    "chosen_by": by,
                    "review_reason": decision.review_reason,
                    "reason": reason,
                    "candidate_count": len(decision.ranking),
                    "dropped_count": len(decision.dropped),
                    "decision": decision.to_json(),
                    "facts": engine.facts_to_json(inquiry, candidates),
                }
            )
        )

    @api.model
    def _cron_route_pending(self, batch_size=200):
        """Backstop: route inquiries that are new, or held for want of a candidate."""
        return self._route_pending(batch_size=batch_size)

    @api.model
    def _route_pending(self, batch_size=200):
        self.env.cr.execute(
            """SELECT id FROM crm_lead
                WHERE active AND (routing_state = 'new'
                      OR (routing_state = 'review' AND review_reason = 'no_candidate'
                          AND write_date < (now() at time zone 'UTC') - interval '1 hour'))
                ORDER BY id
                LIMIT %s
                FOR UPDATE SKIP LOCKED""",
            (batch_size,),
        )
        leads = self.browse(row[0] for row in self.env.cr.fetchall())
        leads._service_route_safely("cron")
        # a full batch may leave more: the cron runs again at once
        self.env["ir.cron"]._notify_progress(done=len(leads), remaining=int(len(leads) == batch_size))
        return leads
