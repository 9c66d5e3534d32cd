# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import random

from odoo import api, fields, models

from ..engine import lifecycle
from .service_constants import DECLINE_REASONS

# how the demo's past inquiries went: {outcome: share}
HISTORY_OUTCOMES = {"declined_then_accepted": 0.14, "unanswered": 0.06, "accepted": 0.80}


class ServiceDemo(models.AbstractModel):
    """The past of the demo database: what its reports, scorecard and charts show.

    Demo data of a module are made on one day; a channel manager's reports
    read three months. ``_make_history`` routes past inquiries through the
    module's own life cycle (routing, answers, visits, won and lost), one
    after another, then moves each one's timestamps back to a day of the last
    months, its answers a few hours after its offers. Only demo data call it.
    """

    _name = "service.demo"
    _description = "Service Routing Demo History"

    @api.model
    def _use_euro(self):
        """The demo company is German: euros, unless it has booked in its currency already (an
        accounting demo installed before this one), which a company keeps then."""
        company = self.env.ref("base.main_company")
        euro = self.env.ref("base.EUR")
        if company.currency_id == euro:
            return
        if "account.move.line" in self.env and self.env["account.move.line"].search_count(
            [("company_id", "=", company.id)], limit=1
        ):
            return
        euro.active = True
        company.currency_id = euro

    @api.model
    def _make_history(self, count=90, days=88, seed=18):
        """``count`` closed inquiries over the last ``days`` days, like the demo's open ones."""
        rng = random.Random(seed)
        Lead = self.env["crm.lead"]
        templates = Lead.search([("service_occasion", "!=", False), ("routing_state", "!=", False)], order="id")
        if not templates:
            return Lead
        sources = self.env["utm.source"].search([], order="id", limit=4)
        mediums = self.env["utm.medium"].search([], order="id", limit=3)
        won_stage = self.env["crm.stage"].search([("is_won", "=", True)], limit=1)
        now = fields.Datetime.now()
        made = Lead
        for index in range(count):
            template = templates[index % len(templates)]
            created = now - datetime.timedelta(days=rng.uniform(2, days))
            created = created.replace(hour=rng.randint(7, 17), minute=rng.randint(0, 59), second=0)
            lead = Lead.create(self._history_values(template, index, rng, sources, mediums))
            timeline = self._history_play(lead, rng, won_stage)
            self._history_backdate(lead, created, timeline, rng, now)
            made |= lead
        # crm's days to assign and to close, from the dates moved back
        self.env.invalidate_all()
        for fname in ("day_open", "day_close"):
            self.env.add_to_compute(Lead._fields[fname], made)
        made.flush_recordset(["day_open", "day_close"])
        return made

    def _history_values(self, template, index, rng, sources, mediums):
        values = {
            "name": template.name,
            "type": "opportunity",
            "service_occasion": template.service_occasion,
            "equipment_type_id": template.equipment_type_id.id,
            "service_level_id": template.service_level_id.id,
            "zip": template.zip,
            "city": template.city,
            "country_id": template.country_id.id,
            "contact_name": template.contact_name,
            "email_from": f"history{index}@example.org",
            "phone": template.phone,
        }
        # the existing customers of the demo come back (their installed base matched), others are new
        if template.partner_id and rng.random() < 0.6:
            values["partner_id"] = template.partner_id.id
        if sources and rng.random() < 0.7:
            values["source_id"] = rng.choice(sources).id
            values["medium_id"] = rng.choice(mediums).id if mediums else False
        return values

    def _history_play(self, lead, rng, won_stage):
        """Answer and close ``lead`` as one of HISTORY_OUTCOMES: [(offer, hours to its answer)] in order,
        and the days from acceptance to the end of the job."""
        answers = []
        (outcome,) = rng.choices(list(HISTORY_OUTCOMES), weights=list(HISTORY_OUTCOMES.values()))
        offer = lead.service_offer_id
        if offer and outcome == "declined_then_accepted":
            offer.action_decline(rng.choice(DECLINE_REASONS)[0], "Fully booked these weeks.")
            answers.append((offer, rng.uniform(0.3, 8.0)))
            lead.invalidate_recordset()
            offer = lead.service_offer_id
        if not offer or outcome == "unanswered":
            # left unanswered: a dispatcher closed it (lost), the offer ended with it
            lead.action_set_lost()
            answered = [answer[0] for answer in answers]
            answers.extend((other, None) for other in lead.offer_ids.sorted("id") if other not in answered)
            return answers, rng.uniform(1, 4)
        offer.action_accept()
        # most answer within the working day, some the next day, a few later
        answers.append((offer, rng.choice((rng.uniform(0.2, 4.0), rng.uniform(0.5, 10.0), rng.uniform(12, 40)))))
        amount = round(rng.uniform(180, 9500), -1)
        ending = rng.random()
        if ending < 0.35:
            # the technician documented the visit: the customer ordered on site
            self.env["service.visit"].create(
                {
                    "lead_id": lead.id,
                    "offer_id": offer.id,
                    "technician_id": offer.technician_id.id,
                    "company_id": (lead.company_id or self.env.company).id,
                    "work_done": "Checked and serviced; customer ordered the recommended parts.",
                    "followon_order": True,
                    "followon_amount": amount,
                }
            )
        if ending < 0.7 and won_stage:
            lead.write({"expected_revenue": amount, "stage_id": won_stage.id})
        else:
            lead.action_set_lost()
        return answers, rng.uniform(1, 12)

    def _history_backdate(self, lead, created, timeline, rng, now):
        """Move ``lead`` and what routing made of it back to ``created``: each offer made when the one
        before was answered, answered the hours ``timeline`` says, the job closed days later."""
        answers, job_days = timeline
        cr = self.env.cr
        self.env.flush_all()
        at = created + datetime.timedelta(minutes=rng.uniform(0.5, 3))
        accepted_at = last_offered = None
        for offer, hours in answers:
            offered_at = at
            responded_at = offered_at + datetime.timedelta(hours=hours) if hours is not None else None
            shift = offered_at - offer.offered_at
            cr.execute(
                """UPDATE service_offer
                      SET offered_at = %(offered)s::timestamp, create_date = %(offered)s::timestamp,
                          answer_deadline = answer_deadline + %(shift)s,
                          next_escalation_at = next_escalation_at + %(shift)s,
                          responded_at = CASE WHEN responded_at IS NOT NULL THEN %(responded)s::timestamp END,
                          response_hours = CASE WHEN responded_at IS NOT NULL THEN %(hours)s::float8 END
                    WHERE id = %(id)s""",
                {"offered": offered_at, "responded": responded_at, "hours": hours, "shift": shift, "id": offer.id},
            )
            cr.execute(
                "UPDATE service_routing_log SET create_date = %s WHERE id = %s", (offered_at, offer.routing_log_id.id)
            )
            if responded_at and offer.state != lifecycle.O_DECLINED:
                accepted_at = responded_at
            at, last_offered = responded_at or offered_at, offered_at
        closed = min((accepted_at or at) + datetime.timedelta(days=job_days), now - datetime.timedelta(hours=1))
        cr.execute(
            """UPDATE service_offer
                  SET closed_at = CASE WHEN state = 'declined' THEN responded_at ELSE %s::timestamp END,
                      write_date = %s
                WHERE lead_id = %s AND closed_at IS NOT NULL""",
            (closed, closed, lead.id),
        )
        # the visit the day after the acceptance
        visited = min((accepted_at or closed) + datetime.timedelta(days=1), closed)
        cr.execute(
            """UPDATE service_visit SET create_date = %(at)s, write_date = %(at)s, visit_date = %(day)s
                WHERE lead_id = %(lead)s""",
            {"at": visited, "day": visited.date(), "lead": lead.id},
        )
        cr.execute(
            """UPDATE crm_lead
                  SET create_date = %(created)s, date_open = %(created)s, write_date = %(closed)s,
                      offered_at = CASE WHEN offered_at IS NOT NULL THEN %(offered)s::timestamp END,
                      accepted_at = CASE WHEN accepted_at IS NOT NULL THEN %(accepted)s::timestamp END,
                      routing_state_date = %(closed)s, date_closed = %(closed)s,
                      date_last_stage_update = %(closed)s
                WHERE id = %(id)s""",
            {"created": created, "closed": closed, "offered": last_offered, "accepted": accepted_at, "id": lead.id},
        )
        cr.execute(
            """UPDATE mail_message SET date = %s::timestamp + (id - min_id) * INTERVAL '1 second'
                 FROM (SELECT min(id) AS min_id FROM mail_message WHERE model = 'crm.lead' AND res_id = %s) first
                WHERE model = 'crm.lead' AND res_id = %s""",
            (created, lead.id, lead.id),
        )
