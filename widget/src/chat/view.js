// @ts-check
/**
 * The chat panel, drawn in the loader's shadow root. Every text goes in through textContent
 * (messages through richText: text nodes and http(s) links only), never as HTML.
 */

import { compareIds } from "../../../client/ids.js";
import { richText } from "../../../client/links.js";
import { Faq } from "./faq.js";
import { text } from "./i18n.js";
import { CSS } from "./style.js";

const FAIL_AFTER = 10000; // ms without an ack before a message shows "Not sent. Retry"
// Rating icons drawn here (an emoji would depend on the shopper's fonts).
const THUMB = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6c-.4.4-.6.9-.6 1.4v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z"/></svg>';
const AVATAR_COLOURS = ["#5b3cc4", "#0b6e4f", "#a4336b", "#1f5fbf", "#8a4b08", "#3d5a80"];

/** The initials of a name, and a colour of its own: an avatar that needs no image.
 * @param {string} name */
export function avatar(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const initials = words.length > 1 && /^[\x00-\x7f]/.test(words[0]) ? words[0][0] + words[1][0] : Array.from(words[0] || "?")[0];
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const el = h("span", { class: "av", "aria-hidden": "true" }, [initials.toUpperCase()]);
  el.style.background = AVATAR_COLOURS[hash % AVATAR_COLOURS.length];
  return el;
}

/** @typedef {import("../types").Frame} Frame */
/** @typedef {import("./storage.js").Outgoing} Outgoing */
/** @typedef {import("./index.js").Chat} Chat */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

export class View {
  /** @param {Chat} chat */
  constructor(chat) {
    this.chat = chat;
    const host = chat.host;
    /** @type {[string, HTMLElement][]} entry elements, ordered by id */
    this.items = [];
    /** @type {Map<string, HTMLElement>} status lines of the shopper's messages, by id */
    this.mine = new Map();
    /** @type {Map<string, HTMLElement>} bubbles of messages not echoed yet, by cmid */
    this.pendingEls = new Map();
    /** the reply whose preview the shopper dismissed */
    this.previewDismissed = "";
    this.title = h("h2", { id: "cw-title" });
    this.subtitle = h("p");
    this.faces = h("div", { class: "fc" });
    this.endBtn = h("button", { class: "eb", type: "button" });
    this.closeBtn = h("button", { class: "x", type: "button" }, ["×"]);
    this.notice = h("div", { class: "n", role: "status" });
    this.confirm = h("div", { class: "cf" });
    this.confirm.hidden = true;
    this.welcomeLine = h("div", { class: "y w0" });
    this.log = h("div", { class: "g", role: "log", "aria-live": "polite" }, [this.welcomeLine]);
    this.typingLine = h("div", { class: "k", "aria-live": "polite" });
    this.notify = this.emailForm(this.noMail("leaveEmail"), "notify", (email) => chat.leaveEmail(email, this.fieldValue("name")));
    this.prechat = h("div", { class: "pc" });
    this.input = h("textarea", { rows: "1" });
    this.sendBtn = h("button", { class: "sb", type: "submit" });
    this.sendBtn.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M3 20l18-8L3 4v6l12 2-12 2z"/></svg>';
    this.composer = h("form", { class: "c" }, [this.prechat, h("div", { class: "row" }, [this.input, this.sendBtn])]);
    this.offline = h("form", { class: "f", novalidate: "" });
    this.after = h("div", { class: "f" });
    this.panel = h("div", { class: "p", role: "dialog", "aria-labelledby": "cw-title", id: "cw-panel", hidden: "" }, [
      h("div", { class: "h" }, [this.faces, h("div", {}, [this.title, this.subtitle]), this.endBtn, this.closeBtn]),
      this.confirm,
      this.notice,
      this.log,
      this.typingLine,
      this.notify,
      this.composer,
      this.offline,
      this.after,
    ]);
    this.faq = new Faq(this);
    this.log.after(this.faq.reader);
    this.composer.before(this.faq.list);
    host.root.prepend(h("style", {}, [CSS]));
    host.frame.append(this.panel);
    host.launcher.setAttribute("aria-controls", "cw-panel");
    this.listen();
    chat.attach.mount(this);
    for (const f of [...chat.entries.values()].sort((a, b) => compareIds(a.id, b.id))) this.add(f);
    for (const item of chat.outbox.values()) this.pending(item);
  }

