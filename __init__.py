# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import controllers
from . import models
from . import report
from . import wizard
