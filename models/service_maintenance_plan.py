# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import logging

from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import format_date

from .service_batch import run_locked_batches
from .service_constants import CONCURRENCY_ERRORS

_logger = logging.getLogger(__name__)

# what the back office and the technician's portal list as coming up
COMING_UP_DAYS = 90
PLAN_STATES = [
    ("scheduled", "Scheduled"),
    ("open", "Inquiry Open"),
    ("stopped", "Stopped"),
]
# a maintenance inquiry in these states is open: the plan opens no other (a unique index says so)
OPEN_MAINTENANCE_STATES = ("new", "review", "offered", "accepted")


class ServiceMaintenancePlan(models.Model):
    """Recurring maintenance of installed equipment: when it comes due, an inquiry opens by itself.

    The scheduled action opens one inquiry per plan and due date, ``lead_days``
    before the date, through the inquiries' own create (matched, routed: the
    contract technician first). A documented visit moves the next due date; a
    contract that ended, or was archived, stops its plans.
    """

    _name = "service.maintenance.plan"
    _description = "Maintenance Plan"
    _inherit = ["mail.thread"]
    _order = "next_due_date, id"
    _check_company_auto = True

    name = fields.Char(
        "Maintenance", required=True, tracking=True, help="What is due, e.g. Yearly maintenance, Statutory inspection."
    )
    equipment_id = fields.Many2one(
        "service.equipment",
        "Installed Equipment",
        required=True,
        index=True,
        ondelete="cascade",
        tracking=True,
        check_company=True,
    )
    partner_id = fields.Many2one(related="equipment_id.partner_id", store=True, index=True, string="Customer")
    equipment_type_id = fields.Many2one(related="equipment_id.equipment_type_id", store=True)
    serial_number = fields.Char(related="equipment_id.serial_number")
    contract_id = fields.Many2one(
        "service.contract",
        compute="_compute_contract_id",
        store=True,
        readonly=False,
        index="btree_not_null",
        tracking=True,
        check_company=True,
        domain="[('partner_id', '=', partner_id)]",
    )
    technician_id = fields.Many2one(
        "res.partner",
        compute="_compute_technician_id",
        store=True,
        index="btree_not_null",
        help="The contract technician, else the technician who took the plan's last inquiry.",
    )
    covered_by_contract = fields.Boolean(
        "Covered by Contract", tracking=True, help="The contract pays for this maintenance: the inquiry says so."
    )
    interval_months = fields.Integer("Interval (Months)", required=True, default=12, tracking=True)
    next_due_date = fields.Date(
        "Next Due",
        compute="_compute_next_due_date",
        store=True,
        readonly=False,
        tracking=True,
        help="From the last documented visit's next maintenance date, or set by hand.",
    )
    lead_days = fields.Integer(
        "Lead Time (Days)", default=14, help="How many days before the due date the maintenance inquiry opens."
    )
    open_date = fields.Date("Opens On", compute="_compute_open_date", store=True)
    opened_due_date = fields.Date(
        "Opened For", readonly=True, copy=False, help="The due date the last maintenance inquiry was opened for."
    )
    due_opened = fields.Boolean(
        "Opened for the Due Date", compute="_compute_due_opened", store=True, help="Its inquiry is opened."
    )
    lead_id = fields.Many2one(
        "crm.lead", "Last Inquiry", index="btree_not_null", readonly=True, copy=False, ondelete="set null"
    )
    # the inquiry's chatter tracks its status; the plan's would only repeat it, at each opening
    lead_routing_state = fields.Selection(related="lead_id.routing_state", string="Inquiry Status", tracking=False)
    last_visit_date = fields.Date(readonly=True, copy=False)
    state = fields.Selection(PLAN_STATES, "Plan Status", compute="_compute_state", search="_search_state")
    open_error = fields.Char("Last Error", readonly=True, copy=False)
    open_error_date = fields.Date(readonly=True, copy=False)
    company_id = fields.Many2one(related="equipment_id.company_id", store=True, index=True)
    active = fields.Boolean(default=True, tracking=True)

    def init(self):
        # the scheduled action reads only the plans that opened nothing for their due date yet
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS service_maintenance_plan_due_idx
                   ON service_maintenance_plan (open_date, id)
                WHERE active AND next_due_date IS NOT NULL AND due_opened IS NOT TRUE"""
        )

    @api.depends("equipment_id")
    def _compute_contract_id(self):
        for plan in self:
            plan.contract_id = plan.equipment_id.contract_id

    @api.depends("contract_id.technician_id")
    def _compute_technician_id(self):
        for plan in self:
            # without a contract technician: the one who took the last inquiry (written when it is opened)
            plan.technician_id = plan.contract_id.technician_id or plan.technician_id

    @api.depends("equipment_id")
    def _compute_next_due_date(self):
        for plan in self:
            equipment = plan.equipment_id
            plan.next_due_date = (
                plan.next_due_date
                or equipment.next_maintenance_date
                or (
                    equipment.install_date and equipment.install_date + relativedelta(months=plan.interval_months or 12)
                )
            )

    @api.depends("next_due_date", "lead_days")
    def _compute_open_date(self):
        for plan in self:
            plan.open_date = plan.next_due_date and plan.next_due_date - datetime.timedelta(days=plan.lead_days)

    @api.depends("next_due_date", "opened_due_date")
    def _compute_due_opened(self):
        for plan in self:
            plan.due_opened = bool(
                plan.next_due_date and plan.opened_due_date and plan.opened_due_date >= plan.next_due_date
            )

    @api.depends("active", "contract_id.state", "contract_id.active", "due_opened")
    @api.depends_context("date")
    def _compute_state(self):
        for plan in self:
            if plan._service_stopped():
                plan.state = "stopped"
            elif plan.due_opened:
                plan.state = "open"
            else:
                plan.state = "scheduled"

    def _search_state(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise NotImplementedError(self.env._("Unsupported search on the plan's status."))
        values = {value} if isinstance(value, str) else set(value)
        if operator in ("!=", "not in"):
            values = {key for key, _label in PLAN_STATES} - values
        today = fields.Date.context_today(self)
        running = [
            ("active", "=", True),
            "|",
            ("contract_id", "=", False),
            "&",
            ("contract_id.active", "=", True),
            "|",
            ("contract_id.date_end", "=", False),
            ("contract_id.date_end", ">=", today),
        ]
        domains = {
            "stopped": [
                "|",
                "|",
                ("active", "=", False),
                ("contract_id.active", "=", False),
                ("contract_id.date_end", "<", today),
            ],
            "open": [*running, ("due_opened", "=", True)],
            "scheduled": [*running, ("due_opened", "=", False)],
        }
        if not values:
            return [(0, "=", 1)]
        return expression.OR([domains[val] for val in sorted(values)])

    @api.constrains("interval_months", "lead_days")
    def _check_interval(self):
        for plan in self:
            if plan.interval_months < 1:
                raise ValidationError(self.env._("A maintenance interval is at least one month."))
            if plan.lead_days < 0:
                raise ValidationError(self.env._("The lead time cannot be negative."))

    @api.constrains("contract_id", "equipment_id")
    def _check_contract(self):
        for plan in self:
            contract = plan.contract_id
            if contract and contract.partner_id.commercial_partner_id != plan.partner_id.commercial_partner_id:
                raise ValidationError(
                    self.env._(
                        "Contract %(ref)s is not a contract of %(customer)s.",
                        ref=contract.name,
                        customer=plan.partner_id.display_name,
                    )
                )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        plans = super().create(vals_list)
        plans._service_wake_if_due()
        return plans

    def write(self, vals):
        result = super().write(vals)
        if {"next_due_date", "lead_days", "active", "contract_id"}.intersection(vals):
            self._service_wake_if_due()
        return result

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_inquiry(self):
        """Open the maintenance inquiry now, whatever the lead time (a dispatcher's button)."""
        self.ensure_one()
        self.env["crm.lead"]._service_check_dispatcher()
        self.env.flush_all()
        self.env.cr.execute("SELECT id FROM service_maintenance_plan WHERE id = %s FOR UPDATE", (self.id,))
        if self.state == "stopped":
            raise UserError(self.env._("The plan is stopped: its contract ended or it is archived."))
        if self._service_open_lead():
            raise UserError(self.env._("The plan already has an open maintenance inquiry."))
        leads = self.sudo()._service_open_inquiries(fields.Date.context_today(self))
        if not leads:
            raise UserError(self.env._("The inquiry could not be opened: %(error)s", error=self.open_error or ""))
        return self.action_view_inquiry()

    def action_view_inquiry(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crm_service_routing.crm_lead_action_service")
        action.update(res_id=self.lead_id.id, view_mode="form", views=[(False, "form")])
        return action

    # ------------------------------------------------------------
    # BUSINESS: SCHEDULED ACTION
    # ------------------------------------------------------------

    @api.model
    def _cron_open_due_maintenance(self):
        return self._open_due_maintenance()

    @api.model
    def _open_due_maintenance(self, batch_size=100):
        """Open an inquiry for each plan that comes due, in locked batches; returns the inquiries opened.

        Plans another run holds are skipped; a plan whose inquiry is already
        open (committed by a concurrent run) is not selected again, and the
        unique index on the inquiries keeps it so whatever happens.
        """

        def step():
            today = fields.Date.context_today(self)
            plans = self._service_lock_due(batch_size, today)
            return plans, plans._service_open_inquiries(today) if plans else None

        batches = run_locked_batches(self.env, step, batch_size)
        return self.env["crm.lead"].union(*(leads for _plans, leads in batches))

    @api.model
    def _service_lock_due(self, batch_size, today):
        """Lock the next plans due (opening date reached, nothing opened for the due date, contract running)."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT p.id FROM service_maintenance_plan p
                 LEFT JOIN service_contract c ON c.id = p.contract_id
                WHERE p.active AND p.next_due_date IS NOT NULL AND p.due_opened IS NOT TRUE
                  AND p.open_date <= %(today)s
                  AND (p.open_error_date IS NULL OR p.open_error_date < %(today)s)
                  AND (p.contract_id IS NULL
                       OR (c.active AND c.date_start <= %(today)s AND (c.date_end IS NULL OR c.date_end >= %(today)s)))
                  AND NOT EXISTS (SELECT 1 FROM crm_lead l
                                   WHERE l.service_maintenance_plan_id = p.id AND l.active
                                     AND l.routing_state IN %(open)s)
                ORDER BY p.open_date, p.id
                LIMIT %(limit)s
                FOR UPDATE OF p SKIP LOCKED""",
            {"today": today, "limit": batch_size, "open": OPEN_MAINTENANCE_STATES},
        )
        return self.sudo().browse([row[0] for row in self.env.cr.fetchall()])

    def _service_open_inquiries(self, today):
        """Create (and so route) the maintenance inquiry of each locked plan; tell its customer.

        The plans of a company in one create (routed one by one inside it);
        if that fails, plan by plan, each in a savepoint: a plan that fails is
        noted on it and tried again the next day, the others go on.
        """
        Lead = self.env["crm.lead"].sudo().with_context(mail_create_nolog=True, mail_create_nosubscribe=True)
        use_leads = self.env.user.has_group("crm.group_use_lead")
        opened = Lead.browse()
        for company in self.company_id:
            plans = self.filtered(lambda plan, company=company: plan.company_id == company)
            try:
                with self.env.cr.savepoint():
                    leads = Lead.with_company(company).create([plan._service_inquiry_vals(use_leads) for plan in plans])
                    plans._service_mark_opened(leads)
            except CONCURRENCY_ERRORS:
                raise
            except Exception:
                _logger.info("Maintenance plans %s: opened one by one after an error.", plans.ids, exc_info=True)
                self.env.invalidate_all(flush=False)
                leads = plans._service_open_one_by_one(Lead.with_company(company), use_leads, today)
            opened |= leads
        opened._service_notify_customer("maintenance")
        return opened.with_env(self.env)

    def _service_open_one_by_one(self, Lead, use_leads, today):
        opened = Lead.browse()
        for plan in self:
            try:
                with self.env.cr.savepoint():
                    lead = Lead.create(plan._service_inquiry_vals(use_leads))
                    plan._service_mark_opened(lead)
            except CONCURRENCY_ERRORS:
                raise
            except Exception as error:
                _logger.exception("Maintenance plan %s could not open its inquiry.", plan.id)
                self.env.invalidate_all(flush=False)
                message = (error.args[0] if isinstance(error, UserError) and error.args else repr(error))[:500]
                plan.write({"open_error": message, "open_error_date": today})
                continue
            opened |= lead
        return opened

    def _service_mark_opened(self, leads):
        """Each plan opened its inquiry (same order) for its due date."""
        for plan, lead in zip(self, leads, strict=True):
            values = {
                "opened_due_date": plan.next_due_date,
                "lead_id": lead.id,
                "open_error": False,
                "open_error_date": False,
            }
            if not plan.contract_id.technician_id and lead.technician_id:
                values["technician_id"] = lead.technician_id.id
            plan.write(values)

    def _service_inquiry_vals(self, use_leads):
        """The maintenance inquiry of this plan: equipment, serial number, contract, site and contact."""
        self.ensure_one()
        equipment = self.equipment_id
        partner = equipment.partner_id
        contract = self.contract_id if self.contract_id.state == "valid" else self.env["service.contract"]
        due = format_date(self.env, self.next_due_date)
        lines = [
            self.env._("%(maintenance)s due on %(date)s.", maintenance=self.name, date=due),
            self.env._("Covered by contract %(ref)s.", ref=contract.name)
            if contract and self.covered_by_contract
            else self.env._("Not covered by a contract: quote the work to the customer."),
        ]
        if self.last_visit_date:
            lines.append(
                self.env._("Last documented visit: %(date)s.", date=format_date(self.env, self.last_visit_date))
            )
        return {
            "name": f"{self.name} – {equipment.display_name}",
            "type": "lead" if use_leads else "opportunity",
            "service_occasion": "maintenance",
            "description": Markup("<p>%s</p>") % Markup("<br/>").join(lines),
            "partner_id": partner.id,
            "contact_name": partner.name if not partner.is_company else False,
            "partner_name": partner.commercial_partner_id.name if partner.commercial_partner_id.is_company else False,
            "email_from": partner.email or False,
            "phone": partner.phone or partner.mobile or False,
            "street": equipment.street or partner.street,
            "zip": equipment.zip or partner.zip,
            "city": equipment.city or partner.city,
            "country_id": (equipment.country_id or partner.country_id).id,
            "equipment_id": equipment.id,
            "equipment_type_id": equipment.equipment_type_id.id,
            "serial_number": equipment.serial_number,
            "contract_id": contract.id or False,
            "contract_ref": contract.name or False,
            "match_method": "contract" if contract else "serial",
            "company_id": self.company_id.id,
            "service_maintenance_plan_id": self.id,
        }

    def _service_wake_if_due(self):
        """A plan due already (made late, or its date moved by hand) opens its inquiry at once, not in an hour."""
        today = fields.Date.context_today(self)
        if any(plan.active and plan.open_date and plan.open_date <= today and not plan.due_opened for plan in self):
            self.env.ref("crm_service_routing.ir_cron_open_due_maintenance").sudo()._trigger()

    def _service_open_lead(self):
        """This plan's open maintenance inquiry, if any."""
        self.ensure_one()
        return (
            self.env["crm.lead"]
            .sudo()
            .search(
                [
                    ("service_maintenance_plan_id", "=", self.id),
                    ("routing_state", "in", OPEN_MAINTENANCE_STATES),
                ],
                limit=1,
            )
        )

    def _service_stopped(self):
        """Archived, or its contract ended or was archived: the plan opens nothing."""
        self.ensure_one()
        contract = self.contract_id
        return not self.active or bool(contract and (not contract.active or contract.state == "expired"))

    # ------------------------------------------------------------
    # BUSINESS: VISITS
    # ------------------------------------------------------------

    @api.model
    def _service_on_visits(self, visits):
        """Documented visits move the next due date of their equipment's plans.

        To the next maintenance date the technician set, or, for the visit of
        a plan's own maintenance inquiry, to one interval after the visit.
        """
        for visit in visits.sudo():
            lead = visit.lead_id
            equipment = lead.equipment_id
            if not equipment:
                continue
            plans = self.sudo().search([("equipment_id", "=", equipment.id)])
            for plan in plans:
                if visit.next_maintenance_date:
                    due = visit.next_maintenance_date
                elif lead.service_maintenance_plan_id == plan:
                    due = visit.visit_date + relativedelta(months=plan.interval_months)
                else:
                    continue
                values = {"next_due_date": due}
                if not plan.last_visit_date or plan.last_visit_date < visit.visit_date:
                    values["last_visit_date"] = visit.visit_date
                plan.write(values)

    # ------------------------------------------------------------
    # BUSINESS: COMING UP
    # ------------------------------------------------------------

    @api.model
    def _service_horizon_domain(self, days=COMING_UP_DAYS):
        """Plans due within ``days`` (overdue ones included)."""
        return [("next_due_date", "<=", fields.Date.context_today(self) + datetime.timedelta(days=days))]

    @api.model
    def _service_coming_up_domain(self, days=COMING_UP_DAYS):
        """Running plans due within ``days`` (overdue ones included)."""
        return [*self._service_horizon_domain(days), ("state", "!=", "stopped")]

    @api.model
    def _service_coming_up(self, technicians, days=COMING_UP_DAYS):
        """The running plans of these technicians due within ``days``, soonest first.

        Searched with the caller's rights (a technician's portal user reads
        its technicians' plans), shown with the system's: the contract behind
        the status is not the technician's to read.
        """
        if not technicians:
            return self.browse()
        plans = self.search([*self._service_horizon_domain(days), ("technician_id", "in", technicians.ids)])
        return plans.sudo().filtered(lambda plan: plan.state != "stopped").sorted(lambda p: (p.next_due_date, p.id))
