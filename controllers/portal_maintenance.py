# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from werkzeug.exceptions import NotFound

from odoo import fields, http
from odoo.http import request

from .portal import SERVICE_PAGE, ServicePortal


class ServiceMaintenancePortal(ServicePortal):
    """The technician's "coming up": maintenance due in the next 90 days at its customers."""

    @http.route("/my/service/coming-up", auth="user", **SERVICE_PAGE)
    def service_portal_coming_up(self, **kw):
        technicians = request.env.user.service_technician_ids
        Plan = request.env["service.maintenance.plan"]
        if not technicians or not Plan.has_access("read"):
            raise NotFound()
        values = self._service_values(
            page_name="service_coming_up",
            plans=Plan._service_coming_up(technicians),
            today=fields.Date.context_today(Plan),
            technician=technicians.sudo()[:1],
        )
        return request.render("crm_service_routing.portal_service_coming_up", values)
