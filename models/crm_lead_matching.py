# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..engine.postal import is_valid_postal_code, normalize_postal_code

# appointments further ahead are typing errors (year 9999), refused wherever they are written
APPOINTMENT_HORIZON_YEARS = 5


class CrmLead(models.Model):
    """Matching: a new inquiry linked to the installed base and checked."""

    _inherit = "crm.lead"

    @api.model
    def _service_prepare_vals(self, vals):
        """Normalise and check the service values of a new inquiry, in place."""
        self._normalize_codes(vals)
        if vals.get("contract_ref"):
            vals["contract_ref"] = vals["contract_ref"].strip()
        if vals.get("zip"):
            country = self.env["res.country"].browse(vals.get("country_id")) or self.env.company.country_id
            zip_code = normalize_postal_code(vals["zip"])
            if country and not is_valid_postal_code(country.code, zip_code):
                raise ValidationError(
                    self.env._(
                        "%(zip)s is not a valid postal code for %(country)s.",
                        zip=vals["zip"],
                        country=country.name,
                    )
                )
            vals["zip"] = zip_code
            # a form sends country_id False: a postal code without country is one of the company's country
            if not vals.get("country_id"):
                vals["country_id"] = country.id
        self._service_check_appointments(vals)

    @api.model
    def _service_check_appointments(self, vals):
        """Appointments lie between now and APPOINTMENT_HORIZON_YEARS ahead, however they are written."""
        now = fields.Datetime.now().replace(second=0, microsecond=0)
        horizon = now + relativedelta(years=APPOINTMENT_HORIZON_YEARS)
        for key in ("preferred_appointment", "agreed_appointment"):
            if vals.get(key):
                value = fields.Datetime.to_datetime(vals[key])
                if now <= value <= horizon:
                    continue
                label = self._fields[key]._description_string(self.env)
                if value < now:
                    raise ValidationError(
                        self.env._(
                            "The %(field)s %(value)s lies in the past.",
                            field=label,
                            value=fields.Datetime.to_string(value),
                        )
                    )
                raise ValidationError(
                    self.env._(
                        "The %(field)s %(value)s lies more than %(years)s years ahead.",
                        field=label,
                        value=fields.Datetime.to_string(value),
                        years=APPOINTMENT_HORIZON_YEARS,
                    )
                )

    @api.model
    def _service_match_values(self, vals):
        """Values linking a new inquiry to the installed base.

        Tried in order: contract reference, serial number, e-mail, phone. The
        first that is known sets the customer; contract and equipment are
        linked whenever known. Values the caller set are kept.
        """
        company_id = vals.get("company_id") or self.env.company.id
        result = {}
        contract, equipment = self.env["service.contract"], self.env["service.equipment"]
        if vals.get("contract_ref") and not vals.get("contract_id"):
            contract = self.env["service.contract"].search(
                self._service_contract_ref_domain(vals["contract_ref"], company_id), limit=1
            )
            if contract:
                result.update(contract_id=contract.id, match_method="contract")
        if vals.get("serial_number") and not vals.get("equipment_id"):
            equipment = self.env["service.equipment"].search(
                [("serial_number", "=", vals["serial_number"]), ("company_id", "=", company_id)], limit=1
            )
            if equipment:
                result["equipment_id"] = equipment.id
                result.setdefault("match_method", "serial")
                if not vals.get("equipment_type_id") and not vals.get("equipment_received"):
                    result["equipment_type_id"] = equipment.equipment_type_id.id
                if not contract and equipment.contract_id:
                    contract = equipment.contract_id
                    result["contract_id"] = contract.id
                elif (
                    contract and equipment.partner_id.commercial_partner_id != contract.partner_id.commercial_partner_id
                ):
                    result["review_note"] = self.env._(
                        "Serial number %(serial)s belongs to %(owner)s, contract %(ref)s to %(customer)s.",
                        serial=equipment.serial_number,
                        owner=equipment.partner_id.display_name,
                        ref=contract.name,
                        customer=contract.partner_id.display_name,
                    )
        result, contract, equipment = self._service_confirm_match(vals, result, contract, equipment)
        customer = contract.partner_id or equipment.partner_id
        if not customer and not vals.get("partner_id"):
            if vals.get("email_from"):
                email = tools.email_normalize(vals["email_from"])
                # customers of the inquiry's company or shared ones, never another company's
                customer = email and self.env["res.partner"].search(
                    self._service_email_customer_domain(email, company_id), limit=1
                )
                if customer:
                    result["match_method"] = "email"
            if not customer and vals.get("phone"):
                sanitized = self._phone_format(
                    number=vals["phone"], country=self.env["res.country"].browse(vals.get("country_id"))
                )
                earlier = sanitized and self.search(
                    [
                        ("phone_sanitized", "=", sanitized),
                        ("partner_id", "!=", False),
                        ("company_id", "in", [company_id, False]),
                    ],
                    limit=1,
                    order="id desc",
                )
                if earlier:
                    customer = earlier.partner_id
                    result["match_method"] = "phone"
        if customer and not vals.get("partner_id"):
            result["partner_id"] = customer.id
        if contract and contract.state == "valid" and not vals.get("service_level_id"):
            result["service_level_id"] = contract.service_level_id.id
        if not vals.get("service_level_id") and not result.get("service_level_id"):
            company = self.env["res.company"].browse(company_id)
            # a company made before the addon was installed may have none: the shared default
            level = company.service_level_id or company._service_default_level()
            if level:
                result["service_level_id"] = level.id
        return result

    @api.model
    def _service_contract_ref_domain(self, ref, company_id):
        """The contract a reference names, in any case: an equality on its indexed key (see
        service.contract), never a pattern."""
        key = self.env["service.contract"]._service_reference_key(ref)
        return [("reference_key", "=", key), ("company_id", "=", company_id)]

    @api.model
    def _service_email_customer_domain(self, email, company_id):
        """The customers of a normalized e-mail address: of the inquiry's company or shared ones, never
        another company's, and no technician. Served by the index on ``email_normalized`` (see
        res.partner): every intake runs it, whatever the size of the customer base."""
        return [
            ("email_normalized", "=", email),
            ("is_technician", "=", False),
            ("company_id", "in", [company_id, False]),
        ]

    @api.model
    def _service_confirm_match(self, vals, result, contract, equipment):
        """(values, contract, equipment) of the match once the request confirmed it.

        In the intake (context ``service_confirm_match``) a serial number or
        contract links its owner only when the request's own data agree with
        it: else nothing is linked and the inquiry is held as 'match to
        confirm', whether the serial number or contract is known or not, so
        that the caller learns nothing of the installed base.
        """
        if not self.env.context.get("service_confirm_match"):
            return result, contract, equipment
        if not (vals.get("contract_ref") or vals.get("serial_number")):
            return result, contract, equipment
        if self._service_caller_agrees(vals, contract | equipment.contract_id, equipment):
            return result, contract, equipment
        unconfirmed = self._service_match_to_confirm(vals, contract, equipment)
        return unconfirmed, self.env["service.contract"], self.env["service.equipment"]

    @api.model
    def _service_caller_agrees(self, vals, contracts, equipment):
        """Whether the request's own data confirm the owner of the serial number and contract it names.

        The postal code of the service site equals the equipment's site or its
        customer's postal code, or the e-mail equals the customer's. Each
        record named must agree; none found: nothing to confirm.
        """
        records = list(contracts) + list(equipment)
        if not records:
            return False
        zip_code = normalize_postal_code(vals.get("zip") or "")
        email = tools.email_normalize(vals.get("email_from") or "")
        for record in records:
            partner = record.partner_id
            partners = (partner | partner.commercial_partner_id).sudo()
            zips = {partner_zip for partner_zip in partners.mapped("zip") if partner_zip}
            if record._name == "service.equipment":
                zips.update(z for z in [record.sudo().zip] if z)
            else:
                zips.update(z for z in record.sudo().equipment_ids.mapped("zip") if z)
            zips = {normalize_postal_code(z) for z in zips}
            emails = {e for e in partners.mapped("email_normalized") if e}
            if not ((zip_code and zip_code in zips) or (email and email in emails)):
                return False
        return True

    @api.model
    def _service_match_to_confirm(self, vals, contract, equipment):
        """Values of an inquiry whose serial number or contract its data do not confirm.

        Nothing is linked (no customer, contract, equipment or SLA tier of the
        contract); the candidates stay on the inquiry for a dispatcher, and
        routing holds it for review.
        """
        result = {
            "match_to_confirm": True,
            "suggested_contract_id": (contract or equipment.contract_id).id or False,
            "suggested_equipment_id": equipment.id or False,
        }
        owners = (contract.partner_id | equipment.partner_id).mapped("display_name")
        if owners:
            owner_names = ", ".join(owners)
            result["review_note"] = self.env._(
                "Serial number or contract of %(owners)s; the postal code and e-mail of the request do not confirm it.",
                owners=owner_names,
            )
        else:
            serial = vals.get("serial_number") or "-"
            ref = vals.get("contract_ref") or "-"
            result["review_note"] = self.env._(
                "No installed equipment or contract is known under serial number %(serial)s / contract %(ref)s.",
                serial=serial,
                ref=ref,
            )
        return result

    def _service_with_installed_base(self):
        """The inquiries of ``self`` whose customer had a contract or installed equipment (of the
        inquiry's company, active) by the inquiry's date: one query."""
        leads = self.filtered("partner_id")
        if not leads:
            return self.browse()
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["service.contract"].flush_model(["partner_id", "company_id", "active", "date_start"])
        self.env["service.equipment"].flush_model(["partner_id", "company_id", "active", "install_date"])
        now = fields.Datetime.now()
        moments = [lead.create_date or now for lead in leads]
        self.env.cr.execute(
            """SELECT i.position FROM unnest(%s::int[], %s::int[], %s::timestamp[], %s::date[])
                                      WITH ORDINALITY AS i(commercial, company, at, day, position)
                WHERE EXISTS (SELECT 1 FROM service_contract c JOIN res_partner p ON p.id = c.partner_id
                               WHERE p.commercial_partner_id = i.commercial AND c.active
                                 AND (i.company IS NULL OR c.company_id = i.company)
                                 AND c.date_start <= i.day)
                   OR EXISTS (SELECT 1 FROM service_equipment e JOIN res_partner p ON p.id = e.partner_id
                               WHERE p.commercial_partner_id = i.commercial AND e.active
                                 AND (i.company IS NULL OR e.company_id = i.company)
                                 AND (e.install_date <= i.day
                                      OR (e.install_date IS NULL AND e.create_date <= i.at)))""",
            [
                [lead.partner_id.commercial_partner_id.id for lead in leads],
                [lead.company_id.id or None for lead in leads],
                moments,
                # a contract's start and an installation are days where the user is
                [fields.Date.context_today(self, at) for at in moments],
            ],
        )
        return leads.browse(leads._ids[position - 1] for (position,) in self.env.cr.fetchall())

    @api.model
    def _service_installed_base_changed(self, partners):
        """The installed base of ``partners`` changed: their customers' inquiries are existing or new
        customers again (computed at the next flush)."""
        commercial = partners.commercial_partner_id
        if not commercial:
            return
        leads = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("partner_id", "child_of", commercial.ids),
                    ("service_occasion", "!=", False),
                    ("contract_id", "=", False),
                    ("equipment_id", "=", False),
                ]
            )
        )
        if leads:
            self.env.add_to_compute(self._fields["customer_kind"], leads)

    @api.model
    def _service_history_text(self, partner, equipment, limit=5, company_id=None, before_id=None):
        """Earlier service inquiries of the equipment or customer (in ``company_id`` when given, made
        before inquiry ``before_id`` when given), newest first."""
        if not partner and not equipment:
            return False
        domain = [("service_occasion", "!=", False)]
        if before_id:
            domain.append(("id", "<", before_id))
        if company_id:
            domain.append(("company_id", "in", [company_id, False]))
        if equipment:
            domain += [("equipment_id", "=", equipment.id)]
        else:
            domain += [("partner_id", "child_of", partner.commercial_partner_id.id)]
        earlier = self.with_context(active_test=False).search(domain, limit=limit, order="create_date desc, id desc")
        occasions = dict(self._fields["service_occasion"]._description_selection(self.env))
        lines = [
            "{}  {}  {}{}".format(
                fields.Date.to_string(lead.create_date.date()),
                occasions.get(lead.service_occasion, ""),
                lead.equipment_id.serial_number or lead.equipment_type_id.name or "",
                f"  ({lead.technician_id.name})" if lead.technician_id else "",
            )
            for lead in earlier
        ]
        return "\n".join(lines) or False
