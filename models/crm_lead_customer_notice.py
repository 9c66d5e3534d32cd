# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import pytz

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError
from odoo.tools.misc import format_date, format_time

from .service_customer_notice import ROUTED_STATES

# what the customer templates may show (see mail_allowed_qweb_expressions): nothing of the technician's own
NOTICE_TEXT_FIELDS = (
    "service_notice_name",
    "service_notice_reference",
    "service_notice_technician",
    "service_notice_appointment",
    "service_notice_due",
    "service_notice_equipment",
    "service_notice_request",
    "service_notice_lang",
)


class CrmLead(models.Model):
    """What the customer is told: on arrival, acceptance, agreed appointment, and a maintenance that came due."""

    _inherit = "crm.lead"

    notify_customer = fields.Boolean(
        "Tell the Customer",
        default=True,
        copy=False,
        help="Send the customer the inquiry's messages (received, technician found, appointment, maintenance due). "
        "Off when an integration answers the customer itself (notify_customer: false).",
    )
    service_notice_ids = fields.One2many("service.customer.notice", "lead_id", "Customer Messages", readonly=True)
    service_notice_name = fields.Char(compute="_compute_service_notice_texts")
    service_notice_reference = fields.Char(compute="_compute_service_notice_texts")
    service_notice_technician = fields.Char(compute="_compute_service_notice_texts")
    service_notice_appointment = fields.Char(compute="_compute_service_notice_texts")
    service_notice_due = fields.Char(compute="_compute_service_notice_texts")
    service_notice_equipment = fields.Char(compute="_compute_service_notice_texts")
    service_notice_request = fields.Char(compute="_compute_service_notice_texts")
    service_notice_lang = fields.Char(compute="_compute_service_notice_texts")

    @api.depends_context("lang")
    @api.depends("name", "contact_name", "partner_id", "technician_id", "agreed_appointment", "equipment_id")
    def _compute_service_notice_texts(self):
        """The texts of the customer's messages, in the language they are rendered in (the customer's)."""
        for lead in self:
            sudo = lead.sudo()
            partner = sudo.partner_id
            tz = partner.tz or sudo.company_id.partner_id.tz or self.env.user.tz or "UTC"
            lead.service_notice_name = sudo.contact_name or partner.name or sudo.partner_name or ""
            lead.service_notice_reference = sudo._service_notice_reference()
            lead.service_notice_technician = sudo._service_notice_technician_name()
            lead.service_notice_appointment = sudo._service_notice_when(sudo.agreed_appointment, tz)
            plan = sudo.service_maintenance_plan_id
            lead.service_notice_due = plan.next_due_date and format_date(self.env, plan.next_due_date) or ""
            equipment = sudo.equipment_id
            lead.service_notice_equipment = " ".join(
                filter(
                    None,
                    [
                        (equipment.equipment_type_id or sudo.equipment_type_id).name,
                        equipment.serial_number and f"({equipment.serial_number})",
                    ],
                )
            )
            # the customer's own words for their request; a plan's inquiry named by its plan and the equipment
            # in the customer's language (its name is written in the company's for the back office)
            lead.service_notice_request = (
                f"{plan.name} – {lead.service_notice_equipment}"
                if plan and lead.service_notice_equipment
                else sudo.name
            )
            lead.service_notice_lang = partner.lang or sudo.lang_id.code or sudo.company_id.partner_id.lang or "en_US"

    def mail_allowed_qweb_expressions(self):
        return (
            *super().mail_allowed_qweb_expressions(),
            "object.company_id.name",
            "object.email_from",
            "object.name",
            *(f"object.{fname}" for fname in NOTICE_TEXT_FIELDS),
        )

    # ------------------------------------------------------------
    # BUSINESS: CUSTOMER NOTICES
    # ------------------------------------------------------------

    def _service_notify_customer(self, event):
        """Record the customer's message for ``event`` on these inquiries: at most once per inquiry and event.

        Events: ``arrival`` (after intake and its routing), ``accepted``,
        ``appointment``, ``maintenance`` (a plan opened the inquiry). Nothing
        when the inquiry says not to tell its customer, nor before it is
        routed (an inquiry in review gets ``arrival`` only; a maintenance
        message waits for its routing). Sent by a scheduled action woken at
        once (see service.customer.notice).
        """
        rows = []
        for lead in self.sudo():
            if lead._service_notice_refusal(event):
                continue
            state = "pending"
            if event == "maintenance" and lead.routing_state not in ROUTED_STATES:
                state = "held"
            rows.append((lead.id, event, state, (lead.company_id or self.env.company).id))
        return self.env["service.customer.notice"].sudo()._service_record(rows)

    def _service_notice_refusal(self, event, sending=False):
        """Why the customer is not told of ``event`` (a short text), or False.

        ``sending``: checked again when the message is sent, on the inquiry as
        it is then (an offer declined in between sends no "technician found").
        """
        self.ensure_one()
        if not self.service_occasion:
            return "not a service inquiry"
        if not self.notify_customer:
            return "the customer is not to be told"
        if not self.active and event != "arrival":
            return "inquiry archived"
        if not (self.email_from or self.phone or self.mobile):
            return "no address"
        state = self.routing_state
        if state == "linked" and event != "arrival":
            return "linked to another inquiry"
        if event == "arrival":
            return "maintenance inquiry" if self.service_maintenance_plan_id else False
        if event == "maintenance":
            if not self.service_maintenance_plan_id:
                return "not a maintenance inquiry"
            if sending and state not in ROUTED_STATES:
                return "inquiry not routed"
            return False
        if state not in ("accepted", "done") or not self.technician_id:
            return "not accepted"
        if event == "appointment" and not self.agreed_appointment:
            return "no appointment"
        return False

    def _service_notice_when(self, when, tz):
        """An appointment as the customer reads it: its date and its time in ``tz``, without seconds."""
        if not when:
            return ""
        local = pytz.utc.localize(when).astimezone(pytz.timezone(tz))
        return "{}, {}".format(
            format_date(self.env, local.date(), date_format="medium"),
            format_time(self.env, when, tz=tz, time_format="short"),
        )

    def _service_notice_reference(self):
        """The reference the customer quotes: the inquiry's number."""
        self.ensure_one()
        return f"SR-{self.id:06d}" if self.id else ""

    def _service_notice_technician_name(self):
        """Who will contact the customer: the technician's company, else its name; never its address or phone."""
        self.ensure_one()
        technician = self.technician_id
        if not technician:
            return ""
        commercial = technician.commercial_partner_id
        return commercial.name if commercial.is_company else technician.name

    def _service_notice_email_to(self):
        """The address the customer wrote from (or the customer's), with the contact's name."""
        self.ensure_one()
        email = tools.email_normalize(self.email_from or "") or tools.email_normalize(self.partner_id.email or "")
        if not email:
            return False
        return tools.formataddr((self.contact_name or self.partner_id.name or "", email))

    def _service_notice_sms_number(self):
        self.ensure_one()
        number = self.mobile or self.phone
        if not number:
            return False
        country = self.country_id or self.company_id.country_id
        return self._phone_format(number=number, country=country, force_format="E164", raise_exception=False)

    def _service_notice_sms_text(self, event):
        """The short text of an SMS, in the customer's language."""
        self.ensure_one()
        lead = self.with_context(lang=self.service_notice_lang)
        env = lead.env
        company = lead.company_id.name or env.company.name
        texts = {
            "arrival": env._(
                "%(company)s: we have your request, reference %(ref)s. We will tell you who takes care of it.",
                company=company,
                ref=lead.service_notice_reference,
            ),
            "accepted": env._(
                "%(company)s: %(technician)s will contact you to agree an appointment (reference %(ref)s).",
                company=company,
                technician=lead.service_notice_technician,
                ref=lead.service_notice_reference,
            ),
            "appointment": env._(
                "%(company)s: your appointment is agreed for %(when)s (reference %(ref)s).",
                company=company,
                when=lead.service_notice_appointment,
                ref=lead.service_notice_reference,
            ),
            "maintenance": env._(
                "%(company)s: the maintenance of your %(equipment)s is due on %(date)s. We will contact you "
                "(reference %(ref)s).",
                company=company,
                equipment=lead.service_notice_equipment,
                date=lead.service_notice_due,
                ref=lead.service_notice_reference,
            ),
        }
        return texts[event]

    @api.model
    def _service_notice_intake_split(self, values):
        """(values without ``notify_customer``, cleaned values holding it): a yes/no, not text."""
        if not isinstance(values, dict) or "notify_customer" not in values:
            return values, {}
        flag = values["notify_customer"]
        if flag is not None and not isinstance(flag, bool):
            raise ValidationError(self.env._("The field notify_customer must be true or false."))
        rest = {key: value for key, value in values.items() if key != "notify_customer"}
        return rest, ({} if flag is None else {"notify_customer": flag})
