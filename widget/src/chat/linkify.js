// @ts-check
/** Messages are text, never HTML: only http(s) URLs become links (rel=noopener). */

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"，。！？；：）]+$/;

/**
 * Fill `el` with `text`: text nodes, and <a> elements for http(s) URLs.
 * @param {HTMLElement} el
 * @param {string} text
 */
export function richText(el, text) {
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const start = match.index || 0;
    const url = match[0].replace(TRAILING, "");
    const href = safeHref(url);
    if (!href) continue;
    if (start > last) el.append(text.slice(last, start));
    const a = document.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    a.textContent = url;
    el.append(a);
    last = start + url.length;
  }
  if (last < text.length) el.append(text.slice(last));
}

/** @param {string} url */
export function safeHref(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : "";
  } catch (e) {
    return "";
  }
}
