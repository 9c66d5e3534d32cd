# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import functools
import os
import threading
from contextlib import contextmanager
from unittest.mock import patch

import odoo.http
from odoo import SUPERUSER_ID, api, fields
from odoo.modules.module import get_module_path
from odoo.modules.registry import Registry
from odoo.service.model import retrying
from odoo.sql_db import Cursor
from odoo.tests import BaseCase, TransactionCase, get_db_name, new_test_user
from odoo.tools import SQL, lazy_property

from odoo.addons.mail.tests.common import mail_new_test_user

from ..models.service_offer import ROUTING_WRITE


def in_days(days, hour=9, minute=30):
    """A naive datetime ``days`` from now at a whole minute."""
    when = fields.Datetime.now() + datetime.timedelta(days=days)
    return when.replace(hour=hour, minute=minute, second=0, microsecond=0)


def service_request(**values):
    """A service request as an integration sends it (``submit_service_request``), for the inquiry of
    ``ServiceRoutingCase._inquiry_vals``; a value None leaves its key out."""
    request = {
        "name": "Heat pump makes noise",
        "service_occasion": "repair",
        "contact_name": "Eva Neu",
        "email": "eva.neu@example.org",
        "zip": "80331",
        "city": "München",
        "country": "DE",
        "equipment": "HP-AW",
        **values,
    }
    return {key: value for key, value in request.items() if value is not None}


class _ThreadTransaction(api.Transaction):
    """A transaction that keeps its registry when reset (after a serialization failure)."""

    def reset(self):
        for env in self.envs:
            env.registry = self.registry
            lazy_property.reset_all(env)
            env._cache_key.clear()
        self.clear()


def thread_env(registry, cr, uid, context=None):
    """An environment for ``cr`` in a thread of its own, bound to ``registry`` directly.

    ``api.Environment`` and Odoo's retry (which resets the transaction) look
    the registry up by name, under a lock that Odoo's own test runner holds
    while it runs post-install tests: a thread that did so would wait for the
    test that waits for it. The registry of a test run is never reloaded.
    """
    if cr.transaction is None:
        cr.transaction = _ThreadTransaction(registry)
    return api.Environment(cr, uid, context or {})


def geonames_dir():
    """The GeoNames sample shipped with the addon (data/geonames): the tests run from the repository alone."""
    return os.path.join(get_module_path("crm_service_routing"), "data", "geonames")


