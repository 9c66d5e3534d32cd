# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models

# views of the service desk's own actions: their Actions menu holds no sales action
SERVICE_VIEWS = (
    "crm_service_routing.crm_lead_view_form_service",
    "crm_service_routing.crm_lead_view_list_service",
    "crm_service_routing.crm_lead_view_list_service_review",
    "crm_service_routing.crm_lead_view_kanban_service",
)
# actions of crm that make sense on sales leads only, and their service counterparts
SALES_ACTIONS = (
    "crm.crm_lead_lost_action",
    "crm.action_merge_opportunities",
    "crm.action_crm_send_mass_convert",
)
ENRICH_ACTION = "crm_iap_enrich.action_enrich_mail"
SERVICE_ACTIONS = (
    "crm_service_routing.crm_lead_cancel_action",
    "crm_service_routing.crm_merge_opportunity_action_service",
    "crm_service_routing.crm_lead_action_service_reroute",
)


class CrmLead(models.Model):
    _inherit = "crm.lead"

    @api.model
    def get_views(self, views, options=None):
        """The Actions menu speaks the language of the view it belongs to: cancel, merge
        and route again on the service desk; lost, merge, convert and enrich on the pipeline.

        Decided by the requested views only, as ``get_views`` must be."""
        result = super().get_views(views, options)
        if not (options or {}).get("toolbar"):
            return result
        service_view_ids = set()
        for xmlid in SERVICE_VIEWS:
            view = self.env.ref(xmlid, raise_if_not_found=False)
            if view:
                service_view_ids.add(view.id)
        service = any(view_id in service_view_ids for view_id, _view_type in views)
        hidden = set(SALES_ACTIONS if service else SERVICE_ACTIONS)
        if service and not self.env.company.service_iap_enrich:
            hidden.add(ENRICH_ACTION)
        hidden_ids = set()
        for xmlid in hidden:
            action = self.env.ref(xmlid, raise_if_not_found=False)
            if action:
                hidden_ids.add(action.id)
        for view in result["views"].values():
            toolbar = view.get("toolbar") or {}
            if toolbar.get("action"):
                toolbar["action"] = [action for action in toolbar["action"] if action["id"] not in hidden_ids]
        return result
