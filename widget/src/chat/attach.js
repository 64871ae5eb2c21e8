// @ts-check
/**
 * Files in the widget (docs/widget.md section 8, "Files"): the attach button, paste and drop
 * of images, the preview before sending, the upload (XMLHttpRequest: fetch reports no upload
 * progress) with its progress bar and its retries (same client message id: the server stores
 * the file once), and the attachment at the top of its message bubble (files.js draws the
 * server's). Nothing here is drawn when the site's widget-config has no `attachments`.
 */

import { newCmid } from "../../../client/ids.js";
import { figure, size } from "./files.js";
import * as storage from "./storage.js";
import { h } from "./view.js";

/** @typedef {import("../types").Frame} Frame */
/** @typedef {import("./index.js").Chat} Chat */
/** @typedef {import("./view.js").View} View */
/**
 * A file on its way: "up" uploading, "wait" to be tried again, "no" refused by the server.
 * @typedef {import("./storage.js").Outgoing & {file: File, preview: string, progress: number,
 *   state: "up" | "wait" | "no", error?: string, tries: number, timer?: ReturnType<typeof setTimeout>,
 *   xhr?: XMLHttpRequest}} Upload
 */

const CLIP = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z"/></svg>';
const BACKOFF_MS = [1000, 3000, 10000, 30000];
/** @type {Record<string, string>} the upload's error codes (docs/api.md) and their texts */
const ERRORS = { too_large: "fileTooLarge", unsupported_type: "fileType", bad_file: "fileBad", rate_limited: "fileRate", conversation_full: "fileFull", conversation_closed: "ended" };
const AGAIN = ["rate_limited", "failed"]; // worth a Retry button

export class Attach {
  /** @param {Chat} chat */
  constructor(chat) {
    this.chat = chat;
    /** @type {Map<string, Upload>} by client message id */
    this.uploads = new Map();
    /** @type {File | null} the file in the preview, sent with the next message */
    this.chosen = null;
    this.url = "";
    /** @type {View | undefined} */
    this.view = undefined;
    this.tray = h("div", { class: "ap" });
    this.alert = h("p", { class: "e ae", role: "alert" });
    this.button = h("button", { class: "ab", type: "button" });
    this.input = h("input", { type: "file", hidden: "" });
  }

  /** The site's limits, or null: attachments are off. */
  limits() {
    return this.chat.host.config.attachments || null;
  }

  /** Put the button, the file picker and the preview into the composer.
   * @param {View} view */
  mount(view) {
    this.view = view;
    const limits = this.limits();
    if (!limits) return;
    this.button.innerHTML = CLIP;
    this.input.accept = limits.types.join(",");
    // Drawn left of the text (CSS order); Tab goes text, Send, then this button.
    view.sendBtn.after(this.button, this.input);
    view.input.parentElement?.before(this.tray, this.alert);
    this.button.onclick = () => this.input.click();
    this.input.onchange = () => {
      const file = this.input.files && this.input.files[0];
      if (file) this.pick(file);
      this.input.value = "";
    };
    view.input.addEventListener("paste", (e) => {
      const file = [...((e.clipboardData && e.clipboardData.files) || [])].find((f) => f.type.startsWith("image/"));
      if (file) {
        e.preventDefault();
        this.pick(file);
      }
    });
    const panel = view.panel;
    const files = (/** @type {DragEvent} */ e) => Boolean(e.dataTransfer && e.dataTransfer.types.includes("Files")) && !view.composer.hidden;
    panel.addEventListener("dragover", (e) => {
      if (!files(e)) return;
      e.preventDefault();
      panel.classList.add("dz");
    });
    panel.addEventListener("dragleave", (e) => {
      if (!panel.contains(/** @type {Node | null} */ (e.relatedTarget))) panel.classList.remove("dz");
    });
    panel.addEventListener("drop", (e) => {
      panel.classList.remove("dz");
      if (!files(e)) return;
      e.preventDefault();
      const file = e.dataTransfer && e.dataTransfer.files[0];
      if (file) this.pick(file);
    });
    this.relabel();
  }

  relabel() {
    const view = this.view;
    if (!view) return;
    this.button.setAttribute("aria-label", view.t("attach"));
    this.button.title = view.t("attach");
    this.drawTray();
  }

  /** Show a file in the preview, or why it cannot be sent (checked again by the server).
   * @param {File} file */
  pick(file) {
    const limits = this.limits();
    if (!limits) return;
    this.unpick();
    if (file.size > limits.max_bytes) return this.say("too_large");
    if (file.type && !limits.types.includes(file.type)) return this.say("unsupported_type");
    this.chosen = file;
    this.url = file.type.startsWith("image/") ? URL.createObjectURL(file) : "";
    this.drawTray();
    this.view?.input.focus();
  }

