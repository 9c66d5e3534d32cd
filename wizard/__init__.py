# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import crm_lead_assign
from . import crm_lead_decline
from . import service_routing_replay
from . import crm_lead_reroute
from . import portal_wizard
from . import crm_lead_link
from . import service_routing_settings
