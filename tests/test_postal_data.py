# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Postal data per country: queued by lookups, loaded by the loader cron or a
manager, never inside a request; the sample shipped with the addon."""

import datetime
import os
from unittest.mock import patch

from odoo import fields, tools
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.crm_service_routing.models.service_postal_code import shipped_geonames_dir
from odoo.addons.crm_service_routing.models.service_postal_country import RETRY_MINUTES

from .common import ServiceRoutingCase


@tagged("post_install", "-at_install", "crm_service_routing")
class TestPostalData(ServiceRoutingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ch = cls.env.ref("base.ch")
        cls.fr = cls.env.ref("base.fr")
        cls.Postal = cls.env["service.postal.code"]
        cls.Status = cls.env["service.postal.country"]
        cls.cron = cls.env.ref("crm_service_routing.ir_cron_load_postal_data")

    def status(self, country):
        # stored computes (technicians' and areas' locations) queue countries when they run
        self.env.flush_all()
        return self.Status.search([("country_id", "=", country.id)])

    def code_count(self, country):
        return self.Postal.search_count([("country_id", "=", country.id)])

    def triggers(self):
        return self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)])

    # ------------------------------------------------------------
    # lookups queue, never load
    # ------------------------------------------------------------

    def test_lookup_of_an_unloaded_country_queues_it(self):
        self.assertFalse(self.status(self.ch))
        triggers = self.triggers()
        with patch.object(type(self.Postal), "_read_geonames", side_effect=AssertionError("loaded in a lookup")):
            self.assertIsNone(self.Postal._locate(self.ch, "8001"))
            self.assertIsNone(self.Postal._locate(self.ch, "8002"))
        self.assertRecordValues(self.status(self.ch), [{"state": "pending", "record_count": 0, "attempts": 0}])
        self.assertEqual(self.code_count(self.ch), 0, "nothing loaded")
        self.assertFalse(self.Postal._is_loaded(self.ch))
        self.assertEqual(self.triggers(), triggers + 1, "the loader is woken once")

    def test_request_is_idempotent(self):
        created = self.Status._request(self.ch | self.fr)
        self.assertEqual(created.country_id, self.ch | self.fr)
        self.assertFalse(self.Status._request(self.ch | self.fr | self.de), "nothing new to queue")
        self.assertEqual(self.Status.search_count([("country_id", "in", (self.ch | self.fr).ids)]), 2)
        self.assertEqual(self.status(self.de).state, "loaded", "a loaded country stays loaded")
        self.assertFalse(self.Status._request(self.env["res.country"]))

    def test_references_queue_their_country(self):
        # a technician, a service area and a company refer to countries without data
        technician = self.env["res.partner"].create(
            {"name": "Wiener Technik", "is_technician": True, "zip": "1010", "country_id": self.at.id}
        )
        self.assertEqual(self.status(self.at).state, "pending")
        self.assertEqual((technician.service_latitude, technician.service_longitude), (0.0, 0.0))
        self.env["service.area"].create(
            {"technician_id": technician.id, "country_id": self.ch.id, "kind": "range", "zip_from": "80"}
        )
        self.assertEqual(self.status(self.ch).state, "pending")
        self.env["res.company"].create({"name": "Service France SAS", "country_id": self.fr.id})
        self.assertEqual(self.status(self.fr).state, "pending")
        # a customer does not
        self.env["res.partner"].create({"name": "Client", "zip": "1000", "country_id": self.env.ref("base.be").id})
        self.assertFalse(self.status(self.env.ref("base.be")))

    # ------------------------------------------------------------
    # the loader
    # ------------------------------------------------------------

    def test_cron_loads_pending_countries(self):
        self.Status._request(self.ch | self.at)
        self.Status._cron_load_postal_data()
        for country in (self.ch, self.at):
            status = self.status(country)
            self.assertEqual(status.state, "loaded")
            self.assertEqual(status.record_count, self.code_count(country))
            self.assertGreater(status.record_count, 10)
            self.assertTrue(status.loaded_at)
            self.assertEqual(status.source_dir, shipped_geonames_dir())
        lat, lon = self.Postal._locate(self.ch, "8001")
        self.assertAlmostEqual(lat, 47.37, delta=0.05)
        self.assertAlmostEqual(lon, 8.54, delta=0.05)

    def test_load_relocates_what_refers_to_the_country(self):
        technician = self.env["res.partner"].create(
            {
                "name": "Wiener Technik",
                "is_technician": True,
                "zip": "1010",
                "country_id": self.at.id,
                "service_area_ids": [
                    (0, 0, {"country_id": self.at.id, "kind": "radius", "base_zip": "1010", "radius_km": 20})
                ],
            }
        )
        area = technician.service_area_ids
        self.assertEqual((area.base_latitude, area.bbox_north), (0.0, 0.0), "waits for its country's data")
        with patch.object(type(self.env["crm.lead"]), "_service_on_postal_data_loaded", create=True) as hook:
            self.Status._cron_load_postal_data()
        hook.assert_called_once_with([self.at.id])
        self.assertAlmostEqual(technician.service_latitude, 48.21, delta=0.01)
        self.assertAlmostEqual(technician.service_longitude, 16.37, delta=0.01)
        self.assertAlmostEqual(area.base_latitude, 48.21, delta=0.01)
        self.assertGreater(area.bbox_north, area.base_latitude)
        self.env.flush_all()
        self.assertIn(technician.id, {row[0] for row in area._hits(self.at.id, "1010", 48.2, 16.37)})

    def test_failed_country_is_retried_with_backoff(self):
        self.Status._request(self.fr)
        before = fields.Datetime.now()
        self.Status._cron_load_postal_data()
        status = self.status(self.fr)
        self.assertEqual((status.state, status.attempts, status.record_count), ("failed", 1, 0))
        self.assertIn(f"No GeoNames file for FR in {shipped_geonames_dir()}", status.last_error)
        self.assertIn("https://download.geonames.org/export/zip/", status.last_error, "says what to do")
        self.assertGreaterEqual(status.next_attempt, before + datetime.timedelta(minutes=RETRY_MINUTES[0]))
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id), ("call_at", "=", status.next_attempt)]),
            "the loader is woken for the next attempt",
        )
        self.assertFalse(self.Postal._is_loaded(self.fr))
        self.assertIsNone(self.Postal._locate(self.fr, "75001"))

        # not retried before its time, by the cron or by a lookup
        with patch.object(type(self.Postal), "_read_geonames", side_effect=AssertionError("retried too early")):
            self.Status._cron_load_postal_data()
            self.Postal._locate(self.fr, "75001")
        self.assertEqual((status.state, status.attempts), ("failed", 1))

        # retried when due, then later still
        status.next_attempt = fields.Datetime.now() - datetime.timedelta(minutes=1)
        self.Status._cron_load_postal_data()
        self.assertEqual((status.state, status.attempts), ("failed", 2))
        self.assertGreaterEqual(
            status.next_attempt, fields.Datetime.now() + datetime.timedelta(minutes=RETRY_MINUTES[1] - 1)
        )

    def test_failed_reload_keeps_the_data(self):
        count = self.code_count(self.de)
        self.env["ir.config_parameter"].sudo().set_param("crm_service_routing.geonames_dir", "/nonexistent/geonames")
        self.assertEqual(self.Postal._load_countries(["DE"], raise_if_missing=False), {"DE": 0})
        status = self.status(self.de)
        self.assertEqual((status.state, status.record_count), ("loaded", count))
        self.assertIn("Reloading failed", status.last_error)
        self.assertEqual(self.code_count(self.de), count)
        self.assertTrue(self.Postal._locate(self.de, "80331"))

    # ------------------------------------------------------------
    # buttons, access, settings
    # ------------------------------------------------------------

    def test_load_now(self):
        self.Status._request(self.ch | self.fr)
        statuses = self.status(self.ch) | self.status(self.fr)
        with self.assertRaises(UserError):
            statuses.with_user(self.user_dispatcher).action_load_now()
        action = statuses.with_user(self.user_manager).action_load_now()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("CH: ", action["params"]["message"])
        self.assertIn("FR: failed", action["params"]["message"])
        self.assertEqual(statuses.mapped("state"), ["loaded", "failed"])

    def test_settings_button_loads_referred_countries(self):
        technician = self.env["res.partner"].create(
            {"name": "Zürcher Service", "is_technician": True, "zip": "8001", "country_id": self.ch.id}
        )
        action = self.Postal.with_user(self.user_manager).action_load_postal_data()
        self.assertIn("CH: ", action["params"]["message"])
        self.assertIn("DE: ", action["params"]["message"])
        self.assertEqual(self.status(self.ch).state, "loaded")
        self.assertAlmostEqual(technician.service_latitude, 47.37, delta=0.05)

    def test_access(self):
        self.Status._request(self.ch)
        status = self.status(self.ch)
        self.assertEqual(self.Status.with_user(self.user_internal).search([("id", "=", status.id)]), status)
        with self.assertRaises(AccessError):
            status.with_user(self.user_dispatcher).write({"state": "loaded"})
        with self.assertRaises(AccessError):
            self.Status.with_user(self.user_dispatcher).create({"country_id": self.fr.id})
        triggers = self.triggers()
        queued = self.Status.with_user(self.user_manager).create({"country_id": self.fr.id})
        self.assertEqual(queued.state, "pending")
        self.assertEqual(self.triggers(), triggers + 1, "a country a manager adds is loaded soon")

    def test_shipped_folder_is_the_default(self):
        self.env["ir.config_parameter"].sudo().set_param("crm_service_routing.geonames_dir", False)
        shipped = shipped_geonames_dir()
        with patch.dict(tools.config.options, {"geonames_data_dir": ""}):
            self.assertEqual(self.Postal._geonames_source(), (shipped, "shipped"))
            settings = self.env["res.config.settings"].create({})
            self.assertEqual(
                (settings.service_geonames_effective_dir, settings.service_geonames_origin), (shipped, "shipped")
            )
            self.assertEqual(self.Postal._load_countries(["CH"]), {"CH": self.code_count(self.ch)})
            self.assertEqual(self.status(self.ch).source_dir, shipped)
        with patch.dict(tools.config.options, {"geonames_data_dir": "/srv/geonames"}):
            self.assertEqual(self.Postal._geonames_source(), ("/srv/geonames", "option"))
            settings = self.env["res.config.settings"].create({})
            self.assertEqual(settings.service_geonames_effective_dir, "/srv/geonames", "the option, not empty")
            self.env["ir.config_parameter"].sudo().set_param("crm_service_routing.geonames_dir", "/data/gn")
            self.assertEqual(self.Postal._geonames_source(), ("/data/gn", "parameter"))
        # (create() leaves x2many fields empty in cache, a form reads them afresh)
        settings.invalidate_recordset(["service_postal_country_ids"])
        self.assertIn(self.status(self.ch), settings.service_postal_country_ids)
        # a sample, small enough to ship
        names = sorted(os.listdir(shipped))
        self.assertEqual(names, ["AT.txt", "CH.txt", "DE.txt", "README.md"])
        self.assertLess(sum(os.path.getsize(os.path.join(shipped, name)) for name in names), 1024 * 1024)
