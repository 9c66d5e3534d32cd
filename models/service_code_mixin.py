# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.exceptions import ValidationError


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


class ServiceCompanyCodeMixin(models.AbstractModel):
    """A ``code`` unique per company: a shared record (no company) and a
    company's own record never have the same code, so a code names one record
    in every company. The inheriting model declares the ``code_uniq``
    constraint's message (its index is made here)."""

    _name = "service.company.code.mixin"
    _inherit = ["service.code.mixin"]
    _description = "Code Unique per Company"
    _code_fields = ("code",)

    def init(self):
        res = super().init()
        if self._abstract:
            return res
        # shared records (no company) count as company 0
        self.env.cr.execute(
            f"""CREATE UNIQUE INDEX IF NOT EXISTS {self._table}_code_uniq
                    ON {self._table} (COALESCE(company_id, 0), code)"""
        )
        return res

    @api.constrains("code", "company_id")
    def _check_code_company(self):
        for record in self:
            # a shared record against the companies' ones, a company's against the shared ones
            other_scope = ("company_id", "!=", False) if not record.company_id else ("company_id", "=", False)
            clash = (
                self.with_context(active_test=False)
                .sudo()
                .search([("id", "!=", record.id), ("code", "=", record.code), other_scope], limit=1)
            )
            if clash:
                other = clash.display_name
                scope = clash.company_id.name or self.env._("shared")
                raise ValidationError(
                    self.env._(
                        "The code %(code)s is used by %(other)s already (%(scope)s): a shared record and a "
                        "company's own one cannot have the same code.",
                        code=record.code,
                        other=other,
                        scope=scope,
                    )
                )
