// @ts-check
/**
 * Files in the console (docs/console.md, "Files"): the agent attaches one (the button, a
 * pasted or dropped image), sees it before sending, watches it upload (XMLHttpRequest, for its
 * progress events; retried with the same client message id after a network failure, so the
 * server stores it once), then its message goes through the chat's outbox like any other.
 * Also: attachments drawn in transcripts (a thumbnail opening the lightbox, a file link), a
 * fresh signed URL fetched when one has expired, and the files of a conversation in the panel.
 */
import { newCmid } from "../../client/ids.js";
import { api } from "./api.js";
import { BOOT, byId, el, t, toast } from "./dom.js";
import { openLightbox } from "./lightbox.js";

/** @typedef {import("./dom.js").Frame} Frame */
/** @typedef {import("./chats.js").Chat} Chat */
/** @typedef {import("./socket.js").AgentSocket} AgentSocket */
/**
 * @typedef {object} Upload a file on its way to a conversation
 * @property {string} cmid
 * @property {string} conv
 * @property {string} text
 * @property {File} file
 * @property {number} progress 0 to 1
 * @property {"up" | "wait" | "no"} state uploading, to try again, refused
 * @property {string} [error]
 * @property {number} tries
 * @property {HTMLElement} node its transcript item, updated in place
 * @property {number} [timer]
 */

const BACKOFF_MS = [1000, 3000, 10000, 30000];
const AGAIN = ["rate_limited", "failed"]; // worth a Retry button
/** @type {Set<string>} URLs already replaced once (a broken file is not asked for again and again) */
const refreshed = new Set();

