# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class CrmLead(models.Model):
    """Uniqueness: repeated inquiries of one customer about the same equipment
    are linked to one unique inquiry and counted once by every report."""

    _inherit = "crm.lead"

    service_unique_lead_id = fields.Many2one(
        "crm.lead",
        "Unique Inquiry",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="The first open inquiry this one repeats: it is handled and counted there.",
    )
    service_linked_lead_ids = fields.One2many("crm.lead", "service_unique_lead_id", "Linked Inquiries", readonly=True)
    service_linked_count = fields.Integer("Linked", compute="_compute_service_linked_count")

    @api.depends("service_linked_lead_ids")
    def _compute_service_linked_count(self):
        counts = dict(
            self.env["crm.lead"]
            .with_context(active_test=False)
            ._read_group([("service_unique_lead_id", "in", self.ids)], ["service_unique_lead_id"], ["__count"])
        )
        for lead in self:
            lead.service_linked_count = counts.get(lead, 0)
