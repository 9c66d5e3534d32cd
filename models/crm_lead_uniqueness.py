# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..engine import lifecycle


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

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_service_open_link(self):
        self.ensure_one()
        return self.env["crm.lead.link"]._action_open(self)

    def action_service_open_unlink(self):
        self.ensure_one()
        return self.env["crm.lead.link"]._action_open(self, unlink=True)

    def action_service_link(self, unique_lead_id, reason):
        """Dispatcher: link these inquiries to ``unique_lead_id`` (their open offers are withdrawn)."""
        self._service_check_dispatcher()
        unique = self.browse(unique_lead_id).exists()
        reason = self._service_link_reason(reason)
        if not unique or unique in self or unique.service_unique_lead_id:
            raise UserError(self.env._("Link to an inquiry that is itself no repeat, and not to the inquiry itself."))
        if unique.routing_state not in lifecycle.LEAD_LIVE_STATES:
            raise UserError(
                self.env._("%(lead)s is closed: link repeats to an open inquiry.", lead=unique.display_name)
            )
        for lead in self:
            if lead.service_linked_lead_ids:
                raise UserError(
                    self.env._("%(lead)s has repeats linked to it: unlink them first.", lead=lead.display_name)
                )
            lead._service_transition("link", service_unique_lead_id=unique.id)
            lead._service_post_link_note(
                self.env._(
                    "Linked by %(user)s to %(unique)s: %(reason)s",
                    user=self.env.user.name,
                    unique=unique.display_name,
                    reason=reason,
                ),
                unique,
            )
        return True

    def action_service_unlink(self, reason):
        """Dispatcher: these repeats are inquiries of their own after all; they are routed."""
        self._service_check_dispatcher()
        reason = self._service_link_reason(reason)
        for lead in self:
            unique = lead.service_unique_lead_id
            lead._service_transition("unlink", service_unique_lead_id=False)
            lead._service_post_link_note(
                self.env._(
                    "Unlinked from %(unique)s by %(user)s: %(reason)s",
                    unique=unique.display_name,
                    user=self.env.user.name,
                    reason=reason,
                ),
                unique,
            )
            lead._service_route_safely("rerun")
        return True

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _service_unique_for(self, vals):
        """The open inquiry a new one repeats (its id), or False: one query.

        A repeat is an inquiry of the same matched customer about the same
        equipment (serial number or installed equipment, else the same
        equipment type and occasion), within the company's window. Follow-on
        inquiries and copies are never repeats.
        """
        if (
            not vals.get("partner_id")
            or not vals.get("match_method")
            or vals.get("service_origin_lead_id")
            or self.env.context.get("service_no_link")
        ):
            return False
        company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
        days = company.service_unique_window_days
        if days <= 0:
            return False
        serial = vals.get("serial_number") or None
        equipment = vals.get("equipment_id") or None
        self.env["crm.lead"].flush_model()
        self.env.cr.execute(
            """SELECT l.id FROM crm_lead l
                WHERE l.active AND l.company_id = %(company)s
                  AND l.service_unique_lead_id IS NULL
                  AND l.routing_state IN ('new', 'review', 'offered', 'accepted')
                  AND l.create_date >= %(since)s
                  AND l.partner_id IN (SELECT p.id FROM res_partner p
                                        WHERE p.commercial_partner_id = (SELECT commercial_partner_id
                                                                          FROM res_partner WHERE id = %(partner)s))
                  AND CASE WHEN %(serial)s::varchar IS NOT NULL OR %(equipment)s::int IS NOT NULL
                           THEN l.serial_number = %(serial)s OR l.equipment_id = %(equipment)s
                           ELSE l.equipment_type_id = %(type)s AND l.service_occasion = %(occasion)s END
                ORDER BY l.create_date, l.id
                LIMIT 1""",
            {
                "company": company.id,
                "since": fields.Datetime.now() - datetime.timedelta(days=days),
                "partner": vals["partner_id"],
                "serial": serial,
                "equipment": equipment,
                "type": vals.get("equipment_type_id") or None,
                "occasion": vals.get("service_occasion"),
            },
        )
        row = self.env.cr.fetchone()
        return row[0] if row else False

    def _service_note_linked(self):
        """Repeats linked at arrival: said on both inquiries."""
        for lead in self:
            lead._service_post_link_note(
                self.env._(
                    "Repeat of %(unique)s (same customer and equipment): handled and counted there.",
                    unique=lead.service_unique_lead_id.display_name,
                ),
                lead.service_unique_lead_id,
            )

    def _service_post_link_note(self, text, unique):
        self.ensure_one()
        self.sudo()._message_log(body=text)
        unique.sudo()._message_log(
            body=Markup("%s %s") % (self.env._("Repeat inquiry %(lead)s:", lead=self.display_name), text)
        )

    @api.model
    def _service_link_reason(self, reason):
        reason = self.env["service.offer"]._service_clean_text(reason, 500, self.env._("reason"))
        if not reason:
            raise UserError(self.env._("Say why: the reason is kept in the chatter."))
        return reason
