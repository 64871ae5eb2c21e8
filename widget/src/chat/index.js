// @ts-check
/**
 * widget/chat.js, the chat UI: imported by the loader on interaction (or at once when a
 * conversation is under way). `Chat` holds the conversation and speaks the protocol
 * (docs/protocol.md section 16, "What a robust client must do"); `View` draws it.
 */

import * as frames from "../../../client/frames.js";
import { compareIds, maxId, newCmid } from "../../../client/ids.js";
import { ReconnectingSocket } from "../../../client/socket.js";
import { Attach } from "./attach.js";
import { attention } from "./attention.js";
import * as storage from "./storage.js";
import { View } from "./view.js";

/** @typedef {import("../types").Host} Host */
/** @typedef {import("../types").Frame} Frame */
/** @typedef {import("../types").ChatApi} ChatApi */
/** @typedef {import("../types").Customer} Customer */
/** @typedef {import("./storage.js").Outgoing} Outgoing */

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
// A conversation in these states is going on ("left": a message left for the agents, waiting
// in the store's inbox; docs/protocol.md 7.1).
const OPEN = ["queued", "assigned", "left"];

/** @param {Host} host @returns {ChatApi} */
export function mount(host) {
  return new Chat(host).api();
}

export { invitations } from "./invite_ui.js";

export class Chat {
  /** @param {Host} host */
  constructor(host) {
    this.host = host;
    this.site = host.opts.site;
    this.saved = storage.load(this.site);
    /** @type {Map<string, Frame>} transcript entries of the current conversation, by id */
    this.entries = new Map((this.saved.entries || []).map((f) => [f.id, f]));
    /** @type {Map<string, Outgoing>} */
    this.outbox = new Map(storage.outbox(this.site).map((item) => [item.cmid, item]));
    /** @type {Map<string, Outgoing>} refused for good: shown as failed, retried by hand */
    this.refused = new Map();
    /** @type {Set<string>} acked, echo not seen yet */
    this.acked = new Set();
    /** @type {Frame | null} */
    this.conv = null;
    /** @type {Frame | null} */
    this.welcome = null;
    /** @type {Frame | null} */
    this.queue = null;
    this.agentRead = "0-0";
    this.agentTyping = false;
    this.connected = false;
    this.everConnected = false;
    this.replaying = false;
    this.isOpen = false;
    this.sentContext = "";
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.typingTimer = undefined;
    this.typingSent = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.persistTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.agentTypingTimer = undefined;
    /** @type {Frame[]} rating, transcript request, email: sent once connected */
    this.actions = this.saved.actions || [];
    /** @type {string[]} articles the shopper opened before asking (sent in the start frame) */
    this.read = [];
    this.attach = new Attach(this);
    this.view = new View(this);
    const base = new URL(host.opts.base);
    const ws = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + base.pathname;
    this.conn = new ReconnectingSocket(ws + "ws/v1/shopper?site=" + encodeURIComponent(this.site), {
      open: () => this.hello(),
      frame: (f) => this.guard(() => this.onFrame(f)),
      down: () => this.guard(() => this.onDown()),
      failed: () => this.guard(() => this.view.update()),
    });
    this.failTimer = setInterval(() => this.guard(() => this.view.update()), 2000);
    this.view.relabel();
    this.conn.connect();
    if (storage.session(this.site)) this.open(false);
    this.reportUnread();
  }

  /** @returns {ChatApi} */
  api() {
    return {
      open: () => this.guard(() => this.open(true)),
      close: () => this.guard(() => this.close(false)),
      toggle: () => this.guard(() => (this.isOpen ? this.close(false) : this.open(true))),
      identify: (c) => this.guard(() => this.identify(c)),
      reset: () => this.guard(() => this.reset()),
      setLanguage: (l) => this.guard(() => this.setLanguage(l)),
      setDepartment: (d) => this.guard(() => (this.host.opts.department = String(d || ""))),
      page: (p) => this.guard(() => this.setContext("page", p)),
      cart: (c) => this.guard(() => this.setContext("cart", c)),
    };
  }

