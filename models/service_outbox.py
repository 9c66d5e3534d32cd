# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import Command


class Outbox:
    """What a batch sends, sent once at its end: chatter notes per inquiry, mails per template
    (one rendering per template and batch), channel-manager notices per set of recipients."""

    def __init__(self):
        self.notes = {}  # lead -> [text]
        self.mails = {}  # template xmlid -> offers
        self.notices = []  # (offer, template xmlid, summary)

    def note(self, lead, text):
        self.notes.setdefault(lead, []).append(text)

    def mail(self, template_xmlid, offer):
        self.mails[template_xmlid] = self.mails.get(template_xmlid, offer.browse()) | offer

    def notify(self, offer, template_xmlid, summary):
        self.notices.append((offer, template_xmlid, summary))

    def merge(self, other):
        for lead, texts in other.notes.items():
            self.notes.setdefault(lead, []).extend(texts)
        for template_xmlid, offers in other.mails.items():
            self.mail(template_xmlid, offers)
        self.notices.extend(other.notices)

    def flush(self, env):
        # channel managers: an activity on each inquiry, a mail per template and set of recipients
        groups = {}
        for offer, template_xmlid, summary in self.notices:
            lead = offer.lead_id
            users = offer.service_level_id._service_managers() or lead.user_id
            # the mail below tells them; no second "activity assigned" mail
            quiet = lead.with_context(mail_activity_quick_update=True)
            for user in users:
                quiet.activity_schedule("mail.mail_activity_data_todo", user_id=user.id, summary=summary)
            if users.partner_id:
                key = (template_xmlid, tuple(sorted(users.partner_id.ids)))
                groups[key] = groups.get(key, offer.browse()) | offer
            self.note(
                lead,
                env._(
                    "%(summary)s: notified %(users)s.",
                    summary=summary,
                    users=", ".join(users.mapped("name")) or env._("nobody (no channel manager on the SLA tier)"),
                ),
            )
        for (template_xmlid, partner_ids), offers in groups.items():
            template = env.ref(template_xmlid, raise_if_not_found=False)
            if template:
                template.sudo().send_mail_batch(
                    offers.ids, email_values={"recipient_ids": [Command.set(list(partner_ids))]}
                )
        for template_xmlid, offers in self.mails.items():
            template = env.ref(template_xmlid, raise_if_not_found=False)
            if template:
                template.sudo().send_mail_batch(offers.ids)
        if self.notes:
            leads = env["crm.lead"].browse(lead.id for lead in self.notes)
            leads._message_log_batch({lead.id: Markup("<br/>").join(texts) for lead, texts in self.notes.items()})
