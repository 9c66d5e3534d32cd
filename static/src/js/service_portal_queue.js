/** @odoo-module **/
/**
 * The technician's answers given while offline (accept / decline taps), kept
 * in the browser's localStorage until the connection returns.
 *
 * An entry: { key, uid, offerId, action, url, fields: [[name, value], ...], queuedAt }.
 * One entry per offer: a newer answer to the same offer replaces the older one.
 * Entries belong to the user who made them (``uid``; false for a token link
 * opened without a login) and are only ever sent by that user's pages.
 */

const STORAGE_KEY = "crm_service_routing.service_queue";
const NOTICE_KEY = "crm_service_routing.service_queue_notices";
const USER_KEY = "crm_service_routing.service_queue_uid";
// where queued answers may go: the technician pages' own actions
const ACTION_PATH = /^\/my\/service\/offer\/\d+\/[a-z_]+$/;

function read(key) {
    try {
        const value = JSON.parse(window.localStorage.getItem(key) || "[]");
        return Array.isArray(value) ? value : [];
    } catch {
        return [];
    }
}

function write(key, list) {
    if (list.length) {
        window.localStorage.setItem(key, JSON.stringify(list));
    } else {
        window.localStorage.removeItem(key);
    }
}

/** Whether ``url`` is an action of the technician pages on this site. */
export function isActionUrl(url) {
    try {
        const parsed = new URL(url, window.location.origin);
        return parsed.origin === window.location.origin && ACTION_PATH.test(parsed.pathname);
    } catch {
        return false;
    }
}

/** The answers ``uid`` queued, oldest first. */
export function pendingEntries(uid) {
    return read(STORAGE_KEY).filter((entry) => entry.uid === uid && isActionUrl(entry.url));
}

/** Queue an answer; returns the stored entry. */
export function queueAnswer({ uid, offerId, action, url, fields }) {
    if (!isActionUrl(url)) {
        throw new Error(`not an action of the technician pages: ${url}`);
    }
    const entry = {
        key: `${uid || "token"}:${offerId}`,
        uid,
        offerId: String(offerId),
        action,
        url,
        fields,
        queuedAt: new Date().toISOString(),
    };
    const others = read(STORAGE_KEY).filter((item) => item.key !== entry.key);
    write(STORAGE_KEY, [...others, entry]);
    return entry;
}

/** Drop a queued answer (sent, or refused by the server). */
export function dropEntry(key) {
    write(
        STORAGE_KEY,
        read(STORAGE_KEY).filter((item) => item.key !== key)
    );
}

/**
 * Another user on this browser than last time: the last one's queued answers
 * cannot be sent for them any more (their session is gone). Returns whether
 * the user changed.
 */
export function switchUser(uid) {
    const last = window.localStorage.getItem(USER_KEY);
    const current = JSON.stringify(uid);
    if (last === current) {
        return false;
    }
    window.localStorage.setItem(USER_KEY, current);
    write(
        STORAGE_KEY,
        read(STORAGE_KEY).filter((item) => item.uid === uid)
    );
    write(NOTICE_KEY, []);
    return last !== null;
}

/** Messages to show on the next page (the outcome of a replay, across the reload). */
export function pushNotice(notice) {
    write(NOTICE_KEY, [...read(NOTICE_KEY), notice]);
}

export function takeNotices() {
    const notices = read(NOTICE_KEY);
    write(NOTICE_KEY, []);
    return notices;
}
