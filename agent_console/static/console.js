// @ts-check
/**
 * The agent console: my chats (up to my capacity) with unread counts and waiting times, the
 * selected conversation (transcript, composer, typing, read receipts, notes, transfer, close),
 * and the customer panel beside it. Live state comes over the agent socket; the panel, quick
 * replies and colleagues come from the REST API.
 */
import { compareIds, newCmid } from "../../client/ids.js";
import { api } from "./api.js";
import { ArticlePicker } from "./article_picker.js";
import { Attach, refreshFiles } from "./attach.js";
import { Chat, isShopperMessage, TYPING_SHOWN_MS } from "./chats.js";
import { BOOT, byId, duration, el, t, toast } from "./dom.js";
import { Drafts } from "./drafts.js";
import { Inbox } from "./inbox.js";
import { ask, badge, canAsk, chime, desktop, prepareSound } from "./notify.js";
import { Panel } from "./panel.js";
import { lateness, Queue } from "./queue.js";
import { MyReplies, QuickReplies } from "./replies.js";
import { Search } from "./search.js";
import { AgentSocket } from "./socket.js";
import { Tags } from "./tags.js";
import { entryItem, readBefore } from "./transcript.js";

/** @typedef {import("./dom.js").Frame} Frame */

const TYPING_RESEND_MS = 3000;
const TYPING_IDLE_MS = 4000;
const OUTCOMES = ["resolved", "not_resolved", "sale", "spam", "other"];

/** @type {Map<string, Chat>} */
const chats = new Map();
/** @type {string | null} */
let selected = null;
/** @type {string | null} a message I took from the inbox: opened when it arrives */
let wanted = null;
let welcomed = false;
/** @type {Frame} */
let me = { status: "offline", capacity: 1, max_capacity: 3, load: 0 };
/** @type {string[]} */
let departments = [];

const ui = {
  list: byId("chat-list"),
  load: byId("load"),
  link: byId("link-state"),
  status: /** @type {HTMLSelectElement} */ (byId("status")),
  capacity: /** @type {HTMLSelectElement} */ (byId("capacity")),
  title: byId("conversation-title"),
  meta: byId("conversation-meta"),
  transcript: byId("transcript"),
  typing: byId("typing"),
  composer: /** @type {HTMLTextAreaElement} */ (byId("composer")),
  noteMode: /** @type {HTMLInputElement} */ (byId("note-mode")),
  send: /** @type {HTMLButtonElement} */ (byId("send")),
  transfer: /** @type {HTMLButtonElement} */ (byId("transfer")),
  close: /** @type {HTMLButtonElement} */ (byId("close")),
  dismiss: /** @type {HTMLButtonElement} */ (byId("dismiss")),
  notifications: /** @type {HTMLButtonElement} */ (byId("notifications")),
};

const socket = new AgentSocket(onFrame, onLink);
const attach = new Attach(chats, socket, (id) => renderAll(id));
const panel = new Panel(insertText, () => renderList());
const replies = new QuickReplies(ui.composer, () => selected);
const myReplies = new MyReplies(replies);
const inbox = new Inbox(openTaken);
const queue = new Queue();
const search = new Search();
const tags = new Tags();
const drafts = new Drafts(BOOT.agent.id);
new ArticlePicker(insertText, () => Boolean(selected && chats.get(selected)?.open));

// --- frames from the server ----------------------------------------------------------------
/** @param {Frame} f */
function onFrame(f) {
  const handlers = /** @type {Record<string, (f: Frame) => void>} */ ({
    welcome, conversation, message: entry, note: entry, event: entry, synced, reset, ack,
    typing, read, context, agent, error, service,
  });
  handlers[f.type]?.(f);
}

/** @param {boolean} up */
function onLink(up) {
  ui.link.textContent = up ? t("connected") : t(navigator.onLine === false ? "offline_network" : "reconnecting");
  ui.link.className = up ? "link up" : "link down";
}

