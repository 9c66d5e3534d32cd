# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..models.service_level import STRATEGY_SELECTION

# company fields a service manager sets here (Odoo's own Settings are for administrators)
COMPANY_FIELDS = (
    "service_routing_strategy",
    "service_response_window_days",
    "service_unique_window_days",
    "service_level_id",
    "service_calendar_id",
    "service_iap_enrich",
)
MANY2ONE_FIELDS = ("service_level_id", "service_calendar_id")


class ServiceRoutingSettings(models.TransientModel):
    """The service routing settings of the current company, for service managers.

    Odoo's Settings page saves only for administrators; a service manager sets
    the same company values here, from the Service menu.
    """

    _name = "service.routing.settings"
    _description = "Service Routing Settings"

    company_id = fields.Many2one("res.company", required=True, readonly=True, default=lambda self: self.env.company)
    service_routing_strategy = fields.Selection(STRATEGY_SELECTION, "Routing Strategy", required=True)
    service_response_window_days = fields.Integer("Response Record Window (days)")
    service_unique_window_days = fields.Integer("Repeat Window (days)")
    service_level_id = fields.Many2one(
        "service.level", "Default SLA Tier", domain="[('company_id', 'in', [company_id, False])]"
    )
    service_calendar_id = fields.Many2one("resource.calendar", "Escalation Working Hours")
    service_iap_enrich = fields.Boolean("Enrich Service Inquiries")
    service_postal_country_ids = fields.Many2many(
        "service.postal.country", string="Postal Data by Country", compute="_compute_service_postal_country_ids"
    )

    def _compute_display_name(self):
        for settings in self:
            settings.display_name = self.env._("Service Routing Settings")

    def _compute_service_postal_country_ids(self):
        statuses = self.env["service.postal.country"].search([("country_id", "!=", False)])
        for settings in self:
            settings.service_postal_country_ids = statuses

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        company = self.env.company
        for fname in COMPANY_FIELDS:
            if fname in fields_list:
                values[fname] = company[fname].id if fname in MANY2ONE_FIELDS else company[fname]
        return values

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    @api.model
    def action_open(self):
        """The settings of the current company, as a page of the Service menu."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Service Routing Settings"),
            "res_model": self._name,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
            "res_id": self.create({}).id,
            "context": {"dialog_size": "large"},
        }

    def action_save(self):
        self.ensure_one()
        self._check_service_manager()
        values = {fname: self[fname].id if fname in MANY2ONE_FIELDS else self[fname] for fname in COMPANY_FIELDS}
        # service managers are no company administrators: they write these fields only
        self.company_id.sudo().write(values)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("Service routing settings saved for %(company)s.", company=self.company_id.name),
                "next": self.action_open(),
            },
        }

    def action_load_postal_data(self):
        return self.env["service.postal.code"].action_load_postal_data()

    def action_postal_countries(self):
        return self.env["ir.actions.act_window"]._for_xml_id("crm_service_routing.service_postal_country_action")

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _check_service_manager(self):
        if not self.env.user.has_group("crm_service_routing.group_service_manager"):
            raise AccessError(self.env._("Only service managers can change the service routing settings."))
        if self.company_id not in self.env.user.company_ids:
            raise AccessError(self.env._("You can change the settings of your own companies only."))