export class Attach {
  /**
   * @param {Map<string, Chat>} chats
   * @param {AgentSocket} socket
   * @param {(conversationId: string) => void} render redraw a chat
   */
  constructor(chats, socket, render) {
    this.chats = chats;
    this.socket = socket;
    this.render = render;
    /** @type {Map<string, Upload>} */
    this.uploads = new Map();
    /** @type {File | null} the file shown before sending */
    this.chosen = null;
    this.composer = /** @type {HTMLTextAreaElement} */ (byId("composer"));
    this.tray = el("div", { id: "attach-tray", class: "attach-tray", hidden: true });
    this.input = /** @type {HTMLInputElement} */ (el("input", { type: "file", id: "attach-input", hidden: true,
      accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain" }));
    this.button = el("button", { type: "button", id: "attach", class: "link attach", title: t("attach_file"),
      "aria-label": t("attach_file"), text: "📎" });
    this.wire();
  }

  wire() {
    this.composer.before(this.tray);
    byId("send").before(this.button, this.input);
    this.button.addEventListener("click", () => !this.composer.disabled && this.input.click());
    this.input.addEventListener("change", () => {
      if (this.input.files?.[0]) this.pick(this.input.files[0]);
      this.input.value = "";
    });
    this.composer.addEventListener("paste", (event) => {
      const file = [...(event.clipboardData?.files || [])].find((f) => f.type.startsWith("image/"));
      if (!file) return;
      event.preventDefault();
      this.pick(file);
    });
    const area = /** @type {HTMLElement} */ (this.composer.closest(".conversation"));
    const files = (/** @type {DragEvent} */ e) => Boolean(e.dataTransfer?.types.includes("Files")) && !this.composer.disabled;
    area.addEventListener("dragover", (event) => {
      if (!files(event)) return;
      event.preventDefault();
      area.classList.add("dropping");
    });
    area.addEventListener("dragleave", (event) => {
      if (!area.contains(/** @type {Node | null} */ (event.relatedTarget))) area.classList.remove("dropping");
    });
    area.addEventListener("drop", (event) => {
      area.classList.remove("dropping");
      if (!files(event)) return;
      event.preventDefault();
      const file = event.dataTransfer?.files[0];
      if (file) this.pick(file);
    });
  }

  /** @param {File} file */
  pick(file) {
    this.chosen = file;
    const remove = el("button", { type: "button", class: "link", text: t("remove"),
      "aria-label": t("attach_remove", { name: file.name }), onclick: () => this.unpick() });
    const url = file.type.startsWith("image/") ? URL.createObjectURL(file) : "";
    const name = el("span", { class: "name", text: `${file.name} · ${size(file.size)}` });
    this.tray.replaceChildren(...(url ? [el("img", { src: url, alt: "", onload: () => URL.revokeObjectURL(url) })] : []), name, remove);
    this.tray.hidden = false;
    this.composer.focus();
  }

  /** Forget the chosen file (removed, sent, or another chat selected: never the wrong customer). */
  unpick() {
    this.chosen = null;
    this.tray.replaceChildren();
    this.tray.hidden = true;
  }

  /**
   * Send the chosen file to a chat, `text` as its caption.
   * @param {Chat} chat
   * @param {string} text
   */
  send(chat, text) {
    if (!this.chosen) return;
    /** @type {Upload} */
    const item = { cmid: newCmid("c"), conv: chat.id, text, file: this.chosen, progress: 0, state: "wait", tries: 0,
      node: el("li", { class: "entry message agent pending upload" }) };
    this.unpick();
    this.uploads.set(item.cmid, item);
    item.node.dataset.cmid = item.cmid;
    this.upload(item);
  }

  /** @param {Upload} item */
  upload(item) {
    clearTimeout(item.timer);
    if (!this.uploads.has(item.cmid)) return;
    const xhr = new XMLHttpRequest();
    Object.assign(item, { state: "up", progress: 0, error: undefined });
    xhr.open("POST", `/api/v1/conversations/${encodeURIComponent(item.conv)}/attachments`);
    xhr.setRequestHeader("X-CSRF-Token", BOOT.csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      item.progress = event.lengthComputable ? event.loaded / event.total : 0;
      this.draw(item);
    });
    xhr.addEventListener("load", () => this.answered(item, xhr));
    xhr.addEventListener("error", () => this.later(item));
    const form = new FormData();
    form.append("client_msg_id", item.cmid);
    form.append("file", item.file, item.file.name || "file");
    xhr.send(form);
    this.draw(item);
    this.render(item.conv);
  }

  /**
   * @param {Upload} item
   * @param {XMLHttpRequest} xhr
   */
  answered(item, xhr) {
    /** @type {Frame} */
    let body = {};
    try {
      body = JSON.parse(xhr.responseText);
    } catch {
      // not JSON (a proxy's page): the status says enough
    }
    if ((xhr.status === 200 || xhr.status === 201) && body.attachment) return this.uploaded(item, body.attachment);
    if (xhr.status >= 500 || !xhr.status) return this.later(item);
    if (xhr.status === 401) location.assign("/console/login");
    item.state = "no";
    item.error = String(body.error || "failed");
    toast(errorText(item.error), "error");
    this.draw(item);
  }

  /** @param {Upload} item */
  later(item) {
    item.state = "wait";
    item.timer = window.setTimeout(() => this.upload(item), BACKOFF_MS[Math.min(item.tries++, BACKOFF_MS.length - 1)]);
    this.draw(item);
  }

  /**
   * Stored: its message joins the chat's outbox (resent after a reconnect until acked).
   * @param {Upload} item
   * @param {Frame} attachment
   */
  uploaded(item, attachment) {
    this.uploads.delete(item.cmid);
    const chat = this.chats.get(item.conv);
    if (!chat) return;
    const frame = { type: "message", conversation_id: chat.id, client_msg_id: item.cmid, text: item.text,
      attachment_id: attachment.id };
    chat.outbox.set(item.cmid, { ...frame, attachment, ts: Date.now(),
      from: { role: "agent", id: BOOT.agent.id, name: BOOT.agent.name } });
    this.socket.send(frame);
    this.render(chat.id);
  }

  /** @param {string} cmid */
  remove(cmid) {
    const item = this.uploads.get(cmid);
    if (!item) return;
    clearTimeout(item.timer);
    this.uploads.delete(cmid);
    this.render(item.conv);
  }

  /**
   * The uploads of a chat, as transcript items (the same nodes each time: their progress is
   * updated in place).
   * @param {string} conversationId
   * @returns {HTMLElement[]}
   */
  pending(conversationId) {
    return [...this.uploads.values()].filter((u) => u.conv === conversationId).map((u) => u.node);
  }

  /** @param {Upload} item */
  draw(item) {
    const pct = Math.round(item.progress * 100);
    const bar = el("progress", { max: 100, value: pct, "aria-label": t("attach_uploading", { pct }) });
    const status = el("div", { class: `status${item.state === "no" ? " error" : ""}`,
      text: item.state === "no" ? errorText(item.error || "failed") : t("attach_uploading", { pct }) });
    if (item.state === "no") {
      if (AGAIN.includes(item.error || "")) {
        status.append(" ", el("button", { type: "button", class: "link", text: t("attach_retry"), onclick: () => this.upload(item) }));
      }
      status.append(" ", el("button", { type: "button", class: "link", text: t("remove"), onclick: () => this.remove(item.cmid) }));
    }
    item.node.replaceChildren(
      el("div", { class: "meta" }, el("span", { class: "who", text: BOOT.agent.name })),
      el("div", { class: "attachment file", text: `${item.file.name} · ${size(item.file.size)}` }),
      el("div", { class: "text", text: item.text }), ...(item.state === "no" ? [] : [bar]), status);
  }
}

/**
 * An attachment in a transcript: an image's thumbnail (opening the lightbox) or a file link.
 * @param {Frame} att an ATTACHMENT (docs/protocol.md)
 * @param {string} conversationId
 * @returns {HTMLElement}
 */
export function figure(att, conversationId) {
  if (!att.thumb_url) {
    const link = el("a", { class: "attachment file", href: att.url, target: "_blank", rel: "noopener noreferrer",
      dataset: { attachmentId: att.id } }, el("span", { class: "name", text: att.name }), el("span", { class: "size", text: size(att.size) }));
    link.addEventListener("click", (event) => {
      if (Date.now() < att.expires) return;
      event.preventDefault(); // expired: fetch a fresh link and follow it
      void fresh(att, conversationId).then(() => window.open(att.url, "_blank", "noopener"));
    });
    return link;
  }
  const img = /** @type {HTMLImageElement} */ (el("img", { src: att.thumb_url, alt: att.name, loading: "lazy" }));
  if (att.width && att.height) img.style.aspectRatio = `${att.width} / ${att.height}`;
  img.addEventListener("error", () => {
    const stale = String(att.thumb_url);
    if (refreshed.has(stale)) return;
    refreshed.add(stale); // once per URL: an expired one, not a broken file
    void fresh(att, conversationId).then(() => (img.src = att.thumb_url));
  });
  const button = el("button", { type: "button", class: "attachment thumb", dataset: { attachmentId: att.id },
    "aria-label": t("attach_open_image", { name: att.name }) }, img);
  button.addEventListener("click", async () => {
    if (Date.now() >= att.expires) await fresh(att, conversationId);
    openLightbox(att, button);
  });
  return button;
}

/**
 * Fresh signed URLs for an attachment, written into it (the transcript's entry keeps them).
 * @param {Frame} att
 * @param {string} conversationId
 */
async function fresh(att, conversationId) {
  try {
    const data = await api("GET", `/api/v1/conversations/${encodeURIComponent(conversationId)}/attachments/${encodeURIComponent(att.id)}`);
    Object.assign(att, data.attachment);
  } catch {
    // gone or not ours any more: the old link stays
  }
}

/**
 * The customer panel's list of a conversation's files; it fills itself.
 * @param {string} conversationId
 * @returns {HTMLElement}
 */
export function filesSection(conversationId) {
  const list = el("ul", { class: "files-list" }, el("li", { class: "loading", text: t("loading") }));
  const section = el("section", { class: "files", "aria-label": t("panel_files") }, el("h4", { text: t("panel_files") }), list);
  api("GET", `/api/v1/conversations/${encodeURIComponent(conversationId)}/attachments`).then(
    (data) => {
      const files = /** @type {Frame[]} */ (data.attachments || []);
      list.replaceChildren(...files.map((att) => el("li", {}, figure(att, conversationId),
        att.thumb_url ? el("span", { class: "size", text: `${att.name} · ${size(att.size)}` }) : null)));
      if (!files.length) list.replaceChildren(el("li", { class: "none", text: t("files_none") }));
    },
    () => list.replaceChildren(el("li", { class: "error", text: t("files_failed") })));
  return section;
}

/**
 * A file arrived in a conversation: the panel's list is fetched again if it shows that one.
 * @param {string} conversationId
 */
export function refreshFiles(conversationId) {
  const shown = document.querySelector("#panel .files");
  if (shown && byId("panel").dataset.conversationId === conversationId) shown.replaceWith(filesSection(conversationId));
}

/**
 * @param {string} code the upload's error code (docs/api.md)
 * @returns {string}
 */
function errorText(code) {
  const known = ["too_large", "unsupported_type", "bad_file", "rate_limited", "conversation_full", "conversation_closed", "forbidden"];
  return t(known.includes(code) ? `attach_error_${code}` : "attach_error_failed");
}

/**
 * "830 B", "14 KB", "2.5 MB"
 * @param {number} bytes
 * @returns {string}
 */
export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
