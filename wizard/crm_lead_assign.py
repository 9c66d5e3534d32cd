# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import dataclasses

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..engine import routing as engine
from ..models.service_level import STRATEGY_SELECTION


class CrmLeadAssign(models.TransientModel):
    """Dispatcher: see the ranked candidates of an inquiry and pick one, or re-run routing.

    Opened saved (see :meth:`_action_open`), so that each candidate's Offer
    button works at once.
    """

    _name = "crm.lead.assign"
    _description = "Assign a Technician to an Inquiry"

    lead_id = fields.Many2one("crm.lead", "Inquiry", required=True, readonly=True, ondelete="cascade")
    review_reason = fields.Selection(related="lead_id.review_reason", string="Held Because")
    safety_critical = fields.Boolean(related="lead_id.safety_critical")
    equipment_type_id = fields.Many2one(related="lead_id.equipment_type_id")
    strategy = fields.Selection(STRATEGY_SELECTION, "Ranked By", readonly=True)
    contract_note = fields.Char("Contract Technician", readonly=True)
    summary = fields.Html(compute="_compute_summary", sanitize=False)
    line_ids = fields.One2many("crm.lead.assign.line", "wizard_id", "Candidates")
    eligible_count = fields.Integer(compute="_compute_summary")
    technician_id = fields.Many2one(
        "res.partner",
        "Assign To",
        domain="[('is_technician', '=', True)]",
        help="Usually one of the eligible candidates; another technician can be chosen too, "
        "the decision log keeps the rule that would have dropped them.",
    )
    warning = fields.Char(compute="_compute_warning")
    needs_confirmation = fields.Boolean(compute="_compute_warning")
    current_offer_state = fields.Selection(related="lead_id.service_offer_id.state", string="Current Offer")
    current_technician_id = fields.Many2one(
        related="lead_id.service_offer_id.technician_id", string="Current Technician"
    )
    confirm_withdraw = fields.Boolean(
        "Withdraw the Accepted Job",
        help="The current technician accepted the job: tick to take it from them and offer it to the one chosen.",
    )
    confirm_unqualified = fields.Boolean(
        "Offer Anyway",
        help="The job is safety-critical and the technician is not trained for this equipment: "
        "tick to offer it all the same.",
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
        Log = self.env["service.routing.log"]
        by_id = {c.id: c for c in candidates}
        lines = [
            fields.Command.create(
                {
                    "technician_id": row.id,
                    "rank": row.rank,
                    "eligible": True,
                    "result": self.env._("Eligible"),
                    "detail": Log._explain_candidate(decision.strategy, inquiry, by_id[row.id]),
                }
            )
            for row in decision.ranking
        ] + [
            fields.Command.create(
                {
                    "technician_id": row.id,
                    "eligible": False,
                    "rule": row.rule,
                    "result": Log._rule_label(row.rule),
                    "detail": Log._explain_candidate(decision.strategy, inquiry, by_id[row.id], rule=row.rule),
                }
            )
            for row in decision.dropped
        ]
        contract = Log._reason_data(decision, inquiry, None, {}).get("contract") or {}
        contract_note = {
            "eligible": self.env._("eligible, ranked with the others"),
            "missing": self.env._("does not cover this inquiry"),
            "dropped": self.env._("passed over: %(rule)s", rule=Log._rule_label(contract.get("rule"))),
        }.get(contract.get("status"), False)
        values.update(
            lead_id=lead.id,
            strategy=decision.strategy,
            contract_note=contract_note,
            line_ids=lines,
            technician_id=decision.technician_id or False,
        )
        return values

    @api.depends("line_ids", "lead_id")
    def _compute_summary(self):
        for wizard in self:
            lead = wizard.lead_id
            eligible = wizard.line_ids.filtered("eligible")
            wizard.eligible_count = len(eligible)
            place = " ".join(filter(None, [lead.zip, lead.city])) or self.env._("this inquiry's site")
            if not wizard.line_ids:
                if not lead.zip:
                    text = self.env._("The inquiry has no postal code: add the site address, then route again.")
                else:
                    text = self.env._(
                        "No technician has a service area that covers %(place)s. Give a technician an area "
                        "there, or choose one below and offer the job anyway.",
                        place=place,
                    )
                wizard.summary = Markup('<div class="alert alert-warning mb-2" role="status">%s</div>') % text
            elif not eligible:
                wizard.summary = Markup('<div class="alert alert-warning mb-2" role="status">%s</div>') % self.env._(
                    "%(count)s technicians cover %(place)s, but none meets every rule: the list says why. "
                    "You may still offer the job to one of them.",
                    count=len(wizard.line_ids),
                    place=place,
                )
            else:
                wizard.summary = Markup('<p class="mb-2">%s</p>') % self.env._(
                    "%(count)s of %(total)s technicians who cover %(place)s can take the job, best first.",
                    count=len(eligible),
                    total=len(wizard.line_ids),
                    place=place,
                )

    @api.depends("technician_id", "lead_id")
    def _compute_warning(self):
        for wizard in self:
            wizard.warning = False
            wizard.needs_confirmation = False
            technician = wizard.technician_id
            if not technician:
                continue
            line = wizard.line_ids.filtered(lambda line, technician=technician: line.technician_id == technician)[:1]
            if wizard.lead_id._service_unqualified(technician):
                wizard.needs_confirmation = True
                wizard.warning = self.env._(
                    "Safety-critical: %(technician)s is not trained for %(equipment)s.",
                    technician=technician.display_name,
                    equipment=wizard.lead_id.equipment_type_id.display_name,
                )
            elif line and not line.eligible:
                wizard.warning = self.env._(
                    "%(technician)s does not meet a routing rule: %(rule)s (%(detail)s).",
                    technician=technician.display_name,
                    rule=line.result,
                    detail=line.detail,
                )
            elif not line:
                wizard.warning = self.env._(
                    "%(technician)s has no service area that covers this inquiry.", technician=technician.display_name
                )

    @api.model
    def _action_open(self, lead):
        """The wizard for ``lead``, saved: its candidates' buttons work without a save first."""
        wizard = self.with_context(default_lead_id=lead.id).create({})
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Assign Technician"),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"dialog_size": "extra-large"},
        }

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
        if (
            lead._service_unqualified(self.technician_id)
            and not self.confirm_unqualified
            and not self.env.context.get("service_offer_anyway")
        ):
            raise UserError(
                self.env._(
                    "%(lead)s is safety-critical and %(technician)s is not trained for %(equipment)s. "
                    "Tick 'Offer Anyway' to offer it all the same.",
                    lead=lead.display_name,
                    technician=self.technician_id.display_name,
                    equipment=lead.equipment_type_id.display_name,
                )
            )
        previous = lead.sudo().service_offer_id
        previous_technician = previous.technician_id
        if previous_technician == self.technician_id:
            raise UserError(
                self.env._(
                    "%(lead)s is already with %(technician)s (%(state)s): nothing to change.",
                    lead=lead.display_name,
                    technician=self.technician_id.display_name,
                    state=dict(previous._fields["state"]._description_selection(self.env))[previous.state],
                )
            )
        if previous.state == "accepted" and not self.confirm_withdraw:
            raise UserError(
                self.env._(
                    "%(technician)s has accepted %(lead)s. Tick 'Withdraw the Accepted Job' to take it from them "
                    "and offer it to %(new)s; they are told by mail.",
                    technician=previous_technician.display_name,
                    lead=lead.display_name,
                    new=self.technician_id.display_name,
                )
            )
        override = self._service_override()
        inquiry, candidates = lead._service_gather_facts(extra_technician_ids={self.technician_id.id}, with_stats=True)
        decision = engine.decide(inquiry, candidates, lead._service_strategy(), fields.Date.context_today(self))
        decision = dataclasses.replace(
            decision, technician_id=self.technician_id.id, chosen_by="dispatcher", review_reason=None
        )
        if previous:
            # what the dispatcher saw: an accepted job only with the box ticked (a race ends here, not silently)
            lead._service_transition(
                "withdraw", expected=("offered", "accepted") if self.confirm_withdraw else ("offered",)
            )
        lead._service_apply_decision(
            decision,
            "manual",
            inquiry,
            candidates,
            chosen_by="dispatcher",
            override=override,
            override_note=override and self._service_override_note(override),
        )
        if previous_technician:
            body = self.env._(
                "%(user)s offered the job to %(technician)s instead of %(previous)s.",
                user=self.env.user.name,
                technician=self.technician_id.display_name,
                previous=previous_technician.display_name,
            )
        else:
            body = self.env._(
                "%(user)s offered the job to %(technician)s.",
                user=self.env.user.name,
                technician=self.technician_id.display_name,
            )
        if override:
            body = "{} {}".format(
                body,
                self.env._(
                    "Override of the routing rules: %(rules)s.",
                    rules=", ".join(self.env["service.routing.log"]._rule_label(rule) for rule in override["rules"]),
                ),
            )
        lead.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Offered"),
                "message": self.env._(
                    "%(lead)s is offered to %(technician)s.",
                    lead=lead.display_name,
                    technician=self.technician_id.display_name,
                ),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _service_override(self):
        """{"rules": [...], "user": name} when the chosen technician breaks a routing rule, else None."""
        self.ensure_one()
        rules = []
        if self.lead_id._service_unqualified(self.technician_id):
            rules.append("safety_training")
        line = self.line_ids.filtered(lambda line: line.technician_id == self.technician_id)[:1]
        if not line:
            rules.append(engine.RULE_AREA)
        elif not line.eligible and line.rule:
            rules.append(line.rule)
        return {"rules": rules, "user": self.env.user.name} if rules else None

    def _service_override_note(self, override):
        """The override in the technician's language, for the offer mail and the portal page."""
        env = self.with_context(lang=self.technician_id.lang or self.env.lang).env
        Log = env["service.routing.log"]
        note = env._(
            "Offered to you by %(user)s against the routing rules: %(rules)s.",
            user=override["user"],
            rules=", ".join(Log._rule_label(rule) for rule in override["rules"]),
        )
        if "safety_training" in override["rules"]:
            note = "{} {}".format(
                note,
                env._(
                    "Safety-critical equipment (%(equipment)s): follow its safety instructions, and call the "
                    "back office before you start if you are unsure.",
                    equipment=self.lead_id.equipment_type_id.display_name,
                ),
            )
        return note

    def action_rerun(self):
        self.ensure_one()
        return self.lead_id.action_service_reroute()


class CrmLeadAssignLine(models.TransientModel):
    _name = "crm.lead.assign.line"
    _description = "Candidate Technician"
    _order = "eligible desc, rank, id"

    wizard_id = fields.Many2one("crm.lead.assign", required=True, ondelete="cascade")
    technician_id = fields.Many2one("res.partner", readonly=True)
    rank = fields.Integer(readonly=True)
    eligible = fields.Boolean(readonly=True)
    rule = fields.Char(readonly=True)
    result = fields.Char(readonly=True)
    detail = fields.Char("Why", readonly=True)

    def action_pick(self):
        """Offer the inquiry to this candidate (the button of a non-eligible one asks first)."""
        self.ensure_one()
        self.wizard_id.technician_id = self.technician_id
        return self.wizard_id.action_assign()
