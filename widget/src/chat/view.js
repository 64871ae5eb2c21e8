// @ts-check
/**
 * The chat panel, drawn in the loader's shadow root. Every text goes in through textContent
 * (messages through richText: text nodes and http(s) links only), never as HTML.
 */

import { compareIds } from "./ids.js";
import { text } from "./i18n.js";
import { richText } from "./linkify.js";
import { CSS } from "./style.js";

const FAIL_AFTER = 10000; // ms without an ack before a message shows "Not sent. Retry"

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
function h(tag, attrs = {}, children = []) {
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
    this.title = h("h2", { id: "cw-title" });
    this.subtitle = h("p");
    this.closeBtn = h("button", { class: "x", type: "button" }, ["×"]);
    this.notice = h("div", { class: "n", role: "status" });
    this.welcomeLine = h("div", { class: "y" });
    this.log = h("div", { class: "g", role: "log", "aria-live": "polite" }, [this.welcomeLine]);
    this.typingLine = h("div", { class: "k", "aria-live": "polite" });
    this.notify = this.emailForm("leaveEmail", "notify", (email) => chat.leaveEmail(email, this.fieldValue("name")));
    this.prechat = h("div", { class: "pc" });
    this.input = h("textarea", { rows: "1" });
    this.sendBtn = h("button", { class: "sb", type: "submit" });
    this.sendBtn.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M3 20l18-8L3 4v6l12 2-12 2z"/></svg>';
    this.composer = h("form", { class: "c" }, [this.prechat, h("div", { class: "row" }, [this.input, this.sendBtn])]);
    this.offline = h("form", { class: "f", novalidate: "" });
    this.after = h("div", { class: "f" });
    this.panel = h("div", { class: "p", role: "dialog", "aria-labelledby": "cw-title", id: "cw-panel", hidden: "" }, [
      h("div", { class: "h" }, [h("div", {}, [this.title, this.subtitle]), this.closeBtn]),
      this.notice,
      this.log,
      this.typingLine,
      this.notify,
      this.composer,
      this.offline,
      this.after,
    ]);
    host.root.prepend(h("style", {}, [CSS]));
    host.frame.append(this.panel);
    host.launcher.setAttribute("aria-controls", "cw-panel");
    this.listen();
    for (const f of [...chat.entries.values()].sort((a, b) => compareIds(a.id, b.id))) this.add(f);
    for (const item of chat.outbox.values()) this.pending(item);
  }

  listen() {
    const chat = this.chat;
    this.closeBtn.addEventListener("click", () => chat.close(true));
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
    });
    const vv = window.visualViewport;
    if (vv) vv.addEventListener("resize", () => this.fit());
    document.addEventListener("visibilitychange", () => chat.markRead());
  }

  submit() {
    const value = this.input.value;
    if (!value.trim()) return;
    const email = this.fieldValue("email");
    if (email && !this.chat.validEmail(email)) return this.showError(this.prechat, "badEmail");
    const start = { name: this.fieldValue("name") || undefined, email: email || undefined, department: this.fieldValue("department") || undefined };
    this.input.value = "";
    this.grow();
    this.chat.write(value, start);
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

  /** Texts that depend on the language only (after setLanguage, everything is redrawn). */
  relabel() {
    const lang = this.chat.host.lang();
    this.panel.setAttribute("lang", lang);
    this.title.textContent = this.t("title", { site: this.chat.host.config.site.name });
    this.closeBtn.setAttribute("aria-label", this.t("close"));
    this.log.setAttribute("aria-label", this.t("log"));
    this.welcomeLine.textContent = this.t("welcome");
    this.input.setAttribute("aria-label", this.t("message"));
    this.input.setAttribute("placeholder", this.t("placeholder"));
    this.sendBtn.setAttribute("aria-label", this.t("send"));
    this.relabelForm(this.notify, "leaveEmail", "notify");
    this.prechat.textContent = "";
    this.offline.textContent = "";
    this.after.textContent = "";
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
      const item = this.chat.outbox.get(cmid) || this.chat.refused.get(cmid);
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
    this.scroll();
  }

  firstPending() {
    const first = this.pendingEls.values().next();
    return first.done ? null : first.value;
  }

  /** @param {Frame} f */
  messageEl(f) {
    const me = f.from && f.from.role === "shopper";
    const bubble = h("div", { class: "t" });
    richText(bubble, String(f.text));
    const who = me ? this.t("you") : f.from.name || this.t("agent");
    const meta = h("div", { class: "s" }, [h("span", { class: "vh" }, [who + " "]), this.time(f.ts)]);
    const status = h("span");
    if (me) {
      meta.append(" · ", status);
      this.mine.set(f.id, status);
      status.textContent = this.t(compareIds(this.chat.agentRead, f.id) >= 0 ? "read" : "sent");
    }
    return h("div", { class: me ? "m me" : "m", "data-id": f.id }, [bubble, meta]);
  }

  /** @param {Frame} f */
  eventEl(f) {
    const agent = (f.agent && f.agent.name) || this.t("agent");
    /** @type {Record<string, () => string>} */
    const lines = {
      assigned: () => this.t("joined", { agent }),
      transferred: () => this.t("transferred", { to: (f.to && (f.to.name || f.to.department)) || "" }),
      requeued: () => this.t("requeued"),
      closed: () => this.t("ended"),
      abandoned: () => this.t("abandoned"),
      contact: () => (f.left_message ? this.ack(f) : ""),
      rated: () => this.t("rated"),
      transcript_requested: () => this.t("transcriptDone", { email: String(f.email || "") }),
    };
    const line = (lines[f.event] || (() => ""))();
    const el = h("div", { class: "y", "data-id": f.id }, [line]);
    el.hidden = !line;
    return el;
  }

  /** The acknowledgement of a message left for the agents: when to expect the answer.
   * @param {Frame} f */
  ack(f) {
    const next = this.chat.nextOpen();
    const when = next ? this.t("ackOpen", { when: this.date(next) }) : this.t("ackWhen", { hours: this.chat.host.config.reply_hours || 24 });
    return this.t("ack", { email: String((f.contact && f.contact.email) || ""), when });
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
    this.subtitle.textContent = ended ? this.t("ended") : conv && conv.state === "assigned" ? this.t("with", { agent }) : conv ? this.t("waiting") : "";
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
    if (ended) this.drawAfter();
    else this.after.textContent = "";
  }

  noticeText() {
    const chat = this.chat;
    if (chat.everConnected && !chat.connected) return this.t("reconnecting");
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
    const why = h("p", {}, [next ? this.t("closedHours", { when: this.date(next) }) : this.t("offline")]);
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

  drawAfter() {
    const chat = this.chat;
    const key = [chat.hasEvent("rated"), chat.hasEvent("transcript_requested")].join();
    if (this.after.dataset.key === key && this.after.firstChild) return;
    this.after.dataset.key = key;
    this.after.textContent = "";
    if (chat.conv && chat.conv.state === "closed" && chat.conv.agent && !chat.hasEvent("rated")) {
      const good = h("button", { class: "bt2", type: "button" }, ["👍 " + this.t("good")]);
      const bad = h("button", { class: "bt2", type: "button" }, ["👎 " + this.t("bad")]);
      good.onclick = () => chat.rate("good");
      bad.onclick = () => chat.rate("bad");
      this.after.append(h("p", { id: "cw-rate" }, [this.t("rate")]), h("div", { class: "row", role: "group", "aria-labelledby": "cw-rate" }, [good, bad]));
    }
    if (!chat.hasEvent("transcript_requested")) {
      const c = chat.host.opts.customer;
      const form = this.emailForm("transcriptAsk", "notify", (email) => chat.transcript(email), (c && c.email) || "");
      const ask = h("button", { class: "bt2", type: "button" }, [this.t("transcript")]);
      form.hidden = true;
      ask.onclick = () => {
        ask.hidden = true;
        form.hidden = false;
        form.querySelector("input")?.focus();
      };
      this.after.append(ask, form);
    }
    const again = h("button", { class: "bt", type: "button" }, [this.t("newChat")]);
    again.onclick = () => {
      chat.newChat();
      this.input.focus();
    };
    this.after.append(again);
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
      const option = h("option", { value: dept }, [this.t("dept." + dept) === "dept." + dept ? dept : this.t("dept." + dept)]);
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
