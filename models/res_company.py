# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .service_level import STRATEGY_SELECTION


class ResCompany(models.Model):
    _inherit = "res.company"

    service_routing_strategy = fields.Selection(
        STRATEGY_SELECTION,
        "Default Routing Strategy",
        default="rotation",
        required=True,
        help="How a technician is chosen among the eligible ones, unless the SLA tier says otherwise.",
    )
    service_response_window_days = fields.Integer(
        "Response Record Window (days)",
        default=90,
        help="Offers of this many past days count for the 'best response record' strategy.",
    )
    service_level_id = fields.Many2one(
        "service.level",
        "Default SLA Tier",
        check_company=True,
        default=lambda self: self._service_default_level(),
        help="SLA tier of inquiries that name none and match no contract.",
    )
    service_unique_window_days = fields.Integer(
        "Repeat Window (days)",
        default=14,
        help="An inquiry of a known customer about the same equipment within this many days of an open one "
        "is linked to it as a repeat, and counted once.",
    )
    service_calendar_id = fields.Many2one(
        "resource.calendar",
        "Escalation Working Hours",
        help="Answer deadlines, escalations and follow-ups count in these working hours, unless the SLA tier "
        "names its own. Empty: wall-clock hours.",
    )
    service_customer_sms = fields.Boolean(
        "Text Customers",
        help="Customers get their inquiry's messages by SMS too (needs Odoo's SMS app and SMS credits).",
    )

    service_iap_enrich = fields.Boolean(
        "Enrich Service Inquiries",
        help="Let CRM's lead enrichment (IAP) send the e-mail domain of service inquiries' customers to "
        "Odoo's enrichment service, as it does for sales leads. Off: service inquiries are never enriched.",
    )

    @api.constrains("service_level_id")
    def _check_service_level_company(self):
        for company in self:
            level = company.service_level_id
            if level.company_id and level.company_id != company:
                raise ValidationError(
                    self.env._(
                        "The default SLA tier of %(company)s must be shared or its own, not one of %(other)s.",
                        company=company.name,
                        other=level.company_id.name,
                    )
                )

    @api.model
    def _service_default_level(self):
        """The shipped shared tier (Standard), the default of every new company."""
        level = self.env.ref("crm_service_routing.service_level_standard", raise_if_not_found=False)
        return level if level and level.active and not level.company_id else self.env["service.level"]

    @api.model
    def _service_set_default_levels(self):
        """Give every company without a default SLA tier the shipped shared one (at installation)."""
        level = self._service_default_level()
        if level:
            self.with_context(active_test=False).search([("service_level_id", "=", False)]).write(
                {"service_level_id": level.id}
            )
