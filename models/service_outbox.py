# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import Command, fields


class Outbox:
    """What a batch sends, sent once at its end: chatter notes per inquiry, mails per template
    (one rendering per template and batch), channel-manager notices per set of recipients,
    to-do activities in one creation."""

    def __init__(self):
        self.notes = {}  # lead -> [text]
        self.mails = {}  # template xmlid -> offers
        self.notices = []  # (offer, template xmlid, summary)
        self.activities = []  # (lead, user, summary, note)

    def note(self, lead, text):
        self.notes.setdefault(lead, []).append(text)

    def mail(self, template_xmlid, offer):
        self.mails[template_xmlid] = self.mails.get(template_xmlid, offer.browse()) | offer

    def notify(self, offer, template_xmlid, summary):
        self.notices.append((offer, template_xmlid, summary))

    def activity(self, lead, user, summary, note=""):
        """A to-do on ``lead`` for ``user``; the mail of the batch tells them, no "activity assigned" mail."""
        self.activities.append((lead, user, summary, note))

    def merge(self, other):
        for lead, texts in other.notes.items():
            self.notes.setdefault(lead, []).extend(texts)
        for template_xmlid, offers in other.mails.items():
            self.mail(template_xmlid, offers)
        self.notices.extend(other.notices)
        self.activities.extend(other.activities)

    def flush(self, env):
        # channel managers: an activity on each inquiry, a mail per template, set of recipients and the
        # time zone and language they read in (each reads the times in their own zone)
        groups = {}
        for offer, template_xmlid, summary in self.notices:
            lead = offer.lead_id
            users = offer.service_level_id._service_managers() or lead.user_id
            readers = {}
            for user in users:
                self.activity(lead, user, summary)
                reading = offer._service_user_reading(user)
                readers[reading] = readers.get(reading, user.browse()) | user
            for (tz, lang), readers_users in readers.items():
                key = (template_xmlid, tz, lang, tuple(sorted(readers_users.partner_id.ids)))
                groups[key] = groups.get(key, offer.browse()) | offer
            self.note(
                lead,
                env._(
                    "%(summary)s: notified %(users)s.",
                    summary=summary,
                    users=", ".join(users.mapped("name")) or env._("nobody (no channel manager on the SLA tier)"),
                ),
            )
        self._flush_activities(env)
        for (template_xmlid, tz, lang, partner_ids), offers in groups.items():
            template = env.ref(template_xmlid, raise_if_not_found=False)
            if template and partner_ids:
                template.sudo().with_context(lang=lang, service_reader_tz=tz).send_mail_batch(
                    offers.ids, email_values={"recipient_ids": [Command.set(list(partner_ids))]}
                )
        for template_xmlid, offers in self.mails.items():
            template = env.ref(template_xmlid, raise_if_not_found=False)
            if template:
                template.sudo().send_mail_batch(offers.ids)
        if self.notes:
            leads = env["crm.lead"].browse(lead.id for lead in self.notes)
            leads._message_log_batch({lead.id: Markup("<br/>").join(texts) for lead, texts in self.notes.items()})

    def _flush_activities(self, env):
        """The to-dos in one creation, as ``activity_schedule`` makes them (one per inquiry and user)."""
        if not self.activities:
            return
        activity_type = env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        Lead = env["crm.lead"]
        if not activity_type:
            activity_type = Lead._default_activity_type()
        model_id = env["ir.model"]._get_id("crm.lead")
        today = fields.Date.context_today(Lead)
        # the mail of the batch tells the users; no second "activity assigned" mail
        env["mail.activity"].with_context(mail_activity_quick_update=True).create(
            [
                {
                    "activity_type_id": activity_type.id,
                    "summary": summary or activity_type.summary,
                    "automated": True,
                    "note": note or activity_type.default_note,
                    "date_deadline": today,
                    "res_model_id": model_id,
                    "res_id": lead.id,
                    "user_id": user.id,
                }
                for lead, user, summary, note in self.activities
            ]
        )
        self.activities = []
