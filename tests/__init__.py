from . import test_service_desk
from . import test_service_desk_tours
from . import test_service_desk_portal_tours