  /** @param {() => void} fn */
  guard(fn) {
    try {
      fn();
    } catch (e) {
      console.warn("[chat widget]", e);
    }
  }

  // --- the JS API -------------------------------------------------------------------------
  /** @param {boolean} focus */
  open(focus) {
    if (!this.isOpen) {
      this.isOpen = true;
      storage.session(this.site, true);
      this.view.setOpen(true, focus);
      this.host.emit("open");
    }
    if (this.ended()) this.saved.done = true;
    this.markRead();
    this.persist();
  }

  /** @param {boolean} returnFocus */
  close(returnFocus) {
    if (!this.isOpen) return;
    this.isOpen = false;
    storage.session(this.site, false);
    this.view.setOpen(false, returnFocus);
    this.host.emit("close");
  }

  /** @param {Customer | null} customer */
  identify(customer) {
    this.host.opts.customer = customer || null;
    this.conn.restart(); // the server checks the claim only in hello
  }

  reset() {
    storage.clear(this.site);
    this.saved = {};
    this.entries.clear();
    this.outbox.clear();
    this.refused.clear();
    this.attach.clear();
    this.conv = this.queue = null;
    this.host.opts.customer = null;
    this.view.clear();
    this.conn.restart();
    this.reportUnread();
  }

  /** @param {unknown} language */
  setLanguage(language) {
    this.host.opts.language = String(language || "");
    this.host.relabel();
    this.view.relabel();
  }

  /**
   * @param {"page" | "cart"} kind
   * @param {unknown} value
   */
  setContext(kind, value) {
    this.host.opts[kind] = value && typeof value === "object" ? /** @type {Record<string, unknown>} */ (value) : null;
    this.sendContext();
  }

  // --- the protocol -----------------------------------------------------------------------
  hello() {
    const c = this.host.opts.customer;
    const customer = c && c.id && c.signature ? { id: c.id, expires: c.expires, signature: c.signature } : undefined;
    this.conn.send(frames.hello({ token: this.saved.token, customer }));
  }

  /** @param {Frame} f */
  onFrame(f) {
    const mine = f.conversation_id && f.conversation_id === this.saved.conv;
    switch (f.type) {
      case "welcome":
        return this.onWelcome(f);
      case "conversation":
        return this.onConversation(f);
      case "message":
      case "event":
        if (mine) this.onEntry(f);
        return;
      case "synced":
        if (mine) {
          this.saved.synced = f.last_id;
          this.replaying = false;
          this.persist();
          this.markRead();
        }
        return;
      case "reset":
        if (mine) {
          this.entries.clear();
          this.saved.epoch = f.epoch;
          this.saved.synced = "0-0";
          this.replaying = true;
          this.view.clear();
        }
        return;
      case "ack":
        return this.onAck(f);
      case "error":
        return this.onError(f);
      case "queue":
        if (mine) this.queue = f;
        return this.view.update();
      case "typing":
        if (mine && f.role === "agent") this.setAgentTyping(Boolean(f.typing));
        return;
      case "read":
        if (mine && f.role === "agent") this.agentRead = maxId(this.agentRead, f.up_to);
        return this.view.update();
      case "service":
        if (f.state === "ok") this.flush();
        return this.view.update();
    }
  }

  /** @param {Frame} f */
  onWelcome(f) {
    this.welcome = f;
    this.connected = this.everConnected = true;
    this.conn.healthy();
    this.saved.token = f.token;
    this.sentContext = "";
    const listed = /** @type {Frame[]} */ (f.conversations || []);
    if (!this.saved.conv) {
      const live = listed.find((c) => OPEN.includes(c.state));
      if (live) this.adopt(live.conversation_id, live.epoch);
    }
    if (this.saved.conv) this.resume();
    this.flush();
    this.act();
    this.persist();
    this.view.update();
  }

  resume() {
    this.replaying = true;
    this.conn.send(frames.resume(this.saved.conv || "", this.saved.epoch || 1, this.saved.synced || "0-0"));
  }

  /**
   * @param {string} id
   * @param {number} epoch
   */
  adopt(id, epoch) {
    this.saved = { token: this.saved.token, seen: this.saved.seen, conv: id, epoch: epoch || 1, synced: "0-0", entries: [] };
    this.actions = [];
    this.entries.clear();
    this.conv = this.queue = null;
    this.agentRead = "0-0";
    this.view.clear();
  }