/** @param {Frame} f */
function welcome(f) {
  me = { ...me, ...f.agent };
  const assigned = new Set(f.conversations.map((/** @type {Frame} */ c) => c.conversation_id));
  for (const [id, chat] of chats) {
    if (chat.open && !assigned.has(id)) chats.delete(id); // taken back while we were away
  }
  for (const summary of f.conversations) {
    const chat = adopt(summary, welcomed);
    socket.send({ type: "resume", conversation_id: chat.id, epoch: chat.epoch, after: chat.synced });
  }
  for (const chat of chats.values()) resendOutbox(chat);
  welcomed = true;
  renderMe();
  void refreshMe();
  void inbox.refresh();
  if (!selected || !chats.has(selected)) select(drafts.selected(chats) ?? firstChat());
  renderAll();
}

/** @param {Frame} f */
function conversation(f) {
  const id = f.conversation_id;
  let chat = chats.get(id);
  const mine = f.state === "assigned" && f.agent?.id === BOOT.agent.id;
  if (mine) {
    const known = Boolean(chat);
    chat = adopt(f, id !== wanted); // no chime for a chat I took myself
    if (!known && (!selected || id === wanted)) select(id);
    if (id === wanted) wanted = null;
  } else if (chat) {
    chat.summary = f;
    const ended = f.state === "closed" || f.state === "abandoned";
    if (chat.closing || !ended) drop(id); // we closed it, or it went to someone else
  }
  renderAll();
}

/** @param {Frame} f */
function entry(f) {
  const chat = chats.get(f.conversation_id);
  if (!chat || !chat.add(f)) return;
  if (f.attachment) refreshFiles(chat.id);
  if ((f.type === "message" || f.type === "note") && f.from?.role === "agent" && f.from?.id === BOOT.agent.id) {
    chat.outbox.delete(f.client_msg_id); // our own echo, before or after its ack
  }
  if (isShopperMessage(f)) {
    chat.typingUntil = 0;
    if (viewing(chat.id)) markRead(chat);
  }
  renderAll(chat.id);
}

/** @param {Frame} f */
function synced(f) {
  const chat = chats.get(f.conversation_id);
  if (!chat) return;
  if (compareIds(f.last_id, chat.synced) > 0) chat.synced = f.last_id;
  if (viewing(chat.id)) markRead(chat);
  renderAll(chat.id);
}

/** @param {Frame} f */
function reset(f) {
  const chat = chats.get(f.conversation_id);
  if (!chat) return;
  chat.entries.clear();
  chat.epoch = f.epoch;
  chat.synced = "0-0";
}

/** @param {Frame} f */
function ack(f) {
  const chat = chats.get(f.conversation_id);
  const pending = chat?.outbox.get(f.client_msg_id);
  if (!chat || !pending) return;
  pending.ackId = f.id;
  if (chat.entries.has(f.id)) chat.outbox.delete(f.client_msg_id);
  renderAll(chat.id);
}

/** @param {Frame} f */
function typing(f) {
  const chat = chats.get(f.conversation_id);
  if (!chat || f.role !== "shopper") return;
  chat.typingUntil = f.typing ? Date.now() + TYPING_SHOWN_MS : 0;
  renderTyping();
}

/** @param {Frame} f */
function read(f) {
  const chat = chats.get(f.conversation_id);
  if (!chat || f.role !== "shopper") return;
  if (compareIds(f.up_to, chat.shopperRead) > 0) chat.shopperRead = f.up_to;
  renderAll(chat.id);
}

/** @param {Frame} f */
function context(f) {
  if (f.conversation_id === selected) void panel.show(selected);
}

/** @param {Frame} f */
function agent(f) {
  me = { ...me, status: f.status, load: f.load, capacity: f.capacity };
  renderMe();
  void refreshMe();
}

/** @param {Frame} f */
function error(f) {
  for (const chat of chats.values()) {
    if (f.ref && chat.outbox.has(f.ref)) {
      if (f.code === "unavailable" || f.code === "rate_limited") return; // resent later
      chat.outbox.delete(f.ref);
      chat.failed.set(f.ref, t(`error_${f.code}`));
      renderAll(chat.id);
      return;
    }
  }
  if (f.code === "conversation_closed" && f.conversation_id && chats.has(f.conversation_id)) {
    /** @type {Chat} */ (chats.get(f.conversation_id)).summary.state = "closed";
  }
  toast(t(`error_${f.code}`) || f.message, "error");
  renderAll();
}

