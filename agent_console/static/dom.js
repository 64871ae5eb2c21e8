// @ts-check
/**
 * DOM helpers of the console. Every text from the server (names, messages, order items) goes
 * into the page as text nodes or attribute values: never as HTML.
 */

/** @typedef {Record<string, any>} Frame */
/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * What the page was rendered with: the agent, the CSRF token, the language and its texts.
 * @type {{agent: {id: string, name: string, role: string}, csrf: string, lang: string,
 *          strings: Record<string, string>}}
 */
export const BOOT = JSON.parse(document.getElementById("boot")?.textContent || "{}");

/**
 * A text of the console in its language; `{name}` placeholders are filled from `params`.
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 * @returns {string}
 */
export function t(key, params = {}) {
  let text = BOOT.strings?.[key] ?? key;
  for (const [name, value] of Object.entries(params)) {
    text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}

/**
 * A new element. `text` sets its text; `on<event>` adds a listener; `dataset` sets data-*;
 * other attributes are set as strings (false, null and undefined leave them out).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = String(value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/**
 * The element with this id (it must exist: the page template defines it).
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return /** @type {T} */ (node);
}

/**
 * "4:05" or "1:02:03" for a number of seconds.
 * @param {number} seconds
 * @returns {string}
 */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/**
 * A local date and time, in the console's language.
 * @param {number} ms
 * @param {boolean} [withTime]
 * @returns {string}
 */
export function when(ms, withTime = true) {
  const options = withTime
    ? { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }
    : { year: "numeric", month: "2-digit", day: "2-digit" };
  return new Date(ms).toLocaleString(BOOT.lang || "en", /** @type {any} */ (options));
}

/**
 * The time of day of a message.
 * @param {number} ms
 * @returns {string}
 */
export function clock(ms) {
  return new Date(ms).toLocaleTimeString(BOOT.lang || "en", { hour: "2-digit", minute: "2-digit" });
}

/**
 * An http(s) URL as is, anything else (javascript:, data:...) as "".
 * @param {unknown} url
 * @returns {string}
 */
export function safeUrl(url) {
  if (typeof url !== "string") return "";
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : "";
  } catch {
    return "";
  }
}

/**
 * A random id for client message ids (crypto.randomUUID needs a secure context).
 * @returns {string}
 */
export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Show a short message at the bottom of the page for a few seconds.
 * @param {string} text
 * @param {"info" | "error"} [kind]
 */
export function toast(text, kind = "info") {
  const box = byId("toasts");
  const item = el("div", { class: `toast ${kind}`, role: "status", text });
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}
