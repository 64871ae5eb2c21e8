// @ts-check
/**
 * The inbox: messages customers left while nobody could answer, in my departments (every
 * department for supervisors and admins), oldest first. "Take" makes one my chat if I have a
 * free slot; it then arrives over the socket like any chat assigned to me.
 */
import { api, ApiError } from "./api.js";
import { byId, el, t, toast, when } from "./dom.js";

/** @typedef {import("./dom.js").Frame} Frame */

const REFRESH_MS = 15_000;
/** @type {Record<string, string>} API error code -> text */
const REFUSALS = { no_room: "inbox_no_room", not_available: "inbox_not_available", not_found: "inbox_gone" };

export class Inbox {
  /** @param {(conversationId: string) => void} onTaken called when a message became my chat */
  constructor(onTaken) {
    this.onTaken = onTaken;
    this.list = byId("inbox-list");
    this.count = byId("inbox-count");
    /** @type {Frame[]} */
    this.messages = [];
  }

  /** Refresh every REFRESH_MS (the console also refreshes it on each socket welcome). */
  start() {
    setInterval(() => void this.refresh(), REFRESH_MS);
  }

  async refresh() {
    try {
      this.messages = (await api("GET", "/api/v1/inbox")).messages;
    } catch {
      return; // keep what is shown; the next refresh tries again
    }
    this.render();
  }

  render() {
    this.count.textContent = this.messages.length ? String(this.messages.length) : "";
    if (!this.messages.length) {
      this.list.replaceChildren(el("li", { class: "empty", text: t("inbox_empty") }));
      return;
    }
    this.list.replaceChildren(...this.messages.map((m) => el("li", {
      class: "left-message", dataset: { conversationId: m.conversation_id } },
      el("span", { class: "who", text: m.name || m.email || m.customer || t("visitor", { id: m.conversation_id.slice(0, 6) }) }),
      el("button", { type: "button", class: "take", onclick: () => void this.take(m.conversation_id) }, t("inbox_take")),
      el("span", { class: "meta", text: [when(m.left), m.department, m.name && m.email].filter(Boolean).join(" · ") }),
      m.text ? el("span", { class: "preview", text: m.text }) : null)));
  }

  /** @param {string} conversationId */
  async take(conversationId) {
    try {
      await api("POST", `/api/v1/inbox/${encodeURIComponent(conversationId)}/take`);
      this.onTaken(conversationId);
    } catch (error) {
      const code = error instanceof ApiError ? String(error.body.error) : "";
      toast(REFUSALS[code] ? t(REFUSALS[code]) : t("panel_failed"), "error");
    }
    await this.refresh();
  }
}
