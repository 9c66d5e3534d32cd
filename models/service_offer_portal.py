# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import uuid

from odoo import fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import consteq, format_amount, format_date, plaintext2html

from .service_constants import OPEN_OFFER_STATES, ROUTING_WRITE
from .service_input import parse_amount
from .service_visit import WORK_DONE_MAX

NOTE_MAX = 2000


class ServiceOffer(models.Model):
    """The offer as the technician reaches it: on the portal, or by the token link of its mail.

    The token belongs to the offer: it opens this offer only, and only while
    the offer is open (offered or accepted). A technician's portal user reaches
    the offers of the technician it acts for (``res.users.service_technician_id``).
    """

    _name = "service.offer"
    _inherit = ["service.offer", "portal.mixin"]

    def _compute_access_url(self):
        for offer in self:
            offer.access_url = f"/my/service/offer/{offer.id}"

    def _portal_ensure_token(self):
        # offers are written by the routing only: an offer made before tokens gets one here
        if not self.access_token:
            self.sudo().with_context(service_routing_write=ROUTING_WRITE).write({"access_token": str(uuid.uuid4())})
        return self.access_token

    # ------------------------------------------------------------
    # BUSINESS: PORTAL ACCESS
    # ------------------------------------------------------------

    def _service_token_valid(self, access_token):
        """Whether ``access_token`` opens this offer: its own token, while the offer is open."""
        self.ensure_one()
        offer = self.sudo()
        return bool(
            access_token
            and isinstance(access_token, str)
            and offer.access_token
            and offer.state in OPEN_OFFER_STATES
            and consteq(offer.access_token, access_token)
        )

    def _service_is_mine(self):
        """Whether the current user acts for this offer's technician."""
        self.ensure_one()
        return self.sudo().technician_id in self.env.user.service_technician_ids

    def _service_check_portal_access(self, access_token=None):
        """The offer as the technician sees it (sudo), once the caller may see it.

        Checked as the portal checks its documents
        (``CustomerPortal._document_check_access``): the record rules (a
        technician's users read its offers, dispatchers all of them), or else
        the offer's token; ours adds that a token opens the offer only while
        the offer is open. Everyone else gets an AccessError, whether or not
        the offer exists.
        """
        self.ensure_one()
        offer = self.sudo().exists()
        if offer and (self.has_access("read") or offer._service_token_valid(access_token)):
            return offer
        raise AccessError(self.env._("This offer is not yours, or its link is no longer valid."))

    # ------------------------------------------------------------
    # ACTIONS FROM THE PORTAL
    # Each checks the caller first (its technician's user, or the offer's
    # token while the offer is open), then writes narrowly with the rights
    # the routing needs.
    # ------------------------------------------------------------

    def _service_portal_accept(self, access_token=None):
        # action_accept checks the caller, the token included (_check_answer_access)
        return self.with_context(service_access_token=access_token).action_accept()

    def _service_portal_decline(self, reason, note=False, access_token=None):
        return self.with_context(service_access_token=access_token).action_decline(reason, note)

    def _service_portal_set_appointment(self, when, access_token=None):
        """Record the appointment agreed with the customer (a naive UTC datetime)."""
        offer = self._service_check_portal_access(access_token)
        offer._service_check_current(self.env._("set an appointment"))
        offer._service_check_accepted(self.env._("set an appointment"))
        if not isinstance(when, datetime.datetime):
            raise ValidationError(self.env._("Give the appointment as a date and a time."))
        offer.lead_id.write({"agreed_appointment": when})
        return True

    def _service_portal_post_note(self, text, access_token=None):
        """A note for the back office, in the inquiry's chatter."""
        offer = self._service_check_portal_access(access_token)
        offer._service_check_current(self.env._("send a note"))
        text = self._service_clean_text(text, NOTE_MAX, self.env._("note"))
        if not text:
            raise ValidationError(self.env._("Write the note first."))
        offer.lead_id.message_post(
            body=plaintext2html(text),
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            author_id=offer._service_author().id,
        )
        return True

    def _service_portal_document_visit(self, values, access_token=None):
        """Document a visit: work done, next maintenance, follow-on order and amount."""
        offer = self._service_check_portal_access(access_token)
        offer._service_check_current(self.env._("document a visit"))
        offer._service_check_accepted(self.env._("document a visit"))
        lead = offer.lead_id
        visit_date = values.get("visit_date") or fields.Date.context_today(self)
        if not isinstance(visit_date, datetime.date) or isinstance(visit_date, datetime.datetime):
            raise ValidationError(self.env._("Give the visit's date."))
        if visit_date > fields.Date.context_today(self):
            raise ValidationError(self.env._("A visit is documented once it took place, not in advance."))
        amount = values.get("followon_amount") or 0.0
        if not isinstance(amount, (int, float)) or isinstance(amount, bool):
            raise ValidationError(self.env._("The order amount must be a number."))
        amount = parse_amount(self.env, amount, self.env._("order amount"))
        visit = (
            self.env["service.visit"]
            .sudo()
            .create(
                {
                    "lead_id": lead.id,
                    "offer_id": offer.id,
                    "technician_id": offer.technician_id.id,
                    "company_id": (lead.company_id or offer.company_id or self.env.company).id,
                    "user_id": False if self.env.user._is_public() else self.env.uid,
                    "visit_date": visit_date,
                    "work_done": self._service_clean_text(values.get("work_done"), WORK_DONE_MAX, self.env._("work")),
                    "next_maintenance_date": values.get("next_maintenance_date") or False,
                    "followon_order": bool(values.get("followon_order")),
                    "followon_amount": float(amount),
                }
            )
        )
        if visit.next_maintenance_date and lead.equipment_id:
            lead.equipment_id.write({"next_maintenance_date": visit.next_maintenance_date})
        summary = self.env._(
            "Visit on %(date)s documented by %(technician)s: %(work)s",
            date=format_date(self.env, visit.visit_date),
            technician=offer.technician_id.display_name,
            work=visit.work_done,
        )
        if visit.followon_order:
            summary = "{} {}".format(
                summary,
                self.env._(
                    "Follow-on order: %(amount)s.",
                    amount=format_amount(self.env, visit.followon_amount, visit.currency_id),
                ),
            )
        if visit.next_maintenance_date:
            summary = "{} {}".format(
                summary,
                self.env._("Next maintenance: %(date)s.", date=format_date(self.env, visit.next_maintenance_date)),
            )
        lead.message_post(
            body=plaintext2html(summary),
            message_type="comment",
            subtype_xmlid="mail.mt_note",
            author_id=offer._service_author().id,
        )
        return visit

    def _service_portal_create_followon(self, values):
        """A new inquiry raised at this offer's site (by its technician's user), routed like any other."""
        offer = self._service_check_portal_access()
        if not offer._service_is_mine():
            raise AccessError(self.env._("Log in to raise a follow-on inquiry."))
        offer._service_check_current(self.env._("raise a follow-on inquiry"))
        offer._service_check_accepted(self.env._("raise a follow-on inquiry"))
        lead = offer.lead_id
        name = self._service_clean_text(values.get("name"), 200, self.env._("title"))
        if not name:
            raise ValidationError(self.env._("Give the follow-on inquiry a title."))
        occasion = values.get("service_occasion")
        occasions = dict(lead._fields["service_occasion"]._description_selection(self.env))
        if occasion not in occasions:
            raise ValidationError(self.env._("Choose what the follow-on inquiry is for."))
        equipment_type = self.env["service.equipment.type"].sudo()
        if values.get("equipment_type_id"):
            equipment_type = equipment_type.browse(values["equipment_type_id"]).exists()
            if not equipment_type or equipment_type.company_id not in (lead.company_id, self.env["res.company"]):
                raise ValidationError(self.env._("Choose an equipment type from the list."))
        preferred = values.get("preferred_appointment") or False
        if preferred and not isinstance(preferred, datetime.datetime):
            raise ValidationError(self.env._("Give the preferred appointment as a date and a time."))
        description = self._service_clean_text(values.get("description"), NOTE_MAX, self.env._("description"))
        vals = {
            "name": name,
            "type": lead.type,
            "service_occasion": occasion,
            "equipment_type_id": equipment_type.id or False,
            "description": plaintext2html(description) if description else False,
            "preferred_appointment": preferred,
            "partner_id": lead.partner_id.id,
            "contact_name": lead.contact_name,
            "email_from": lead.email_from,
            "phone": lead.phone,
            "street": lead.street,
            "street2": lead.street2,
            "zip": lead.zip,
            "city": lead.city,
            "country_id": lead.country_id.id,
            "contract_ref": lead.contract_id.name or lead.contract_ref,
            "company_id": lead.company_id.id,
            "user_id": lead.user_id.id,
            "team_id": lead.team_id.id,
            "service_origin_lead_id": lead.id,
            "service_generated_by_id": offer.technician_id.id,
        }
        company = lead.company_id or self.env.company
        followon = self.env["crm.lead"].sudo().with_company(company).create(vals)
        author = offer._service_author().id
        followon.message_post(
            body=self.env._(
                "Raised by %(technician)s at the site of %(lead)s.",
                technician=offer.technician_id.display_name,
                lead=lead.display_name,
            ),
            subtype_xmlid="mail.mt_note",
            author_id=author,
        )
        lead.message_post(
            body=self.env._("Follow-on inquiry raised from the site: %(lead)s.", lead=followon.display_name),
            subtype_xmlid="mail.mt_note",
            author_id=author,
        )
        return followon

    # ------------------------------------------------------------
    # BUSINESS: PORTAL
    # ------------------------------------------------------------

    def _service_check_current(self, what):
        """This offer is still its inquiry's current one (offered or accepted, not declined, expired,
        withdrawn or closed): only through it does its technician act on the inquiry."""
        self.ensure_one()
        offer = self.sudo()
        # an inquiry has one open offer at most (a unique index): an open offer is its current one
        if offer.state not in OPEN_OFFER_STATES:
            labels = dict(offer._fields["state"]._description_selection(self.env))
            raise UserError(
                self.env._(
                    "You cannot %(what)s through this offer: it is no longer open (%(state)s), "
                    "and the inquiry is no longer yours.",
                    what=what,
                    state=labels.get(offer.state, offer.state),
                )
            )

    def _service_check_accepted(self, what):
        self.ensure_one()
        if self.state != "accepted" or self.lead_id.routing_state != "accepted":
            raise UserError(self.env._("Accept the inquiry before you %(what)s.", what=what))

    def _service_author(self):
        """Who a portal action is written by: the user, or for a token link the technician."""
        self.ensure_one()
        if self.env.user._is_public():
            return self.sudo().technician_id
        return self.env.user.partner_id
