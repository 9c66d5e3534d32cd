# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models, tools


class CrmTeam(models.Model):
    _name = "crm.team"
    _inherit = ["crm.team", "service.cache.mixin"]
    # what _service_team_id reads of a team
    _service_cache_fields = frozenset({"is_service_team", "company_id", "sequence", "active"})

    is_service_team = fields.Boolean(
        "Service Team",
        help="Service inquiries live here: kept out of predictive lead scoring and of the sales "
        "pipeline's default view. Its team leader gets the to-dos of inquiries held for review.",
    )

    @api.model
    def _service_team(self, company=None):
        """The service team of ``company`` (a team of its own first, else a shared one): every new
        inquiry joins it, so it is cached, and the cache cleared when a team changes (service.cache.mixin)."""
        company = company or self.env.company
        return self.sudo().browse(self._service_team_id(company.id))

    @api.model
    @tools.ormcache("company_id")
    def _service_team_id(self, company_id):
        return (
            self.sudo()
            .with_context(active_test=True)
            .search(
                [("is_service_team", "=", True), ("company_id", "in", [company_id, False])],
                order="company_id asc, sequence, id",
                limit=1,
            )
            .id
        )

    @api.model
    def action_your_pipeline(self):
        """CRM opens on the service inquiries for a user whose team is the service team."""
        if self.env.user.sale_team_id.is_service_team and self.env.user.has_group(
            "crm_service_routing.group_service_dispatcher"
        ):
            return self.env["ir.actions.act_window"]._for_xml_id("crm_service_routing.crm_lead_action_service")
        return super().action_your_pipeline()

    @api.model
    def _action_update_to_pipeline(self, action):
        """The sales pipeline opens on sales opportunities; service inquiries have a menu of their own."""
        action = super()._action_update_to_pipeline(action)
        if isinstance(action.get("context"), dict):
            action["context"] = {**action["context"], "search_default_sales_only": 1}
        return action
