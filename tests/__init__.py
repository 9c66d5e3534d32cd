from . import test_company_rules
from . import test_hostile_input
from . import test_portal_hostile
from . import test_portal_shared_phone
