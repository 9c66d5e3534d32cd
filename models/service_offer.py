# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

DECLINE_REASONS = [
    ("service_area", "Outside my service area"),
    ("capacity", "No capacity"),
    ("specialization", "Not my specialization"),
    ("other", "Other"),
]


class ServiceOffer(models.Model):
    """One offer of an inquiry to one technician, and its answer.

    An inquiry is offered to one technician at a time; its offers are the
    history that acceptance rates and response times are computed from.
    """

    _name = "service.offer"
    _description = "Inquiry Offer"
    _order = "offered_at desc, id desc"
    _rec_name = "lead_id"

    lead_id = fields.Many2one("crm.lead", "Inquiry", required=True, index=True, ondelete="cascade", readonly=True)
    technician_id = fields.Many2one("res.partner", required=True, index=True, ondelete="restrict", readonly=True)
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    state = fields.Selection(
        [
            ("offered", "Offered"),
            ("accepted", "Accepted"),
            ("declined", "Declined"),
            ("withdrawn", "Withdrawn"),
        ],
        required=True,
        default="offered",
        readonly=True,
        index=True,
    )
    offered_at = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True)
    responded_at = fields.Datetime(readonly=True, help="When the technician accepted or declined.")
    response_hours = fields.Float("Hours to Respond", readonly=True, aggregator="avg")
    decline_reason = fields.Selection(DECLINE_REASONS, readonly=True)
    decline_note = fields.Text(readonly=True)
    routing_log_id = fields.Many2one("service.routing.log", "Routing Decision", readonly=True, ondelete="set null")

    def init(self):
        # rotation reads the last offer per technician, best response the recent ones
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS service_offer_technician_offered_at_idx
                   ON service_offer (technician_id, offered_at DESC);
               CREATE INDEX IF NOT EXISTS service_offer_technician_id_idx
                   ON service_offer (technician_id, id DESC)"""
        )

    def _respond(self, state, **values):
        """Close open offers: accepted, declined or withdrawn, now."""
        now = fields.Datetime.now()
        for offer in self:
            offer.write(
                {
                    "state": state,
                    "responded_at": now,
                    "response_hours": (now - offer.offered_at).total_seconds() / 3600.0,
                    **values,
                }
            )
