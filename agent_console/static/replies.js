// @ts-check
/**
 * Quick replies in the composer: `/` opens a list of the agent's replies (their own and the
 * shared ones), filtered by what follows the slash, each previewed as it would read in the
 * selected conversation (filled by the server: GET .../reply-previews). A pick is filled in by
 * the server for the selected conversation; if a variable has no value there (no order
 * yet...), the agent is told which one and nothing is inserted.
 */
import { api, ApiError } from "./api.js";
import { BOOT, byId, el, t, toast } from "./dom.js";

/** @typedef {import("./dom.js").Frame} Frame */

const SHOWN = 8;
const PREVIEWS_FRESH_MS = 30_000;

export class QuickReplies {
  /**
   * @param {HTMLTextAreaElement} composer
   * @param {() => string | null} conversation the selected conversation's id
   */
  constructor(composer, conversation) {
    this.composer = composer;
    this.conversation = conversation;
    this.popup = byId("replies");
    this.warning = byId("composer-warning");
    /** @type {Frame[]} */
    this.all = [];
    /** @type {Frame[]} */
    this.matches = [];
    this.active = 0;
    /** @type {{conversation: string, at: number, byId: Map<string, Frame>} | null} */
    this.previews = null;
    composer.addEventListener("input", () => this.update());
    composer.addEventListener("keydown", (event) => this.key(event), { capture: true });
  }

  async load() {
    try {
      this.all = (await api("GET", "/api/v1/quick-replies")).quick_replies;
    } catch {
      this.all = [];
    }
  }

  get open() {
    return !this.popup.hidden;
  }

  /** The composer changed: show the replies matching `/query`, or hide the list. */
  update() {
    const found = /^\/(\S*)$/.exec(this.composer.value);
    if (!found) {
      this.close();
      return;
    }
    const query = found[1].toLowerCase();
    this.matches = this.all.filter((r) => [r.shortcut, r.title, r.text]
      .some((s) => String(s).toLowerCase().includes(query))).slice(0, SHOWN);
    this.active = 0;
    this.render();
    void this.loadPreviews();
  }

  /** The replies filled for the selected conversation (again after PREVIEWS_FRESH_MS). */
  async loadPreviews() {
    const conversation = this.conversation();
    const known = this.previews;
    if (!conversation || (known && known.conversation === conversation && Date.now() - known.at < PREVIEWS_FRESH_MS)) return;
    try {
      const data = await api("GET", `/api/v1/conversations/${encodeURIComponent(conversation)}/reply-previews`);
      this.previews = { conversation, at: Date.now(),
        byId: new Map(data.previews.map((/** @type {Frame} */ p) => [p.id, p])) };
      if (this.open && this.conversation() === conversation) this.render();
    } catch {
      // the list shows the replies' own texts meanwhile
    }
  }

  /**
   * @param {Frame} reply
   * @returns {HTMLElement} how the reply would read in the selected conversation
   */
  preview(reply) {
    const found = this.previews?.conversation === this.conversation() ? this.previews?.byId.get(reply.id) : undefined;
    if (!found) return el("span", { class: "preview", text: reply.text });
    if (found.preview !== null) return el("span", { class: "preview filled", text: found.preview });
    return el("span", { class: "preview missing", text: t("reply_needs", { names: found.missing.join(", ") }) });
  }

  render() {
    this.popup.hidden = false;
    if (!this.matches.length) {
      this.popup.replaceChildren(el("li", { class: "none", text: t("replies_none") }));
      return;
    }
    this.popup.replaceChildren(...this.matches.map((reply, index) => el("li", {
      class: index === this.active ? "reply active" : "reply",
      role: "option", "aria-selected": index === this.active ? "true" : "false",
      dataset: { shortcut: reply.shortcut },
      onmousedown: (/** @type {Event} */ event) => { event.preventDefault(); this.pick(reply); },
    }, el("span", { class: "shortcut", text: `/${reply.shortcut}` }),
      el("span", { class: "title", text: reply.title }),
      reply.scope === "personal" ? el("span", { class: "badge", text: t("reply_personal") }) : null,
      this.preview(reply))));
  }

