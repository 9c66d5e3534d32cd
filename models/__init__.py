# Copyright 2026 crm_service_routing contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import service_cache_mixin
from . import service_code_mixin
from . import service_installed_base_mixin
from . import service_postal_code
from . import service_postal_country
from . import service_equipment_type
from . import service_level
from . import service_contract
from . import service_equipment
from . import service_area
from . import service_offer
from . import service_offer_portal
from . import service_rotation_entry
from . import service_routing_log
from . import service_intake_key
from . import res_company
from . import res_country
from . import res_config_settings
from . import res_partner
from . import res_users
from . import crm_lead
from . import crm_lead_matching
from . import crm_lead_intake
from . import crm_lead_routing
from . import crm_team
from . import crm_lost_reason
from . import crm_lead_backoffice
from . import service_escalation_stage
from . import service_level_escalation
from . import service_offer_escalation
from . import service_offer_notify
from . import crm_lead_escalation
from . import service_visit
from . import service_maintenance_plan
from . import service_customer_notice
from . import crm_lead_portal
from . import crm_lead_enrich
from . import crm_lead_toolbar
from . import crm_lead_uniqueness
from . import crm_lead_maintenance
from . import crm_lead_customer_notice
from . import service_demo

# after crm.lead: its table is complete when the slots' trigger on it is made
from . import service_technician_slot
