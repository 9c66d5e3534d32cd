# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime

import pytz
from werkzeug.exceptions import NotFound

from odoo import fields, http
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal

# what a technician's list shows of the work it has finished
DONE_DAYS = 30
DONE_LIMIT = 10


class ServicePortal(CustomerPortal):
    """The technician's pages: offers and jobs, one inquiry, and what can be done on it.

    Thin by design: each route finds the offer, calls one model method (which
    checks who calls), and renders or redirects. An offer reached by its
    token link works while the offer is open; everyone else gets a 404.
    """

    # ------------------------------------------------------------
    # PORTAL HOME
    # ------------------------------------------------------------

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "service_offer_count" in counters:
            Offer = request.env["service.offer"]
            technicians = request.env.user.service_technician_ids
            values["service_offer_count"] = (
                Offer.search_count(self._service_open_domain(technicians))
                if technicians and Offer.has_access("read")
                else 0
            )
        return values

    @staticmethod
    def _service_open_domain(technicians):
        return [
            ("technician_id", "in", technicians.ids),
            ("state", "in", ("offered", "accepted")),
            ("lead_id.routing_state", "in", ("offered", "accepted")),
        ]

    # ------------------------------------------------------------
    # PAGES
    # ------------------------------------------------------------

    @http.route("/my/service", type="http", auth="user", website=True)
    def service_portal_list(self, **kw):
        user = request.env.user
        technicians = user.service_technician_ids
        if not technicians:
            raise NotFound()
        Offer = request.env["service.offer"]
        offers = Offer.search(self._service_open_domain(technicians))
        since = fields.Datetime.now() - datetime.timedelta(days=DONE_DAYS)
        done = Offer.search(
            [
                ("technician_id", "in", technicians.ids),
                ("state", "=", "accepted"),
                ("lead_id.routing_state", "in", ("done", "cancelled")),
                ("responded_at", ">=", since),
            ],
            order="responded_at desc",
            limit=DONE_LIMIT,
        )
        offers_sudo = offers.sudo()
        far = datetime.datetime.max
        new = offers_sudo.filtered(lambda o: o.state == "offered").sorted(lambda o: (o.answer_deadline or far, o.id))
        # jobs without an agreed appointment first: they need a call
        jobs = offers_sudo.filtered(lambda o: o.state == "accepted").sorted(
            lambda o: (bool(o.lead_id.agreed_appointment), o.lead_id.agreed_appointment or far, o.id)
        )
        values = self._service_values(
            page_name="service",
            new_offers=new,
            jobs=jobs,
            done_offers=done.sudo(),
            technician=technicians.sudo()[:1],
        )
        return request.render("crm_service_routing.portal_service_list", values)

    @http.route("/my/service/offer/<int:offer_id>", type="http", auth="public", website=True)
    def service_portal_offer(self, offer_id, access_token=None, **kw):
        try:
            offer = self._service_offer_or_404(offer_id, access_token)
        except NotFound:
            # an old link (answered, passed on, withdrawn) or another's offer: say so, in the app's words
            response = request.render("crm_service_routing.portal_service_link_gone", {"page_name": "service_gone"})
            response.status_code = 404
            return response
        lead = offer.lead_id
        tz = self._service_tz(offer)
        agreed = lead.agreed_appointment
        values = self._service_values(
            page_name="service_offer",
            offer=offer,
            lead=lead,
            access_token=access_token if access_token and not offer._service_is_mine() else None,
            is_mine=offer._service_is_mine(),
            tz=tz,
            today=fields.Date.to_string(fields.Date.context_today(offer.with_context(tz=tz))),
            agreed_input=agreed and pytz.utc.localize(agreed).astimezone(pytz.timezone(tz)).strftime("%Y-%m-%dT%H:%M"),
            occasions=lead._fields["service_occasion"]._description_selection(request.env),
            equipment_types=request.env["service.equipment.type"]
            .sudo()
            .search([("company_id", "in", [lead.company_id.id, False])]),
        )
        return request.render("crm_service_routing.portal_service_offer", values)

    # ------------------------------------------------------------
    # ACTIONS (POST, CSRF-protected)
    # ------------------------------------------------------------

    @http.route("/my/service/offer/<int:offer_id>/accept", type="http", auth="public", website=True, methods=["POST"])
    def service_portal_accept(self, offer_id, access_token=None, **kw):
        return self._service_act(
            offer_id,
            access_token,
            lambda offer: offer._service_portal_accept(access_token=access_token),
            success=request.env._("Accepted. Call the customer to agree an appointment."),
        )

    @http.route("/my/service/offer/<int:offer_id>/decline", type="http", auth="public", website=True, methods=["POST"])
    def service_portal_decline(self, offer_id, access_token=None, reason=None, note=None, **kw):
        return self._service_act(
            offer_id,
            access_token,
            lambda offer: offer._service_portal_decline(reason, note, access_token=access_token),
            success=request.env._("Declined. The inquiry goes to the next technician."),
            to_list=True,
        )

    @http.route(
        "/my/service/offer/<int:offer_id>/appointment", type="http", auth="public", website=True, methods=["POST"]
    )
    def service_portal_appointment(self, offer_id, access_token=None, agreed_appointment=None, **kw):
        def act(offer):
            when = self._service_parse_datetime(agreed_appointment, self._service_tz(offer.sudo()))
            if not when:
                raise ValidationError(request.env._("Give the appointment as a date and a time."))
            return offer._service_portal_set_appointment(when, access_token=access_token)

        return self._service_act(offer_id, access_token, act, success=request.env._("Appointment saved."))

    @http.route("/my/service/offer/<int:offer_id>/note", type="http", auth="public", website=True, methods=["POST"])
    def service_portal_note(self, offer_id, access_token=None, note=None, **kw):
        return self._service_act(
            offer_id,
            access_token,
            lambda offer: offer._service_portal_post_note(note, access_token=access_token),
            success=request.env._("Note sent to the back office."),
        )

    @http.route("/my/service/offer/<int:offer_id>/visit", type="http", auth="public", website=True, methods=["POST"])
    def service_portal_visit(self, offer_id, access_token=None, **post):
        def act(offer):
            values = {
                "visit_date": self._service_parse_date(post.get("visit_date"), request.env._("visit date")),
                "work_done": post.get("work_done"),
                "next_maintenance_date": self._service_parse_date(
                    post.get("next_maintenance_date"), request.env._("next maintenance")
                ),
                "followon_order": post.get("followon_order") in ("1", "on", "true"),
                "followon_amount": self._service_parse_amount(post.get("followon_amount")),
            }
            return offer._service_portal_document_visit(values, access_token=access_token)

        return self._service_act(offer_id, access_token, act, success=request.env._("Visit documented."))

    @http.route("/my/service/offer/<int:offer_id>/followon", type="http", auth="user", website=True, methods=["POST"])
    def service_portal_followon(self, offer_id, **post):
        def act(offer):
            type_id = post.get("equipment_type_id") or ""
            values = {
                "name": post.get("name"),
                "service_occasion": post.get("service_occasion"),
                "equipment_type_id": int(type_id) if type_id.isdigit() else False,
                "description": post.get("description"),
                "preferred_appointment": self._service_parse_datetime(
                    post.get("preferred_appointment"), self._service_tz(offer.sudo())
                ),
            }
            return offer._service_portal_create_followon(values)

        return self._service_act(
            offer_id, None, act, success=request.env._("Follow-on inquiry created; it is routed like any other.")
        )

    @http.route("/my/service/availability", type="http", auth="user", website=True, methods=["POST"])
    def service_portal_availability(self, paused=None, away_until=None, **kw):
        try:
            away = self._service_parse_date(away_until, request.env._("away until"))
            request.env.user._service_portal_set_availability(paused in ("1", "on", "true"), away)
        except AccessError as error:
            raise NotFound() from error
        except (UserError, ValidationError) as error:
            request.session["service_portal_error"] = error.args[0]
        else:
            request.session["service_portal_success"] = request.env._("Availability saved.")
        return request.redirect("/my/service")

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    def _service_values(self, **values):
        result = self._prepare_portal_layout_values()
        result.update(values)
        result.update(
            service_pwa=True,
            service_error=request.session.pop("service_portal_error", None),
            service_success=request.session.pop("service_portal_success", None),
        )
        return result

    def _service_offer_or_404(self, offer_id, access_token):
        """The offer (sudo) if the caller may see it; a 404 for everyone else, existing or not."""
        try:
            return request.env["service.offer"].browse(offer_id)._service_check_portal_access(access_token)
        except (AccessError, MissingError) as error:
            raise NotFound() from error

    def _service_act(self, offer_id, access_token, act, success, to_list=False):
        """Run ``act(offer)``; answer JSON to a JSON client, else redirect with a message."""
        offer = request.env["service.offer"].browse(offer_id)
        wants_json = "application/json" in (request.httprequest.headers.get("Accept") or "")
        try:
            with request.env.cr.savepoint():
                act(offer)
        except (AccessError, MissingError):
            if wants_json:
                return request.make_json_response(
                    {"ok": False, "error": request.env._("This offer is not yours, or its link is no longer valid.")},
                    status=404,
                )
            raise NotFound() from None
        except (UserError, ValidationError) as error:
            message = error.args[0] if error.args else str(error)
            if wants_json:
                return request.make_json_response({"ok": False, "error": message}, status=409)
            request.session["service_portal_error"] = message
            return request.redirect(self._service_offer_url(offer_id, access_token))
        if wants_json:
            return request.make_json_response({"ok": True, "state": offer.sudo().state})
        request.session["service_portal_success"] = success
        if to_list and not request.env.user._is_public():
            return request.redirect("/my/service")
        return request.redirect(self._service_offer_url(offer_id, access_token))

    @staticmethod
    def _service_offer_url(offer_id, access_token):
        url = f"/my/service/offer/{offer_id}"
        return f"{url}?access_token={access_token}" if access_token else url

    @staticmethod
    def _service_tz(offer):
        return (
            offer.technician_id.tz
            or (not request.env.user._is_public() and request.env.user.tz)
            or offer.company_id.partner_id.tz
            or "UTC"
        )

    @staticmethod
    def _service_parse_datetime(value, tz):
        """A naive UTC datetime from an <input type="datetime-local"> in ``tz``, or False."""
        if not value:
            return False
        try:
            local = datetime.datetime.strptime(value.strip()[:16], "%Y-%m-%dT%H:%M")
        except (ValueError, AttributeError) as error:
            raise ValidationError(request.env._("Give the date and time as shown by the date picker.")) from error
        return pytz.timezone(tz).localize(local).astimezone(pytz.utc).replace(tzinfo=None)

    @staticmethod
    def _service_parse_date(value, what):
        if not value:
            return False
        try:
            return datetime.date.fromisoformat(value.strip())
        except (ValueError, AttributeError) as error:
            raise ValidationError(request.env._("The %(what)s is not a date.", what=what)) from error

    @staticmethod
    def _service_parse_amount(value):
        if not value:
            return 0.0
        try:
            return float(value.replace(",", "."))
        except (ValueError, AttributeError) as error:
            raise ValidationError(request.env._("The order amount must be a number, such as 250.00.")) from error
