// @ts-check
/**
 * Proactive invitations, the rules: which of the site's rules (widget-config `invitations`)
 * fits this visitor now. Pure functions of plain values (no DOM, no storage, no clock): the
 * chat UI gathers the facts (invite_ui.js) and draws the greeting. docs/widget.md, section 8.
 */

/** @typedef {import("../types").Rule} Rule */

/**
 * What the chat UI knows about the visitor when it asks.
 * @typedef {object} Facts
 * @property {string} path the page's location.pathname
 * @property {number} seconds how long the page has been open
 * @property {{value: number, items: number}} cart from the page's `cart` context
 * @property {boolean} returning the visitor came before (an earlier visit, see `visit`)
 * @property {number} pages pages seen in this visit, this one included
 * @property {boolean} exitIntent the pointer left the window through its top (desktop)
 * @property {boolean} open within the site's business hours (widget-config `open`)
 * @property {boolean} room some online agent has a free slot (widget-config `room`)
 * @property {Record<string, number>} shown when each rule (by id) was last shown, ms
 * @property {number} now ms
 */

/**
 * How long the visitor's counts last between pages before the next page starts a new visit
 * (the usual analytics definition of a session).
 */
export const VISIT_GAP = 30 * 60 * 1000;
export const DAY = 24 * 60 * 60 * 1000;

/**
 * The first rule (in the site's order) that fits, or null.
 * @param {Rule[]} rules
 * @param {Facts} facts
 * @returns {Rule | null}
 */
export function pick(rules, facts) {
  return rules.find((rule) => matches(rule, facts)) || null;
}

/**
 * Whether every condition of `rule` holds (a condition left null or false is no condition).
 * @param {Rule} rule
 * @param {Facts} f
 */
export function matches(rule, f) {
  return (
    rule.enabled !== false &&
    !capped(rule, f.shown, f.now) &&
    (rule.url == null || glob(rule.url).test(f.path)) &&
    f.seconds >= (rule.seconds_on_page || 0) &&
    f.cart.value >= (rule.min_cart_value || 0) &&
    f.cart.items >= (rule.min_cart_items || 0) &&
    (rule.returning == null || rule.returning === f.returning) &&
    f.pages >= (rule.min_pages || 0) &&
    (!rule.exit_intent || f.exitIntent) &&
    (!rule.business_hours || f.open) &&
    (!rule.needs_room || f.room)
  );
}

/**
 * Whether the rule was shown to this visitor within its last `per_days` days (default 1;
 * 0 or less: no cap).
 * @param {Rule} rule
 * @param {Record<string, number>} shown
 * @param {number} now
 */
export function capped(rule, shown, now) {
  const days = rule.per_days == null ? 1 : rule.per_days;
  const last = shown[rule.id];
  return days > 0 && typeof last === "number" && now - last < days * DAY;
}

/**
 * A URL pattern as a RegExp over the whole path: `*` stands for any characters but `/`,
 * `**` for any characters at all; everything else is literal.
 * @param {string} pattern
 */
export function glob(pattern) {
  const source = pattern
    .split("**")
    .map((part) => part.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*"))
    .join(".*");
  return new RegExp("^" + source + "$");
}

/**
 * The cart's value and item count from the page's `cart` context (docs/widget.md section 4:
 * `{items: [{qty, ...}], total}`; `{value, items: n}` is understood too).
 * @param {Record<string, unknown> | null} cart
 */
export function cartFigures(cart) {
  if (!cart) return { value: 0, items: 0 };
  const value = Number(cart.total ?? cart.value) || 0;
  const items = Array.isArray(cart.items)
    ? cart.items.reduce((n, line) => n + (Number(line && line.qty) || 1), 0)
    : Number(cart.items) || 0;
  return { value, items };
}

/**
 * @typedef {object} Visits
 * @property {number} visits how many visits this browser made, this one included
 * @property {number} pages pages seen in the current visit
 * @property {number} last when the last page was seen, ms
 */

/**
 * The visitor's counts after one more page seen at `now`: a page more in this visit, or the
 * first page of a new visit after VISIT_GAP.
 * @param {Partial<Visits> | null} before
 * @param {number} now
 * @returns {Visits}
 */
export function visit(before, now) {
  const b = before || {};
  const fresh = !b.last || now - b.last > VISIT_GAP;
  return { visits: (b.visits || 0) + (fresh ? 1 : 0), pages: fresh ? 1 : (b.pages || 0) + 1, last: now };
}

/**
 * The rule's greeting in `lang` (else English, else any it has).
 * @param {Rule} rule
 * @param {string} lang
 */
export function message(rule, lang) {
  const texts = rule.messages || {};
  return texts[lang] || texts.en || Object.values(texts).find(Boolean) || "";
}