  unpick() {
    if (this.url) URL.revokeObjectURL(this.url);
    this.chosen = null;
    this.url = "";
    this.say("");
    this.drawTray();
  }

  /** The error of an upload, in the shopper's language ("" clears it). @param {string} code */
  say(code) {
    this.alert.textContent = code ? this.text(code) : "";
  }

  /** @param {string} code */
  text(code) {
    const view = /** @type {View} */ (this.view);
    const limits = this.limits();
    return view.t(ERRORS[code] || "fileFailed", { max: size(limits ? limits.max_bytes : 0) });
  }

  drawTray() {
    const view = this.view;
    const file = this.chosen;
    this.tray.textContent = "";
    this.tray.hidden = !file;
    if (!view || !file) return;
    const remove = h("button", { class: "x", type: "button", "aria-label": view.t("removeFile", { name: file.name }) }, ["×"]);
    remove.onclick = () => {
      this.unpick();
      view.input.focus();
    };
    const thumb = this.url ? h("img", { src: this.url, alt: "" }) : h("span", { class: "fi" }, [(file.name.split(".").pop() || "").slice(0, 4).toUpperCase()]);
    this.tray.append(thumb, h("span", {}, [file.name + " · " + size(file.size)]), remove);
  }

  // --- sending ----------------------------------------------------------------------------
  /**
   * Send the chosen file with `text` as its caption. Without a conversation yet, the text (or
   * the file's name) starts one and the file follows as soon as it exists.
   * @param {string} text
   * @param {Record<string, unknown>} [start]
   */
  send(text, start) {
    const chat = this.chat;
    const file = this.chosen;
    if (!file) return;
    text = text.trim();
    if (chat.ended() || !chat.saved.conv) {
      chat.write(text || file.name, start);
      text = "";
    }
    /** @type {Upload} */
    const item = { cmid: newCmid("w"), text, conv: chat.saved.conv || "", t: Date.now(), file, preview: this.url, progress: 0, state: "wait", tries: 0 };
    this.chosen = null;
    this.url = ""; // the bubble shows it now
    this.say("");
    this.drawTray();
    this.uploads.set(item.cmid, item);
    this.view?.pending(item);
    this.upload(item);
  }

  /** @param {Upload} item */
  upload(item) {
    const chat = this.chat;
    clearTimeout(item.timer);
    if (item.state === "up" || !this.uploads.has(item.cmid)) return;
    item.conv = item.conv || (chat.starting() ? "" : chat.saved.conv || "");
    if (!item.conv || !chat.saved.token || !chat.connected) {
      item.timer = setTimeout(() => this.upload(item), 500); // a conversation, a token, a link
      return this.draw(item);
    }
    const xhr = new XMLHttpRequest();
    Object.assign(item, { state: "up", xhr, progress: 0, error: undefined });
    xhr.open("POST", this.api(item.conv, ""));
    xhr.setRequestHeader("Authorization", "Bearer " + chat.saved.token);
    xhr.upload.onprogress = (e) => {
      item.progress = e.lengthComputable ? e.loaded / e.total : 0;
      this.draw(item);
    };
    xhr.onload = () => chat.guard(() => this.answered(item, xhr));
    xhr.onerror = () => chat.guard(() => this.later(item));
    const form = new FormData();
    form.append("client_msg_id", item.cmid);
    form.append("file", item.file, item.file.name || "file");
    xhr.send(form);
    this.draw(item);
  }

  /**
   * @param {Upload} item
   * @param {XMLHttpRequest} xhr
   */
  answered(item, xhr) {
    item.xhr = undefined;
    /** @type {Frame} */
    let body = {};
    try {
      body = JSON.parse(xhr.responseText);
    } catch (e) {
      /* a proxy's page: the status says enough */
    }
    if ((xhr.status === 200 || xhr.status === 201) && body.attachment) return this.uploaded(item, body.attachment);
    if (xhr.status >= 500 || !xhr.status) return this.later(item);
    item.state = "no";
    item.error = String(body.error || "failed");
    this.say(item.error);
    this.draw(item);
  }

  /** Network down or server unavailable: try again later (at once after a reconnect).
   * @param {Upload} item */
  later(item) {
    item.xhr = undefined;
    item.state = "wait";
    item.timer = setTimeout(() => this.upload(item), BACKOFF_MS[Math.min(item.tries++, BACKOFF_MS.length - 1)]);
    this.draw(item);
  }

