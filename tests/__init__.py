# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import test_backoffice
from . import test_backoffice_tours
from . import test_company_isolation
from . import test_company_rules
from . import test_engine
from . import test_escalation
from . import test_escalation_concurrency
from . import test_foundation
from . import test_hostile_input
from . import test_intake
from . import test_intake_integrity
from . import test_lifecycle
from . import test_matching
from . import test_notifications
from . import test_performance
from . import test_portal
from . import test_portal_hostile
from . import test_portal_pwa
from . import test_portal_shared_phone
from . import test_portal_tour
from . import test_postal_data
from . import test_routing_concurrency
from . import test_routing_flow
from . import test_routing_integrity
from . import test_security
from . import test_service_context