class ServiceRoutingCase(TransactionCase):
    """Own fixtures: a company in Germany, equipment types, SLA tiers,
    technicians with overlapping areas, a customer with a contract and
    installed equipment. Nothing here relies on demo data."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The first HTTP requests of a browser test read every module's manifest
        # (ast.literal_eval) from several server threads at once; CPython 3.11
        # builds without the fix of gh-106905 share the AST constructor's depth
        # counter between threads and fail one of them with "SystemError: AST
        # constructor recursion depth mismatch". Read here, in one thread, they
        # are cached for the rest of the run.
        odoo.http.root.statics  # noqa: B018
        cls.env = cls.env(
            context=dict(cls.env.context, tracking_disable=True, mail_notrack=True, mail_create_nolog=True)
        )
        cls.env["ir.config_parameter"].sudo().set_param("crm_service_routing.geonames_dir", geonames_dir())
        # on a database with demo data, its technicians and installed base stay out of the way
        cls.env["service.area"].search([]).write({"active": False})
        cls.env["res.partner"].search([("is_technician", "=", True)]).write({"is_technician": False})
        # and its service inquiries, offers and maintenance plans (rolled back with the test class)
        cls.env.flush_all()
        cls.env.cr.execute(
            """DELETE FROM service_visit;
               DELETE FROM service_offer;
               DELETE FROM service_routing_log;
               DELETE FROM service_maintenance_plan;
               DELETE FROM crm_lead WHERE service_occasion IS NOT NULL"""
        )
        cls.env.invalidate_all()
        for record in cls.env["service.equipment.type"].with_context(active_test=False).search([]):
            record.code = f"DEMO-{record.id}"
        cls.de = cls.env.ref("base.de")
        cls.at = cls.env.ref("base.at")
        cls.company = cls.env.company
        cls.company.write({"country_id": cls.de.id, "service_routing_strategy": "rotation"})
        cls.env["service.postal.code"]._load_countries(["DE"])

        # users
        cls.user_salesman = mail_new_test_user(
            cls.env, login="svc_salesman", groups="sales_team.group_sale_salesman", name="Sam Salesman"
        )
        cls.user_dispatcher = mail_new_test_user(
            cls.env,
            login="svc_dispatcher",
            groups="sales_team.group_sale_salesman,crm_service_routing.group_service_dispatcher",
            name="Dana Dispatcher",
        )
        cls.user_manager = mail_new_test_user(
            cls.env,
            login="svc_manager",
            groups="sales_team.group_sale_salesman,crm_service_routing.group_service_manager",
            name="Mia Manager",
        )
        cls.user_internal = new_test_user(cls.env, login="svc_internal", groups="base.group_user", name="Ivo Internal")

        # equipment types: a heat-pump line with two models, PV, and a safety-critical gas boiler
        Type = cls.env["service.equipment.type"]
        cls.type_heatpump = Type.create({"name": "Heat Pump", "code": "HP"})
        cls.type_hp_air = Type.create(
            {"name": "Air/Water Heat Pump", "code": "HP-AW", "parent_id": cls.type_heatpump.id}
        )
        cls.type_pv = Type.create({"name": "PV System", "code": "PV"})
        cls.type_gas = Type.create({"name": "Gas Boiler", "code": "GAS", "safety_critical": True})

        # SLA tiers (the module's data also has STANDARD / PREMIUM)
        Level = cls.env["service.level"]
        cls.level_standard = Level.create({"name": "Basic", "code": "T-BASIC", "response_hours": 24})
        cls.level_premium = Level.create(
            {"name": "Gold", "code": "T-GOLD", "response_hours": 4, "certification_required": True}
        )
        cls.company.service_level_id = cls.level_standard

        # technicians in Munich (80xxx/81xxx) with overlapping areas
        cls.tech_anna = cls._make_technician(
            "Anna Technik", "80331", [("range", "80000", "81999")], [cls.type_heatpump], [cls.level_premium]
        )
        cls.tech_bernd = cls._make_technician(
            "Bernd Service GmbH", "81671", [("range", "81000", "81999")], [cls.type_heatpump, cls.type_pv], []
        )
        cls.tech_carla = cls._make_technician(
            "Carla Solar", "85354", [("radius", "85354", 40)], [cls.type_pv, cls.type_heatpump], []
        )

        # a customer with a contract (contract technician: Bernd) and a heat pump
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Familie Huber",
                "email": "huber@example.com",
                "phone": "+49 89 1234567",
                "zip": "81675",
                "city": "München",
                "country_id": cls.de.id,
            }
        )
        cls.contract = cls.env["service.contract"].create(
            {
                "name": "SC-1001",
                "partner_id": cls.customer.id,
                "service_level_id": cls.level_standard.id,
                "technician_id": cls.tech_bernd.id,
                "date_start": "2024-01-01",
            }
        )
        cls.equipment = cls.env["service.equipment"].create(
            {
                "serial_number": "HP-0001",
                "equipment_type_id": cls.type_hp_air.id,
                "partner_id": cls.customer.id,
                "contract_id": cls.contract.id,
                "zip": "81675",
                "city": "München",
                "country_id": cls.de.id,
            }
        )

    @contextmanager
    def capture_queries(self, marker):
        """The queries (``SQL``, with their parameters) the ORM sends in the block whose text holds
        ``marker``, in order; the cache is emptied first, so that reads go to the database."""
        queries = []
        execute = Cursor.execute

        def capture(cr, query, params=None, log_exceptions=True):
            if isinstance(query, SQL) and marker in query.code:
                queries.append(query)
            return execute(cr, query, params, log_exceptions)

        self.env.invalidate_all()
        with patch.object(Cursor, "execute", capture):
            yield queries

    def query_plan(self, query):
        """EXPLAIN of a captured query, as text."""
        self.env.cr.execute(SQL("EXPLAIN %s", query))
        return "\n".join(row[0] for row in self.env.cr.fetchall())

    @contextmanager
    def assertRaisesMessage(self, exception, pattern):
        """Odoo's assertRaises (rolled back to a savepoint) on an error whose message matches ``pattern``."""
        with self.assertRaises(exception) as catcher:
            yield catcher
        self.assertRegex(str(catcher.exception), pattern)

    @classmethod
    def _make_technician(cls, name, zip_code, areas, types, levels, **values):
        area_vals = []
        for area in areas:
            if area[0] == "range":
                area_vals.append({"kind": "range", "country_id": cls.de.id, "zip_from": area[1], "zip_to": area[2]})
            else:
                area_vals.append({"kind": "radius", "country_id": cls.de.id, "base_zip": area[1], "radius_km": area[2]})
        return cls.env["res.partner"].create(
            {
                "name": name,
                "is_technician": True,
                "zip": zip_code,
                "country_id": cls.de.id,
                "email": f"{name.split()[0].lower()}@tech.example.com",
                "service_capacity": values.pop("service_capacity", 5),
                "service_equipment_type_ids": [(6, 0, [t.id for t in types])],
                "service_level_ids": [(6, 0, [lv.id for lv in levels])],
                "service_area_ids": [(0, 0, vals) for vals in area_vals],
                **values,
            }
        )

    def _inquiry_vals(self, **values):
        vals = {
            "name": "Heat pump makes noise",
            "service_occasion": "repair",
            "contact_name": "Eva Neu",
            "email_from": "eva.neu@example.org",
            "zip": "80331",
            "city": "München",
            "country_id": self.de.id,
            "equipment_type_id": self.type_hp_air.id,
        }
        vals.update(values)
        return vals

    def _create_inquiry(self, **values):
        return self.env["crm.lead"].create(self._inquiry_vals(**values))


