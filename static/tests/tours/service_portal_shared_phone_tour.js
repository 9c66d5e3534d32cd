/** @odoo-module **/
/**
 * A shared phone: the pages another technician left kept for offline use
 * (its session ended without a logout) are dropped as soon as this user's
 * pages are loaded, by the page itself on any page of the site and by the
 * service worker on any page it fetches. The other user is simulated by a
 * cache under its key, "999999-1", marked as the owner.
 */
import { registry } from "@web/core/registry";

const OTHER_KEY = "999999-1";
const OTHER_CACHE = `crm_service_routing-pages-v2-${OTHER_KEY}`;
const OWNER_CACHE = "crm_service_routing-owner";
const OWNER_URL = "/my/service/__owner__";

async function leaveOtherUsersPages() {
    const cache = await caches.open(OTHER_CACHE);
    await cache.put(
        "/my/service/offer/1",
        new Response("<html><body>Customer of another technician</body></html>", {
            headers: { "Content-Type": "text/html", "X-Service-Cache-Key": OTHER_KEY },
        })
    );
    await (await caches.open(OWNER_CACHE)).put(OWNER_URL, new Response(OTHER_KEY));
}

async function owner() {
    const cached = await caches.match(OWNER_URL, { cacheName: OWNER_CACHE });
    return cached ? cached.text() : "";
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

function myKey() {
    return document.querySelector("meta[name='service-cache-key']")?.getAttribute("content");
}

registry.category("web_tour.tours").add("crm_service_routing_shared_phone", {
    steps: () => [
        {
            content: "the technician pages name their user and company",
            trigger: ".o_service_portal_list",
            async run() {
                if (!/^[0-9]+-[0-9]+$/.test(myKey() || "")) {
                    throw new Error(`no cache key on the page: ${myKey()}`);
                }
                await navigator.serviceWorker.ready;
                await waitFor(() => navigator.serviceWorker.controller, "the service worker to take control");
                await waitFor(async () => (await owner()) === myKey(), "this user to own the kept pages");
                await leaveOtherUsersPages();
                window.location.assign("/my");
            },
        },
        {
            content: "another page of the site (the portal home) drops the other user's pages",
            trigger: "body:not(:has(.o_service_portal)) .o_portal_my_home",
            async run() {
                await waitFor(async () => !(await caches.keys()).includes(OTHER_CACHE), "the pages to go");
                if ((await owner()) === OTHER_KEY) {
                    throw new Error("the other user still owns the kept pages");
                }
                window.location.assign("/my/service");
            },
        },
        {
            content: "back on the technician pages",
            trigger: ".o_service_portal_list",
            async run() {
                await waitFor(() => navigator.serviceWorker.controller, "the service worker to take control");
                await waitFor(async () => (await owner()) === myKey(), "this user to own the kept pages");
                // the other user's pages appear again behind the page's back: the
                // service worker drops them on the next page it fetches
                await leaveOtherUsersPages();
                const response = await fetch("/my/service", { credentials: "same-origin" });
                if (response.headers.get("X-Service-Cache-Key") !== myKey()) {
                    throw new Error("the page does not say whose it is");
                }
                await waitFor(async () => !(await caches.keys()).includes(OTHER_CACHE), "the worker to drop them");
                await waitFor(async () => (await owner()) === myKey(), "this user to own the kept pages again");
                const mine = await caches.open(`crm_service_routing-pages-v2-${myKey()}`);
                await waitFor(async () => (await mine.keys()).length > 0, "this user's pages to be kept");
            },
        },
    ],
});
