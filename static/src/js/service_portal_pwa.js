/** @odoo-module **/
/**
 * The technician pages as an app (crm_service_routing):
 * - registers the service worker of /my/service (offline copies of the pages);
 * - shows a banner while offline, or while the page is the last loaded copy;
 * - queues accept / decline taps made offline, shows them as pending on the
 *   offer (detail page and list row), and sends them once the connection
 *   returns, one by one, as JSON requests.
 * Online, the forms post as usual: nothing here is needed for that.
 */
import { _t } from "@web/core/l10n/translation";
import { user } from "@web/core/user";
import publicWidget from "@web/legacy/js/public/public_widget";

import {
    dropEntry,
    pendingEntries,
    pushNotice,
    queueAnswer,
    switchUser,
    takeNotices,
} from "./service_portal_queue";

const SW_URL = "/my/service/sw.js";
const SW_SCOPE = "/my/service";
const PAGE_CACHE_PREFIX = "crm_service_routing-pages-";
const OWNER_CACHE = "crm_service_routing-owner";
const OWNER_URL = "/my/service/__owner__";
const KEY_PATTERN = /^[0-9]+-[0-9]+$/;
const RETRY_MS = 30000;

/**
 * Whose pages this page may keep: "<user id>-<company id>" as the technician
 * pages render it (meta service-cache-key), or for any other page of the site
 * the logged-in user's id alone ("" for nobody). Odoo 18 no longer keeps the
 * user's id in the session object: it comes from the page.
 */
function pageOwner() {
    const meta = document.querySelector("meta[name='service-cache-key']");
    const key = meta ? meta.getAttribute("content") || "" : "";
    if (KEY_PATTERN.test(key)) {
        return { key, uid: key.split("-")[0] };
    }
    return { key: null, uid: user.userId ? String(user.userId) : "" };
}

function keyUser(key) {
    return KEY_PATTERN.test(key || "") ? key.split("-")[0] : "";
}

/**
 * Drop the kept pages of anyone but the user (and company) of this page. Runs on
 * every page of the site, the login page included: whoever logs in next on a
 * shared phone, however the last session ended, never gets the last one's pages.
 */
async function checkOwner() {
    if (!window.caches || offlineCopy()) {
        return;
    }
    const { key, uid } = pageOwner();
    const cached = await window.caches.match(OWNER_URL, { cacheName: OWNER_CACHE });
    const owner = cached ? await cached.text() : "";
    const changed = key ? owner !== key : keyUser(owner) !== uid;
    if (!changed) {
        return;
    }
    const keep = key ? `${PAGE_CACHE_PREFIX}v2-${key}` : null;
    for (const name of await window.caches.keys()) {
        if (name.startsWith(PAGE_CACHE_PREFIX) && name !== keep) {
            await window.caches.delete(name);
        }
    }
    const ownerCache = await window.caches.open(OWNER_CACHE);
    if (key) {
        await ownerCache.put(OWNER_URL, new Response(key, { headers: { "Content-Type": "text/plain" } }));
    } else {
        await ownerCache.delete(OWNER_URL);
    }
}

// every page of the site: the technician pages and the others (login, portal home)
const ownerChecked = checkOwner().catch(() => {});

function offlineCopy() {
    return Boolean(document.body && document.body.hasAttribute("data-service-offline-copy"));
}

function isOffline() {
    return !navigator.onLine || offlineCopy();
}

function actionLabel(action) {
    if (action === "accept") {
        return _t("Accepted offline.");
    }
    if (action === "decline") {
        return _t("Declined offline.");
    }
    return _t("Answered offline.");
}

async function forgetPages() {
    if (!window.caches) {
        return;
    }
    for (const name of await window.caches.keys()) {
        if (name.startsWith(PAGE_CACHE_PREFIX) || name === OWNER_CACHE) {
            await window.caches.delete(name);
        }
    }
}