  /** @param {Frame} f */
  onConversation(f) {
    // The reply to our start, even if it ended before we heard of it (an agent may close a chat
    // the moment it is assigned); an earlier chat of this visitor (in the welcome) only if open.
    if (!this.saved.conv && this.starting() && (OPEN.includes(f.state) || !this.earlier(f.conversation_id))) {
      this.adopt(f.conversation_id, f.epoch);
      this.replaying = true; // the server follows a started conversation from its beginning
    }
    if (f.conversation_id !== this.saved.conv) return;
    const was = this.conv && this.conv.state;
    this.conv = f;
    if (f.state !== "queued") this.queue = null;
    if (f.epoch !== (this.saved.epoch || 1) && !this.replaying) this.resume(); // answered by reset
    if (was !== f.state && this.ended() && this.isOpen) this.saved.done = true;
    if (!this.ended()) this.saved.done = false;
    this.sendContext();
    this.persist();
    this.view.update();
  }

  /** @param {Frame} f */
  onEntry(f) {
    if (this.entries.has(f.id)) return;
    this.entries.set(f.id, f);
    if (f.type === "message" && f.from && f.from.role === "shopper" && f.client_msg_id) this.settle(f.client_msg_id);
    if (f.type === "message" && f.from && f.from.role === "agent") this.setAgentTyping(false);
    this.view.add(f);
    if (isAgentMessage(f) && !this.replaying) attention(this.host, this.view.t("newReply", { agent: f.from.name || this.view.t("agent") }));
    if (f.type === "message") {
      this.host.emit("message", { id: f.id, conversationId: f.conversation_id, text: f.text, from: f.from.role, name: f.from.name || "", ts: f.ts });
    }
    this.markRead();
    this.reportUnread();
    this.schedulePersist();
  }

  /** @param {Frame} f */
  onAck(f) {
    if (!this.outbox.delete(f.client_msg_id)) return; // its echo came first: settled already
    storage.drop(this.site, f.client_msg_id);
    this.acked.add(f.client_msg_id); // shown as sent until the echo brings its place and id
    this.view.update();
  }

  /** @param {Frame} f */
  onError(f) {
    if (f.code === "bad_token") {
      delete this.saved.token;
      if (this.saved.conv) this.adopt("", 1);
      for (const item of this.outbox.values()) item.conv = "";
      this.persist();
      setTimeout(() => this.conn.restart(), 0); // after the server's close: a new visitor
      return;
    }
    const item = f.ref ? this.outbox.get(f.ref) : undefined;
    if (item && frames.refusedForGood(f)) {
      this.settle(item.cmid);
      this.refused.set(item.cmid, item);
      this.view.pending(item);
    } else if (!f.ref && (f.code === "forbidden" || f.code === "not_found") && f.conversation_id === this.saved.conv) {
      this.adopt("", 1); // not ours any more (another visitor's token): start afresh
      this.persist();
    }
    this.view.update();
  }

  onDown() {
    this.connected = false;
    this.setAgentTyping(false);
    this.view.update();
  }

  /** Why nobody hears the shopper now: "" (connected), "offline" (the browser says so), "lost"
   * (it was connected), "unreachable" (it never connected, after two tries). */
  link() {
    if (this.connected) return "";
    if (navigator.onLine === false) return "offline";
    if (this.everConnected) return "lost";
    return this.conn.failures >= 2 ? "unreachable" : "";
  }

  // --- sending ----------------------------------------------------------------------------
  /**
   * @param {string} text
   * @param {Record<string, unknown>} [start] extra fields for the start frame (pre-chat, offline)
   */
  write(text, start) {
    text = text.trim();
    if (!text) return;
    if (this.ended()) this.adopt("", 1); // a new chat
    const c = this.host.opts.customer;
    /** @type {Outgoing} */
    const item = { cmid: newCmid("w"), text, conv: this.ended() ? "" : this.saved.conv || "", t: Date.now() };
    if (!item.conv) {
      const contact = { name: (c && c.name) || undefined, email: (c && c.email) || undefined };
      item.start = clean({ department: this.department(), ...contact, ...clean(start || {}) });
      if (this.read.length) item.start.articles_read = this.read.slice(-10);
      this.read = [];
    }
    this.outbox.set(item.cmid, item);
    storage.put(this.site, item);
    this.view.pending(item);
    this.transmit(item);
    this.typing(false);
  }