/** @param {Frame} f */
function service(f) {
  onLink(f.state === "ok");
  if (f.state === "ok") for (const chat of chats.values()) resendOutbox(chat);
}

// --- chats ----------------------------------------------------------------------------------
/**
 * The chat of a conversation assigned to this agent, created if new (with a chime if `alert`).
 * @param {Frame} summary
 * @param {boolean} alert
 * @returns {Chat}
 */
function adopt(summary, alert) {
  let chat = chats.get(summary.conversation_id);
  if (!chat) {
    chat = new Chat(summary.conversation_id);
    chats.set(chat.id, chat);
    chat.fresh = alert;
    void loadReadPositions(chat);
    void panel.prefetch(chat.id);
    if (alert) {
      chime();
      desktop(t("new_chat_body"), () => select(/** @type {Chat} */ (chat).id));
    }
  }
  if (chat.epoch !== summary.epoch && chat.entries.size) {
    socket.send({ type: "resume", conversation_id: chat.id, epoch: chat.epoch, after: chat.synced });
  }
  chat.summary = summary;
  chat.epoch = summary.epoch;
  return chat;
}

/** @param {Chat} chat */
async function loadReadPositions(chat) {
  try {
    const data = await api("GET", `/api/v1/conversations/${encodeURIComponent(chat.id)}`);
    if (data.read_agent && compareIds(data.read_agent, chat.agentRead) > 0) chat.agentRead = data.read_agent;
    if (data.read_shopper && compareIds(data.read_shopper, chat.shopperRead) > 0) chat.shopperRead = data.read_shopper;
    renderAll(chat.id);
  } catch {
    // the positions are a nicety: without them the chat still works
  }
}

/**
 * A message I took from the inbox: open its chat now, or as soon as it arrives over the socket.
 * @param {string} id
 */
function openTaken(id) {
  if (chats.has(id)) select(id);
  else wanted = id;
}

/** @param {string} id */
function drop(id) {
  chats.delete(id);
  drafts.set(id, "");
  if (selected === id) {
    ui.composer.value = "";
    select(firstChat());
  }
}

/** @returns {string | null} */
function firstChat() {
  return ordered()[0]?.id ?? null;
}

/** @returns {Chat[]} the chats in the order they arrived */
function ordered() {
  return [...chats.values()].sort((a, b) => a.arrived - b.arrived);
}

/** @param {string | null} id */
function select(id) {
  if (selected !== id) {
    stopTyping();
    if (selected) drafts.set(selected, ui.composer.value);
    ui.composer.value = id ? drafts.get(id) : "";
    replies.close();
    attach.unpick(); // a file chosen for one customer never goes to another
    byId("composer-warning").hidden = true;
  }
  selected = id;
  drafts.select(id);
  const chat = id ? chats.get(id) : undefined;
  if (chat && viewing(chat.id)) markRead(chat);
  void panel.show(id);
  void tags.show(id);
  renderAll();
  if (chat) ui.composer.focus();
}

/**
 * @param {string} id
 * @returns {boolean} whether the agent is looking at this chat now
 */
function viewing(id) {
  return id === selected && document.visibilityState === "visible";
}

/** @param {Chat} chat */
function markRead(chat) {
  chat.fresh = false;
  const last = chat.lastId();
  if (compareIds(last, chat.agentRead) <= 0) return;
  chat.agentRead = last;
  socket.send({ type: "read", conversation_id: chat.id, up_to: last });
}

/** @param {Chat} chat */
function resendOutbox(chat) {
  for (const pending of chat.outbox.values()) {
    const { type, conversation_id, client_msg_id, text, attachment_id } = pending;
    socket.send({ type, conversation_id, client_msg_id, text, attachment_id });
  }
}

// --- sending ------------------------------------------------------------------------------
function send() {
  const chat = selected ? chats.get(selected) : undefined;
  const text = ui.composer.value.trim();
  if (!chat || (!text && !attach.chosen) || replies.open) return;
  if (!chat.open) {
    toast(t("error_conversation_closed"), "error");
    return;
  }
  if (attach.chosen && ui.noteMode.checked) return toast(t("attach_not_in_notes"), "error");
  if (attach.chosen) {
    attach.send(chat, text);
  } else {
    const frame = { type: ui.noteMode.checked ? "note" : "message", conversation_id: chat.id,
      client_msg_id: newCmid("c"), text };
    chat.outbox.set(frame.client_msg_id, { ...frame, ts: Date.now(),
      from: { role: "agent", id: BOOT.agent.id, name: BOOT.agent.name } });
    socket.send(frame);
  }
  ui.composer.value = "";
  drafts.set(chat.id, "");
  byId("composer-warning").hidden = true;
  stopTyping();
  renderAll(chat.id);
}

