# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import service_report_mixin
from . import service_dispatch_report
from . import service_inquiry_offer_stat
from . import service_inquiry_report
from . import service_technician_scorecard
