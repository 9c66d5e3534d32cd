# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .service_postal_code import GEONAMES_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    service_routing_strategy = fields.Selection(related="company_id.service_routing_strategy", readonly=False)
    service_response_window_days = fields.Integer(related="company_id.service_response_window_days", readonly=False)
    service_level_id = fields.Many2one(related="company_id.service_level_id", readonly=False)
    service_geonames_dir = fields.Char(
        "GeoNames Data Folder",
        config_parameter=GEONAMES_PARAM,
        help="Folder with GeoNames postal-code files (DE.txt, AT.txt, ...). Empty: the server "
        "option geonames_data_dir, else download from GeoNames.",
    )

    def action_service_load_postal_data(self):
        return self.env["service.postal.code"].action_load_postal_data()
