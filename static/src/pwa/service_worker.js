/* Service worker of the technician portal (crm_service_routing).
 *
 * Served at /my/service/sw.js and registered with the scope /my/service: it
 * controls the technician's pages and nothing else of the site.
 *
 * - Pages under /my/service (GET only): network first; a copy of the last good
 *   answer is kept, and served when the network is away, marked with
 *   data-service-offline-copy on <body> so that the page shows an offline banner.
 * - Bundles under /web/assets (their URLs change with their content) and the
 *   app's icons: cache first.
 * - Anything else, every POST, and anything of another origin: not touched.
 *
 * A plain script, not an Odoo module: it runs outside the page.
 */
/* eslint-env serviceworker */
"use strict";

const VERSION = "1";
const PAGE_CACHE = `crm_service_routing-pages-v${VERSION}`;
const ASSET_CACHE = `crm_service_routing-assets-v${VERSION}`;
const CACHES = [PAGE_CACHE, ASSET_CACHE];
const MAX_PAGES = 60;
const MAX_ASSETS = 80;
const SCOPE_PATH = "/my/service";
const OFFLINE_MARK = "data-service-offline-copy";
// the app's own page for a page never loaded, shown instead of the browser's error page
const OFFLINE_PAGE = "/my/service/offline";

function isPage(url) {
    return (
        (url.pathname === SCOPE_PATH || url.pathname.startsWith(SCOPE_PATH + "/")) &&
        // the app's own files are not pages
        !url.pathname.endsWith("/sw.js") &&
        !url.pathname.endsWith(".webmanifest")
    );
}

function isAsset(url) {
    // bundles named by their content hash; the debug bundles are rebuilt in place
    const bundle = url.pathname.match(/^\/web\/assets\/([^/]+)\//);
    return (
        (bundle !== null && bundle[1] !== "debug") ||
        url.pathname.startsWith("/crm_service_routing/static/src/img/") ||
        // the company logo of the page header
        url.pathname === "/logo.png" ||
        url.pathname === "/web/binary/company_logo"
    );
}

function isCacheable(response) {
    // a redirect (to the login page, say) or an error page is never kept
    return response && response.ok && response.status === 200 && response.type === "basic" && !response.redirected;
}

async function trim(cacheName, max) {
    const cache = await caches.open(cacheName);
    const keys = await cache.keys();
    // keys come in insertion order: the oldest go first
    for (const request of keys.slice(0, Math.max(0, keys.length - max))) {
        await cache.delete(request);
    }
}

async function putPage(request, response) {
    const cache = await caches.open(PAGE_CACHE);
    // a fresh copy goes to the end of the queue
    await cache.delete(request);
    await cache.put(request, response);
    await trim(PAGE_CACHE, MAX_PAGES);
}

async function markedCopy(cached) {
    const html = await cached.text();
    const marked = html.replace(/<body(\s|>)/i, `<body ${OFFLINE_MARK}="1"$1`);
    const headers = new Headers(cached.headers);
    headers.set("X-Service-Offline-Copy", "1");
    headers.delete("Content-Length");
    return new Response(marked, { status: 200, statusText: "OK", headers });
}

async function networkFirst(event) {
    const request = event.request;
    try {
        const response = await fetch(request);
        if (isCacheable(response)) {
            event.waitUntil(putPage(request, response.clone()));
        }
        return response;
    } catch (error) {
        const cached = await caches.match(request, { cacheName: PAGE_CACHE, ignoreVary: true });
        if (cached) {
            return markedCopy(cached);
        }
        const offline = request.mode === "navigate" && (await caches.match(OFFLINE_PAGE, { cacheName: PAGE_CACHE }));
        if (offline) {
            return markedCopy(offline);
        }
        throw error;
    }
}

async function cacheFirst(event) {
    const request = event.request;
    const cached = await caches.match(request, { cacheName: ASSET_CACHE });
    if (cached) {
        return cached;
    }
    const response = await fetch(request);
    if (isCacheable(response)) {
        const copy = response.clone();
        event.waitUntil(
            caches
                .open(ASSET_CACHE)
                .then((cache) => cache.put(request, copy))
                .then(() => trim(ASSET_CACHE, MAX_ASSETS))
        );
    }
    return response;
}

async function keepOfflinePage() {
    try {
        const response = await fetch(OFFLINE_PAGE, { credentials: "same-origin" });
        if (isCacheable(response)) {
            await putPage(OFFLINE_PAGE, response);
        }
    } catch {
        // offline already: kept on the next visit online
    }
}

self.addEventListener("install", (event) => {
    self.skipWaiting();
    // kept now, while online: a page never opened shows it when the phone is offline
    event.waitUntil(keepOfflinePage());
});

self.addEventListener("activate", (event) => {
    event.waitUntil(
        (async () => {
            for (const name of await caches.keys()) {
                if (name.startsWith("crm_service_routing-") && !CACHES.includes(name)) {
                    await caches.delete(name);
                }
            }
            await self.clients.claim();
        })()
    );
});

self.addEventListener("fetch", (event) => {
    const request = event.request;
    if (request.method !== "GET") {
        return;
    }
    const url = new URL(request.url);
    if (url.origin !== self.location.origin) {
        return;
    }
    if (isPage(url)) {
        event.respondWith(networkFirst(event));
    } else if (isAsset(url)) {
        event.respondWith(cacheFirst(event));
    }
});

self.addEventListener("message", (event) => {
    const data = event.data || {};
    if (data.type === "crm_service_routing:keep") {
        // the page that registered us was loaded before we controlled it:
        // keep it and its bundles now, so that it opens offline too
        event.waitUntil(
            (async () => {
                for (const href of data.urls || []) {
                    const url = new URL(href, self.location.origin);
                    if (url.origin !== self.location.origin || !(isPage(url) || isAsset(url))) {
                        continue;
                    }
                    const cacheName = isPage(url) ? PAGE_CACHE : ASSET_CACHE;
                    if (isAsset(url) && (await caches.match(url.href, { cacheName }))) {
                        continue;
                    }
                    try {
                        const response = await fetch(url.href, { credentials: "same-origin" });
                        if (isCacheable(response)) {
                            if (cacheName === PAGE_CACHE) {
                                await putPage(url.href, response);
                            } else {
                                await (await caches.open(ASSET_CACHE)).put(url.href, response);
                            }
                        }
                    } catch {
                        // offline already: nothing to keep
                    }
                }
            })()
        );
    } else if (data.type === "crm_service_routing:forget") {
        // another user, or a logout: the pages of the last one are dropped
        event.waitUntil(caches.delete(PAGE_CACHE).then(keepOfflinePage));
    }
});