/** @param {string} text */
function insertText(text) {
  const { selectionStart: start, selectionEnd: end, value } = ui.composer;
  ui.composer.value = value.slice(0, start) + text + value.slice(end);
  ui.composer.focus();
  ui.composer.selectionStart = ui.composer.selectionEnd = start + text.length;
}

let typingSentAt = 0;
/** @type {number | undefined} */
let typingIdle;

function composing() {
  if (!selected || ui.noteMode.checked || !ui.composer.value.trim()) {
    stopTyping();
    return;
  }
  if (Date.now() - typingSentAt > TYPING_RESEND_MS) {
    socket.send({ type: "typing", conversation_id: selected, typing: true });
    typingSentAt = Date.now();
  }
  clearTimeout(typingIdle);
  typingIdle = window.setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(typingIdle);
  if (typingSentAt && selected) socket.send({ type: "typing", conversation_id: selected, typing: false });
  typingSentAt = 0;
}

// --- rendering ------------------------------------------------------------------------------
/** @param {string} [changed] the chat that changed (its transcript is redrawn if shown) */
function renderAll(changed) {
  renderList();
  if (!changed || changed === selected) renderConversation();
  badge(ordered().filter((c) => (c.fresh || c.unread() > 0) && !viewing(c.id)).length);
}

function renderList() {
  const open = ordered().filter((c) => c.open).length;
  ui.load.textContent = t("load", { load: open, capacity: me.capacity });
  ui.list.replaceChildren(...ordered().map((chat, index) => {
    const unread = chat.unread();
    const since = chat.open ? chat.waitingSince() : null;
    return el("li", {}, el("button", {
      type: "button", class: `chat${chat.id === selected ? " selected" : ""}${chat.open ? "" : " ended"}${chat.fresh ? " fresh" : ""}`,
      dataset: { conversationId: chat.id }, "aria-current": chat.id === selected ? "true" : false,
      onclick: () => select(chat.id), title: t("shortcut_select", { n: index + 1 }),
    },
      el("span", { class: "index", text: index + 1 }),
      el("span", { class: "label", text: chat.label(panel.cache.get(chat.id) ?? null) }),
      unread ? el("span", { class: "unread", "aria-label": t("unread", { n: unread }), text: unread }) : null,
      since ? el("span", { class: `waiting ${lateness((Date.now() - since) / 1000)}`, dataset: { since }, text: duration((Date.now() - since) / 1000) }) : null,
      chat.open ? null : el("span", { class: "ended-tag", text: t("ended") }),
      el("span", { class: "preview", text: chat.preview() })));
  }));
  if (!chats.size) ui.list.replaceChildren(el("li", { class: "empty", text: t(me.status === "online" ? "no_chats_online" : "no_chats_offline") }));
}

function renderConversation() {
  const chat = selected ? chats.get(selected) : undefined;
  ui.composer.disabled = ui.send.disabled = !chat?.open;
  ui.transfer.disabled = ui.close.disabled = !chat?.open;
  ui.dismiss.hidden = !chat || chat.open;
  ui.close.hidden = Boolean(chat && !chat.open);
  if (!chat) {
    ui.title.textContent = t("no_selection");
    ui.meta.textContent = "";
    ui.transcript.replaceChildren();
    renderTyping();
    return;
  }
  ui.title.textContent = chat.label(panel.cache.get(chat.id) ?? null);
  ui.meta.textContent = [chat.summary.department, t(`state_${chat.state}`)].filter(Boolean).join(" · ");
  const atBottom = ui.transcript.scrollHeight - ui.transcript.scrollTop - ui.transcript.clientHeight < 40;
  const items = chat.transcript().map((e) => entryItem(e, { shopperRead: chat.shopperRead }));
  items.unshift(...readBefore(chat.summary.articles_read));
  for (const [cmid, text] of chat.failed) {
    items.push(entryItem({ type: "message", client_msg_id: cmid, text: t("failed_message"),
      from: { role: "agent", name: BOOT.agent.name } }, { failed: text }));
  }
  for (const pending of chat.outbox.values()) {
    if (!pending.ackId || !chat.entries.has(pending.ackId)) items.push(entryItem(pending, { pending: true }));
  }
  items.push(...attach.pending(chat.id));
  ui.transcript.replaceChildren(...items);
  if (atBottom) ui.transcript.scrollTop = ui.transcript.scrollHeight;
  renderTyping();
}