  /** @param {Outgoing} item */
  transmit(item) {
    if (!this.connected) return;
    const att = item.attachment ? { attachment_id: item.attachment.id } : {};
    if (item.conv) this.conn.send({ ...frames.message("message", item.conv, item.cmid, item.text), ...att });
    else this.conn.send({ type: "start", client_msg_id: item.cmid, text: item.text, ...clean(item.start || {}) });
  }

  /** Resend every unacknowledged message (after welcome, service ok, or Retry). */
  flush() {
    for (const item of this.outbox.values()) {
      if (!item.conv && this.saved.conv && !this.ended()) item.conv = this.saved.conv;
      this.transmit(item);
    }
    this.attach.flush();
  }

  /** @param {string} cmid */
  retry(cmid) {
    const refused = this.refused.get(cmid);
    this.refused.delete(cmid);
    this.view.settle(cmid);
    if (refused) return refused.attachment ? this.attach.resend(refused) : this.write(refused.text, refused.start);
    const item = this.outbox.get(cmid);
    if (item) item.t = Date.now();
    if (!this.connected) this.conn.retryNow();
    else if (item) this.transmit(item);
    this.view.update();
  }

  /** @param {string} cmid */
  settle(cmid) {
    if (this.outbox.delete(cmid)) storage.drop(this.site, cmid);
    this.acked.delete(cmid);
    this.view.settle(cmid);
  }

  /** @param {boolean} on */
  typing(on) {
    clearTimeout(this.typingTimer);
    if (on) this.typingTimer = setTimeout(() => this.typing(false), 4000);
    if (on === this.typingSent || !this.saved.conv || !this.connected || this.ended()) return;
    this.typingSent = on;
    this.conn.send(frames.typing(this.saved.conv, on));
  }

  /** @param {string} email @param {string} name */
  leaveEmail(email, name) {
    this.later({ type: "leave_message", conversation_id: this.saved.conv, email, name: name || undefined });
  }

  /** Rate once: the buttons go at the first click (the server refuses a second rating).
   * @param {"good" | "bad"} rating */
  rate(rating) {
    if (this.rating()) return;
    this.later({ type: "rate", conversation_id: this.saved.conv, rating });
  }

  /** @param {string} email */
  transcript(email) {
    this.later({ type: "transcript", conversation_id: this.saved.conv, email });
  }

  /** The rating given in this conversation ("" if none): sent, or waiting for the connection. */
  rating() {
    for (const f of this.entries.values()) if (f.type === "event" && f.event === "rated") return String(f.rating);
    const mine = this.actions.find((a) => a.type === "rate");
    return mine ? String(mine.rating) : "";
  }

  /** Whether an action of this type waits for the connection. @param {string} type */
  waiting(type) {
    return this.actions.some((a) => a.type === type);
  }

  /** Send an action now if connected, else keep it (across reloads) until the next welcome.
   * @param {Frame} frame */
  later(frame) {
    if (!this.saved.conv) return;
    this.actions.push(frame);
    this.act();
    this.persist();
    this.view.update();
  }

  /** Send the actions that waited for the connection. */
  act() {
    while (this.connected && this.actions.length && this.conn.send(this.actions[0])) this.actions.shift();
  }

  /** The shopper ends the chat (the agent is told; the after-chat offers appear). */
  end() {
    if (this.saved.conv && !this.ended()) this.conn.send(frames.close(this.saved.conv));
  }

  newChat() {
    this.adopt("", 1);
    this.persist();
    this.view.update();
  }

