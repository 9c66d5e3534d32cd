# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

# how far ahead a technician may say it is away
AWAY_MAX_DAYS = 366


class ResUsers(models.Model):
    _inherit = "res.users"

    service_technician_id = fields.Many2one(
        "res.partner",
        "Acts for Technician",
        index="btree_not_null",
        domain="[('is_technician', '=', True)]",
        help="The technician, or the service-partner company, this user answers offers for and sees the "
        "inquiries of. Set when a technician or one of its contacts is invited to the portal; a dispatcher "
        "may change it on the technician.",
    )
    service_technician_ids = fields.Many2many(
        "res.partner",
        compute="_compute_service_technician_ids",
        string="Acts for Technicians",
        help="The technician this user acts for, as record rules read it.",
    )
    service_technician_only = fields.Boolean(
        compute="_compute_service_technician_ids",
        help="Acts for a technician and is no dispatcher: sees only the service inquiries offered to it.",
    )

    @api.depends("service_technician_id", "groups_id")
    def _compute_service_technician_ids(self):
        for user in self:
            technician = user.sudo().service_technician_id
            user.service_technician_ids = technician
            user.service_technician_only = bool(technician) and not user.has_group(
                "crm_service_routing.group_service_dispatcher"
            )

    @api.constrains("service_technician_id")
    def _check_service_technician_id(self):
        for user in self.sudo():
            if user.service_technician_id and not user.service_technician_id.is_technician:
                raise ValidationError(
                    self.env._(
                        "%(partner)s is not a service technician: %(user)s cannot act for it.",
                        partner=user.service_technician_id.display_name,
                        user=user.name,
                    )
                )

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["service_technician_id"]

    @api.model_create_multi
    def create(self, vals_list):
        # a user created for the technician's own contact is that technician
        for vals in vals_list:
            if "service_technician_id" not in vals and vals.get("partner_id"):
                partner = self.env["res.partner"].sudo().browse(vals["partner_id"])
                if partner.is_technician:
                    vals["service_technician_id"] = partner.id
        users = super().create(vals_list)
        if any(vals.get("service_technician_id") for vals in vals_list):
            self.env.registry.clear_cache()
        return users

    def write(self, vals):
        result = super().write(vals)
        if "service_technician_id" in vals:
            # record rules read who acts for a technician
            self.env.registry.clear_cache()
        return result

    # ------------------------------------------------------------
    # BUSINESS: PORTAL
    # ------------------------------------------------------------

    def _service_portal_set_availability(self, paused, away_until):
        """The technician's own pause and absence, set from the portal by a user acting for it."""
        self.ensure_one()
        if self != self.env.user or not self.service_technician_id:
            raise AccessError(self.env._("Only a technician's own users set its availability."))
        today = fields.Date.context_today(self)
        if away_until and not isinstance(away_until, datetime.date):
            raise ValidationError(self.env._("Give the last day you are away as a date."))
        if away_until and away_until < today:
            raise ValidationError(self.env._("The last day you are away cannot be in the past."))
        if away_until and away_until > today + datetime.timedelta(days=AWAY_MAX_DAYS):
            raise ValidationError(self.env._("You can set an absence of at most a year ahead."))
        # the technician profile is the dispatcher's; its availability is also its own (checked above)
        self.service_technician_id.sudo().write({"service_paused": bool(paused), "service_away_until": away_until})
        return True
