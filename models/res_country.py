# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models, tools


class ResCountry(models.Model):
    _inherit = "res.country"

    @api.model
    @tools.ormcache("code")
    def _service_id_for_code(self, code):
        """The id of the country of ISO code ``code`` (upper case), 0 if none: every intake names
        its country. Cached as base caches ``_phone_code_for``, whose cache a change of a code
        clears; a country made or deleted while a code is cached is seen after the next clear."""
        return self.search([("code", "=", code)], limit=1).id
