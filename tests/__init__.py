from . import test_service_desk
from . import test_service_desk_tours