function renderTyping() {
  const chat = selected ? chats.get(selected) : undefined;
  ui.typing.hidden = !chat?.typing();
  ui.typing.textContent = t("customer_typing");
}

function renderMe() {
  ui.status.value = me.status === "online" || me.status === "away" ? me.status : "";
  ui.capacity.replaceChildren(...Array.from({ length: me.max_capacity }, (_, i) =>
    el("option", { value: i + 1, text: i + 1, selected: i + 1 === me.capacity })));
  ui.capacity.value = String(me.capacity);
  document.body.dataset.status = me.status;
  renderList();
}

async function refreshMe() {
  try {
    const data = await api("GET", "/api/v1/me");
    me = { ...me, max_capacity: data.agent.max_capacity, capacity: data.agent.capacity };
    departments = data.site?.departments ?? [];
    renderMe();
  } catch {
    // keep what we have
  }
}

/** Every second: waiting times, typing indicators, the age of cached orders. */
function tick() {
  for (const node of ui.list.querySelectorAll(".waiting")) {
    const seconds = (Date.now() - Number(/** @type {HTMLElement} */ (node).dataset.since)) / 1000;
    node.textContent = duration(seconds);
    node.className = `waiting ${lateness(seconds)}`;
  }
  renderTyping();
  panel.tick();
  queue.tick();
}

// --- dialogs ------------------------------------------------------------------------------
async function openTransfer() {
  const chat = selected ? chats.get(selected) : undefined;
  if (!chat) return;
  const dialog = /** @type {HTMLDialogElement} */ (byId("transfer-dialog"));
  const agents = /** @type {HTMLSelectElement} */ (byId("transfer-agent"));
  const depts = /** @type {HTMLSelectElement} */ (byId("transfer-department"));
  depts.replaceChildren(...departments.map((d) => el("option", { value: d, text: d })));
  agents.replaceChildren(el("option", { value: "", text: t("loading") }));
  /** @type {HTMLTextAreaElement} */ (byId("transfer-note")).value = "";
  dialog.dataset.conversationId = chat.id;
  dialog.showModal();
  try {
    const { agents: list } = await api("GET", "/api/v1/agents");
    agents.replaceChildren(el("option", { value: "", text: t("transfer_pick_agent") }),
      ...list.filter((/** @type {Frame} */ a) => a.id !== BOOT.agent.id).map((/** @type {Frame} */ a) => {
        const free = a.status === "online" && a.connected && a.load < a.capacity;
        return el("option", { value: a.id, disabled: !free,
          text: `${a.name} — ${t(`status_${a.status}`)} ${a.load}/${a.capacity}` });
      }));
  } catch {
    agents.replaceChildren(el("option", { value: "", text: t("transfer_no_agents") }));
  }
}

function submitTransfer() {
  const dialog = /** @type {HTMLDialogElement} */ (byId("transfer-dialog"));
  const form = /** @type {HTMLFormElement} */ (byId("transfer-form"));
  const data = new FormData(form);
  const target = data.get("target") === "agent"
    ? { to_agent: String(data.get("agent") || "") }
    : { to_department: String(data.get("department") || "") };
  if (!Object.values(target)[0]) {
    toast(t("transfer_choose"), "error");
    return;
  }
  socket.send({ type: "transfer", conversation_id: dialog.dataset.conversationId,
    note: String(data.get("note") || "").trim(), ...target });
  dialog.close();
}

