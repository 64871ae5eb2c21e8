// @ts-check
/**
 * Server-made HTML (a knowledge-base article, sanitised by the server) into the page, through
 * a second net: parsed inert, then rebuilt from an allowlist of plain formatting elements with
 * no attribute but an http(s) link's href. Shared by the widget and the console.
 */

// What an article may hold once inserted.
const TAGS = new Set("A B BLOCKQUOTE BR CODE DD DEL DL DT EM H1 H2 H3 H4 H5 H6 HR I LI OL P PRE S STRONG SUB SUP TABLE TBODY TD TFOOT TH THEAD TR U UL".split(" "));

/**
 * The article's HTML as inert nodes, keeping only plain formatting and http(s) links (opened
 * in a new tab): whatever the server let through, no script, style, frame or handler gets in.
 * @param {string} html
 * @returns {DocumentFragment}
 */
export function sift(html) {
  const template = document.createElement("template");
  template.innerHTML = html; // a template's content is inert: nothing runs or loads
  const out = document.createDocumentFragment();
  for (const node of Array.from(template.content.childNodes)) {
    const kept = keep(node);
    if (kept) out.append(kept);
  }
  return out;
}

/** @param {Node} node @returns {Node | null} */
function keep(node) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent || "");
  if (!(node instanceof Element)) return null;
  const children = Array.from(node.childNodes).map(keep).filter((n) => n !== null);
  if (!TAGS.has(node.tagName)) {
    // an unknown element's text stays (as text); script and style go whole
    if (node.tagName === "SCRIPT" || node.tagName === "STYLE") return null;
    const frag = document.createDocumentFragment();
    frag.append(.../** @type {Node[]} */ (children));
    return frag;
  }
  const copy = document.createElement(node.tagName.toLowerCase());
  const href = node.tagName === "A" ? node.getAttribute("href") || "" : "";
  if (/^https?:\/\//i.test(href)) {
    copy.setAttribute("href", href);
    copy.setAttribute("target", "_blank");
    copy.setAttribute("rel", "noopener noreferrer nofollow");
  }
  copy.append(.../** @type {Node[]} */ (children));
  return copy;
}


/**
 * The article's HTML as plain text for a chat message: blocks (paragraphs, headings, list
 * items, table rows) on lines of their own, list items marked with "• ", cells apart.
 * @param {string} html
 * @returns {string}
 */
export function plainText(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  /** @type {string[]} */
  const lines = [];
  let line = "";
  const end = () => {
    if (line.trim()) lines.push(line.trim());
    line = "";
  };
  /** @param {Node} node */
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) line += (node.textContent || "").replace(/\s+/g, " ");
    if (!(node instanceof Element) || node.tagName === "SCRIPT" || node.tagName === "STYLE") return;
    const block = /^(P|DIV|LI|H[1-6]|TR|BR|BLOCKQUOTE|PRE|TABLE|UL|OL|HR)$/.test(node.tagName);
    if (block) end();
    if (node.tagName === "LI") line = "• ";
    if ((node.tagName === "TD" || node.tagName === "TH") && line.trim()) line += " | ";
    node.childNodes.forEach(walk);
    if (block) end();
  };
  template.content.childNodes.forEach(walk);
  end();
  return lines.join("\n");
}
