# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError

WORK_DONE_MAX = 5000


class ServiceVisit(models.Model):
    """A technician's visit at the customer site, documented from the portal or the back office."""

    _name = "service.visit"
    _description = "Service Visit"
    _order = "visit_date desc, id desc"
    _rec_name = "lead_id"
    _check_company_auto = True

    lead_id = fields.Many2one("crm.lead", "Inquiry", required=True, index=True, ondelete="restrict", check_company=True)
    offer_id = fields.Many2one("service.offer", index="btree_not_null", ondelete="set null")
    technician_id = fields.Many2one("res.partner", required=True, index=True, ondelete="restrict")
    user_id = fields.Many2one("res.users", "Documented By", default=lambda self: self.env.user)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    visit_date = fields.Date(required=True, default=fields.Date.context_today)
    work_done = fields.Text(required=True)
    next_maintenance_date = fields.Date("Next Maintenance")
    followon_order = fields.Boolean("Follow-on Order", help="The customer ordered further work or parts on site.")
    currency_id = fields.Many2one(related="company_id.currency_id")
    followon_amount = fields.Monetary("Order Amount", currency_field="currency_id", aggregator="avg")

    @api.constrains("work_done", "followon_order", "followon_amount", "next_maintenance_date", "visit_date")
    def _check_visit(self):
        for visit in self:
            if not (visit.work_done or "").strip():
                raise ValidationError(self.env._("Describe the work done on the visit."))
            if len(visit.work_done) > WORK_DONE_MAX:
                raise ValidationError(
                    self.env._(
                        "The description of the work is too long: at most %(max)s characters.", max=WORK_DONE_MAX
                    )
                )
            if visit.followon_amount < 0:
                raise ValidationError(self.env._("The order amount cannot be negative."))
            if visit.followon_amount and not visit.followon_order:
                raise ValidationError(self.env._("An order amount needs a follow-on order."))
            if visit.next_maintenance_date and visit.next_maintenance_date < visit.visit_date:
                raise ValidationError(self.env._("The next maintenance cannot be before the visit."))

    @api.model_create_multi
    def create(self, vals_list):
        visits = super().create(vals_list)
        # the equipment's maintenance plans are due again from this visit on
        self.env["service.maintenance.plan"]._service_on_visits(visits)
        return visits
