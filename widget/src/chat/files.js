// @ts-check
/**
 * Attachments in the transcript (docs/widget.md section 8, "Files"): an image is a thumbnail
 * linking to the full image, a PDF or text file a link with its name and size. Their signed
 * URLs are short-lived: an image that fails to load, or a link clicked after its expiry, asks
 * the server for fresh ones (GET .../attachments/{id}) and tries once more.
 */

import { h } from "./view.js";

/** @typedef {import("../types").Frame} Frame */
/** @typedef {{chat: import("./index.js").Chat, api(conv: string, id: string): string}} Owner */

/** "830 B", "14 KB", "2.5 MB" @param {number} bytes */
export function size(bytes) {
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1048576) return Math.round(bytes / 1024) + " KB";
  return (Math.round(bytes / 104857.6) / 10).toFixed(1) + " MB";
}

/**
 * @param {Owner} owner
 * @param {Frame} att an ATTACHMENT (docs/protocol.md)
 * @param {string} conv
 */
export function figure(owner, att, conv) {
  const abs = (/** @type {string} */ url) => new URL(url, owner.chat.host.opts.base).href; // URLs are paths
  const link = h("a", { class: "at", href: abs(att.url), target: "_blank", rel: "noopener noreferrer" });
  link.onclick = (e) => {
    if (Date.now() < att.expires) return;
    e.preventDefault(); // expired: a fresh link, then the shopper's click works again
    refresh(owner, att, conv, () => (link.href = abs(att.url)));
  };
  if (!att.thumb_url) {
    link.classList.add("fi");
    link.append(h("span", { class: "fn" }, [att.name]), h("span", {}, [size(att.size)]));
    return link;
  }
  const img = h("img", { src: abs(att.thumb_url), alt: att.name });
  if (att.width && att.height) img.style.aspectRatio = att.width + "/" + att.height;
  let retried = false;
  img.onerror = () => {
    if (retried) return;
    retried = true; // once: an expired URL, not a broken file
    refresh(owner, att, conv, () => {
      img.src = abs(att.thumb_url);
      link.href = abs(att.url);
    });
  };
  link.append(img);
  return link;
}

/** Renewals under way, by attachment id: a transcript drawn twice asks once.
 * @type {Map<string, Promise<{attachment: Frame}>>} */
const renewing = new Map();

/**
 * Fresh signed URLs of an attachment, written into it (the saved transcript keeps them).
 * @param {Owner} owner
 * @param {Frame} att
 * @param {string} conv
 * @param {() => void} done
 */
function refresh(owner, att, conv, done) {
  const chat = owner.chat;
  if (!chat.saved.token || !conv || !att.id) return;
  let pending = renewing.get(att.id);
  if (!pending) {
    pending = fetch(owner.api(conv, att.id), { headers: { Authorization: "Bearer " + chat.saved.token } })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error("attachment: HTTP " + r.status))))
      .finally(() => renewing.delete(att.id));
    renewing.set(att.id, pending);
  }
  pending
    .then((/** @type {{attachment: Frame}} */ body) => {
      Object.assign(att, body.attachment);
      chat.schedulePersist();
      done();
    })
    .catch((/** @type {unknown} */ e) => console.warn("[chat widget]", e));
}