function openClose() {
  const chat = selected ? chats.get(selected) : undefined;
  if (!chat) return;
  const dialog = /** @type {HTMLDialogElement} */ (byId("close-dialog"));
  const outcome = /** @type {HTMLSelectElement} */ (byId("close-outcome"));
  outcome.replaceChildren(...OUTCOMES.map((o) => el("option", { value: o, text: t(`outcome_${o}`) })));
  dialog.dataset.conversationId = chat.id;
  dialog.showModal();
}

function submitClose() {
  const dialog = /** @type {HTMLDialogElement} */ (byId("close-dialog"));
  const chat = chats.get(dialog.dataset.conversationId || "");
  if (chat) {
    chat.closing = true;
    socket.send({ type: "close", conversation_id: chat.id,
      outcome: /** @type {HTMLSelectElement} */ (byId("close-outcome")).value });
  }
  dialog.close();
}

// --- wiring -------------------------------------------------------------------------------
/** @param {KeyboardEvent} event */
function shortcuts(event) {
  if (event.altKey && /^[1-9]$/.test(event.key)) {
    const chat = ordered()[Number(event.key) - 1];
    if (chat) select(chat.id);
  } else if (event.altKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    const list = ordered();
    const at = list.findIndex((c) => c.id === selected);
    const next = list[(at + (event.key === "ArrowDown" ? 1 : -1) + list.length) % list.length];
    if (next) select(next.id);
  } else if (event.altKey && event.key.toLowerCase() === "n") {
    ui.noteMode.checked = !ui.noteMode.checked;
    ui.noteMode.dispatchEvent(new Event("change"));
  } else if (event.altKey && event.key.toLowerCase() === "k") {
    search.focus();
  } else if (event.key === "?" && !typingIn(event.target)) {
    /** @type {HTMLDialogElement} */ (byId("help-dialog")).showModal();
  } else {
    return;
  }
  event.preventDefault();
}

/**
 * @param {EventTarget | null} target
 * @returns {boolean} whether a key pressed there is text being written
 */
function typingIn(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function wire() {
  document.addEventListener("keydown", shortcuts);
  byId("help").addEventListener("click", () => /** @type {HTMLDialogElement} */ (byId("help-dialog")).showModal());
  ui.composer.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (!event.shiftKey || event.ctrlKey || event.metaKey) && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  ui.composer.addEventListener("input", composing);
  ui.composer.addEventListener("input", () => selected && drafts.set(selected, ui.composer.value));
  ui.composer.addEventListener("blur", stopTyping);
  ui.send.addEventListener("click", send);
  ui.noteMode.addEventListener("change", () => {
    document.body.classList.toggle("note-mode", ui.noteMode.checked);
    ui.composer.placeholder = t(ui.noteMode.checked ? "composer_note" : "composer_placeholder");
    ui.send.textContent = t(ui.noteMode.checked ? "add_note" : "send");
  });
  ui.status.addEventListener("change", () => socket.send({ type: "status", status: ui.status.value }));
  ui.capacity.addEventListener("change", () => socket.send({ type: "capacity", capacity: Number(ui.capacity.value) }));
  ui.transfer.addEventListener("click", () => void openTransfer());
  ui.close.addEventListener("click", openClose);
  ui.dismiss.addEventListener("click", () => selected && drop(selected));
  byId("transfer-form").addEventListener("submit", (event) => { event.preventDefault(); submitTransfer(); });
  byId("close-form").addEventListener("submit", (event) => { event.preventDefault(); submitClose(); });
  for (const button of document.querySelectorAll("[data-dismiss]")) {
    button.addEventListener("click", () => /** @type {HTMLDialogElement} */ (button.closest("dialog")).close());
  }
  byId("my-replies").addEventListener("click", () => void myReplies.open());
  ui.notifications.hidden = !canAsk();
  ui.notifications.addEventListener("click", async () => {
    await ask();
    ui.notifications.hidden = !canAsk();
  });
  const seen = () => {
    const chat = selected ? chats.get(selected) : undefined;
    if (chat && viewing(chat.id)) markRead(chat);
    renderAll();
  };
  document.addEventListener("visibilitychange", seen);
  window.addEventListener("focus", seen);
  setInterval(tick, 1000);
}

prepareSound();
wire();
renderAll();
void replies.load();
inbox.start();
queue.start();
socket.connect();
