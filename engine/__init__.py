# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Decisions that need no database.

Everything in this package is plain Python over plain data: the models gather
facts in a few queries, call these functions and write the result. Nothing here
imports Odoo, so the rules can be unit-tested and replayed without a database.
"""
