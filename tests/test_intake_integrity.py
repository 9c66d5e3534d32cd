# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Intake integrity: idempotency keys per company and source, input limits,
batches that keep their good requests, and keys that hold when requests race."""

import datetime
import functools
import logging
import re
import threading
import uuid
from contextlib import contextmanager
from unittest.mock import patch

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.modules.registry import Registry
from odoo.service.model import retrying
from odoo.tests import BaseCase, freeze_time, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from odoo.addons.crm_service_routing.models.crm_lead_intake import (
    INTAKE_BATCH_LIMIT,
    INTAKE_KEYS,
    INTAKE_MAX_LENGTHS,
)

from .common import ServiceRoutingCase, in_days, service_request, thread_env

INTAKE_LOGGER = "odoo.addons.crm_service_routing.models.crm_lead_intake"


def base_request(**values):
    return service_request(**{"name": None, "equipment": None, "phone": "089 7654321", **values})


@tagged("post_install", "-at_install", "crm_service_routing")
class TestIntakeIntegrity(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Lead = cls.env["crm.lead"]
        cls.Key = cls.env["service.intake.key"]

    @contextmanager
    def assertNoNewLead(self):
        counts = self._counts()
        yield
        self.assertEqual(self._counts(), counts, "nothing was saved")

    def _counts(self):
        self.env.flush_all()
        return (
            self.Lead.with_context(active_test=False).search_count([]),
            self.Key.sudo().search_count([]),
        )

    def submit(self, **values):
        return self.Lead.submit_service_request(base_request(**values))

    def key_of(self, lead_id):
        return self.Key.sudo().search([("lead_id", "=", lead_id)])

    # ------------------------------------------------------------
    # input limits
    # ------------------------------------------------------------

    def test_every_key_has_a_limit(self):
        # every text key: notify_customer is a yes/no (see crm_lead_customer_notice.py)
        self.assertEqual(set(INTAKE_MAX_LENGTHS), set(INTAKE_KEYS) - {"notify_customer"})

    def test_too_long_texts_are_refused(self):
        for field, limit in INTAKE_MAX_LENGTHS.items():
            with (
                self.subTest(field=field),
                self.assertNoNewLead(),
                self.assertRaisesMessage(
                    ValidationError, rf"The field {field} is too long: {limit + 1} characters, at most {limit}\."
                ),
            ):
                self.submit(**{field: "x" * (limit + 1)})

    def test_reported_crashes_are_validation_errors(self):
        """Texts beyond a btree index row (~2,700 bytes) crashed the intake."""
        cases = [
            ({"external_ref": "R" * 3000}, "The field external_ref is too long: 3000 characters, at most 100"),
            ({"serial_number": "S" * 3000}, "The field serial_number is too long: 3000 characters, at most 64"),
            ({"email": "eva@" + "d" * 2990 + ".org"}, "The field email is too long: 2998 characters, at most 254"),
            ({"contract": "C" * 3000}, "The field contract is too long"),
            ({"description": "x" * 10001}, "The field description is too long: 10001 characters, at most 10000"),
        ]
        for values, message in cases:
            with (
                self.subTest(field=next(iter(values))),
                self.assertNoNewLead(),
                self.assertRaisesMessage(ValidationError, message),
            ):
                self.submit(**values)

    def test_texts_at_their_limit_are_taken(self):
        ref = "R" * INTAKE_MAX_LENGTHS["external_ref"]
        result = self.submit(
            external_ref=ref,
            source="s" * INTAKE_MAX_LENGTHS["source"],
            serial_number="SN" * 32,
            contract="c" * 64,
            name="n" * 200,
            contact_name="c" * 200,
            street="s" * 200,
            description="d" * 10000,
        )
        lead = self.Lead.browse(result["id"])
        self.assertEqual(result["status"], "created")
        self.assertEqual((lead.service_external_ref, lead.serial_number, lead.name), (ref, "SN" * 32, "n" * 200))
        # trimmed before measuring
        result = self.submit(external_ref=f"  {'Q' * 100}  ", city=" " * 500 + "München")
        self.assertEqual(self.Lead.browse(result["id"]).service_external_ref, "Q" * 100)

    def test_email_parts(self):
        for email in (f"{'l' * 65}@example.org", f"eva@{'d' * 64}.example.org", f"eva@mail.{'d' * 64}"):
            with (
                self.subTest(email=email),
                self.assertNoNewLead(),
                self.assertRaisesMessage(
                    ValidationError,
                    f"{email} is not a valid e-mail address: at most 64 characters before the @ and 63 between",
                ),
            ):
                self.submit(email=email)
        lead = self.Lead.browse(self.submit(email=f"{'l' * 64}@{'d' * 63}.example.org")["id"])
        self.assertEqual(lead.email_from, f"{'l' * 64}@{'d' * 63}.example.org")

    def test_control_characters_are_refused(self):
        for field, value, code in (
            ("name", "Repair\x00", "U+0000"),
            ("city", "Mün\x1bchen", "U+001B"),
            ("contact_name", "Eva\nNeu", "U+000A"),
            ("street", "Leopoldstr.\t12", "U+0009"),
            ("external_ref", "WEB\x7f1", "U+007F"),
            ("source", "web\x85form", "U+0085"),
            ("serial_number", "HP\ud8001", "U+D800"),
            ("description", "bell\x07", "U+0007"),
            ("description", "form\x0cfeed", "U+000C"),
        ):
            with (
                self.subTest(field=field, code=code),
                self.assertNoNewLead(),
                self.assertRaisesMessage(
                    ValidationError, re.escape(f"The field {field} contains the control character {code}")
                ) as catcher,
            ):
                self.submit(**{field: value})
            if field == "description":
                self.assertIn("only line breaks and tabs are allowed", str(catcher.exception))
        # line breaks (also Windows ones) and tabs are text in a description
        lead = self.Lead.browse(self.submit(description="Noise:\r\n\tloud\rsince Monday")["id"])
        self.assertIn("loud", lead.description)
        self.assertNotIn("\r", lead.description)

    def test_blank_key_is_refused(self):
        for values in ({"external_ref": ""}, {"external_ref": "   "}, {"source": " "}, {"source": ""}):
            field = next(iter(values))
            with (
                self.subTest(values=values),
                self.assertNoNewLead(),
                self.assertRaisesMessage(ValidationError, f"The field {field} is blank: send a value"),
            ):
                self.submit(**{"external_ref": "BLANK-1", **values})
        # not sent at all: no key, no deduplication
        self.assertEqual(self.submit(external_ref=None)["status"], "created")

    def test_source_is_a_code(self):
        for source in ("web form", "webform!", "hotline/1", "Webformular-Ö", "a,b"):
            with (
                self.subTest(source=source),
                self.assertNoNewLead(),
                self.assertRaisesMessage(ValidationError, f"The source {source} is not a code"),
            ):
                self.submit(external_ref="SRC-1", source=source)
        for source in ("webform", "HOTLINE", "shop.de:contact-form_2", "user:7"):
            with self.subTest(source=source):
                result = self.submit(external_ref="SRC-1", source=f" {source} ")
                self.assertEqual(result["status"], "created")
                self.assertEqual(self.Lead.browse(result["id"]).service_intake_source, source)

    def test_appointment_range(self):
        cases = [
            ("9999-12-31T23:59:59", "Preferred Appointment 9999-12-31 23:59:59 lies more than 5 years ahead"),
            ("9999-12-31T23:00:00-05:00", "preferred_appointment: 9999-12-31T23:00:00-05:00 is out of range"),
            ("0001-01-01T00:00:00+01:00", "preferred_appointment: 0001-01-01T00:00:00\\+01:00 is out of range"),
            ("0001-01-01T00:00:00", "preferred_appointment: 0001-01-01T00:00:00 is out of range"),
            ("0001-01-01T00:30:00-01:00", "preferred_appointment: 0001-01-01T00:30:00-01:00 is out of range"),
            ("1999-01-01T00:30:00-01:00", "Preferred Appointment .* lies in the past"),
            (in_days(5 * 366).isoformat(), "lies more than 5 years ahead"),
            ("10000-01-01T00:00:00", "is not a date and time"),
        ]
        for text, message in cases:
            with (
                self.subTest(text=text),
                self.assertNoNewLead(),
                self.assertRaisesMessage(ValidationError, message),
            ):
                self.submit(preferred_appointment=text)
        when = in_days(4 * 365)
        lead = self.Lead.browse(self.submit(preferred_appointment=when.isoformat())["id"])
        self.assertEqual(lead.preferred_appointment, when)

    def test_limits_in_a_batch(self):
        results = self.Lead.submit_service_requests(
            [base_request(serial_number="S" * 3000), base_request(preferred_appointment="9999-12-31T23:00:00-05:00")]
        )
        self.assertEqual([r["status"] for r in results], ["error", "error"])
        self.assertIn("serial_number is too long", results[0]["error"])
        self.assertIn("is out of range", results[1]["error"])

    # ------------------------------------------------------------
    # idempotency: company, source, fingerprint
    # ------------------------------------------------------------

    def test_same_request_again_is_a_duplicate(self):
        first = self.submit(external_ref="IDEM-1", description="Loud since Monday", serial_number="HP-77")
        self.assertEqual(first["status"], "created")
        lead = self.Lead.browse(first["id"])
        key = self.key_of(lead.id)
        self.assertRecordValues(
            key,
            [{"company_id": self.company.id, "source": f"user:{self.env.uid}", "key": "IDEM-1", "lead_id": lead.id}],
        )
        self.assertRegex(key.fingerprint, "^[0-9a-f]{64}$")
        self.assertEqual(lead.service_intake_source, f"user:{self.env.uid}")
        # the same values: other order, other blanks, empty values added, CRLF for LF
        again = {
            "serial_number": " HP-77 ",
            "description": "Loud since Monday",
            "partner_name": "",
            "street2": None,
            "external_ref": " IDEM-1",
        }
        again.update({key: value for key, value in reversed(base_request().items())})
        with self.assertNoNewLead():
            result = self.Lead.submit_service_request(again)
        self.assertEqual((result["status"], result["id"]), ("duplicate", lead.id))
        self.assertEqual(result["routing_state"], first["routing_state"])

    def test_the_key_of_a_refused_request_stays_free(self):
        """The key is taken before the request is checked: a refused request gives it back, in a batch too."""
        with self.assertNoNewLead(), self.assertRaisesMessage(ValidationError, "Unknown country XX"):
            self.submit(external_ref="FIX-1", country="XX")
        self.assertFalse(self.env["service.intake.key"].sudo().search([("key", "=", "FIX-1")]))
        results = self.Lead.submit_service_requests(
            [base_request(external_ref="FIX-2", country="XX"), base_request(external_ref="FIX-2")]
        )
        self.assertEqual([r["status"] for r in results], ["error", "created"])
        self.assertEqual(self.submit(external_ref="FIX-1")["status"], "created")
        # the corrected request is the one its key answers a retry with
        self.assertEqual(self.submit(external_ref="FIX-2"), {**results[1], "status": "duplicate"})

    def test_other_request_under_a_used_key_is_refused(self):
        first = self.submit(external_ref="IDEM-2", description="first")
        for values in ({"description": "second"}, {"description": None}, {"zip": "80333"}, {"phone": None}):
            with (
                self.subTest(values=values),
                self.assertNoNewLead(),
                self.assertRaisesMessage(
                    ValidationError,
                    rf"The external reference IDEM-2 of source user:{self.env.uid} was already used for another "
                    rf"request \(inquiry {first['id']}\); send a new external reference",
                ),
            ):
                self.submit(external_ref="IDEM-2", **{"description": "first", **values})
        # the explicit source is named as sent
        self.submit(external_ref="IDEM-2", source="webform", description="first")
        with self.assertRaisesMessage(ValidationError, "IDEM-2 of source webform was already used"):
            self.submit(external_ref="IDEM-2", source="webform", description="other")

    def test_same_key_other_source(self):
        """A web form and a hotline that both number from 000123 get two inquiries."""
        webform = self.submit(external_ref="000123", source="webform")
        hotline = self.submit(external_ref="000123", source="hotline", description="Called in")
        default = self.submit(external_ref="000123")
        ids = {webform["id"], hotline["id"], default["id"]}
        self.assertEqual(len(ids), 3)
        self.assertEqual(
            self.Lead.browse(sorted(ids)).mapped("service_intake_source"),
            ["webform", "hotline", f"user:{self.env.uid}"],
        )
        # each source's retry finds its own
        self.assertEqual(self.submit(external_ref="000123", source="webform")["id"], webform["id"])
        self.assertEqual(
            self.submit(external_ref="000123", source="hotline", description="Called in")["id"], hotline["id"]
        )
        self.assertEqual(self.submit(external_ref="000123")["id"], default["id"])
        # another integration user is another source by default
        salesman = self.Lead.with_user(self.user_salesman).submit_service_request(base_request(external_ref="000123"))
        self.assertEqual(salesman["status"], "created")
        self.assertEqual(self.Lead.browse(salesman["id"]).service_intake_source, f"user:{self.user_salesman.id}")
        self.assertEqual(self.Lead.search_count([("service_external_ref", "=", "000123")]), 4)

    def test_same_key_other_company(self):
        first = self.submit(external_ref="CO-1", source="webform")
        other_company = self.env["res.company"].create({"name": "Other GmbH", "country_id": self.de.id})
        self.env.user.company_ids |= other_company
        Lead = self.Lead.with_company(other_company)
        elsewhere = Lead.submit_service_request(base_request(external_ref="CO-1", source="webform"))
        self.assertEqual(elsewhere["status"], "created")
        self.assertNotEqual(elsewhere["id"], first["id"])
        self.assertEqual(self.key_of(elsewhere["id"]).company_id, other_company)
        self.assertEqual(
            Lead.submit_service_request(base_request(external_ref="CO-1", source="webform"))["id"], elsewhere["id"]
        )

    def test_retry_answers_whatever_changed_since(self):
        """A retry is answered with the first inquiry even when its request would no longer pass."""
        appointment = in_days(1).isoformat()
        first = self.submit(external_ref="LATE-1", preferred_appointment=appointment)
        self.Lead.browse(first["id"]).action_archive()
        with freeze_time(fields.Datetime.now() + datetime.timedelta(days=3)), self.assertNoNewLead():
            with self.assertRaisesMessage(ValidationError, "lies in the past"):
                self.submit(external_ref="LATE-2", preferred_appointment=appointment)
            again = self.submit(external_ref="LATE-1", preferred_appointment=appointment)
        self.assertEqual((again["status"], again["id"]), ("duplicate", first["id"]))

    def test_key_is_scoped_in_the_database(self):
        """A plain create's reference is a key too: per company and source, no source being one of its own."""
        first = self._create_inquiry(service_external_ref="DB-7")
        with self.assertRaisesRegex(ValidationError, "used once per company and source"):
            self._create_inquiry(service_external_ref="DB-7")
        other = self._create_inquiry(service_external_ref="DB-7", service_intake_source="webform")
        self.assertNotEqual(first, other)
        with self.assertRaisesRegex(ValidationError, "used once per company and source"):
            self._create_inquiry(service_external_ref="DB-7", service_intake_source="webform")
        self.assertEqual(
            self.Key.sudo().search([("key", "=", "DB-7")]).mapped(lambda key: (key.source or "", key.lead_id)),
            [("webform", other), ("", first)],
        )
        self.assertFalse(self.key_of(first.id).fingerprint, "no request of the intake matches it")
        self.assertEqual(self.Lead.search([("service_external_ref", "=", "DB-7")]), first | other)
        # the reference is the key's: it is not changed on the inquiry
        with self.assertRaisesRegex(UserError, "cannot be changed"):
            first.service_external_ref = "DB-8"
        # many inquiries without reference
        self._create_inquiry()
        self._create_inquiry()

    def test_upgrade_takes_over_the_references_of_the_inquiries(self):
        """On a database where the inquiries kept the references (column and unique index), the
        update drops the index and turns the references into keys, once."""
        kept, plain = self._create_inquiry(), self._create_inquiry()
        submitted = self.Lead.browse(self.submit(external_ref="UP-2", source="webform")["id"])
        cr = self.env.cr
        cr.execute("ALTER TABLE crm_lead ADD COLUMN IF NOT EXISTS service_external_ref varchar")
        cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS crm_lead_service_external_ref_uniq
                   ON crm_lead (company_id, COALESCE(service_intake_source, ''), service_external_ref)
                WHERE service_external_ref IS NOT NULL"""
        )
        cr.execute("UPDATE crm_lead SET service_external_ref = 'UP-1' WHERE id = %s", [kept.id])
        cr.execute("UPDATE crm_lead SET service_external_ref = 'UP-2' WHERE id = %s", [submitted.id])
        for _update in range(2):
            self.Lead.init()
            self.Key.init()
        cr.execute("SELECT to_regclass('crm_lead_service_external_ref_uniq')")
        self.assertIsNone(cr.fetchone()[0])
        self.env.invalidate_all()
        self.assertEqual((kept.service_external_ref, plain.service_external_ref), ("UP-1", False))
        self.assertEqual(self.key_of(kept.id).mapped("source"), [""])
        self.assertEqual(self.key_of(submitted.id).mapped("key"), ["UP-2"], "a key of the intake stays alone")
        self.assertTrue(self.key_of(submitted.id).fingerprint)
        with self.assertRaisesRegex(ValidationError, "used once per company and source"):
            self._create_inquiry(service_external_ref="UP-1")

    def test_keys_are_read_only(self):
        self.submit(external_ref="ACL-1")
        self.assertEqual(self.Key.with_user(self.user_dispatcher).search([("key", "=", "ACL-1")]).key, "ACL-1")
        self.assertEqual(self.Key.with_user(self.user_manager).search_count([("key", "=", "ACL-1")]), 1)
        with self.assertRaises(AccessError):
            self.Key.with_user(self.user_salesman).search([])
        key = self.Key.with_user(self.user_manager).search([("key", "=", "ACL-1")])
        with self.assertRaises(AccessError):
            key.write({"fingerprint": "0" * 64})
        with self.assertRaises(AccessError):
            key.unlink()
        with self.assertRaises(AccessError):
            self.Key.with_user(self.user_manager).create(
                {"company_id": self.company.id, "source": "x", "key": "y", "fingerprint": "z"}
            )

    # ------------------------------------------------------------
    # batch
    # ------------------------------------------------------------

    def test_batch_keeps_the_good_requests(self):
        Lead = type(self.Lead)
        default_name = Lead._service_default_name

        def crashing_default_name(lead, vals, country):
            if vals.get("city") == "Divide":
                lead.env.cr.execute("SELECT 1 / 0")  # a database error: the transaction is aborted
            if vals.get("city") == "Raise":
                raise ValueError("no name for Raise")
            return default_name(lead, vals, country)

        # an inquiry whose plain create took a key of the intake's source
        in_the_way = self._create_inquiry(service_external_ref="BATCH-5", service_intake_source=f"user:{self.env.uid}")
        before = self.Lead.search_count([])
        requests = [
            base_request(external_ref="BATCH-1"),
            base_request(external_ref="BATCH-2", city="Divide"),
            base_request(external_ref="BATCH-3", zip="1"),
            base_request(external_ref="BATCH-1"),
            base_request(external_ref="BATCH-4", city="Raise"),
            base_request(external_ref="BATCH-1", description="changed"),
            base_request(external_ref="BATCH-5"),
            base_request(external_ref="BATCH-6", serial_number="S" * 3000),
            base_request(external_ref="BATCH-7"),
        ]
        with (
            patch.object(Lead, "_service_default_name", crashing_default_name),
            mute_logger("odoo.sql_db"),
            self.assertLogs(INTAKE_LOGGER, "ERROR") as logs,
        ):
            results = self.Lead.submit_service_requests(requests)
        self.assertEqual(
            [r["status"] for r in results],
            ["created", "error", "error", "duplicate", "error", "error", "error", "error", "created"],
        )
        errors = {r["index"]: r["error"] for r in results if r["status"] == "error"}
        self.assertEqual(set(errors), {1, 2, 4, 5, 6, 7})
        self.assertRegex(errors[1], r"^The request could not be saved because of an unexpected error \(DivisionByZero")
        self.assertIn("division by zero", errors[1])
        self.assertIn("1 is not a valid postal code", errors[2])
        self.assertIn("unexpected error (ValueError: no name for Raise)", errors[4])
        self.assertIn("BATCH-1 of source", errors[5])
        self.assertIn("BATCH-5 of source", errors[6])
        self.assertIn("serial_number is too long", errors[7])
        self.assertEqual(results[3]["id"], results[0]["id"])
        self.assertEqual(len(logs.records), 2, "unexpected errors are logged with their traceback")
        self.assertTrue(all(record.exc_info for record in logs.records))
        self.assertEqual(self.Lead.search_count([]), before + 2)
        keys = self.Key.sudo().search([("key", "like", "BATCH-")])
        self.assertEqual(keys.mapped("key"), ["BATCH-7", "BATCH-1", "BATCH-5"], "no stray key")
        self.assertEqual(keys[-1].lead_id, in_the_way, "the key in the way stays the plain create's")

    def test_batch_retries_concurrency_errors_as_a_whole(self):
        Lead = type(self.Lead)
        intake_vals = Lead._service_intake_vals
        for error_class in (pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.LockNotAvailable):

            def concurrent(lead, values, error_class=error_class):
                if values.get("city") == "Race":
                    raise error_class("concurrent update")
                return intake_vals(lead, values)

            with (
                self.subTest(error=error_class.__name__),
                patch.object(Lead, "_service_intake_vals", concurrent),
                self.assertNoNewLead(),
                self.assertRaises(error_class),
            ):
                self.Lead.submit_service_requests(
                    [base_request(external_ref="CONC-1"), base_request(external_ref="CONC-2", city="Race")]
                )

    def test_batch_size_limit(self):
        self.assertEqual(INTAKE_BATCH_LIMIT, 200)
        with (
            self.assertNoNewLead(),
            self.assertRaisesMessage(ValidationError, "A batch takes at most 200 service requests, this one has 201"),
        ):
            self.Lead.submit_service_requests([base_request()] * 201)


@tagged("post_install", "-at_install", "crm_service_routing")
class TestIntakeConcurrency(BaseCase):
    """Requests that race, each in its own cursor and thread, as Odoo's
    request layer runs them (``retrying``). What they create is committed, so
    each test deletes it again."""

    # tables the routing of a new inquiry may add rows to besides the inquiry's own
    SIDE_TABLES = ("service_postal_country", "ir_cron_trigger", "mail_mail", "bus_bus")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        with cls.registry.cursor() as cr:
            env = thread_env(cls.registry, cr, SUPERUSER_ID, {})
            cls.user_id = env.ref("base.user_admin").id

    def setUp(self):
        super().setUp()
        self.prefix = f"RACE-{uuid.uuid4().hex[:8]}-"
        with self.registry.cursor() as cr:
            self.side_rows = {}
            for table in self.SIDE_TABLES:
                cr.execute("SELECT to_regclass(%s)", [table])
                if cr.fetchone()[0]:
                    cr.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
                    self.side_rows[table] = cr.fetchone()[0]
        self.addCleanup(self._delete_created)

    def _delete_created(self):
        with self.registry.cursor() as cr:
            # the requests of these tests are named after their external reference
            cr.execute("SELECT id FROM crm_lead WHERE name LIKE %s", [self.prefix + "%"])
            ids = [row[0] for row in cr.fetchall()]
            cr.execute("DELETE FROM service_offer WHERE lead_id = ANY(%s)", [ids])
            cr.execute("DELETE FROM service_routing_log WHERE lead_id = ANY(%s)", [ids])
            cr.execute("DELETE FROM mail_message WHERE model = 'crm.lead' AND res_id = ANY(%s)", [ids])
            cr.execute("DELETE FROM mail_followers WHERE res_model = 'crm.lead' AND res_id = ANY(%s)", [ids])
            cr.execute("DELETE FROM mail_activity WHERE res_model = 'crm.lead' AND res_id = ANY(%s)", [ids])
            cr.execute("DELETE FROM service_intake_key WHERE key LIKE %s", [self.prefix + "%"])
            cr.execute("DELETE FROM crm_lead WHERE id = ANY(%s)", [ids])
            for table, last_id in self.side_rows.items():
                cr.execute(f"DELETE FROM {table} WHERE id > %s", [last_id])

    def _race(self, method, payloads):
        """Call ``crm.lead.<method>(payload)`` for each payload at once; the results (or errors) in order."""
        barrier = threading.Barrier(len(payloads))
        results = [None] * len(payloads)

        def run(index, payload):
            # like the test's own thread: nothing is sent out (e-mail)
            threading.current_thread().testing = True
            try:
                with self.registry.cursor() as cr:
                    env = thread_env(self.registry, cr, self.user_id)
                    barrier.wait(timeout=30)
                    results[index] = retrying(functools.partial(getattr(env["crm.lead"], method), payload), env)
            except Exception as error:  # noqa: BLE001 - reported below
                results[index] = error

        threads = [threading.Thread(target=run, args=(index, payload)) for index, payload in enumerate(payloads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
            self.assertFalse(thread.is_alive(), "a request hangs")
        errors = [result for result in results if isinstance(result, Exception)]
        self.assertFalse(errors, "no request fails")
        return results

    @contextmanager
    def _retries(self):
        """The messages of the request layer's retries (``retrying`` logs them at INFO)."""
        messages = []
        handler = logging.Handler(logging.INFO)
        handler.emit = lambda record: messages.append(record.getMessage())
        logger = logging.getLogger("odoo.service.model")
        level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        try:
            yield messages
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)

    def _stored(self):
        """{external reference: [inquiry ids]} and {key: lead id} of this test, as committed."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT name, array_agg(id) FROM crm_lead WHERE name LIKE %s GROUP BY name",
                [self.prefix + "%"],
            )
            leads = dict(cr.fetchall())
            cr.execute("SELECT key, lead_id FROM service_intake_key WHERE key LIKE %s", [self.prefix + "%"])
            keys = dict(cr.fetchall())
        return leads, keys

    def test_same_key_from_eight_threads(self):
        ref = self.prefix + "1"
        results = self._race("submit_service_request", [base_request(external_ref=ref, name=ref) for _ in range(8)])
        self.assertEqual(len({result["id"] for result in results}), 1, "one inquiry for all")
        statuses = sorted(result["status"] for result in results)
        self.assertEqual(statuses, ["created"] + ["duplicate"] * 7)
        leads, keys = self._stored()
        self.assertEqual(leads, {ref: [results[0]["id"]]})
        self.assertEqual(keys, {ref: results[0]["id"]})

    def test_batches_with_overlapping_keys(self):
        shared = [self.prefix + f"S{n}" for n in range(3)]

        def batch(number):
            own = [self.prefix + f"B{number}-{n}" for n in range(2)]
            # the shared keys in another order in each batch: they also deadlock
            refs = shared[number % 3 :] + shared[: number % 3]
            refs = (refs if number % 2 else refs[::-1]) + own
            return [base_request(external_ref=ref, name=ref, description=f"Request {ref}") for ref in refs]

        with self._retries() as retries:
            results = self._race("submit_service_requests", [batch(number) for number in range(4)])
        self.assertFalse(
            [message for message in retries if "DEADLOCK" in message], "batches sharing keys wait, not deadlock"
        )
        by_ref = {}
        for batch_results in results:
            self.assertEqual(len(batch_results), 5)
            for result in batch_results:
                self.assertIn(result["status"], ("created", "duplicate"), result)
                by_ref.setdefault(result["external_ref"], []).append(result)
        self.assertEqual(len(by_ref), 3 + 4 * 2)
        for ref, answers in by_ref.items():
            with self.subTest(ref=ref):
                self.assertEqual(len({answer["id"] for answer in answers}), 1, "one inquiry per key")
                self.assertEqual([answer["status"] for answer in answers].count("created"), 1)
        leads, keys = self._stored()
        self.assertEqual(leads, {ref: [answers[0]["id"]] for ref, answers in by_ref.items()})
        self.assertEqual(keys, {ref: answers[0]["id"] for ref, answers in by_ref.items()})
