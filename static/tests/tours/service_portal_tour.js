/** @odoo-module **/
// The technician's day on a phone (390x844): answer an offer from its mail
// link, decline another with a reason, then work an accepted job: agree the
// appointment, document the visit and raise a follow-on inquiry.

import { registry } from "@web/core/registry";

function setValue(value) {
    return function () {
        this.anchor.value = value;
        this.anchor.dispatchEvent(new Event("input", { bubbles: true }));
        this.anchor.dispatchEvent(new Event("change", { bubbles: true }));
    };
}

registry.category("web_tour.tours").add("crm_service_routing_portal_token_accept", {
    steps: () => [
        {
            content: "The offer mail's link opens the inquiry with its context, no login",
            trigger: ".o_service_portal_offer[data-offer-state='offered'] .o_service_facts:contains('Air/Water Heat Pump')",
        },
        {
            content: "The answer deadline is shown",
            trigger: ".o_service_portal_offer p:contains('Please answer by')",
        },
        {
            content: "Accept in one tap",
            trigger: "button.o_service_accept",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Accepted: the job shows, with the appointment box",
            trigger: ".o_service_portal_offer[data-offer-state='accepted'] .o_service_flash:contains('Accepted')",
        },
        {
            trigger: ".o_service_box_appointment",
        },
    ],
});

registry.category("web_tour.tours").add("crm_service_routing_portal_decline", {
    url: "/my/service",
    steps: () => [
        {
            content: "Open the offer from my list",
            trigger: ".o_service_card:contains('Pellet heating rattles')",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Open the decline choices",
            trigger: ".o_service_decline_box summary",
            run: "click",
        },
        {
            content: "A note for the dispatcher",
            trigger: "textarea[name='note']",
            run: "edit Fully booked until next month",
        },
        {
            content: "One tap on the reason declines",
            trigger: ".o_service_decline_box button[value='capacity']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Back on my list, the inquiry is gone",
            trigger: ".o_service_portal_list .o_service_flash:contains('Declined')",
        },
        {
            trigger: ".o_service_portal_list:not(:has(.o_service_card:contains('Pellet heating rattles')))",
        },
    ],
});

registry.category("web_tour.tours").add("crm_service_routing_portal_job", {
    url: "/my/service",
    steps: () => [
        {
            content: "My accepted job asks for a call",
            trigger: ".o_service_card:contains('Heat pump makes noise'):contains('No appointment yet')",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Tap to call, in E.164",
            trigger: "a.o_service_call[href='tel:+49891234567']",
        },
        {
            content: "Tap to open the maps app",
            trigger: "a.o_service_maps[href*='query=Marienplatz']",
        },
        {
            content: "Agree the appointment",
            trigger: "input[name='agreed_appointment']",
            run: setValue("2030-03-04T09:30"),
        },
        {
            trigger: ".o_service_box_appointment button[type='submit']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The appointment is saved and shown",
            trigger: ".o_service_flash:contains('Appointment saved')",
        },
        {
            trigger: ".o_service_agreed:contains('03/04/2030 09:30')",
        },
        {
            content: "Document the visit",
            trigger: ".o_service_box_visit summary",
            run: "click",
        },
        {
            trigger: "textarea[name='work_done']",
            run: "edit Compressor bearing replaced, noise gone.",
        },
        {
            trigger: "input[name='next_maintenance_date']",
            run: setValue("2031-03-01"),
        },
        {
            trigger: "input[name='followon_order']",
            run: "click",
        },
        {
            trigger: "input[name='followon_amount']",
            run: setValue("480.50"),
        },
        {
            trigger: ".o_service_box_visit button[type='submit']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The visit is in the service history",
            trigger: ".o_service_flash:contains('Visit documented')",
        },
        {
            trigger: ".o_service_visits:contains('Compressor bearing replaced')",
        },
        {
            content: "Raise a follow-on inquiry from the site",
            trigger: ".o_service_box_followon summary",
            run: "click",
        },
        {
            trigger: "input[name='name']",
            run: "edit Second heat pump for the garage",
        },
        {
            trigger: "select[name='service_occasion']",
            run: "select extension",
        },
        {
            trigger: "textarea[name='description']",
            run: "edit Customer wants a quote.",
        },
        {
            trigger: ".o_service_box_followon button[type='submit']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            trigger: ".o_service_flash:contains('Follow-on inquiry created')",
        },
    ],
});
