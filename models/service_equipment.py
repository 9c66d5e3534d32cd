# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ServiceEquipment(models.Model):
    """A product installed at a customer site: the installed base."""

    _name = "service.equipment"
    _description = "Installed Equipment"
    _code_fields = ("serial_number",)
    _inherit = ["mail.thread", "service.code.mixin", "service.installed.base.mixin"]
    _rec_name = "serial_number"
    _order = "install_date desc, id desc"
    _check_company_auto = True
    _installed_base_fields = ("partner_id", "company_id", "active", "install_date")

    serial_number = fields.Char(required=True, index=True, tracking=True)
    equipment_type_id = fields.Many2one("service.equipment.type", required=True, tracking=True, check_company=True)
    partner_id = fields.Many2one(
        "res.partner", "Customer", required=True, index=True, tracking=True, ondelete="restrict", check_company=True
    )
    contract_id = fields.Many2one(
        "service.contract",
        domain="[('partner_id', '=', partner_id)]",
        index="btree_not_null",
        tracking=True,
        check_company=True,
    )
    install_date = fields.Date()
    next_maintenance_date = fields.Date(
        "Next Maintenance", tracking=True, help="As the technician set it on the last visit."
    )
    street = fields.Char("Site Street")
    zip = fields.Char("Site ZIP")
    city = fields.Char("Site City")
    country_id = fields.Many2one("res.country", "Site Country")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    active = fields.Boolean(default=True)
    lead_ids = fields.One2many("crm.lead", "equipment_id", "Inquiries")
    maintenance_plan_ids = fields.One2many("service.maintenance.plan", "equipment_id", "Maintenance Plans")
    note = fields.Text()

    _sql_constraints = [
        (
            "serial_company_uniq",
            "unique(serial_number, company_id)",
            "A serial number is registered once per company.",
        ),
    ]

    @api.depends("serial_number", "equipment_type_id")
    def _compute_display_name(self):
        for equipment in self:
            equipment.display_name = (
                f"{equipment.serial_number} ({equipment.equipment_type_id.name})"
                if equipment.equipment_type_id
                else equipment.serial_number
            )

    @api.onchange("partner_id")
    def _onchange_partner_id(self):
        if self.partner_id and not self.street:
            self.street = self.partner_id.street
            self.zip = self.partner_id.zip
            self.city = self.partner_id.city
            self.country_id = self.partner_id.country_id

    @api.constrains("contract_id", "partner_id")
    def _check_contract_partner(self):
        for equipment in self:
            contract = equipment.contract_id
            if contract and contract.partner_id.commercial_partner_id != equipment.partner_id.commercial_partner_id:
                raise ValidationError(
                    self.env._(
                        "Equipment %(serial)s belongs to %(customer)s but contract %(ref)s to %(other)s.",
                        serial=equipment.serial_number,
                        customer=equipment.partner_id.display_name,
                        ref=contract.name,
                        other=contract.partner_id.display_name,
                    )
                )