  /** Stored: the message that carries it goes through the outbox (resent until acked).
   * @param {Upload} item
   * @param {Frame} attachment */
  uploaded(item, attachment) {
    this.uploads.delete(item.cmid);
    if (item.preview) URL.revokeObjectURL(item.preview);
    this.queue({ cmid: item.cmid, text: item.text, conv: item.conv, t: Date.now(), attachment });
  }

  /** Retry by hand a message with a file that the server refused: a new message, same file.
   * @param {import("./storage.js").Outgoing} item */
  resend(item) {
    this.queue({ ...item, cmid: newCmid("w"), t: Date.now() });
  }

  /** @param {import("./storage.js").Outgoing} out */
  queue(out) {
    const chat = this.chat;
    chat.outbox.set(out.cmid, out);
    storage.put(chat.site, out);
    this.view?.pending(out);
    chat.transmit(out);
  }

  /** After a reconnect: every upload waiting is tried now. */
  flush() {
    for (const item of this.uploads.values()) if (item.state === "wait") this.upload(item);
  }

  /** @param {string} cmid */
  remove(cmid) {
    const item = this.uploads.get(cmid);
    if (!item) return;
    clearTimeout(item.timer);
    item.xhr?.abort();
    if (item.preview) URL.revokeObjectURL(item.preview);
    this.uploads.delete(cmid);
    this.view?.settle(cmid);
    this.say("");
  }

  clear() {
    for (const cmid of [...this.uploads.keys()]) this.remove(cmid);
    this.unpick();
  }

  // --- drawing ----------------------------------------------------------------------------
  /**
   * Draw an attachment at the top of a message bubble: the server's (a thumbnail that opens
   * the full image, or a file link with name and size) or a file on its way (with progress).
   * @param {HTMLElement} bubble
   * @param {Frame} f a message frame, an outbox item or an upload
   */
  decorate(bubble, f) {
    const att = f.attachment;
    if (!att && !f.file) return;
    bubble.classList.add("ta");
    bubble.prepend(att ? figure(this, att, f.conversation_id || f.conv) : this.local(/** @type {Upload} */ (f)));
  }

  /** @param {Upload} item */
  local(item) {
    const file = item.file;
    const box = h("span", { class: "at" });
    box.append(item.preview ? h("img", { src: item.preview, alt: file.name }) : h("span", { class: "fi" }, [h("span", { class: "fn" }, [file.name]), size(file.size)]));
    box.append(h("span", { class: "pg", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, [h("span")]));
    return box;
  }

  /** Update an upload's bubble: its progress bar and its status line.
   * @param {Upload} item */
  draw(item) {
    const el = this.view && this.view.pendingEls.get(item.cmid);
    if (!el) return;
    const bar = /** @type {HTMLElement | null} */ (el.querySelector(".pg"));
    const pct = String(Math.round(item.progress * 100));
    if (bar) {
      bar.setAttribute("aria-valuenow", pct);
      bar.setAttribute("aria-label", /** @type {View} */ (this.view).t("uploading"));
      /** @type {HTMLElement} */ (bar.firstChild).style.width = pct + "%";
      bar.hidden = item.state === "no";
    }
    const status = /** @type {HTMLElement | null} */ (el.querySelector(".s span"));
    if (status) this.status(item.cmid, status);
  }

  /**
   * The status line of an upload (true), or false: not an upload.
   * @param {string} cmid
   * @param {HTMLElement} status
   */
  status(cmid, status) {
    const item = this.uploads.get(cmid);
    const view = this.view;
    if (!item || !view) return false;
    status.textContent = "";
    if (item.state !== "no") {
      status.textContent = view.t("uploading") + (item.state === "up" ? " " + Math.round(item.progress * 100) + "%" : "");
      return true;
    }
    status.append(this.text(item.error || "failed") + " ");
    if (AGAIN.includes(item.error || "")) {
      const again = h("button", { class: "r", type: "button" }, [view.t("retry")]);
      again.onclick = () => {
        item.state = "wait";
        this.upload(item);
      };
      status.append(again, " ");
    }
    const remove = h("button", { class: "r", type: "button" }, [view.t("remove")]);
    remove.onclick = () => this.remove(cmid);
    status.append(remove);
    return true;
  }

  /**
   * @param {string} conv
   * @param {string} id an attachment's id, or "" for the upload
   */
  api(conv, id) {
    return this.chat.host.opts.base + "api/v1/conversations/" + encodeURIComponent(conv) + "/attachments" + (id ? "/" + encodeURIComponent(id) : "");
  }
}
