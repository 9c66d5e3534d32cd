# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class ServiceInstalledBaseMixin(models.AbstractModel):
    """The installed base (contracts, equipment) of a customer: whether a
    customer is existing or new is computed from it (crm.lead.customer_kind),
    so a change of it is told to the customer's inquiries."""

    _name = "service.installed.base.mixin"
    _description = "Installed Base of a Customer"
    # the fields that decide whether, of which company and since when a customer has it
    _installed_base_fields = ("partner_id", "company_id", "active")

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env["crm.lead"]._service_installed_base_changed(records.partner_id)
        return records

    def write(self, vals):
        before = self.partner_id if set(self._installed_base_fields).intersection(vals) else None
        result = super().write(vals)
        if before is not None:
            self.env["crm.lead"]._service_installed_base_changed(before | self.partner_id)
        return result

    def unlink(self):
        partners = self.partner_id
        result = super().unlink()
        self.env["crm.lead"]._service_installed_base_changed(partners)
        return result
