// @ts-check
/**
 * The lightbox: an image of the conversation at full size, in a modal dialog (the browser
 * traps the focus in it and closes it on Escape). Closing it returns the focus to the
 * thumbnail that opened it, or to the same attachment's thumbnail when the transcript was
 * redrawn meanwhile.
 */
import { el, t } from "./dom.js";

/** @typedef {import("./dom.js").Frame} Frame */

/** @type {HTMLDialogElement | null} */
let dialog = null;
/** @type {{opener: HTMLElement, id: string} | null} */
let from = null;

/**
 * @param {Frame} att an ATTACHMENT with fresh URLs
 * @param {HTMLElement} opener
 */
export function openLightbox(att, opener) {
  const box = dialog || build();
  from = { opener, id: String(att.id) };
  const img = /** @type {HTMLImageElement} */ (box.querySelector("img"));
  img.src = att.url;
  img.alt = att.name;
  /** @type {HTMLElement} */ (box.querySelector(".lightbox-name")).textContent = att.name;
  /** @type {HTMLAnchorElement} */ (box.querySelector("a")).href = att.url;
  box.setAttribute("aria-label", att.name);
  box.showModal();
  /** @type {HTMLElement} */ (box.querySelector("button")).focus();
}

/** @returns {HTMLDialogElement} */
function build() {
  const close = el("button", { type: "button", class: "lightbox-close", text: t("close") });
  const box = /** @type {HTMLDialogElement} */ (el("dialog", { id: "lightbox", class: "lightbox" },
    el("img", { alt: "" }),
    el("p", { class: "lightbox-bar" },
      el("span", { class: "lightbox-name" }),
      el("a", { target: "_blank", rel: "noopener noreferrer", text: t("attach_open_original") }),
      close)));
  close.addEventListener("click", () => box.close());
  box.addEventListener("click", (event) => {
    if (event.target === box) box.close(); // a click on the backdrop
  });
  box.addEventListener("close", returnFocus);
  document.body.append(box);
  dialog = box;
  return box;
}

function returnFocus() {
  if (!from) return;
  const { opener, id } = from;
  from = null;
  const target = opener.isConnected ? opener
    : /** @type {HTMLElement | null} */ (document.querySelector(`[data-attachment-id="${CSS.escape(id)}"]`));
  target?.focus();
}
