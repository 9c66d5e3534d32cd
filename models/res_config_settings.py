# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .service_postal_code import GEONAMES_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    service_routing_strategy = fields.Selection(related="company_id.service_routing_strategy", readonly=False)
    service_response_window_days = fields.Integer(related="company_id.service_response_window_days", readonly=False)
    service_level_id = fields.Many2one(related="company_id.service_level_id", readonly=False)
    service_iap_enrich = fields.Boolean(related="company_id.service_iap_enrich", readonly=False)
    service_unique_window_days = fields.Integer(related="company_id.service_unique_window_days", readonly=False)
    service_customer_sms = fields.Boolean(related="company_id.service_customer_sms", readonly=False)
    service_geonames_dir = fields.Char(
        "GeoNames Data Folder",
        config_parameter=GEONAMES_PARAM,
        help="Folder on the server with GeoNames postal-code files (DE.txt, AT.txt, ...). Empty: the "
        "server option geonames_data_dir, else the small sample shipped with the addon.",
    )
    service_geonames_effective_dir = fields.Char("Folder in Use", compute="_compute_service_geonames_effective_dir")
    service_geonames_origin = fields.Selection(
        [
            ("parameter", "this setting"),
            ("option", "server option geonames_data_dir"),
            ("shipped", "sample shipped with the addon"),
        ],
        "Folder Named By",
        compute="_compute_service_geonames_effective_dir",
    )
    service_postal_country_ids = fields.Many2many(
        "service.postal.country",
        string="Postal Data by Country",
        compute="_compute_service_postal_country_ids",
    )

    @api.depends("service_geonames_dir")
    def _compute_service_geonames_effective_dir(self):
        for settings in self:
            settings.service_geonames_effective_dir, settings.service_geonames_origin = self.env[
                "service.postal.code"
            ]._geonames_source(settings.service_geonames_dir or "")

    def _compute_service_postal_country_ids(self):
        statuses = self.env["service.postal.country"].search([("country_id", "!=", False)])
        for settings in self:
            settings.service_postal_country_ids = statuses

    def action_service_load_postal_data(self):
        return self.env["service.postal.code"].action_load_postal_data()

    def action_service_postal_countries(self):
        return self.env["ir.actions.act_window"]._for_xml_id("crm_service_routing.service_postal_country_action")