  sendContext() {
    const opts = this.host.opts;
    if (!this.connected || !this.saved.conv || this.ended()) return;
    const context = { page: opts.page || { url: location.href, title: document.title }, cart: opts.cart || undefined };
    const json = JSON.stringify(context);
    if (json === this.sentContext) return;
    this.sentContext = json;
    this.conn.send({ type: "context", conversation_id: this.saved.conv, ...context });
  }

  // --- reading ----------------------------------------------------------------------------
  markRead() {
    if (!this.isOpen || document.visibilityState === "hidden") return;
    const last = this.lastAgentMessage();
    if (last && compareIds(last, this.saved.seen || "0-0") > 0) {
      this.saved.seen = last;
      if (this.connected) this.conn.send(frames.read(this.saved.conv || "", last));
      this.schedulePersist();
    }
    this.reportUnread();
  }

  reportUnread() {
    const seen = this.saved.seen || "0-0";
    let count = 0;
    for (const f of this.entries.values()) if (isAgentMessage(f) && compareIds(f.id, seen) > 0) count += 1;
    this.host.setUnread(this.isOpen ? 0 : count);
    const last = count ? this.entries.get(this.lastAgentMessage()) : undefined;
    this.view.preview(this.isOpen ? undefined : last);
  }

  lastAgentMessage() {
    let last = "";
    for (const f of this.entries.values()) if (isAgentMessage(f)) last = last ? maxId(last, f.id) : f.id;
    return last;
  }

  /** @param {boolean} on */
  setAgentTyping(on) {
    clearTimeout(this.agentTypingTimer);
    if (on) this.agentTypingTimer = setTimeout(() => this.setAgentTyping(false), 8000); // a lost "stopped"
    if (on === this.agentTyping) return;
    this.agentTyping = on;
    this.view.update();
  }

  // --- state the view reads ---------------------------------------------------------------
  ended() {
    return Boolean(this.conv && (this.conv.state === "closed" || this.conv.state === "abandoned"));
  }

  /**
   * @param {string} id
   * @returns {boolean} whether the welcome listed it: an earlier conversation of this visitor
   */
  earlier(id) {
    const listed = /** @type {Frame[]} */ ((this.welcome && this.welcome.conversations) || []);
    return listed.some((c) => c.conversation_id === id);
  }

  starting() {
    for (const item of this.outbox.values()) if (!item.conv) return true;
    return false;
  }

  department() {
    const depts = this.host.config.site.departments;
    const wanted = this.host.opts.department;
    return depts.includes(wanted) ? wanted : depts[0];
  }

  /** Whether nobody can answer live now (outside business hours, or no agent online). */
  unavailable() {
    const site = this.welcome ? this.welcome.site : null;
    if (!site) return !this.host.config.open;
    const online = site.agents_online || {};
    // With a department field the shopper may pick one that has somebody online.
    const choices = this.host.config.prechat.includes("department") ? Object.keys(online) : [this.department()];
    return !site.open || choices.every((dept) => online[dept] === false);
  }

  /** When to expect an answer to a message left now, as the acknowledgement says it. */
  nextOpen() {
    const site = this.welcome ? this.welcome.site : this.host.config;
    return site && !site.open && site.next_open ? Number(site.next_open) : 0;
  }

  leftMessage() {
    for (const f of this.entries.values()) if (f.type === "event" && f.event === "contact" && f.left_message) return true;
    return false;
  }

  /** @param {string} name */
  hasEvent(name) {
    for (const f of this.entries.values()) if (f.type === "event" && f.event === name) return true;
    return false;
  }

  /** @param {string} email */
  validEmail(email) {
    return EMAIL.test(email.trim());
  }

  // --- persistence ------------------------------------------------------------------------
  persist() {
    clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    const entries = [...this.entries.values()].sort((a, b) => compareIds(a.id, b.id));
    storage.save(this.site, { ...this.saved, entries, actions: this.actions });
  }

  schedulePersist() {
    if (this.persistTimer === undefined) this.persistTimer = setTimeout(() => this.persist(), 300);
  }
}

/** @param {Frame} f */
function isAgentMessage(f) {
  return f.type === "message" && f.from && f.from.role === "agent";
}

/** @param {Record<string, unknown>} fields */
function clean(fields) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== "" && v !== null) out[k] = v;
  return out;
}
