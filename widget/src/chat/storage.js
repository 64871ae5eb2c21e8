// @ts-check
/**
 * What survives a reload, shared by the site's tabs (localStorage): the visitor token, the
 * conversation with its epoch, last synced id and recent entries, and the outbox. Each outbox
 * message has its own key, so that two tabs never overwrite each other's unsent messages.
 * A browser that refuses storage (private modes, quotas) gets a widget that forgets.
 */

/** @typedef {import("../types").Frame} Frame */

/**
 * @typedef {object} Saved
 * @property {string} [token]
 * @property {string} [conv]
 * @property {number} [epoch]
 * @property {string} [synced]
 * @property {Frame[]} [entries]
 * @property {string} [seen] the last agent message the shopper has seen
 * @property {boolean} [done] the conversation is over and the shopper saw it end
 * @property {Frame[]} [actions] rating, transcript request, email: waiting for the connection
 */

/**
 * @typedef {object} Outgoing
 * @property {string} cmid
 * @property {string} text
 * @property {string} conv conversation id ("" = start one with this message)
 * @property {number} t when it was written, ms
 * @property {Record<string, unknown>} [start] extra fields of the start frame
 * @property {Frame} [attachment] the uploaded file this message carries (attach.js)
 */

const MAX_ENTRIES = 200;

/** @param {string} site */
const prefix = (site) => "chatw:v1:" + site;

/** @param {string} site @returns {Saved} */
export function load(site) {
  try {
    return JSON.parse(localStorage.getItem(prefix(site)) || "{}");
  } catch (e) {
    return {};
  }
}

/** @param {string} site @param {Saved} state */
export function save(site, state) {
  const entries = state.entries || [];
  const data = { ...state, entries: entries.slice(-MAX_ENTRIES) };
  if (entries.length > MAX_ENTRIES) data.synced = "0-0"; // the next page load replays what was cut
  attempt(() => localStorage.setItem(prefix(site), JSON.stringify(data)));
}

/** @param {string} site @returns {Outgoing[]} */
export function outbox(site) {
  const found = [];
  try {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith(prefix(site) + ":out:")) found.push(JSON.parse(localStorage.getItem(key) || "null"));
    }
  } catch (e) {
    return [];
  }
  return found.filter(Boolean).sort((a, b) => a.t - b.t);
}

/** @param {string} site @param {Outgoing} item */
export function put(site, item) {
  attempt(() => localStorage.setItem(prefix(site) + ":out:" + item.cmid, JSON.stringify(item)));
}

/** @param {string} site @param {string} cmid */
export function drop(site, cmid) {
  attempt(() => localStorage.removeItem(prefix(site) + ":out:" + cmid));
}

/** Forget the visitor (the store's logout). @param {string} site */
export function clear(site) {
  attempt(() => {
    for (const key of Object.keys(localStorage)) if (key.startsWith(prefix(site))) localStorage.removeItem(key);
  });
  session(site, false);
}

/** Whether the panel was open in this tab (kept across page loads of the tab).
 * @param {string} site @param {boolean} [value] */
export function session(site, value) {
  try {
    if (value === undefined) return sessionStorage.getItem(prefix(site) + ":open") === "1";
    if (value) sessionStorage.setItem(prefix(site) + ":open", "1");
    else sessionStorage.removeItem(prefix(site) + ":open");
  } catch (e) {
    /* no storage: the panel starts closed */
  }
  return false;
}

/** @param {() => void} fn */
function attempt(fn) {
  try {
    fn();
  } catch (e) {
    /* storage full or refused: keep going in memory */
  }
}
