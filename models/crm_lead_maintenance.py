# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class CrmLead(models.Model):
    """Maintenance inquiries: opened by a maintenance plan that came due."""

    _inherit = "crm.lead"

    service_maintenance_plan_id = fields.Many2one(
        "service.maintenance.plan",
        "Maintenance Plan",
        index="btree_not_null",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The plan that opened this inquiry when its maintenance came due.",
    )

    def init(self):
        res = super().init()
        # one open maintenance inquiry per plan, whatever runs at the same time
        self.env.cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS crm_lead_maintenance_plan_open_uniq
                   ON crm_lead (service_maintenance_plan_id)
                WHERE service_maintenance_plan_id IS NOT NULL AND active
                      AND routing_state IN ('new', 'review', 'offered', 'accepted')"""
        )
        return res
