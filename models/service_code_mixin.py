# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class ServiceCodeMixin(models.AbstractModel):
    """Codes and serial numbers are stored trimmed and upper-cased, so that
    integrations match them whatever case they send."""

    _name = "service.code.mixin"
    _description = "Normalised Codes"
    _code_fields = ()

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_codes(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._normalize_codes(vals)
        return super().write(vals)

    @api.model
    def _normalize_codes(self, vals):
        for fname in self._code_fields:
            if vals.get(fname):
                vals[fname] = vals[fname].strip().upper()