class ConcurrentCase(BaseCase):
    """Requests at the same moment: each thread works as an RPC request does,
    with its own cursor, Odoo's retry on serialization failures
    (``odoo.service.model.retrying``) and a commit at the end. Threads see
    only committed data: a subclass commits its fixtures and removes them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())

    @classmethod
    def _commit_offers(cls, technician_name, lead_vals_list, offered_at, **extra_cleanup):
        """Committed fixtures: a technician and an open offer to it of each inquiry (created unrouted).

        Sets ``technician_id``, ``lead_ids`` and ``offer_ids``; a class cleanup
        removes them and what the tests made of them (messages, followers,
        activities, decisions), and then the records named in ``extra_cleanup``
        (``{table: ids}``, removed in the order given).
        """
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nolog": True})
            email = "".join(word[0] for word in technician_name.split()).lower() + "@example.com"
            cls.technician_id = (
                env["res.partner"].create({"name": technician_name, "is_technician": True, "email": email}).id
            )
            leads = env["crm.lead"].with_context(service_no_routing=True).create(lead_vals_list)
            cls.lead_ids = leads.ids
            offers = (
                env["service.offer"]
                .sudo()
                .with_context(service_routing_write=ROUTING_WRITE)
                .create(
                    [
                        {
                            "lead_id": lead.id,
                            "company_id": lead.company_id.id,
                            "technician_id": cls.technician_id,
                            "offered_at": offered_at,
                        }
                        for lead in leads
                    ]
                )
            )
            cls.offer_ids = offers.ids
        cls.addClassCleanup(cls._remove_offers, extra_cleanup)

    @classmethod
    def _remove_offers(cls, extra_cleanup):
        params = {"offers": cls.offer_ids, "leads": cls.lead_ids, "tech": cls.technician_id}
        with cls.registry.cursor() as cr:
            for query in (
                "DELETE FROM mail_message WHERE model = 'service.offer' AND res_id = ANY(%(offers)s)",
                "DELETE FROM mail_message WHERE model = 'crm.lead' AND res_id = ANY(%(leads)s)",
                "DELETE FROM mail_followers WHERE res_model = 'crm.lead' AND res_id = ANY(%(leads)s)",
                "DELETE FROM mail_activity WHERE res_model = 'crm.lead' AND res_id = ANY(%(leads)s)",
                "DELETE FROM service_offer WHERE id = ANY(%(offers)s)",
                "DELETE FROM service_routing_log WHERE lead_id = ANY(%(leads)s)",
                "DELETE FROM crm_lead WHERE id = ANY(%(leads)s)",
                "DELETE FROM res_partner WHERE id = %(tech)s",
            ):
                cr.execute(query, params)
            for table, ids in extra_cleanup.items():
                cr.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", (list(ids),))

    def offer_mail_counts(self, subject_prefix):
        """{offer id: mails queued for it} of the fixtures' offers, whose subject starts so."""
        with self.registry.cursor() as cr:
            cr.execute(
                """SELECT m.res_id, count(*) FROM mail_mail mm JOIN mail_message m ON m.id = mm.mail_message_id
                    WHERE m.model = 'service.offer' AND m.res_id = ANY(%s) AND m.subject LIKE %s
                    GROUP BY m.res_id""",
                (self.offer_ids, subject_prefix.replace("%", r"\%") + "%"),
            )
            return dict(cr.fetchall())

    def in_request(self, func, uid=SUPERUSER_ID):
        """Run ``func(env)`` as an RPC request would: own cursor, retried on serialization failures."""
        with self.registry.cursor() as cr:
            env = thread_env(self.registry, cr, uid)
            return retrying(functools.partial(func, env), env)

    def run_threads(self, functions):
        """Run the functions at the same moment, each in its own thread; [(result, exception)]."""
        barrier = threading.Barrier(len(functions))
        results = [None] * len(functions)

        def run(index, func):
            try:
                barrier.wait(timeout=30)
                results[index] = (self.in_request(func), None)
            except Exception as error:  # noqa: BLE001 - reported to the test
                results[index] = (None, error)

        threads = [threading.Thread(target=run, args=(index, func)) for index, func in enumerate(functions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertFalse(any(thread.is_alive() for thread in threads), "a thread hangs")
        return results
