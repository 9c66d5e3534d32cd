# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime

import pytz
from werkzeug.exceptions import NotFound

from odoo import fields, http
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal

from ..models.res_users import AWAY_MAX_DAYS
from ..models.service_constants import OPEN_OFFER_STATES
from ..models.service_input import (
    parse_amount,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_id,
    parse_selection,
    parse_text,
)
from ..models.service_offer import DECLINE_NOTE_MAX
from ..models.service_offer_portal import NOTE_MAX
from ..models.service_visit import WORK_DONE_MAX

# the header that tells the service worker whose page it is
SERVICE_CACHE_KEY_HEADER = "X-Service-Cache-Key"
# the routing of the technician pages: the website's layout, at one address in every language (never moved
# under a language's prefix, /de/my/service: the user's language decides), which the app's worker and
# manifest and the links of the offer mails name
SERVICE_PAGE = {"type": "http", "website": True, "multilang": False}
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

    @http.route("/my/service", auth="user", **SERVICE_PAGE)
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
        today = fields.Date.context_today(user)
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
            # the absence the date picker offers: from today (the user's) to the furthest one taken
            today=fields.Date.to_string(today),
            away_max=fields.Date.to_string(today + datetime.timedelta(days=AWAY_MAX_DAYS)),
        )
        return self._service_render("crm_service_routing.portal_service_list", values)

    @http.route("/my/service/offer/<string:offer_id>", auth="public", **SERVICE_PAGE)
    def service_portal_offer(self, offer_id, access_token=None, **kw):
        try:
            offer = self._service_offer_or_404(self._service_id_or_404(offer_id), access_token)
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
        return self._service_render("crm_service_routing.portal_service_offer", values)

    # ------------------------------------------------------------
    # ACTIONS (POST, CSRF-protected)
    # Each parses its fields with the shared parsers first (a bad value: 400,
    # nothing done), then calls one model method (a refusal: 409; not the
    # caller's offer, or no such offer: 404).
    # ------------------------------------------------------------

    @http.route(
        "/my/service/offer/<string:offer_id>/accept", type="http", auth="public", website=True, methods=["POST"]
    )
    def service_portal_accept(self, offer_id, access_token=None, **kw):
        return self._service_act(
            offer_id,
            access_token,
            lambda offer: offer._service_portal_accept(access_token=access_token),
            success=request.env._("Accepted. Call the customer to agree an appointment."),
        )

    @http.route(
        "/my/service/offer/<string:offer_id>/decline", type="http", auth="public", website=True, methods=["POST"]
    )
    def service_portal_decline(self, offer_id, access_token=None, reason=None, note=None, **kw):
        def parse(offer):
            return {
                "reason": parse_selection(
                    request.env,
                    reason,
                    offer._fields["decline_reason"]._description_selection(request.env),
                    request.env._("decline reason"),
                ),
                "note": parse_text(request.env, note, DECLINE_NOTE_MAX, request.env._("decline note"), True),
            }

        return self._service_act(
            offer_id,
            access_token,
            lambda offer, reason, note: offer._service_portal_decline(reason, note, access_token=access_token),
            success=request.env._("Declined. The inquiry goes to the next technician."),
            to_list=True,
            parse=parse,
        )

    @http.route(
        "/my/service/offer/<string:offer_id>/appointment", type="http", auth="public", website=True, methods=["POST"]
    )
    def service_portal_appointment(self, offer_id, access_token=None, agreed_appointment=None, **kw):
        def parse(offer):
            when = parse_datetime(
                request.env, agreed_appointment, self._service_tz(offer), request.env._("agreed appointment")
            )
            if not when:
                raise ValidationError(request.env._("Give the appointment as a date and a time."))
            return {"when": when}

        return self._service_act(
            offer_id,
            access_token,
            lambda offer, when: offer._service_portal_set_appointment(when, access_token=access_token),
            success=request.env._("Appointment saved."),
            parse=parse,
        )

    @http.route("/my/service/offer/<string:offer_id>/note", auth="public", methods=["POST"], **SERVICE_PAGE)
    def service_portal_note(self, offer_id, access_token=None, note=None, **kw):
        def parse(offer):
            return {"text": parse_text(request.env, note, NOTE_MAX, request.env._("note"), True)}

        return self._service_act(
            offer_id,
            access_token,
            lambda offer, text: offer._service_portal_post_note(text, access_token=access_token),
            success=request.env._("Note sent to the back office."),
            parse=parse,
        )

    @http.route("/my/service/offer/<string:offer_id>/visit", auth="public", methods=["POST"], **SERVICE_PAGE)
    def service_portal_visit(self, offer_id, access_token=None, **post):
        def parse(offer):
            env = request.env
            return {
                "values": {
                    "visit_date": parse_date(env, post.get("visit_date"), env._("visit date")),
                    "work_done": parse_text(env, post.get("work_done"), WORK_DONE_MAX, env._("work done"), True),
                    "next_maintenance_date": parse_date(
                        env, post.get("next_maintenance_date"), env._("next maintenance")
                    ),
                    "followon_order": parse_bool(env, post.get("followon_order"), env._("follow-on order")),
                    "followon_amount": parse_amount(env, post.get("followon_amount"), env._("order amount")),
                }
            }

        return self._service_act(
            offer_id,
            access_token,
            lambda offer, values: offer._service_portal_document_visit(values, access_token=access_token),
            success=request.env._("Visit documented."),
            parse=parse,
        )

    @http.route(
        "/my/service/offer/<string:offer_id>/followon", type="http", auth="user", website=True, methods=["POST"]
    )
    def service_portal_followon(self, offer_id, **post):
        def parse(offer):
            env = request.env
            type_id = post.get("equipment_type_id")
            return {
                "values": {
                    "name": parse_text(env, post.get("name"), 200, env._("title")),
                    "service_occasion": parse_selection(
                        env,
                        post.get("service_occasion"),
                        env["crm.lead"]._fields["service_occasion"]._description_selection(env),
                        env._("occasion"),
                    ),
                    "equipment_type_id": parse_id(env, type_id, env._("equipment type")) if type_id else False,
                    "description": parse_text(env, post.get("description"), NOTE_MAX, env._("description"), True),
                    "preferred_appointment": parse_datetime(
                        env, post.get("preferred_appointment"), self._service_tz(offer), env._("preferred appointment")
                    ),
                }
            }

        return self._service_act(
            offer_id,
            None,
            lambda offer, values: offer._service_portal_create_followon(values),
            success=request.env._("Follow-on inquiry created; it is routed like any other."),
            parse=parse,
        )

    @http.route("/my/service/availability", auth="user", methods=["POST"], **SERVICE_PAGE)
    def service_portal_availability(self, paused=None, away_until=None, **kw):
        try:
            away = parse_date(request.env, away_until, request.env._("away until"))
            request.env.user._service_portal_set_availability(
                parse_bool(request.env, paused, request.env._("paused")), away
            )
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

    @staticmethod
    def _service_cache_key():
        """Whose page this is, for the app's offline copies: "<user id>-<company id>"."""
        return f"{request.env.uid}-{request.env.company.id}"

    def _service_render(self, template, values):
        """Render a technician page, marked with whose it is (the service worker keeps copies per key)."""
        response = request.render(template, values)
        response.headers[SERVICE_CACHE_KEY_HEADER] = values["service_cache_key"]
        return response

    def _service_values(self, **values):
        result = self._prepare_portal_layout_values()
        result.update(values)
        result.update(
            service_pwa=True,
            service_cache_key=self._service_cache_key(),
            service_error=request.session.pop("service_portal_error", None),
            service_success=request.session.pop("service_portal_success", None),
        )
        return result

    @staticmethod
    def _service_wants_json():
        return "application/json" in (request.httprequest.headers.get("Accept") or "")

    @staticmethod
    def _service_id_or_404(offer_id):
        """The offer id of the URL as a number, or a 404: 0, -1, "²" or "1e3" name no offer."""
        try:
            return parse_id(request.env, offer_id, request.env._("offer"))
        except ValidationError as error:
            raise NotFound() from error

    def _service_offer_or_404(self, offer_id, access_token):
        """The offer (sudo, as the caller) if the caller may see it; a 404 for everyone else, existing or not.

        Checked as every portal document is (``_document_check_access``: the
        record rules, or else the offer's token), plus our rule that a token
        opens the offer only while it is open: a technician's users still see
        its closed jobs, the link of a closed one no longer opens it.
        """
        try:
            offer_sudo = self._document_check_access("service.offer", offer_id, access_token)
        except (AccessError, MissingError) as error:
            raise NotFound() from error
        offer = request.env["service.offer"].browse(offer_sudo.id)
        if offer_sudo.state not in OPEN_OFFER_STATES and not offer.has_access("read"):
            raise NotFound()
        return offer.sudo()  # checked just above

    def _service_not_found(self):
        message = request.env._("This offer is not yours, or its link is no longer valid.")
        if self._service_wants_json():
            return request.make_json_response({"ok": False, "error": message}, status=404)
        raise NotFound(message)

    def _service_act(self, offer_id, access_token, act, success, to_list=False, parse=None):
        """Parse the request (``parse(offer) -> kwargs``), then run ``act(offer, **kwargs)``.

        A JSON client gets ``{"ok": true, "state": ...}``, or a 400 (a value
        that does not parse), 404 (no offer of the caller's) or 409 (refused)
        with ``{"ok": false, "error": ...}``; a form gets a redirect with the
        message. Nothing is written unless ``act`` succeeds.
        """
        wants_json = self._service_wants_json()
        try:
            # who may act is checked again by the model; here first, so that someone
            # else's offer answers 404 whatever the values sent, existing or not
            offer_id = self._service_id_or_404(offer_id)
            offer_sudo = self._service_offer_or_404(offer_id, access_token)
        except NotFound:
            return self._service_not_found()
        offer = request.env["service.offer"].browse(offer_id)
        try:
            kwargs = parse(offer_sudo) if parse else {}
        except ValidationError as error:
            return self._service_refuse(error, offer_id, access_token, status=400)
        try:
            with request.env.cr.savepoint():
                act(offer, **kwargs)
        except (AccessError, MissingError):
            return self._service_not_found()
        except (UserError, ValidationError) as error:
            return self._service_refuse(error, offer_id, access_token, status=409)
        if wants_json:
            return request.make_json_response({"ok": True, "state": offer.sudo().state})
        request.session["service_portal_success"] = success
        if to_list and not request.env.user._is_public():
            return request.redirect("/my/service")
        return request.redirect(self._service_offer_url(offer_id, access_token))

    def _service_refuse(self, error, offer_id, access_token, status):
        message = error.args[0] if error.args else str(error)
        if self._service_wants_json():
            return request.make_json_response({"ok": False, "error": message}, status=status)
        request.session["service_portal_error"] = message
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
