from odoo.tests import tagged

from .common import ServiceRoutingCase


@tagged("post_install", "-at_install")
class TestSmoke(ServiceRoutingCase):
    def test_smoke(self):
        lead = self._create_inquiry()
        print(lead.routing_state, lead.technician_id.name, lead.customer_kind, lead.routing_log_ids.reason)
        lead2 = self._create_inquiry(serial_number="hp-0001", zip="81675")
        print(
            lead2.routing_state,
            lead2.technician_id.name,
            lead2.customer_kind,
            lead2.match_method,
            lead2.routing_log_ids.reason,
        )
        print(lead2.routing_log_ids.candidates_html)
        res = self.env["crm.lead"].submit_service_request(
            {
                "service_occasion": "maintenance",
                "zip": "85354",
                "phone": "0811 123456",
                "equipment": "PV",
                "external_ref": "X1",
            }
        )
        print(res)
        print(
            self.env["crm.lead"].submit_service_request(
                {
                    "service_occasion": "maintenance",
                    "zip": "85354",
                    "phone": "0811 123456",
                    "equipment": "PV",
                    "external_ref": "X1",
                }
            )
        )
        lead2.action_service_decline("capacity")
        print(lead2.routing_state, lead2.technician_id.name, lead2.routing_log_ids.mapped("reason"))
