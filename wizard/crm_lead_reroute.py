# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class CrmLeadReroute(models.TransientModel):
    """Dispatcher: confirm routing inquiries again, which withdraws their offers, accepted jobs included."""

    _name = "crm.lead.reroute"
    _description = "Route Inquiries Again"

    lead_ids = fields.Many2many("crm.lead", string="Inquiries", readonly=True)
    accepted_ids = fields.Many2many("crm.lead", compute="_compute_summary", string="Accepted Jobs")
    summary = fields.Text(compute="_compute_summary")

    @api.depends("lead_ids")
    def _compute_summary(self):
        for wizard in self:
            accepted = wizard.lead_ids.filtered(lambda lead: lead.routing_state == "accepted")
            wizard.accepted_ids = accepted
            offered = wizard.lead_ids.filtered(lambda lead: lead.routing_state == "offered")
            parts = []
            if accepted:
                jobs = ", ".join(f"{lead.display_name} ({lead.technician_id.display_name})" for lead in accepted[:10])
                if len(accepted) == 1:
                    message = self.env._("1 accepted job is taken away from its technician: %(jobs)s.", jobs=jobs)
                else:
                    message = self.env._(
                        "%(count)s accepted jobs are taken away from their technicians: %(jobs)s.",
                        count=len(accepted),
                        jobs=jobs,
                    )
                parts.append(message)
            if len(offered) == 1:
                parts.append(self.env._("1 open offer is withdrawn."))
            elif offered:
                parts.append(self.env._("%(count)s open offers are withdrawn.", count=len(offered)))
            parts.append(
                self.env._(
                    "The routing then chooses again; each technician concerned is told by e-mail and sees it "
                    "in the inquiry's chatter."
                )
            )
            wizard.summary = "\n".join(parts)

    @api.model
    def _action_confirm(self, leads):
        """The confirmation dialog for routing ``leads`` again."""
        leads._service_check_dispatcher()
        wizard = self.create({"lead_ids": [fields.Command.set(leads.ids)]})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Route Again?"),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    def action_confirm(self):
        self.ensure_one()
        return self.lead_ids.with_context(service_reroute_confirmed=True).action_service_reroute()
