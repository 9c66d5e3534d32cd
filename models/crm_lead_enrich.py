# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.exceptions import UserError
from odoo.osv import expression


class CrmLead(models.Model):
    """CRM's lead enrichment (IAP) leaves service inquiries alone unless the company enabled it.

    Enrichment sends the customer's e-mail domain to an outside service: for
    service inquiries a service manager decides (Service Routing Settings).
    """

    _inherit = "crm.lead"

    @api.depends("service_occasion", "company_id.service_iap_enrich")
    def _compute_show_enrich_button(self):
        result = super()._compute_show_enrich_button()
        for lead in self:
            if lead.show_enrich_button and not lead._service_enrich_allowed():
                lead.show_enrich_button = False
        return result

    @api.model
    def _search(self, domain, *args, **kwargs):
        if self.env.context.get("service_enrich_skip"):
            domain = expression.AND([domain, self._service_enrich_domain()])
        return super()._search(domain, *args, **kwargs)

    @api.model
    def _iap_enrich_leads_cron(self, enrich_hours_delay=1, leads_batch_size=1000):
        # the cron's batch holds enrichable leads only, so service inquiries never crowd sales leads out
        return super(CrmLead, self.with_context(service_enrich_skip=True))._iap_enrich_leads_cron(
            enrich_hours_delay=enrich_hours_delay, leads_batch_size=leads_batch_size
        )

    def iap_enrich(self, from_cron=False):
        allowed = self.filtered(lambda lead: lead._service_enrich_allowed())
        if self and not allowed and not from_cron:
            raise UserError(
                self.env._(
                    "Service inquiries are not enriched: their customers' e-mail addresses stay in this "
                    "database. A service manager can allow it in the Service Routing Settings."
                )
            )
        return super(CrmLead, allowed.with_context(service_enrich_skip=False)).iap_enrich(from_cron=from_cron)

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _service_enrich_allowed(self):
        """Sales leads always; a service inquiry when its company enabled enrichment for them."""
        self.ensure_one()
        return not self.service_occasion or (self.company_id or self.env.company).service_iap_enrich

    @api.model
    def _service_enrich_domain(self):
        """Leads the enrichment may read: sales leads, and service inquiries of companies that allow it."""
        companies = self.env["res.company"].sudo().search([("service_iap_enrich", "=", True)])
        domain = [("service_occasion", "=", False)]
        if companies:
            domain = expression.OR([domain, [("company_id", "in", companies.ids)]])
        return domain