  close() {
    this.popup.hidden = true;
  }

  /** @param {KeyboardEvent} event */
  key(event) {
    if (!this.open) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves && this.matches.length) {
      this.active = (this.active + moves[/** @type {"ArrowDown" | "ArrowUp"} */ (event.key)] + this.matches.length) % this.matches.length;
      this.render();
    } else if ((event.key === "Enter" || event.key === "Tab") && this.matches.length) {
      this.pick(this.matches[this.active]);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  }

  /**
   * Fill the reply for the selected conversation and put it in the composer.
   * @param {Frame} reply
   */
  async pick(reply) {
    this.close();
    const conversation = this.conversation();
    if (!conversation) return;
    const typed = this.composer.value; // "/query": replaced by the reply, or cleared
    this.warning.hidden = true;
    try {
      const { text } = await api("POST", `/api/v1/conversations/${encodeURIComponent(conversation)}/render`,
        { quick_reply_id: reply.id });
      if (this.conversation() !== conversation) return;
      this.composer.value = text;
      this.composer.dispatchEvent(new Event("input"));
      this.composer.focus();
    } catch (error) {
      if (error instanceof ApiError && error.body.error === "missing_variables") {
        if (this.composer.value === typed) this.composer.value = "";
        this.warn(reply, error.body.missing);
      } else {
        toast(t("reply_failed"), "error");
      }
    }
  }

  /**
   * @param {Frame} reply
   * @param {string[]} missing
   */
  warn(reply, missing) {
    this.warning.replaceChildren(
      el("strong", { text: t("reply_missing", { shortcut: reply.shortcut }) }),
      el("ul", { class: "missing" }, ...missing.map((name) => el("li", { text: `{{ ${name} }}` }))),
      el("p", { class: "template", text: reply.text }));
    this.warning.hidden = false;
  }
}

/** The dialog where an agent keeps their own replies (admins: the shared ones too). */
export class MyReplies {
  /** @param {QuickReplies} replies */
  constructor(replies) {
    this.replies = replies;
    this.dialog = /** @type {HTMLDialogElement} */ (byId("replies-dialog"));
    this.list = byId("replies-list");
    this.form = /** @type {HTMLFormElement} */ (byId("reply-form"));
    const scope = /** @type {HTMLSelectElement} */ (byId("reply-scope"));
    scope.hidden = BOOT.agent.role !== "admin";
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.add(); });
  }

  async open() {
    await this.replies.load();
    this.render();
    this.dialog.showModal();
  }

  render() {
    const editable = this.replies.all.filter((r) => r.scope === "personal" || BOOT.agent.role === "admin");
    this.list.replaceChildren(...editable.map((r) => el("li", { class: "reply" },
      el("span", { class: "shortcut", text: `/${r.shortcut}` }),
      el("span", { class: "title", text: r.title }),
      el("span", { class: "preview", text: r.text }),
      el("button", { type: "button", class: "remove", text: t("remove"), onclick: () => this.remove(r) }))));
  }

  async add() {
    const data = new FormData(this.form);
    try {
      await api("POST", "/api/v1/quick-replies", {
        scope: data.get("scope") || "personal", shortcut: data.get("shortcut"),
        title: data.get("title"), text: data.get("text"),
      });
    } catch (error) {
      toast(error instanceof ApiError ? error.message : t("reply_failed"), "error");
      return;
    }
    this.form.reset();
    await this.replies.load();
    this.render();
  }

  /** @param {Frame} reply */
  async remove(reply) {
    try {
      await api("DELETE", `/api/v1/quick-replies/${encodeURIComponent(reply.id)}`);
    } catch (error) {
      toast(t("reply_failed"), "error");
    }
    await this.replies.load();
    this.render();
  }
}