publicWidget.registry.ServicePortalPwa = publicWidget.Widget.extend({
    selector: ".o_service_portal",
    events: {
        "submit form.o_service_queueable": "_onSubmitQueueable",
    },

    start() {
        // the logged-in user (Odoo 18: @web/core/user, no longer session.uid); a token
        // link opened without a login: false
        this.uid = user.userId || false;
        this.ownerChecked = ownerChecked;
        this._flushing = false;
        this._retryTimer = null;
        this._onOnline = this._onOnline.bind(this);
        this._onOffline = this._renderBanner.bind(this);
        this._onLogout = this._onLogout.bind(this);
        window.addEventListener("online", this._onOnline);
        window.addEventListener("offline", this._onOffline);
        // the logout link sits in the header, outside the technician's page
        document.addEventListener("click", this._onLogout, true);
        if (!offlineCopy() && switchUser(this.uid)) {
            // pages another user loaded on this browser are not shown offline to this one
            forgetPages();
        }
        this._renderBanner();
        this._renderNotices(takeNotices());
        this._renderPending();
        this._registerWorker();
        if (!isOffline()) {
            this._flush();
        } else {
            this._scheduleRetry();
        }
        return this._super(...arguments);
    },

    destroy() {
        window.removeEventListener("online", this._onOnline);
        window.removeEventListener("offline", this._onOffline);
        document.removeEventListener("click", this._onLogout, true);
        clearTimeout(this._retryTimer);
        this._super(...arguments);
    },

    //--------------------------------------------------------------------------
    // Service worker
    //--------------------------------------------------------------------------

    async _registerWorker() {
        if (!("serviceWorker" in navigator) || !window.isSecureContext) {
            return;
        }
        try {
            await navigator.serviceWorker.register(SW_URL, { scope: SW_SCOPE });
            if (!navigator.serviceWorker.controller) {
                // loaded before the worker controlled it: have it kept now
                const registration = await navigator.serviceWorker.ready;
                const urls = [
                    window.location.href,
                    ...[...document.querySelectorAll("script[src]")].map((el) => el.src),
                    ...[...document.querySelectorAll("link[rel='stylesheet'][href]")].map((el) => el.href),
                ];
                registration.active?.postMessage({ type: "crm_service_routing:keep", urls });
            }
        } catch {
            // no worker (private mode, old browser): the pages still work online
        }
    },

    //--------------------------------------------------------------------------
    // Rendering
    //--------------------------------------------------------------------------

    _prependAlert(className, ...children) {
        const alert = document.createElement("div");
        alert.className = `alert ${className} d-flex align-items-start gap-2 mb-3`;
        alert.setAttribute("role", "status");
        alert.append(...children);
        this.el.prepend(alert);
        return alert;
    },

    _renderBanner() {
        const show = isOffline();
        let banner = this.el.querySelector(".o_service_offline_banner");
        if (show && !banner) {
            const icon = document.createElement("i");
            icon.className = "fa fa-wifi";
            icon.setAttribute("aria-hidden", "true");
            const text = document.createElement("span");
            text.textContent = _t("Offline — showing the last loaded copy.");
            banner = this._prependAlert("alert-warning o_service_offline_banner", icon, text);
        } else if (!show && banner) {
            banner.remove();
        }
    },

    _renderNotices(notices) {
        for (const notice of notices) {
            const text = document.createElement("span");
            text.textContent = notice.message;
            this._prependAlert(
                notice.ok ? "alert-success o_service_sent" : "alert-danger o_service_failed",
                text
            );
        }
    },

    _renderPending() {
        for (const el of this.el.querySelectorAll(".o_service_pending")) {
            el.remove();
        }
        for (const el of this.el.querySelectorAll(".o_service_pending_hidden")) {
            el.classList.remove("o_service_pending_hidden", "d-none");
        }
        for (const el of this.el.querySelectorAll(".o_service_pending_row")) {
            el.classList.remove("o_service_pending_row");
        }
        for (const entry of pendingEntries(this.uid)) {
            const targets = this.el.querySelectorAll(`[data-offer-id="${CSS.escape(entry.offerId)}"]`);
            let shownOnForms = false;
            for (const target of targets) {
                if (target.matches("form.o_service_queueable")) {
                    // the answer is given: its buttons go until it is sent
                    if (!shownOnForms) {
                        target.before(this._pendingBadge(entry, "alert alert-info"));
                        shownOnForms = true;
                    }
                    target.classList.add("o_service_pending_hidden", "d-none");
                } else if (!target.matches("form")) {
                    target.classList.add("o_service_pending_row");
                    target.append(this._pendingBadge(entry, "badge text-bg-info text-wrap"));
                }
            }
        }
    },

    _pendingBadge(entry, className) {
        const badge = document.createElement("div");
        badge.className = `o_service_pending ${className}`;
        badge.setAttribute("role", "status");
        badge.dataset.pendingOfferId = entry.offerId;
        badge.dataset.pendingAction = entry.action;
        const icon = document.createElement("i");
        icon.className = "fa fa-clock-o me-1";
        icon.setAttribute("aria-hidden", "true");
        const label = document.createElement("strong");
        label.className = "me-1";
        label.textContent = actionLabel(entry.action);
        const text = document.createElement("span");
        text.textContent = _t("Pending — will be sent when you are back online.");
        badge.append(icon, label, text);
        return badge;
    },

    //--------------------------------------------------------------------------
    // Queue
    //--------------------------------------------------------------------------

    _onSubmitQueueable(ev) {
        if (!isOffline()) {
            return; // a normal post
        }
        const form = ev.currentTarget;
        ev.preventDefault();
        const fields = [...new FormData(form, ev.originalEvent?.submitter || null).entries()].filter(
            ([, value]) => typeof value === "string"
        );
        queueAnswer({
            uid: this.uid,
            offerId: form.dataset.offerId,
            action: form.dataset.serviceAction,
            url: form.action,
            fields,
        });
        this._renderPending();
        this._scheduleRetry();
    },

    _onLogout(ev) {
        const link = ev.target.closest && ev.target.closest("a[href*='/web/session/logout']");
        if (link && window.caches) {
            // whoever uses this phone next does not see this user's pages offline
            ev.preventDefault();
            forgetPages().finally(() => window.location.assign(link.href));
        }
    },

    _onOnline() {
        this._renderBanner();
        if (pendingEntries(this.uid).length) {
            this._flush();
        } else if (offlineCopy()) {
            // back online on the last loaded copy: show the current one
            window.location.reload();
        }
    },

    _scheduleRetry() {
        clearTimeout(this._retryTimer);
        if (pendingEntries(this.uid).length) {
            this._retryTimer = setTimeout(() => this._flush(), RETRY_MS);
        }
    },

    /**
     * Send the queued answers one by one. A network error stops the round
     * (the rest wait for the next one); a 4xx drops the answer and says why;
     * a 5xx keeps it for the next round. Once something was sent or refused,
     * the page reloads to show the offers as they now are.
     */
    async _flush() {
        if (this._flushing || !navigator.onLine) {
            this._scheduleRetry();
            return;
        }
        this._flushing = true;
        let settled = 0;
        try {
            for (const entry of pendingEntries(this.uid)) {
                const body = new URLSearchParams();
                for (const [name, value] of entry.fields) {
                    // a page loaded now carries a token of the current session
                    body.append(
                        name,
                        name === "csrf_token" && !offlineCopy() && window.odoo?.csrf_token
                            ? window.odoo.csrf_token
                            : value
                    );
                }
                let response;
                try {
                    response = await fetch(entry.url, {
                        method: "POST",
                        body,
                        credentials: "same-origin",
                        headers: { Accept: "application/json" },
                    });
                } catch {
                    break; // the network is still away
                }
                let data = {};
                try {
                    data = await response.json();
                } catch {
                    data = {};
                }
                if (response.ok && data.ok) {
                    dropEntry(entry.key);
                    pushNotice({ ok: true, message: String(_t("Your answer given offline has been sent.")) });
                    settled++;
                } else if (response.status >= 400 && response.status < 500) {
                    dropEntry(entry.key);
                    pushNotice({
                        ok: false,
                        message: String(
                            _t("Your answer given offline could not be sent: %(error)s", {
                                error:
                                    data.error ||
                                    String(_t("the server refused it (HTTP %(status)s).", { status: response.status })),
                            })
                        ),
                    });
                    settled++;
                } else {
                    break; // the server is in trouble: try again later
                }
            }
        } finally {
            this._flushing = false;
        }
        if (settled) {
            window.location.reload();
        } else {
            this._scheduleRetry();
        }
    },
});

export default publicWidget.registry.ServicePortalPwa;
