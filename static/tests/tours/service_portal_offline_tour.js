/** @odoo-module **/
/**
 * The technician taps Accept while the phone has no network; the answer waits
 * as "pending" and is sent once the connection returns.
 *
 * The network going away is simulated in the page: navigator.onLine reads
 * false, an "offline" event is dispatched, and every POST made with fetch
 * fails with a TypeError, as it does without a network. Coming back restores
 * both and dispatches "online".
 */
import { registry } from "@web/core/registry";

const ACCEPT_FORM = "form.o_service_queueable[data-service-action='accept']";

function goOffline() {
    window.__serviceTourFetch = window.fetch;
    window.fetch = (input, init) => {
        const method = ((init && init.method) || (input instanceof Request ? input.method : "GET")).toUpperCase();
        if (method === "POST") {
            return Promise.reject(new TypeError("Failed to fetch"));
        }
        return window.__serviceTourFetch(input, init);
    };
    Object.defineProperty(window.navigator, "onLine", { configurable: true, get: () => false });
    window.dispatchEvent(new Event("offline"));
}

function goOnline() {
    window.fetch = window.__serviceTourFetch;
    delete window.__serviceTourFetch;
    // the own property goes: navigator.onLine reads the browser's value again
    delete window.navigator.onLine;
    window.dispatchEvent(new Event("online"));
}

async function cachedPage(path) {
    for (const name of await caches.keys()) {
        if (name.startsWith("crm_service_routing-pages-")) {
            const cache = await caches.open(name);
            const keys = await cache.keys();
            if (keys.some((request) => new URL(request.url).pathname === path)) {
                return true;
            }
        }
    }
    return false;
}

async function waitFor(check, what) {
    for (let i = 0; i < 100; i++) {
        if (await check()) {
            return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
}

function openOfferSteps() {
    return [
        {
            content: "the list shows the offer",
            trigger: ".o_service_portal_list [data-offer-id]",
        },
        {
            content: "the service worker controls the technician pages",
            trigger: ".o_service_portal_list",
            async run() {
                await navigator.serviceWorker.ready;
                await waitFor(() => navigator.serviceWorker.controller, "the service worker to take control");
                // the list loaded before the worker was there: it was handed over to be kept
                await waitFor(() => cachedPage("/my/service"), "the list to be kept for offline use");
            },
        },
        {
            content: "open the offer",
            trigger: ".o_service_portal_list a[data-offer-id]",
            run: "click",
        },
        {
            content: "the offer is open for an answer",
            trigger: `.o_service_portal_offer[data-offer-state='offered'] ${ACCEPT_FORM}`,
            async run() {
                await waitFor(
                    () => cachedPage(window.location.pathname),
                    "the offer's page to be kept for offline use"
                );
            },
        },
        {
            content: "the network goes away",
            trigger: ACCEPT_FORM,
            run: goOffline,
        },
        {
            content: "the page says it is offline",
            trigger: ".o_service_offline_banner",
        },
        {
            content: "tap Accept",
            trigger: `${ACCEPT_FORM} button[type='submit']`,
            run: "click",
        },
        {
            content: "the answer is pending, its buttons are gone",
            trigger: ".o_service_pending[data-pending-action='accept']:contains(Pending)",
            run() {
                const form = document.querySelector(ACCEPT_FORM);
                if (form && !form.classList.contains("d-none")) {
                    throw new Error("the Accept button is still offered while the answer is pending");
                }
            },
        },
    ];
}

registry.category("web_tour.tours").add("crm_service_routing_offline_accept", {
    steps: () => [
        ...openOfferSteps(),
        {
            content: "the network returns: the answer is sent",
            trigger: ".o_service_pending",
            run: goOnline,
        },
        {
            content: "the offer is accepted, the sent answer confirmed",
            trigger: ".o_service_portal_offer[data-offer-state='accepted'] .o_service_sent",
        },
        {
            content: "nothing is pending any more",
            trigger: ".o_service_portal_offer:not(:has(.o_service_pending))",
        },
        {
            content: "log out (the link of the user menu)",
            trigger: ".o_service_portal_offer",
            run() {
                document.querySelector("#o_logout").click();
            },
        },
        {
            content: "logged out: this user's pages are no longer kept for offline use",
            trigger: "body:not(:has(.o_service_portal))",
            async run() {
                const names = (await caches.keys()).filter((name) => name.startsWith("crm_service_routing-pages-"));
                if (names.length) {
                    throw new Error(`pages still kept after logout: ${names}`);
                }
            },
        },
    ],
});

registry.category("web_tour.tours").add("crm_service_routing_offline_accept_refused", {
    steps: () => [
        ...openOfferSteps(),
        {
            content: "meanwhile the offer is declined from elsewhere (another device of the technician)",
            trigger: ".o_service_pending",
            async run() {
                const offerId = document.querySelector(".o_service_portal_offer").dataset.offerId;
                const body = new URLSearchParams({
                    csrf_token: window.odoo.csrf_token,
                    reason: "capacity",
                    note: "declined on the other phone",
                });
                const response = await window.__serviceTourFetch(`/my/service/offer/${offerId}/decline`, {
                    method: "POST",
                    body,
                    headers: { Accept: "application/json" },
                });
                if (!response.ok) {
                    throw new Error(`the decline from elsewhere failed: ${response.status}`);
                }
            },
        },
        {
            content: "the network returns: the queued accept is sent and refused",
            trigger: ".o_service_pending",
            run: goOnline,
        },
        {
            content: "the refusal is shown, nothing is pending",
            trigger: ".o_service_portal .o_service_failed:contains(could not be sent)",
            run() {
                if (document.querySelector(".o_service_pending")) {
                    throw new Error("a refused answer is still shown as pending");
                }
            },
        },
    ],
});
