/* Service worker of the technician portal (crm_service_routing).
 *
 * Served at /my/service/sw.js and registered with the scope /my/service: it
 * controls the technician's pages and nothing else of the site.
 *
 * - Pages under /my/service (GET only): network first; a copy of the last good
 *   answer is kept, and served when the network is away, marked with
 *   data-service-offline-copy on <body> so that the page shows an offline banner.
 * - The copies are kept per user and company: each page carries whose it is
 *   (the X-Service-Cache-Key header, "<user id>-<company id>"), and a cache per
 *   key holds them. The key of the last page the server answered is the owner:
 *   offline, only the owner's copies are served. A page of another key, an
 *   answer that sends to the login page (the session ended, however), a page
 *   of the site that names another user (service_portal_pwa.js) or a logout
 *   drop every other key's copies.
 * - A page never loaded, offline: the app's own offline page (kept when the
 *   worker installs, for everyone: it names nobody), not the browser's error.
 * - Bundles under /web/assets (their URLs change with their content), the
 *   app's icons and the company logo of the page header: cache first.
 * - Anything else, every POST, and anything of another origin: not touched.
 *
 * A plain script, not an Odoo module: it runs outside the page.
 */
/* eslint-env serviceworker */
"use strict";

const VERSION = "2";
const PAGE_CACHE_PREFIX = "crm_service_routing-pages-";
const ASSET_CACHE = `crm_service_routing-assets-v${VERSION}`;
// whose pages are kept: one entry, the key of the user and company last seen online
const OWNER_CACHE = "crm_service_routing-owner";
const OWNER_URL = "/my/service/__owner__";
const KEY_HEADER = "X-Service-Cache-Key";
const KEY_PATTERN = /^[0-9]+-[0-9]+$/;
const MAX_PAGES = 60;
const MAX_ASSETS = 80;
const SCOPE_PATH = "/my/service";
const OFFLINE_MARK = "data-service-offline-copy";
// the app's own page for a page never loaded, shown instead of the browser's error page
const OFFLINE_PAGE = "/my/service/offline";
const OFFLINE_CACHE = `crm_service_routing-offline-v${VERSION}`;

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

function pageCacheName(key) {
    return `${PAGE_CACHE_PREFIX}v${VERSION}-${key}`;
}

async function currentOwner() {
    const cached = await caches.match(OWNER_URL, { cacheName: OWNER_CACHE });
    const key = cached ? await cached.text() : "";
    return KEY_PATTERN.test(key) ? key : "";
}

/** ``key`` ("" when nobody is logged in) owns the kept pages now: the pages of any other key go. */
async function setOwner(key) {
    const keep = KEY_PATTERN.test(key) ? pageCacheName(key) : null;
    for (const name of await caches.keys()) {
        if (name.startsWith(PAGE_CACHE_PREFIX) && name !== keep) {
            await caches.delete(name);
        }
    }
    const cache = await caches.open(OWNER_CACHE);
    if (keep) {
        await cache.put(OWNER_URL, new Response(key, { headers: { "Content-Type": "text/plain" } }));
    } else {
        await cache.delete(OWNER_URL);
    }
}

function responseKey(response) {
    const key = (response && response.headers.get(KEY_HEADER)) || "";
    return KEY_PATTERN.test(key) ? key : "";
}

function sentToLogin(response) {
    // a navigation answered by a redirect (opaque to us) or followed to the login page
    return (
        response.type === "opaqueredirect" ||
        (response.redirected && new URL(response.url).pathname.startsWith("/web/login"))
    );
}

/** What an answer from the server says of who is logged in: their pages stay, the rest go. */
async function learnOwner(response) {
    const key = responseKey(response);
    if (key) {
        if (key !== (await currentOwner())) {
            await setOwner(key);
        }
        return key;
    }
    if (sentToLogin(response)) {
        await setOwner("");
    }
    return "";
}

async function putPage(key, request, response) {
    if (!key || key !== (await currentOwner())) {
        return;
    }
    const pageCache = pageCacheName(key);
    const cache = await caches.open(pageCache);
    // a fresh copy goes to the end of the queue
    await cache.delete(request);
    await cache.put(request, response);
    await trim(pageCache, MAX_PAGES);
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
    let response;
    try {
        response = await fetch(request);
    } catch (error) {
        // offline: the copy of the user last seen online, never another's
        const owner = await currentOwner();
        const cached =
            owner && (await caches.match(request, { cacheName: pageCacheName(owner), ignoreVary: true }));
        if (cached && responseKey(cached) === owner) {
            return markedCopy(cached);
        }
        const offline = request.mode === "navigate" && (await caches.match(OFFLINE_PAGE, { cacheName: OFFLINE_CACHE }));
        if (offline) {
            return markedCopy(offline);
        }
        throw error;
    }
    const copy = isCacheable(response) ? response.clone() : null;
    event.waitUntil(
        learnOwner(response).then((key) => (copy && key ? putPage(key, request, copy) : undefined))
    );
    return response;
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
            await (await caches.open(OFFLINE_CACHE)).put(OFFLINE_PAGE, response);
        }
    } catch {
        // offline already: kept when the worker installs again
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
            const owner = await currentOwner();
            const keep = [ASSET_CACHE, OWNER_CACHE, OFFLINE_CACHE, owner ? pageCacheName(owner) : null];
            for (const name of await caches.keys()) {
                if (name.startsWith("crm_service_routing-") && !keep.includes(name)) {
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
                    if (isAsset(url) && (await caches.match(url.href, { cacheName: ASSET_CACHE }))) {
                        continue;
                    }
                    try {
                        const response = await fetch(url.href, { credentials: "same-origin" });
                        if (isPage(url)) {
                            const key = await learnOwner(response);
                            if (key && isCacheable(response)) {
                                await putPage(key, url.href, response);
                            }
                        } else if (isCacheable(response)) {
                            await (await caches.open(ASSET_CACHE)).put(url.href, response);
                        }
                    } catch {
                        // offline already: nothing to keep
                    }
                }
            })()
        );
    } else if (data.type === "crm_service_routing:forget") {
        // a logout: the pages of the last user are dropped
        event.waitUntil(setOwner(""));
    } else if (data.type === "crm_service_routing:owner") {
        // a page of the site names who is logged in now (a key, or "" for nobody)
        event.waitUntil(
            currentOwner().then((owner) => (owner !== (data.key || "") ? setOwner(data.key || "") : undefined))
        );
    }
});