  listen() {
    const chat = this.chat;
    this.closeBtn.addEventListener("click", () => chat.close(true));
    this.endBtn.addEventListener("click", () => this.askEnd());
    this.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        chat.close(true);
      }
    });
    this.composer.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => {
      this.grow();
      chat.typing(Boolean(this.input.value.trim()));
      this.faq.typed(this.input.value);
    });
    const vv = window.visualViewport;
    if (vv) vv.addEventListener("resize", () => this.fit());
    document.addEventListener("visibilitychange", () => chat.markRead());
  }

  submit() {
    const value = this.input.value;
    if (!value.trim() && !this.chat.attach.chosen) return;
    const email = this.fieldValue("email");
    if (email && !this.chat.validEmail(email)) return this.showError(this.prechat, "badEmail");
    const start = { name: this.fieldValue("name") || undefined, email: email || undefined, department: this.fieldValue("department") || undefined };
    this.input.value = "";
    this.grow();
    if (this.chat.attach.chosen) this.chat.attach.send(value, start);
    else this.chat.write(value, start);
    this.update();
  }

  /** @param {string} name */
  fieldValue(name) {
    const el = /** @type {HTMLInputElement | null} */ (this.panel.querySelector(`[name="${name}"]`));
    return el && el.closest("[hidden]") === null ? el.value.trim() : "";
  }

  grow() {
    this.input.style.height = "auto";
    this.input.style.height = Math.min(this.input.scrollHeight, 120) + "px";
  }

  /**
   * @param {string} key
   * @param {Record<string, string | number>} [vars]
   */
  t(key, vars) {
    const host = this.chat.host;
    return text(host.config.texts, host.lang(), key, vars);
  }

  /** The text promising an email reply, or (no mail server: widget-config "mail" false) its
   * variant that promises the answer here in the chat only.
   * @param {string} key */
  noMail(key) {
    return this.chat.host.config.mail === false ? key + "Chat" : key;
  }

  /** Texts that depend on the language only (after setLanguage, everything is redrawn). */
  relabel() {
    const lang = this.chat.host.lang();
    this.panel.setAttribute("lang", lang);
    this.title.textContent = this.t("title", { site: this.chat.host.config.site.name });
    this.closeBtn.setAttribute("aria-label", this.t("close"));
    this.endBtn.textContent = this.t("end");
    this.log.setAttribute("aria-label", this.t("log"));
    this.welcomeLine.textContent = this.chat.host.invited || this.t("welcome");
    this.input.setAttribute("aria-label", this.t("message"));
    this.input.setAttribute("placeholder", this.t("placeholder"));
    this.sendBtn.setAttribute("aria-label", this.t("send"));
    this.relabelForm(this.notify, this.noMail("leaveEmail"), "notify");
    this.chat.attach.relabel();
    this.prechat.textContent = "";
    this.offline.textContent = "";
    this.after.textContent = "";
    this.after.dataset.conv = "";
    this.redraw();
    this.update();
  }

  redraw() {
    const entries = this.items.map(([id]) => this.chat.entries.get(id)).filter((f) => f !== undefined);
    const pending = [...this.pendingEls.keys()];
    this.clear();
    for (const f of entries) this.add(/** @type {Frame} */ (f));
    for (const cmid of pending) {
      this.pendingEls.get(cmid)?.remove();
      this.pendingEls.delete(cmid);
      const item = this.chat.outbox.get(cmid) || this.chat.refused.get(cmid) || this.chat.attach.uploads.get(cmid);
      if (item) this.pending(item);
    }
  }

  // --- the transcript ---------------------------------------------------------------------
  /** @param {Frame} f */
  add(f) {
    const el = f.type === "message" ? this.messageEl(f) : this.eventEl(f);
    const at = this.items.findIndex(([id]) => compareIds(id, f.id) > 0);
    const before = at >= 0 ? this.items[at][1] : this.firstPending();
    this.items.splice(at >= 0 ? at : this.items.length, 0, [f.id, el]);
    this.log.insertBefore(el, before);
    this.placeAck();
    this.scroll();
  }

  /** The acknowledgement of a left message goes under the message it acknowledges (the
   * server records the contact details, then the message). */
  placeAck() {
    const at = this.items.findIndex(([, el]) => el.classList.contains("ak"));
    if (at < 0) return;
    const ack = this.items[at][1];
    const next = this.items.slice(at + 1).find(([, el]) => el.classList.contains("me"));
    if (next) next[1].after(ack);
  }

  firstPending() {
    const first = this.pendingEls.values().next();
    return first.done ? null : first.value;
  }

  /** @param {Frame} f */
  messageEl(f) {
    const me = f.from && f.from.role === "shopper";
    const bubble = h("div", { class: "t" });
    richText(bubble, String(f.text || ""));
    this.chat.attach.decorate(bubble, f);
    const who = me ? this.t("you") : f.from.name || this.t("agent");
    const meta = h("div", { class: "s" }, [h("span", { class: me ? "vh" : "nm" }, [who + " "]), this.time(f.ts)]);
    const status = h("span");
    if (me) {
      meta.append(" · ", status);
      this.mine.set(f.id, status);
      status.textContent = this.t(compareIds(this.chat.agentRead, f.id) >= 0 ? "read" : "sent");
      return h("div", { class: "m me", "data-id": f.id }, [bubble, meta]);
    }
    return h("div", { class: "m ag", "data-id": f.id }, [avatar(who), h("div", {}, [meta, bubble])]);
  }

  /** @param {Frame} f */
  eventEl(f) {
    const agent = (f.agent && f.agent.name) || this.t("agent");
    /** @type {Record<string, () => string>} */
    const lines = {
      assigned: () => this.t("joined", { agent }),
      transferred: () => this.t("transferred", { to: (f.to && (f.to.name || this.deptName(f.to.department || ""))) || "" }),
      requeued: () => this.t("requeued"),
      closed: () => this.t("ended"),
      abandoned: () => this.t("abandoned"),
      contact: () => (f.left_message ? this.ack(f) : ""),
      rated: () => this.t("rated"),
      transcript_requested: () => this.t("transcriptDone", { email: String(f.email || "") }),
    };
    const line = (lines[f.event] || (() => ""))();
    const el = h("div", { class: f.event === "contact" ? "y ak" : "y", "data-id": f.id }, [line]);
    el.hidden = !line;
    return el;
  }

  /** The acknowledgement of a message left for the agents: when to expect the answer.
   * @param {Frame} f */
  ack(f) {
    const next = this.chat.nextOpen();
    const when = next ? this.t("ackOpen", { when: this.date(next) }) : this.t("ackWhen", { hours: this.chat.host.config.reply_hours || 24 });
    return this.t(this.noMail("ack"), { email: String((f.contact && f.contact.email) || ""), when });
  }

  /** @param {number} ts */
  time(ts) {
    const d = new Date(ts);
    const sameDay = d.toDateString() === new Date().toDateString();
    const fmt = new Intl.DateTimeFormat(this.chat.host.lang(), sameDay ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    return h("time", { datetime: d.toISOString() }, [fmt.format(d)]);
  }

  /** @param {number} ms */
  date(ms) {
    return new Intl.DateTimeFormat(this.chat.host.lang(), { weekday: "short", hour: "2-digit", minute: "2-digit" }).format(new Date(ms));
  }

  /** A message written here, until its echo comes back with an id.
   * @param {Outgoing} item */
  pending(item) {
    this.pendingEls.get(item.cmid)?.remove();
    const bubble = h("div", { class: "t" });
    richText(bubble, item.text);
    this.chat.attach.decorate(bubble, item);
    const status = h("span", { class: "st" });
    const el = h("div", { class: "m me", "data-cmid": item.cmid }, [bubble, h("div", { class: "s" }, [status])]);
    this.pendingEls.set(item.cmid, el);
    this.log.append(el);
    this.statusOf(item.cmid, status);
    this.scroll();
  }

  /** @param {string} cmid */
  settle(cmid) {
    if (this.chat.acked.has(cmid)) return void this.update(); // shown as sent until the echo
    this.pendingEls.get(cmid)?.remove();
    this.pendingEls.delete(cmid);
  }

  /**
   * @param {string} cmid
   * @param {HTMLElement} status
   */
  statusOf(cmid, status) {
    const chat = this.chat;
    const item = chat.outbox.get(cmid);
    if (chat.attach.status(cmid, status)) return;
    status.textContent = "";
    if (chat.acked.has(cmid)) return void (status.textContent = this.t("sent"));
    const failed = chat.refused.has(cmid) || (item && Date.now() - item.t > FAIL_AFTER);
    if (!failed) return void (status.textContent = this.t("sending"));
    const retry = h("button", { class: "r", type: "button" }, [this.t("retry")]);
    retry.addEventListener("click", () => chat.retry(cmid));
    status.append(this.t("failed") + " ", retry);
  }

  clear() {
    for (const [, el] of this.items) el.remove();
    this.items = [];
    this.mine.clear();
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  // --- the state around it ----------------------------------------------------------------
  update() {
    const chat = this.chat;
    const conv = chat.conv;
    const agent = conv && conv.agent ? conv.agent.name : "";
    const ended = chat.ended();
    this.subtitle.textContent = ended ? this.t("ended") : conv && conv.state === "assigned" ? this.t("with", { agent }) : conv ? this.t("waiting") : this.replyLine();
    this.drawFaces(agent && !ended ? [agent] : conv ? [] : (chat.host.config.team || []).map((m) => m.name));
    this.endBtn.hidden = !conv || ended || !chat.connected;
    if (this.endBtn.hidden) this.confirm.hidden = true;
    this.notice.textContent = this.noticeText();
    this.notice.hidden = !this.notice.textContent;
    this.typingLine.textContent = chat.agentTyping ? this.t("typing", { agent: agent || this.t("agent") }) : "";
    for (const [id, status] of this.mine) status.textContent = this.t(compareIds(chat.agentRead, id) >= 0 ? "read" : "sent");
    for (const [cmid, el] of this.pendingEls) this.statusOf(cmid, /** @type {HTMLElement} */ (el.querySelector(".s span")));
    const offline = !chat.saved.conv && !chat.starting() && chat.unavailable();
    const queuedAlone = Boolean(conv && conv.state === "queued" && chat.queue && !chat.queue.agents_online && !chat.leftMessage());
    this.notify.hidden = !queuedAlone;
    this.composer.hidden = offline || ended;
    this.offline.hidden = !offline;
    this.after.hidden = !ended;
    if (offline && !this.offline.firstChild) this.drawOffline();
    if (!offline) this.offline.textContent = "";
    this.drawPrechat(!chat.saved.conv && !chat.starting() && !offline);
    this.faq.update();
    if (ended) this.drawAfter();
    else this.after.textContent = "";
  }

  noticeText() {
    const chat = this.chat;
    const link = chat.link();
    if (link) return this.t(link === "offline" ? "offlineNet" : link === "lost" ? "reconnecting" : "unreachable");
    const q = chat.queue;
    if (!q || !chat.conv || chat.conv.state !== "queued" || !q.agents_online || chat.leftMessage()) return "";
    if (q.eta_seconds === null || q.eta_seconds === undefined) return this.t("queueNoEta", { position: q.position });
    const eta = q.eta_seconds < 60 ? this.t("soon") : this.t("minutes", { n: Math.ceil(q.eta_seconds / 60) });
    return this.t("queue", { position: q.position, eta });
  }

  /** @param {boolean} show */
  drawPrechat(show) {
    const fields = show ? this.chat.host.config.prechat : [];
    if (this.prechat.dataset.fields === fields.join()) return;
    this.prechat.dataset.fields = fields.join();
    this.prechat.textContent = "";
    const c = this.chat.host.opts.customer;
    for (const name of fields) {
      if (name === "department") this.prechat.append(this.departmentField());
      else this.prechat.append(this.field(name, name === "email" ? "email" : "text", (c && (name === "email" ? c.email : c.name)) || ""));
    }
  }

  drawOffline() {
    const chat = this.chat;
    const next = chat.nextOpen();
    const c = chat.host.opts.customer;
    const message = h("textarea", { name: "offline-message", rows: "3", required: "" });
    const why = h("p", {}, [next ? this.t(this.noMail("closedHours"), { when: this.date(next) }) : this.t(this.noMail("offline"))]);
    const fields = [this.field("name", "text", (c && c.name) || ""), this.field("email", "email", (c && c.email) || "", true)];
    if (chat.host.config.site.departments.length > 1) fields.push(this.departmentField());
    const label = h("label", {}, [this.t("message"), message]);
    const submit = h("button", { class: "bt", type: "submit" }, [this.t("leave")]);
    this.offline.append(why, ...fields, label, submit);
    this.offline.onsubmit = (e) => {
      e.preventDefault();
      const email = this.fieldValue("email");
      if (!chat.validEmail(email)) return this.showError(this.offline, "badEmail");
      if (!message.value.trim()) return message.focus();
      chat.write(message.value, { leave_message: true, email, name: this.fieldValue("name") || undefined, department: this.fieldValue("department") || undefined });
      this.offline.textContent = "";
      this.update();
    };
  }

  /** The after-chat offers, built once per conversation and then updated in place (a
   * rebuild would wipe what the shopper is typing in the transcript's email field). */
  drawAfter() {
    const chat = this.chat;
    const conv = chat.saved.conv || "";
    if (this.after.dataset.conv !== conv || !this.after.firstChild) this.buildAfter(conv);
    const rating = chat.rating();
    const rate = /** @type {HTMLElement} */ (this.after.querySelector(".rt"));
    rate.hidden = !(chat.conv && chat.conv.state === "closed" && chat.conv.agent) || (chat.hasEvent("rated") && !chat.waiting("rate"));
    for (const button of rate.querySelectorAll("button")) {
      button.disabled = Boolean(rating);
      button.setAttribute("aria-pressed", String(button.dataset.rating === rating));
    }
    /** @type {HTMLElement} */ (rate.querySelector(".wl")).textContent = chat.waiting("rate") ? this.t("willSend") : "";
    const ask = /** @type {HTMLElement} */ (this.after.querySelector(".tr"));
    ask.hidden = chat.hasEvent("transcript_requested") || chat.host.config.mail === false; // no SMTP: no promise
    /** @type {HTMLElement} */ (ask.querySelector(".wl")).textContent = chat.waiting("transcript") ? this.t("willSend") : "";
  }

  /** @param {string} conv */
  buildAfter(conv) {
    const chat = this.chat;
    this.after.textContent = "";
    this.after.dataset.conv = conv;
    const buttons = /** @type {const} */ (["good", "bad"]).map((rating) => {
      const button = h("button", { class: "bt2 rb " + rating, type: "button", "data-rating": rating });
      button.innerHTML = THUMB;
      button.append(this.t(rating));
      button.onclick = () => {
        for (const b of buttons) b.disabled = true; // at once: one rating per chat
        chat.rate(rating);
      };
      return button;
    });
    const rate = h("div", { class: "rt" }, [h("p", { id: "cw-rate" }, [this.t("rate")]),
      h("div", { class: "row", role: "group", "aria-labelledby": "cw-rate" }, buttons), h("p", { class: "wl", role: "status" })]);
    const c = chat.host.opts.customer;
    const form = this.emailForm("transcriptAsk", "notify", (email) => chat.transcript(email), (c && c.email) || "");
    const ask = h("button", { class: "bt2", type: "button" }, [this.t("transcript")]);
    form.hidden = true;
    ask.onclick = () => {
      ask.hidden = true;
      form.hidden = false;
      form.querySelector("input")?.focus();
    };
    const again = h("button", { class: "bt", type: "button" }, [this.t("newChat")]);
    again.onclick = () => {
      chat.newChat();
      this.input.focus();
    };
    this.after.append(rate, h("div", { class: "tr" }, [ask, form, h("p", { class: "wl", role: "status" })]), again);
  }

  /** "Usually replies in a few minutes", from the site's recent first-reply waits. */
  replyLine() {
    const config = this.chat.host.config;
    const seconds = config.reply_seconds;
    if (seconds === null || seconds === undefined || !config.open) return "";
    if (seconds < 90) return this.t("replies", { when: this.t("repliesMinute") });
    if (seconds < 3600) return this.t("replies", { when: this.t("repliesMinutes", { n: Math.round(seconds / 60) }) });
    return this.t("replies", { when: this.t("repliesHours", { n: Math.ceil(seconds / 3600) }) });
  }

  /** The avatars in the header: the agent of the chat, or the team online before one.
   * @param {string[]} names */
  drawFaces(names) {
    const key = names.join("\n");
    if (this.faces.dataset.key === key) return;
    this.faces.dataset.key = key;
    this.faces.replaceChildren(...names.slice(0, 3).map((name) => avatar(name)));
    this.faces.hidden = !names.length;
  }

  /** Ending the chat asks first (a slip of the finger must not end it). */
  askEnd() {
    const yes = h("button", { class: "bt", type: "button" }, [this.t("endYes")]);
    const no = h("button", { class: "bt2", type: "button" }, [this.t("endNo")]);
    yes.onclick = () => {
      this.confirm.hidden = true;
      this.chat.end();
    };
    no.onclick = () => {
      this.confirm.hidden = true;
      this.endBtn.focus();
    };
    this.confirm.replaceChildren(h("p", {}, [this.t("endAsk")]), yes, no);
    this.confirm.hidden = false;
    no.focus();
  }

  /** The last unread reply beside the closed launcher (none: undefined).
   * @param {Frame | undefined} f */
  preview(f) {
    const frame = this.chat.host.frame;
    const shown = /** @type {HTMLElement | null} */ (frame.querySelector(".gb.pv"));
    if (!f || this.previewDismissed === f.id) return void shown?.remove();
    if (shown && shown.dataset.id === f.id) return;
    shown?.remove();
    const box = h("div", { class: "gb pv", "data-id": f.id });
    const say = h("button", { class: "gt", type: "button" }, [h("strong", {}, [(f.from.name || this.t("agent")) + ": "]), String(f.text || (f.attachment ? f.attachment.name : ""))]);
    const close = h("button", { class: "gx", type: "button", "aria-label": this.t("dismiss") }, ["×"]);
    say.onclick = () => this.chat.open(true);
    close.onclick = () => {
      this.previewDismissed = f.id;
      box.remove();
    };
    box.append(say, close);
    frame.append(box);
  }

  /** A department as the store named it (the `dept.KEY` text), else its key.
   * @param {string} key */
  deptName(key) {
    const named = this.t("dept." + key);
    return named === "dept." + key ? key : named;
  }

  /**
   * A small form asking for an email address.
   * @param {string} question
   * @param {string} button
   * @param {(email: string) => void} done
   * @param {string} [value]
   */
  emailForm(question, button, done, value = "") {
    const form = h("form", { class: "f", novalidate: "" });
    const input = h("input", { type: "email", name: "notify-email", autocomplete: "email", value });
    form.append(h("label", {}, [h("span"), input]), h("button", { class: "bt", type: "submit" }));
    form.onsubmit = (e) => {
      e.preventDefault();
      if (!this.chat.validEmail(input.value)) return this.showError(form, "badEmail");
      done(input.value.trim());
    };
    this.relabelForm(form, question, button);
    return form;
  }

  /**
   * @param {HTMLFormElement} form
   * @param {string} question
   * @param {string} button
   */
  relabelForm(form, question, button) {
    const span = form.querySelector("label span");
    const submit = form.querySelector("button[type=submit]");
    if (span) span.textContent = this.t(question);
    if (submit) submit.textContent = this.t(button);
  }

  /**
   * @param {string} name
   * @param {string} type
   * @param {string} value
   * @param {boolean} [required]
   */
  field(name, type, value, required = false) {
    const input = h("input", { name, type, value, autocomplete: name });
    if (required) input.required = true;
    return h("label", {}, [this.t(name), input]);
  }

  departmentField() {
    const select = h("select", { name: "department" });
    for (const dept of this.chat.host.config.site.departments) {
      const option = h("option", { value: dept }, [this.deptName(dept)]);
      option.selected = dept === this.chat.department();
      select.append(option);
    }
    return h("label", {}, [this.t("department"), select]);
  }

  /**
   * @param {HTMLElement} where
   * @param {string} key
   */
  showError(where, key) {
    let el = /** @type {HTMLElement | null} */ (where.querySelector(".e"));
    if (!el) where.append((el = h("p", { class: "e", role: "alert" })));
    el.textContent = this.t(key);
  }

  // --- open and close ---------------------------------------------------------------------
  /**
   * @param {boolean} open
   * @param {boolean} focus move the focus in (opening) or back to the launcher (closing)
   */
  setOpen(open, focus) {
    const host = this.chat.host;
    this.panel.hidden = !open;
    host.frame.classList.toggle("open", open);
    host.launcher.setAttribute("aria-expanded", String(open));
    if (open) host.frame.querySelector(".gb:not(.pv)")?.remove(); // the greeting did its job
    if (open && host.invited) this.welcomeLine.textContent = host.invited;
    if (open) {
      this.fit();
      this.scroll();
      if (focus) this.firstField().focus();
    } else if (focus) {
      host.launcher.focus();
    }
  }

  firstField() {
    const form = [this.offline, this.composer, this.after].find((el) => !el.hidden) || this.composer;
    return /** @type {HTMLElement} */ (form.querySelector("textarea, input, button") || this.closeBtn);
  }

  /** On a phone the panel fills the visible viewport, which the on-screen keyboard shrinks. */
  fit() {
    const vv = window.visualViewport;
    const small = window.matchMedia("(max-width: 480px)").matches;
    this.panel.style.height = small && vv ? vv.height + "px" : "";
    this.panel.style.top = small && vv ? vv.offsetTop + "px" : "";
    if (small) this.scroll();
  }
}
