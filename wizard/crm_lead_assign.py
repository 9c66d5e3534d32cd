# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import dataclasses

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..engine import routing as engine


class CrmLeadAssign(models.TransientModel):
    """Dispatcher: see the ranked candidates of an inquiry and pick one, or re-run routing."""

    _name = "crm.lead.assign"
    _description = "Assign a Technician to an Inquiry"

    lead_id = fields.Many2one("crm.lead", required=True, readonly=True, ondelete="cascade")
    review_reason = fields.Selection(related="lead_id.review_reason")
    strategy = fields.Char(readonly=True)
    contract_note = fields.Char(readonly=True)
    line_ids = fields.One2many("crm.lead.assign.line", "wizard_id", "Candidates")
    technician_id = fields.Many2one(
        "res.partner",
        "Assign To",
        domain="[('is_technician', '=', True)]",
        help="Usually one of the eligible candidates; another technician can be chosen too, "
        "the decision log keeps the rule that would have dropped them.",
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        lead = self.env["crm.lead"].browse(values.get("lead_id") or self.env.context.get("active_id"))
        if not lead:
            return values
        lead._service_check_dispatcher()
        inquiry, candidates = lead._service_gather_facts(with_stats=True)
        decision = engine.decide(inquiry, candidates, lead._service_strategy(), fields.Date.context_today(self))
        lines = [
            fields.Command.create(
                {
                    "technician_id": row.id,
                    "rank": row.rank,
                    "eligible": True,
                    "result": self.env._("Eligible"),
                    "detail": row.detail,
                }
            )
            for row in decision.ranking
        ] + [
            fields.Command.create(
                {
                    "technician_id": row.id,
                    "eligible": False,
                    "result": self.env["service.routing.log"]._rule_label(row.rule),
                    "detail": row.detail,
                }
            )
            for row in decision.dropped
        ]
        values.update(
            lead_id=lead.id,
            strategy=decision.strategy,
            contract_note=decision.contract_note,
            line_ids=lines,
            technician_id=decision.technician_id or False,
        )
        return values

    def action_assign(self):
        self.ensure_one()
        lead = self.lead_id
        lead._service_check_dispatcher()
        if not self.technician_id:
            raise UserError(self.env._("Choose the technician to offer the inquiry to."))
        if not self.technician_id.is_technician:
            raise UserError(
                self.env._("%(partner)s is not a service technician.", partner=self.technician_id.display_name)
            )
        inquiry, candidates = lead._service_gather_facts(extra_technician_ids={self.technician_id.id}, with_stats=True)
        decision = engine.decide(inquiry, candidates, lead._service_strategy(), fields.Date.context_today(self))
        decision = dataclasses.replace(
            decision, technician_id=self.technician_id.id, chosen_by="dispatcher", review_reason=None
        )
        lead._service_withdraw_offers()
        lead._service_apply_decision(decision, "manual", inquiry, candidates, chosen_by="dispatcher")
        return {"type": "ir.actions.act_window_close"}

    def action_rerun(self):
        self.ensure_one()
        self.lead_id.action_service_reroute()
        return {"type": "ir.actions.act_window_close"}


class CrmLeadAssignLine(models.TransientModel):
    _name = "crm.lead.assign.line"
    _description = "Candidate Technician"
    _order = "eligible desc, rank, id"

    wizard_id = fields.Many2one("crm.lead.assign", required=True, ondelete="cascade")
    technician_id = fields.Many2one("res.partner", readonly=True)
    rank = fields.Integer(readonly=True)
    eligible = fields.Boolean(readonly=True)
    result = fields.Char(readonly=True)
    detail = fields.Char(readonly=True)

    def action_pick(self):
        self.ensure_one()
        self.wizard_id.technician_id = self.technician_id
        return self.wizard_id.action_assign()
