# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, Command, api, fields, models
from odoo.tools.misc import formatLang

from ..engine.postal import normalize_postal_code
from .service_constants import ROUTING_WRITE

# review reasons a corrected address or equipment may resolve: the inquiry is routed again
ADDRESS_REVIEW_REASONS = ("unknown_postal_code", "postal_data_missing", "no_candidate", "unknown_equipment")
ADDRESS_FIELDS = ("zip", "country_id", "equipment_type_id", "service_level_id")
REVIEW_ACTIVITY_TYPE = "crm_service_routing.mail_activity_type_service_review"


class CrmLead(models.Model):
    """The dispatcher's back office: the service team, review to-dos, SLA display, address corrections."""

    _inherit = "crm.lead"

    service_can_answer = fields.Boolean(
        compute="_compute_service_can_answer", help="The current user may accept or decline the open offer."
    )
    service_sla_window = fields.Char("Response Window", compute="_compute_service_sla_window")
    # held for review, its dispatcher's to-do not made yet: the backstop makes it in a batch,
    # so that routing an inquiry into review stays a handful of queries
    service_review_todo = fields.Boolean("Review To-do Pending", copy=False, readonly=True)

    def init(self):
        res = super().init()
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS crm_lead_service_review_todo_idx ON crm_lead (id) WHERE service_review_todo"
        )
        return res

    @api.depends_context("uid")
    @api.depends("routing_state", "technician_id")
    def _compute_service_can_answer(self):
        user = self.env.user
        dispatcher = self.env["crm.lead"]._service_is_dispatcher()
        acts_for = user.service_technician_ids
        for lead in self:
            offer = lead.sudo().service_offer_id
            lead.service_can_answer = bool(offer) and (dispatcher or offer.technician_id in acts_for)

    def _compute_company_id(self):
        # crm voids the company of a lead whose team has none and that has no salesperson: the
        # shared service team has none, and inquiries often no salesperson; they keep theirs
        kept = [
            (lead, lead.company_id)
            for lead in self
            if lead.service_occasion
            and lead.company_id
            and lead.team_id.is_service_team
            and not lead.team_id.company_id
        ]
        result = super()._compute_company_id()
        for lead, company in kept:
            if not lead.company_id:
                lead.company_id = company
        return result

    @api.model
    def _service_expand_routing_states(self, values, domain):
        return ["new", "review", "offered", "accepted"] + [v for v in ("done", "cancelled", "linked") if v in values]

    @api.depends("service_level_id.response_hours")
    def _compute_service_sla_window(self):
        for lead in self:
            hours = lead.service_level_id.response_hours
            lead.service_sla_window = (
                self.env._(
                    "answer within %(hours)s h",
                    hours=formatLang(self.env, hours, digits=0 if hours == int(hours) else 1),
                )
                if hours
                else False
            )

    # ------------------------------------------------------------
    # HOOKS of create and write (crm_lead.py)
    # ------------------------------------------------------------

    @api.model
    def _service_team_values(self, vals):
        """A new inquiry joins its company's service team, keeps its company, and has no OdooBot salesperson."""
        company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
        result = {}
        # an integration's inquiry has no salesperson OdooBot: a dispatcher takes it
        if vals.get("user_id", self.env.uid) == SUPERUSER_ID:
            result["user_id"] = False
        # a shared service team names no company: the inquiry keeps its own
        if not vals.get("company_id"):
            result["company_id"] = company.id
        service_team = self.env["crm.team"]._service_team(company)
        if service_team and not self.env["crm.team"].browse(vals.get("team_id")).sudo().is_service_team:
            result["team_id"] = service_team.id
        return result

    def _service_prepare_write(self, vals):
        """Values of a write on inquiries, completed: a postal code typed without a country is one of the
        company's country, and is stored normalised."""
        service = self.filtered("service_occasion")
        if not service or not vals.get("zip"):
            return vals
        vals = dict(vals, zip=normalize_postal_code(vals["zip"]))
        if not vals.get("country_id"):
            without = self.filtered(lambda lead: lead.service_occasion and not lead.country_id)
            if without and len(without) == len(self) and self.env.company.country_id:
                vals["country_id"] = self.env.company.country_id.id
        return vals

    def _service_corrected(self, vals):
        """Inquiries held for a reason the write may resolve (address, equipment): routed again after it."""
        if not any(fname in vals for fname in ADDRESS_FIELDS) or self.env.context.get("service_no_routing"):
            return self.browse()
        return self.filtered(
            lambda lead: lead.routing_state == "review" and lead.review_reason in ADDRESS_REVIEW_REASONS
        )

    # ------------------------------------------------------------
    # BUSINESS: QUALIFICATION
    # ------------------------------------------------------------

    def _service_unqualified(self, technician):
        """True when this inquiry is safety-critical and ``technician`` is not trained for its equipment."""
        self.ensure_one()
        if not self.safety_critical or not self.equipment_type_id:
            return False
        trained = set(technician.sudo().service_equipment_type_ids.ids)
        return not trained & self.equipment_type_id._ancestor_ids()

    # ------------------------------------------------------------
    # BUSINESS: REVIEW TO-DOS
    # ------------------------------------------------------------

    def _service_review_user(self):
        """Who gets the to-do of an inquiry held for review: its service team's leader."""
        self.ensure_one()
        team = (
            self.sudo().team_id
            if self.sudo().team_id.is_service_team
            else self.env["crm.team"]._service_team(self.company_id)
        )
        return team.user_id

    @api.model
    def _service_make_review_todos(self, batch_size=200):
        """The to-dos of inquiries put in review since the last run, in a locked batch; returns the inquiries."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT id FROM crm_lead WHERE service_review_todo
                ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
            (batch_size,),
        )
        leads = self.sudo().browse(row[0] for row in self.env.cr.fetchall())
        in_review = leads.filtered(lambda lead: lead.active and lead.routing_state == "review")
        in_review._service_schedule_review()
        leads.with_context(service_routing_write=ROUTING_WRITE, tracking_disable=True).write(
            {"service_review_todo": False}
        )
        return leads

    def _service_schedule_review(self):
        """A to-do for a dispatcher on each inquiry held for review (one per inquiry, kept up to date).

        The batch's new to-dos are made in one creation, and each leader is told once per company, in
        one mail naming them (safety-critical first; ``_service_review_mail``), not in one "assigned to
        you" mail per to-do: a hundred inquiries held at once (every technician of an area full) are one
        mail, and a to-do costs the backstop a few milliseconds instead of the forty of rendering
        and queueing its own mail, which under load kept it past the scheduler's time limit. A leader
        of a team shared by several companies gets a mail per company, sent as that company."""
        activity_type = self.env.ref(REVIEW_ACTIVITY_TYPE, raise_if_not_found=False)
        if not activity_type:
            return
        reasons = dict(self.env["service.routing.log"]._fields["review_reason"]._description_selection(self.env))
        existing = {activity.res_id: activity for activity in self.sudo().activity_search([REVIEW_ACTIVITY_TYPE])}
        model_id = self.env["ir.model"]._get_id("crm.lead")
        values, told = [], {}
        for lead in self.sudo():
            summary = self.env._(
                "Review: %(reason)s", reason=reasons.get(lead.review_reason, lead.review_reason or self.env._("held"))
            )
            if lead.id in existing:
                existing[lead.id].summary = summary
                continue
            user = lead._service_review_user()
            if not user:
                continue
            values.append(
                {
                    "activity_type_id": activity_type.id,
                    "summary": summary,
                    "automated": True,
                    "note": activity_type.default_note,
                    "date_deadline": fields.Date.context_today(lead),
                    "res_model_id": model_id,
                    "res_id": lead.id,
                    "user_id": user.id,
                }
            )
            told.setdefault((user, lead.company_id), []).append(lead.id)
        # the leader's mail below tells of them: no "assigned to you" mail per to-do
        self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True).create(values)
        for (user, _company), lead_ids in told.items():
            self.browse(lead_ids)._service_review_mail(user)

    def _service_review_mail(self, user):
        """One mail to ``user`` naming these inquiries of one company, just held for review and given to
        them as to-dos, in the user's language, from the company's address and in its layout: the
        safety-critical first, each with its reason and a link."""
        partner = user.sudo().partner_id
        if not self or not partner.email:
            return
        env = self.with_context(lang=partner.lang).env
        leads = self.sudo().with_env(env).sorted(lambda lead: (not lead.safety_critical, lead.id))
        reasons = dict(env["service.routing.log"]._fields["review_reason"]._description_selection(env))
        subject = env._("%(count)s inquiries held for your review", count=len(leads))
        if len(leads) == 1:
            subject = env._("Held for your review: %(inquiry)s", inquiry=leads.name)
        body = env["ir.qweb"]._render(
            "crm_service_routing.service_review_mail",
            {
                "leads": leads,
                "reasons": reasons,
                "link": lambda lead: lead._notify_get_action_link("view"),
            },
            minimal_qcontext=True,
        )
        company = leads[:1].company_id or env.company
        body = env["mail.render.mixin"]._render_encapsulate(
            "mail.mail_notification_light",
            body,
            add_context={
                # the layout expects a message; a digest has none of its own
                "message": env["mail.message"].sudo().new({"body": body, "record_name": subject}),
                "model_description": env._("Service Review"),
                "company": company,
            },
        )
        env["mail.mail"].sudo().create(
            {
                "auto_delete": True,
                "body_html": body,
                "author_id": env.user.partner_id.id,
                "email_from": company.partner_id.email_formatted or env.ref("base.user_root").email_formatted,
                "recipient_ids": [Command.link(partner.id)],
                "subject": subject,
            }
        )

    def _service_close_review(self):
        """The inquiry left review: its to-do is done."""
        if self.env.ref(REVIEW_ACTIVITY_TYPE, raise_if_not_found=False):
            self.sudo().activity_feedback([REVIEW_ACTIVITY_TYPE], feedback=self.env._("Routed on."))

    # ------------------------------------------------------------
    # PREDICTIVE LEAD SCORING: sales leads only
    # ------------------------------------------------------------

    def _pls_get_lead_pls_values(self, domain=None):
        """Service inquiries are won or lost for reasons of their own: they teach lead scoring nothing."""
        if domain:
            domain = ["&", ("service_occasion", "=", False)] + list(domain)
            return super()._pls_get_lead_pls_values(domain=domain)
        return super(CrmLead, self.filtered(lambda lead: not lead.service_occasion))._pls_get_lead_pls_values(
            domain=domain or []
        )
