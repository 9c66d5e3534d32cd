/** @odoo-module **/
// The technician portal as a German technician meets it on a phone (390x844): the
// list and an offer in German, with translated equipment names and no sideways
// scrolling; an old offer link opened logged out; a page never opened, offline.
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

function noSidewaysScroll(content) {
    return {
        content,
        trigger: "body",
        run() {
            const width = document.documentElement.scrollWidth;
            if (width > window.innerWidth) {
                throw new Error(`the page scrolls sideways: ${width} px wide in a ${window.innerWidth} px window`);
            }
        },
    };
}

tours.add("crm_service_routing_portal_german", {
    steps: () => [
        {
            content: "The portal home counts the new offers",
            trigger: ".o_portal_index_card a[href='/my/service'] .o_service_home_new:contains('Neue Angebote: 1')",
        },
        noSidewaysScroll("The portal home fits the phone"),
        {
            trigger: ".o_portal_index_card a[href='/my/service']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The list speaks German, equipment included",
            trigger: ".o_service_portal_list h2:contains('Neue Angebote')",
        },
        {
            trigger: ".o_service_card:contains('Luft/Wasser-Wärmepumpe'):contains('03.03.2026 09:00')",
        },
        noSidewaysScroll("The list fits the phone"),
        {
            trigger: ".o_service_card:contains('Wärmepumpe brummt')",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The offer: translated equipment, the deadline in the German format",
            trigger: ".o_service_portal_offer .o_service_facts:contains('Luft/Wasser-Wärmepumpe')",
        },
        {
            trigger: ".o_service_portal_offer p:contains('03.03.2026 09:00')",
        },
        {
            content: "The phone number as it is written in Germany",
            trigger: ".o_service_call:contains('089 7654321')",
        },
        {
            content: "The customer's name once under Site and contact",
            trigger: ".o_service_portal_offer address",
            run() {
                const names = [...this.anchor.querySelectorAll("div")].filter((div) => div.textContent.trim() === "Eva Neu");
                if (names.length !== 1) {
                    throw new Error(`the name shows ${names.length} times`);
                }
            },
        },
        {
            content: "Decline with Other and no note",
            trigger: ".o_service_decline_box summary",
            run: "click",
        },
        {
            trigger: ".o_service_decline_box[open] button[value='other']:contains('Sonstiges')",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The error shows and the decline box stays open for the note",
            trigger: ".o_service_flash.alert-danger",
        },
        {
            trigger: ".o_service_decline_box[open] #service_decline_note",
        },
        noSidewaysScroll("The offer fits the phone"),
    ],
});

tours.add("crm_service_routing_portal_link_gone", {
    steps: () => [
        {
            content: "An old offer link says what happened, not a bare 404",
            trigger: ".o_service_portal_gone h1:contains('This link no longer opens the offer')",
        },
        {
            trigger: ".o_service_portal_gone a[href='/web/login?redirect=/my/service']",
        },
        noSidewaysScroll("The page fits the phone"),
    ],
});

tours.add("crm_service_routing_portal_offline_page", {
    steps: () => [
        {
            trigger: ".o_service_portal_list",
        },
        {
            content: "The app keeps its offline page when it installs",
            trigger: "body",
            async run() {
                const registration = await navigator.serviceWorker.ready;
                if (!registration.active) {
                    throw new Error("no active service worker");
                }
                for (let attempt = 0; attempt < 50; attempt++) {
                    const keys = await caches.keys();
                    for (const key of keys.filter((name) => name.startsWith("crm_service_routing-offline"))) {
                        const cached = await (await caches.open(key)).match("/my/service/offline");
                        if (cached && (await cached.text()).includes("o_service_portal_offline")) {
                            return;
                        }
                    }
                    await new Promise((resolve) => setTimeout(resolve, 200));
                }
                throw new Error("the offline page was not kept");
            },
        },
    ],
});
