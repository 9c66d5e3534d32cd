# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Render the customer messages of a maintenance inquiry to HTML files, in English and German.

    python3 tools/render_customer_mails.py -c ODOO.conf -d DATABASE_WITH_DEMO --out DIR [--screenshot]

On a database with demo data: opens the maintenance inquiry of a demo plan,
lets its contract technician accept it and agree an appointment, renders the
four customer templates (arrival on a fresh intake request) in each language
into DIR/customer_<event>_<lang>.html and, with ``--screenshot``, takes a PNG
of each with headless Chromium. Everything it creates is rolled back.
"""

import argparse
import datetime
import html
import os
import subprocess

import odoo
from odoo import SUPERUSER_ID, api, fields

EVENTS = ("arrival", "accepted", "appointment", "maintenance")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--screenshot", action="store_true")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"])
    os.makedirs(args.out, exist_ok=True)
    registry = odoo.modules.registry.Registry(args.database)
    files = []
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tz": "Europe/Berlin"})
        env["res.lang"]._activate_lang("de_DE")
        env["ir.module.module"].search([("name", "=", "crm_service_routing")])._update_translations(["de_DE"], True)
        plan = env.ref("crm_service_routing.demo_plan_weber_pv")
        maintenance = plan._service_open_inquiries(fields.Date.today())
        if maintenance.service_offer_id:
            maintenance.action_service_accept(offer_id=maintenance.service_offer_id.id)
        when = (fields.Datetime.now() + datetime.timedelta(days=3)).replace(hour=8, minute=30, second=0)
        maintenance.agreed_appointment = when
        arrival = env["crm.lead"].browse(
            env["crm.lead"].submit_service_request(
                {
                    "service_occasion": "repair",
                    "name": "Heat pump shows error E42",
                    "contact_name": "Eva Neu",
                    "email": "eva.neu@example.org",
                    "zip": "80331",
                    "city": "München",
                }
            )["id"]
        )
        for lang in ("en_US", "de_DE"):
            for event in EVENTS:
                lead = arrival if event == "arrival" else maintenance
                template = env.ref(f"crm_service_routing.mail_template_customer_{event}")
                subject = template._render_field("subject", lead.ids, set_lang=lang)[lead.id]
                body = template._render_field("body_html", lead.ids, set_lang=lang)[lead.id]
                company = lead.company_id
                page = (
                    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>{subject}</title></head>"
                    "<body style='font-family: Arial, sans-serif; margin: 24px; color: #222;'>"
                    "<div style='border-bottom: 1px solid #ddd; padding-bottom: 8px; margin-bottom: 16px;'>"
                    "<div style='color: #666;'>From: {sender}</div><div style='color: #666;'>To: {to}</div>"
                    "<h2 style='margin: 8px 0 0;'>{subject}</h2></div>{body}</body></html>"
                ).format(
                    subject=html.escape(subject),
                    sender=html.escape(company.email_formatted or company.name),
                    to=html.escape(lead._service_notice_email_to() or ""),
                    body=body,
                )
                path = os.path.join(args.out, f"customer_{event}_{lang[:2]}.html")
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(page)
                files.append(path)
        cr.rollback()
    for path in files:
        print(path)
        if args.screenshot:
            png = path[: -len(".html")] + ".png"
            subprocess.run(
                [
                    args.chromium,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    f"--screenshot={png}",
                    "--window-size=720,480",
                    f"file://{os.path.abspath(path)}",
                ],
                check=True,
                capture_output=True,
            )
            print(png)


if __name__ == "__main__":
    main()
