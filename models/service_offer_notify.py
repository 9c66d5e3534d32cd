# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

import pytz
from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools.misc import get_lang

from .service_constants import CONCURRENCY_ERRORS, OPEN_OFFER_STATES
from .service_format import format_minutes_zoned
from .service_outbox import Outbox

_logger = logging.getLogger(__name__)

NOTIFY_KINDS = [
    ("offer", "Offer Mail"),
    ("withdrawn", "Withdrawal Mail"),
    ("accepted", "Follow on Acceptance"),
    ("unfollow", "Unfollow Only"),
]
TEMPLATE_OFFER = "crm_service_routing.mail_template_offer_new"
TEMPLATE_WITHDRAWN = "crm_service_routing.mail_template_offer_withdrawn"


class ServiceOffer(models.Model):
    """Who is told what about an offer, sent in batches by the escalation's scheduled action.

    Creating or closing an offer only records what must be told
    (``service_notify``, in the same write); the scheduled action, woken at
    once, sends the offer mail or the withdrawal mail and keeps the
    technician's users following the inquiry while the offer is theirs (an
    acceptance is told by the chatter itself: the tracked routing state and
    its subtype, see crm.lead._track_subtype). Routing never renders a mail. An offer closed before its offer
    mail went out sends neither.
    """

    _inherit = "service.offer"

    service_notify = fields.Selection(
        NOTIFY_KINDS,
        "Pending Notification",
        readonly=True,
        copy=False,
        help="What the next notification run sends for this offer.",
    )

    # what the technician's templates show, as plain text (see mail_allowed_qweb_expressions)
    service_offer_url = fields.Char(compute="_compute_service_notify_texts")
    service_offer_link = fields.Html(compute="_compute_service_notify_texts", sanitize=False)
    service_partner_to = fields.Char(compute="_compute_service_partner_to")
    service_occasion_text = fields.Char(compute="_compute_service_notify_texts")
    service_contract_text = fields.Char(compute="_compute_service_notify_texts")
    service_preferred_text = fields.Char(compute="_compute_service_notify_texts")
    service_site_text = fields.Char(compute="_compute_service_notify_texts")
    service_contact_text = fields.Char(compute="_compute_service_notify_texts")
    service_closed_text = fields.Char(compute="_compute_service_notify_texts")
    service_override_html = fields.Html(compute="_compute_service_notify_texts", sanitize=False)

    @api.depends_context("lang", "service_reader_tz")
    @api.depends("state", "access_token", "technician_id.tz", "lead_id", "override_note")
    def _compute_service_notify_texts(self):
        lead_model = self.env["crm.lead"]
        occasions = dict(lead_model._fields["service_occasion"]._description_selection(self.env))
        closed = {
            "withdrawn": self.env._("a dispatcher gave it to someone else"),
            "expired": self.env._("it was not answered in time and has been passed on"),
            "cancelled": self.env._("the inquiry has been closed"),
            "declined": self.env._("you declined it"),
        }
        for offer in self:
            lead = offer.lead_id.sudo()
            url = f"{offer.get_base_url()}{offer.get_portal_url()}" if offer.id else ""
            offer.service_offer_url = url
            offer.service_offer_link = url and Markup(
                '<a href="%s" style="display: inline-block; padding: 10px 16px; background-color: #875a7b; '
                'color: #ffffff; text-decoration: none; border-radius: 4px;">%s</a>'
            ) % (url, self.env._("Open, accept or decline"))
            offer.service_occasion_text = occasions.get(lead.service_occasion, "")
            offer.service_contract_text = lead.contract_id.display_name or lead.contract_ref or ""
            offer.service_preferred_text = offer._service_format_time(lead.preferred_appointment)
            offer.service_site_text = ", ".join(
                filter(None, [lead.street, lead.street2, " ".join(filter(None, [lead.zip, lead.city]))])
            )
            offer.service_contact_text = ", ".join(filter(None, [lead.contact_name or lead.partner_name, lead.phone]))
            offer.service_closed_text = closed.get(offer.state, "")
            offer.service_override_html = (
                offer.override_note
                and Markup('<p style="padding: 8px; border-left: 4px solid #d9534f;"><strong>%s</strong></p>')
                % offer.override_note
                or ""
            )

    @api.depends("technician_id.email")
    def _compute_service_partner_to(self):
        recipients = self._service_recipients()
        for offer in self:
            offer.service_partner_to = ",".join(str(pid) for pid in recipients[offer].ids)

    def mail_allowed_qweb_expressions(self):
        return (
            *super().mail_allowed_qweb_expressions(),
            "object.lead_id.description",
            "object.lead_id.equipment_type_id.name",
            "object.lead_id.serial_number",
            "object.technician_id.lang",
            "object.service_offer_url",
            "object.service_offer_link",
            "object.service_partner_to",
            "object.service_occasion_text",
            "object.service_contract_text",
            "object.service_preferred_text",
            "object.service_site_text",
            "object.service_contact_text",
            "object.service_closed_text",
            "object.override_note",
            "object.service_override_html",
        )

    def init(self):
        res = super().init()
        # the notification run reads only the offers with something to tell
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS service_offer_notify_idx
                   ON service_offer (id) WHERE service_notify IS NOT NULL"""
        )
        return res

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _service_reader_tz(self):
        """The time zone the technician reads in: their own; else their country's when it runs on one
        clock (Germany: Europe/Berlin); else their users'; else the company's. Read in this order, a
        batch of mails asks the database for the users only where the country leaves the zone open."""
        self.ensure_one()
        technician = self.technician_id.sudo()
        if technician.tz:
            return technician.tz
        zone = self._service_country_tz(technician.country_id)
        if zone:
            return zone
        users = technician.service_user_ids | technician.user_ids
        for tz in users.mapped("tz"):
            if tz:
                return tz
        return self._service_company_tz()

    def _service_company_tz(self):
        """The company's time zone: its own; else its country's when it runs on one clock; UTC only
        when nothing names one. Chatter notes, read by everyone, print their times in it."""
        company = self.company_id.sudo() or self.env.company
        return company.partner_id.tz or self._service_country_tz(company.country_id) or "UTC"

    def _service_user_reading(self, user):
        """(time zone, language) in which ``user`` (a dispatcher or a channel manager) reads a mail
        about this offer: their own, else the company's."""
        self.ensure_one()
        user = user.sudo()
        company = self.company_id.sudo() or self.env.company
        return user.tz or self._service_company_tz(), user.lang or company.partner_id.lang or get_lang(self.env).code

    @staticmethod
    def _service_country_tz(country):
        """The zone of a country on one clock (Germany with Büsingen), else False."""
        zones = pytz.country_timezones.get(country.code or "", [])
        now = fields.Datetime.now()
        if zones and len({pytz.timezone(zone).utcoffset(now) for zone in zones}) == 1:
            return zones[0]
        return False

    def _service_format_time(self, value, tz=None):
        """``value`` as its reader reads it in a mail: in their time zone, named, in the date and time
        format of the mail's language, without seconds. The reader is the technician unless ``tz`` or
        the context (``service_reader_tz``: a channel manager's mail) names another zone."""
        self.ensure_one()
        if not value:
            return ""
        tz = tz or self.env.context.get("service_reader_tz") or self._service_reader_tz()
        return format_minutes_zoned(self.env, value, tz)

    @api.model
    def _service_notify_create_values(self, vals):
        """Hook of create: what a new offer leaves to tell, recorded in the INSERT itself."""
        state = vals.get("state", "offered")
        if state in OPEN_OFFER_STATES and "service_notify" not in vals:
            return {"service_notify": "offer" if state == "offered" else "accepted"}
        return {}

    def _service_notify_transition_values(self, event, target):
        """Hook of _service_transition: what the transition leaves to tell the technician."""
        self.ensure_one()
        if target == "accepted":
            # a restored job is no news to its technician
            return {"service_notify": "accepted" if event == "accept" else False}
        if self.service_notify == "offer":
            # the technician was never told of the offer: nothing to take back
            return {"service_notify": False}
        if target == "done":
            return {"service_notify": False}
        return {"service_notify": "unfollow" if target == "declined" else "withdrawn"}

    def _service_technician_users(self):
        """{technician id: its active users} for these offers' technicians (one query)."""
        technicians = self.sudo().technician_id
        users = self.env["res.users"].sudo().search([("service_technician_id", "in", technicians.ids)])
        result = {technician.id: users.browse() for technician in technicians}
        for user in users:
            result[user.service_technician_id.id] |= user
        return result

    def _service_recipients(self, users_by_technician=None):
        """{offer: partners} the technician's mails go to: its own address and the users acting for it."""
        if users_by_technician is None:
            users_by_technician = self._service_technician_users()
        result = {}
        for offer in self:
            technician = offer.sudo().technician_id
            partners = users_by_technician.get(technician.id, self.env["res.users"]).partner_id
            if technician.email or not partners:
                partners = technician | partners
            result[offer] = partners
        return result

    @api.model
    def _service_send_notifications(self, batch_size=200):
        """Send what created and closed offers left to tell, in locked batches; returns the offers handled."""
        return self._service_run_batches("notify", batch_size, None)

    def _service_notify_batch(self):
        """Send this locked batch's notifications and clear them; if the batch fails, offer by offer,
        and an offer that fails alone is logged and dropped."""
        if self._service_notify_guarded():
            return
        for offer in self:
            if not offer._service_notify_guarded():
                offer._service_write({"service_notify": False})

    def _service_notify_guarded(self):
        """Send in a savepoint: False (logged, undone) on an error that is no concurrency conflict."""
        try:
            with self.env.cr.savepoint():
                self._service_notify_send()
        except CONCURRENCY_ERRORS:
            raise
        except Exception:
            _logger.exception("Notifications of offers %s failed.", self.ids)
            self.env.invalidate_all(flush=False)
            return False
        return True

    def _service_notify_send(self):
        self = self.sudo()  # noqa: PLW0642 - locked by the scheduled action, which runs as the system
        users_by_technician = self._service_technician_users()
        recipients = self._service_recipients(users_by_technician)
        outbox = Outbox()
        follow, unfollow = {}, {}
        for offer in self:
            lead = offer.lead_id
            technician = offer.technician_id
            users = users_by_technician.get(technician.id, self.env["res.users"])
            names = ", ".join(recipients[offer].mapped("name"))
            kind = offer.service_notify
            if kind == "offer" and offer.state == "offered":
                outbox.mail(TEMPLATE_OFFER, offer)
                # one note for every reader: the deadline in the company's zone, named
                outbox.note(
                    lead,
                    self.env._(
                        "Offer mail sent to %(recipients)s, answer by %(deadline)s.",
                        recipients=names,
                        deadline=offer._service_format_time(offer.answer_deadline, tz=offer._service_company_tz()),
                    )
                    if offer.answer_deadline
                    else self.env._("Offer mail sent to %(recipients)s.", recipients=names),
                )
                follow.setdefault(lead, users.browse())
                follow[lead] |= users
            elif kind == "accepted" and offer.state == "accepted":
                # the acceptance itself is in the chatter already (tracked, crm.lead._track_subtype)
                follow.setdefault(lead, users.browse())
                follow[lead] |= users
            elif kind == "withdrawn" and offer.state not in OPEN_OFFER_STATES:
                if lead.service_offer_id.technician_id != technician:
                    # offered to the same technician again (a dispatcher's re-run): nothing was taken away
                    outbox.mail(TEMPLATE_WITHDRAWN, offer)
                    outbox.note(
                        lead,
                        self.env._(
                            "Mail sent to %(recipients)s: the inquiry is no longer theirs (%(reason)s).",
                            recipients=names,
                            reason=offer.service_closed_text,
                        ),
                    )
                    unfollow.setdefault(lead, users.browse())
                    unfollow[lead] |= users
            elif kind == "unfollow" and offer.state not in OPEN_OFFER_STATES:
                unfollow.setdefault(lead, users.browse())
                unfollow[lead] |= users
        self._service_write({"service_notify": False})
        outbox.flush(self.env)
        self._service_update_followers(follow, unfollow, users_by_technician)

    def _service_update_followers(self, follow, unfollow, users_by_technician):
        """The technician's users follow the inquiry while the offer is theirs, and no longer after."""
        Lead = self.env["crm.lead"].sudo()
        groups = {}
        for lead, users in follow.items():
            partners = users.partner_id - lead.message_partner_ids
            if partners:
                groups.setdefault(tuple(sorted(partners.ids)), Lead)
                groups[tuple(sorted(partners.ids))] |= lead
        for partner_ids, leads in groups.items():
            leads.message_subscribe(partner_ids=list(partner_ids))
        for lead, users in unfollow.items():
            keep = lead.user_id.partner_id
            current = lead.service_offer_id.technician_id
            if current:
                # offered to the same technician (or company) again: its users keep following
                current_users = users_by_technician.get(current.id)
                if current_users is None:
                    current_users = self.env["res.users"].sudo().search([("service_technician_id", "=", current.id)])
                keep |= current_users.partner_id
            partners = (users.partner_id - keep) & lead.message_partner_ids
            if partners:
                lead.message_unsubscribe(partner_ids=partners.ids)
