# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class ServiceCacheMixin(models.AbstractModel):
    """Records that a method caches for the process (``tools.ormcache``): the registry's cache is
    cleared when one is made or deleted, or when one of ``_service_cache_fields`` (what the cached
    method reads) changes, as base does for its cached country codes. Records change seldom and are
    read at every request: an intake's equipment types and service team, an escalation's ladder."""

    _name = "service.cache.mixin"
    _description = "Cached per Process"
    _service_cache_fields = frozenset()

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        result = super().write(vals)
        if not self._service_cache_fields.isdisjoint(vals):
            self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
