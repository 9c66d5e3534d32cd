/** @odoo-module **/
// The service desk as its users meet it: a service manager configures an equipment
// type, an SLA tier with its escalation ladder and the routing settings from the
// menus alone.
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

function openServiceMenu(xmlid, title) {
    return [
        {
            content: "Open the Service menu",
            trigger: ".o_menu_sections button[data-menu-xmlid='crm_service_routing.menu_service_root']",
            run: "click",
        },
        {
            content: "The Configuration section lists it",
            trigger: `.o-dropdown--menu .dropdown-header:contains('Configuration') ~ .dropdown-item[data-menu-xmlid='crm_service_routing.${xmlid}']`,
        },
        {
            trigger: `.o-dropdown--menu .dropdown-item[data-menu-xmlid='crm_service_routing.${xmlid}']`,
            run: "click",
        },
        {
            trigger: `.o_breadcrumb:contains('${title}')`,
        },
    ];
}

tours.add("crm_service_routing_manager_configures", {
    steps: () => [
        {
            content: "CRM opens for the service manager",
            trigger: ".o_main_navbar .o_menu_brand:contains('CRM')",
        },
        ...openServiceMenu("menu_service_equipment_types", "Equipment Types"),
        {
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='name'] input",
            run: "edit Hybrid Heat Pump",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='code'] input",
            run: "edit HP-HY",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='safety_critical'] input",
            run: "click",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_view .o_form_saved",
        },
        ...openServiceMenu("menu_service_levels", "SLA Tiers"),
        {
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='name'] input",
            run: "edit Express",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='code'] input",
            run: "edit EXPRESS",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='response_hours'] input",
            run: "edit 8",
        },
        {
            content: "Add the first stage of the ladder",
            trigger: ".o_field_widget[name='escalation_stage_ids'] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name='escalation_stage_ids'] .o_data_row .o_field_widget[name='after_hours'] input",
            run: "edit 2",
        },
        {
            trigger: ".o_field_widget[name='escalation_stage_ids'] .o_data_row .o_field_widget[name='action'] select",
            run: "selectByLabel Remind the technician",
        },
        {
            trigger: ".o_field_widget[name='escalation_stage_ids'] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name='escalation_stage_ids'] .o_data_row:eq(1) .o_field_widget[name='after_hours'] input",
            run: "edit 8",
        },
        {
            trigger: ".o_field_widget[name='escalation_stage_ids'] .o_data_row:eq(1) .o_field_widget[name='action'] select",
            run: "selectByLabel Reassign to the next technician",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The ladder relates each stage to the response window",
            trigger: ".o_field_widget[name='escalation_stage_ids'] .o_data_row:contains('6 h before the window ends')",
        },
        {
            trigger: ".o_field_widget[name='escalation_stage_ids'] .o_data_row:contains('when the window ends')",
        },
        ...openServiceMenu("menu_service_settings", "Service Routing Settings"),
        {
            trigger: ".o_form_view .o_field_widget[name='service_routing_strategy'] input[data-value='least_loaded']",
            run: "click",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='service_iap_enrich'] input:not(:checked)",
        },
        {
            trigger: ".o_form_view button[name='action_save']",
            run: "click",
        },
        {
            trigger: ".o_notification:contains('Service routing settings saved')",
        },
    ],
});
