# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging

from odoo import api, fields, models

from .service_batch import notify_cron_workers, run_locked_batches
from .service_constants import CONCURRENCY_ERRORS

_logger = logging.getLogger(__name__)

NOTICE_EVENTS = [
    ("arrival", "Request Received"),
    ("accepted", "Technician Found"),
    ("appointment", "Appointment Agreed"),
    ("maintenance", "Maintenance Due"),
]
NOTICE_STATES = [
    ("held", "Held"),
    ("pending", "To Send"),
    ("sent", "Sent"),
    ("skipped", "Not Sent"),
]
NOTICE_TEMPLATES = {
    "arrival": "crm_service_routing.mail_template_customer_arrival",
    "accepted": "crm_service_routing.mail_template_customer_accepted",
    "appointment": "crm_service_routing.mail_template_customer_appointment",
    "maintenance": "crm_service_routing.mail_template_customer_maintenance",
}
NOTICE_SUBTYPE = "crm_service_routing.mt_lead_service_customer_notice"
SEND_CRON = "crm_service_routing.ir_cron_send_customer_notices"
# an inquiry the routing has placed with a technician (or closed): past review
ROUTED_STATES = ("offered", "accepted", "done")


class ServiceCustomerNotice(models.Model):
    """One message to the customer of an inquiry, per event: at most once, whatever repeats.

    Recording a notice is one INSERT that does nothing when the inquiry's
    event is recorded already (a unique index on inquiry and event); a
    scheduled action, woken at once, renders and sends the recorded ones in
    locked batches, so routing never renders a mail. A maintenance notice
    of an inquiry still in review is held until the inquiry is routed.
    """

    _name = "service.customer.notice"
    # what a customer was told stays with its inquiry on a merge: the survivor's are its own, once per event
    _service_merge_stays = True
    _description = "Customer Notice"
    _order = "id desc"
    _rec_name = "event"

    lead_id = fields.Many2one("crm.lead", "Inquiry", required=True, index=True, ondelete="cascade", readonly=True)
    event = fields.Selection(NOTICE_EVENTS, required=True, readonly=True)
    state = fields.Selection(NOTICE_STATES, required=True, default="pending", readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    sent_at = fields.Datetime(readonly=True)
    channels = fields.Char("Sent By", readonly=True, help="E-mail, SMS or both.")
    message_id = fields.Many2one("mail.message", readonly=True, ondelete="set null")
    skip_reason = fields.Char(readonly=True)

    _sql_constraints = [
        ("lead_event_uniq", "unique(lead_id, event)", "The customer is told of each event of an inquiry once."),
    ]

    def init(self):
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS service_customer_notice_todo_idx
                   ON service_customer_notice (id) WHERE state IN ('pending', 'held')"""
        )

    # ------------------------------------------------------------
    # BUSINESS: RECORDING
    # ------------------------------------------------------------

    @api.model
    def _service_record(self, rows):
        """Record notices [(lead id, event, state, company id)]; those recorded before are left as they are.

        One query: the new notices and, when one is to be sent, a trigger that
        wakes the sending action (its workers are told after the commit).
        Returns the ids of the new notices.
        """
        if not rows:
            return []
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(SEND_CRON, raise_if_not_found=False) or 0
        self.env.cr.execute(
            """WITH notice AS (
                   INSERT INTO service_customer_notice
                               (lead_id, event, state, company_id, create_uid, write_uid, create_date, write_date)
                   SELECT r.lead_id, r.event, r.state, r.company_id, %(uid)s, %(uid)s,
                          now() at time zone 'UTC', now() at time zone 'UTC'
                     FROM jsonb_to_recordset(%(rows)s::jsonb)
                          AS r(lead_id int, event varchar, state varchar, company_id int)
                   ON CONFLICT (lead_id, event) DO NOTHING
                   RETURNING id, state
               ), wake AS (
                   INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid, write_uid, create_date, write_date)
                   SELECT c.id, now() at time zone 'UTC', %(uid)s, %(uid)s,
                          now() at time zone 'UTC', now() at time zone 'UTC'
                     FROM ir_cron c
                    WHERE c.id = %(cron)s AND c.active AND EXISTS (SELECT 1 FROM notice WHERE state = 'pending')
               )
               SELECT id, state FROM notice""",
            {
                "uid": self.env.uid,
                "cron": cron_id,
                "rows": json.dumps(
                    [
                        {"lead_id": lead_id, "event": event, "state": state, "company_id": company_id}
                        for lead_id, event, state, company_id in rows
                    ]
                ),
            },
        )
        created = self.env.cr.fetchall()
        if created:
            self.env["crm.lead"].invalidate_model(["service_notice_ids"])
            if any(state == "pending" for _id, state in created):
                notify_cron_workers(self.env, self.env["ir.cron"].browse(cron_id))
        return [row[0] for row in created]

    # ------------------------------------------------------------
    # BUSINESS: SENDING
    # ------------------------------------------------------------

    @api.model
    def _cron_send_customer_notices(self):
        return self._send_pending()

    @api.model
    def _send_pending(self, batch_size=100):
        """Send the recorded notices in locked batches (skipping those another run holds); returns them."""

        def step():
            notices = self._service_lock_todo(batch_size)
            if notices:
                notices._service_send_batch()
            return notices, None

        return self.browse().union(*(notices for notices, _result in run_locked_batches(self.env, step, batch_size)))

    @api.model
    def _service_lock_todo(self, batch_size):
        """Lock notices to send now: pending ones, and held ones whose inquiry is routed or closed since."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT n.id FROM service_customer_notice n JOIN crm_lead l ON l.id = n.lead_id
                WHERE n.state = 'pending'
                   OR (n.state = 'held' AND (l.routing_state IN %(routed)s OR l.routing_state IN ('cancelled', 'linked')
                                             OR NOT l.active))
                ORDER BY n.id LIMIT %(limit)s
                FOR UPDATE OF n SKIP LOCKED""",
            {"routed": ROUTED_STATES, "limit": batch_size},
        )
        return self.sudo().browse([row[0] for row in self.env.cr.fetchall()])

    def _service_send_batch(self):
        """Render each event's template in the customer's language and send; each notice in a savepoint."""
        self = self.sudo()  # noqa: PLW0642 - locked by the scheduled action, which runs as the system
        by_event = {}
        for notice in self:
            reason = notice.lead_id._service_notice_refusal(notice.event, sending=True)
            if reason:
                notice.write({"state": "skipped", "skip_reason": reason})
                continue
            by_event.setdefault(notice.event, self.browse())
            by_event[notice.event] |= notice
        sms = "sms.sms" in self.env
        for event, notices in by_event.items():
            template = self.env.ref(NOTICE_TEMPLATES[event], raise_if_not_found=False)
            if not template:
                notices.write({"state": "skipped", "skip_reason": "no template"})
                continue
            leads = notices.lead_id
            subjects = template._render_field("subject", leads.ids, compute_lang=True)
            bodies = template._render_field("body_html", leads.ids, compute_lang=True)
            for notice in notices:
                try:
                    with self.env.cr.savepoint():
                        notice._service_send_one(subjects[notice.lead_id.id], bodies[notice.lead_id.id], sms)
                except CONCURRENCY_ERRORS:
                    raise
                except Exception as error:
                    _logger.exception("Customer notice %s could not be sent.", notice.id)
                    self.env.invalidate_all(flush=False)
                    notice.write({"state": "skipped", "skip_reason": repr(error)[:200]})

    def _service_send_one(self, subject, body, sms):
        """Post the message in the inquiry's chatter, mail it to the customer's address, and text it."""
        self.ensure_one()
        lead = self.lead_id.with_context(mail_post_autofollow=False, mail_create_nosubscribe=True)
        company = lead.company_id or self.env.company
        subtype = self.env.ref(NOTICE_SUBTYPE)
        channels = []
        message = self.env["mail.message"]
        email_to = lead._service_notice_email_to()
        if email_to:
            message = lead.message_post(
                body=body,
                subject=subject,
                message_type="comment",
                subtype_id=subtype.id,
                author_id=company.partner_id.id,
                email_from=company.email_formatted or company.partner_id.email_formatted or False,
            )
            self.env["mail.mail"].sudo().create(
                {
                    "mail_message_id": message.id,
                    "email_to": email_to,
                    "body_html": body,
                    "auto_delete": True,
                    "is_notification": True,
                }
            )
            channels.append("email")
        number = sms and self.company_id.service_customer_sms and lead._service_notice_sms_number()
        if number:
            text = lead._service_notice_sms_text(self.event)
            sms_message = lead._message_sms(text, subtype_id=subtype.id, partner_ids=[], sms_numbers=[number])
            message = message or sms_message
            channels.append("sms")
        self.write(
            {
                "state": "sent" if channels else "skipped",
                "sent_at": fields.Datetime.now(),
                "channels": ", ".join(channels) or False,
                "message_id": message.id or False,
                "skip_reason": False if channels else "no address",
            }
        )
