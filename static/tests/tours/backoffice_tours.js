/** @odoo-module **/
// The dispatcher's back office, walked in a browser: review and offer, replay twice,
// route an accepted job again, type an inquiry and see it routed.
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

tours.add("crm_service_routing_backoffice_review_offer", {
    steps: () => [
        {
            content: "The review queue opens expanded, safety-critical inquiries first",
            trigger: ".o_list_view .o_data_row:first-child:contains('Safety-critical')",
        },
        {
            trigger: ".o_list_view .o_data_row:contains('Gas boiler smells'):contains('Safety-critical')",
        },
        {
            content: "The inquiry held for want of a technician comes after every safety-critical one",
            trigger: ".o_list_view .o_data_row:contains('Safety-critical') ~ .o_data_row:contains('Heat pump noise held')",
        },
        {
            content: "Assign from the queue in one click",
            trigger: ".o_data_row:contains('Gas boiler smells') button[name='action_service_open_assign']",
            run: "click",
        },
        {
            content: "The wizard warns, explains and ranks in a dispatcher's words",
            trigger: ".modal .alert-danger:contains('Safety-critical')",
        },
        {
            trigger: ".modal .o_data_row:contains('Carla Solar'):contains('Not trained for this safety-critical equipment')",
        },
        {
            trigger: ".modal .o_data_row:contains('Anna Technik'):contains('jobs open')",
        },
        {
            content: "Offer it to the first eligible technician",
            trigger: ".modal .o_data_row:contains('Anna Technik') button[name='action_pick']",
            run: "click",
        },
        {
            trigger: ".o_notification:contains('is offered to Anna Technik')",
        },
        {
            content: "The inquiry has left the review queue",
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Gas boiler smells')))",
        },
    ],
});

tours.add("crm_service_routing_backoffice_replay_twice", {
    steps: () => [
        {
            trigger: ".o_list_view .o_data_row:contains('Heat pump makes noise')",
        },
        {
            content: "Select all inquiries",
            trigger: ".o_list_view thead .o_list_record_selector input",
            run: "click",
        },
        {
            trigger: ".o_control_panel .o_cp_action_menus button",
            run: "click",
        },
        {
            trigger: ".o-dropdown--menu .dropdown-item:contains('Replay Routing (Dry Run)')",
            run: "click",
        },
        {
            trigger: ".modal .modal-title:contains('Replay Routing (Dry Run)')",
        },
        {
            trigger: ".modal button[name='action_replay']",
            run: "click",
        },
        {
            content: "The first run lists what would change",
            trigger: ".modal .modal-title:contains('Replay Routing (Dry Run)')",
        },
        {
            trigger: ".modal .o_field_widget[name='line_ids'] .o_data_row",
        },
        {
            content: "Run it again with current data",
            trigger: ".modal .o_field_widget[name='mode'] input[data-value='current']",
            run: "click",
        },
        {
            trigger: ".modal button[name='action_replay']",
            run: "click",
        },
        {
            content: "The second run works, and the dialog keeps its title",
            trigger: ".modal .modal-title:contains('Replay Routing (Dry Run)')",
        },
        {
            trigger: ".modal .o_field_widget[name='line_ids'] .o_data_row",
        },
        {
            trigger: "body:not(:has(.o_error_dialog))",
        },
        {
            trigger: ".modal button:contains('Close')",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});

tours.add("crm_service_routing_backoffice_reroute_accepted", {
    steps: () => [
        {
            trigger: ".o_form_view .ribbon:contains('Accepted')",
        },
        {
            content: "Route the accepted job again",
            trigger: ".o_form_statusbar button[name='action_service_reroute']",
            run: "click",
        },
        {
            content: "A confirmation names what is withdrawn",
            trigger: ".modal:contains('Accepted jobs are withdrawn')",
        },
        {
            trigger: ".modal button[name='action_confirm']",
            run: "click",
        },
        {
            trigger: ".o_notification:contains('Offered to')",
        },
        {
            content: "Ribbon and chatter agree",
            trigger: ".o_form_view .ribbon:contains('Offered')",
        },
        {
            trigger: ".o-mail-Chatter .o-mail-Message:contains('was withdrawn from them')",
        },
        {
            trigger: ".o-mail-Chatter .o-mail-Message:contains('Accepted'):contains('Offered')",
        },
    ],
});

tours.add("crm_service_routing_backoffice_create_inquiry", {
    steps: () => [
        {
            trigger: ".o_list_view",
        },
        {
            trigger: ".o_control_panel .o_list_button_add",
            run: "click",
        },
        {
            content: "The form leads with the service context",
            trigger: ".o_form_view .o_inner_group:contains('Customer and Site') + .o_inner_group:contains('Job')",
        },
        {
            trigger: ".o_field_widget[name='name'] textarea, .o_field_widget[name='name'] input",
            run: "edit Heat pump leaks water",
        },
        {
            trigger: ".o_field_widget[name='contact_name'] input",
            run: "edit Jana Neu",
        },
        {
            trigger: ".o_field_widget[name='zip'] input",
            run: "edit 80331",
        },
        {
            trigger: ".o_field_widget[name='city'] input",
            run: "edit München",
        },
        {
            trigger: ".o_field_widget[name='equipment_type_id'] input",
            run: "edit Air/Water",
        },
        {
            trigger: ".o_field_widget[name='equipment_type_id'] .o-autocomplete--dropdown-menu li:contains('Air/Water Heat Pump')",
            run: "click",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved without a country, it is routed at once",
            trigger: ".o_form_view .ribbon:contains('Offered')",
        },
        {
            trigger: ".o_field_widget[name='technician_id']:contains('Anna Technik'), .o_field_widget[name='technician_id']:contains('Bernd'), .o_field_widget[name='technician_id']:contains('Carla')",
        },
        {
            trigger: ".o_field_widget[name='country_id'] input:value(Germany)",
        },
    ],
});
