// @ts-check
/** Messages are text, never HTML: only http(s) URLs become links. Shared by both front ends. */

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"，。！？；：）]+$/;

/**
 * @typedef {object} Piece
 * @property {string} text
 * @property {string} [href] set when the piece is a link (an http(s) URL, normalised)
 */

/**
 * `text` cut into plain pieces and links, in order; joined, the pieces' texts are `text`.
 * @param {string} text
 * @returns {Piece[]}
 */
export function splitLinks(text) {
  /** @type {Piece[]} */
  const pieces = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const start = match.index || 0;
    const url = match[0].replace(TRAILING, "");
    const href = safeHref(url);
    if (!href) continue;
    if (start > last) pieces.push({ text: text.slice(last, start) });
    pieces.push({ text: url, href });
    last = start + url.length;
  }
  if (last < text.length) pieces.push({ text: text.slice(last) });
  return pieces;
}

/**
 * Fill `el` with `text`: text nodes, and <a target=_blank rel=noopener> for http(s) URLs.
 * @param {HTMLElement} el
 * @param {string} text
 */
export function richText(el, text) {
  for (const piece of splitLinks(text)) {
    if (!piece.href) {
      el.append(piece.text);
      continue;
    }
    const a = document.createElement("a");
    a.href = piece.href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    a.textContent = piece.text;
    el.append(a);
  }
}

/**
 * An http(s) URL as the browser normalises it, anything else (javascript:, data:...) as "".
 * @param {unknown} url
 * @returns {string}
 */
export function safeHref(url) {
  if (typeof url !== "string") return "";
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : "";
  } catch (e) {
    return "";
  }
}
