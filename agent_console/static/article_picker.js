// @ts-check
/**
 * Send an article from a chat: a button beside "My replies" opens a search over the site's
 * published articles (GET /api/v1/articles?status=published&q=..., the agent's own
 * authenticated read: not the widget's search, which is limited per address and an office of
 * agents shares one). A pick puts into the composer either the article's title and text or its
 * title and the link to its public page (/help/{site}/{id}); the agent can edit it before
 * sending, as with a quick reply.
 */
import { plainText } from "../../client/sift.js";
import { api } from "./api.js";
import { BOOT, byId, el, t } from "./dom.js";

/** @typedef {import("./dom.js").Frame} Frame */

const DEBOUNCE_MS = 300;
const SHOWN = 8;
const MAX_TEXT = 4000; // a message's limit (docs/protocol.md)
const SNIPPET = 160;

export class ArticlePicker {
  /**
   * @param {(text: string) => void} insert puts text into the composer
   * @param {() => boolean} usable whether a chat is selected and open
   */
  constructor(insert, usable) {
    this.insert = insert;
    this.usable = usable;
    /** @type {number | undefined} */
    this.timer = undefined;
    this.seq = 0;
    this.lang = el("select", { id: "article-pick-lang", "aria-label": t("articles_lang") },
      el("option", { value: "zh-CN", text: "中文", selected: BOOT.lang === "zh-CN" }),
      el("option", { value: "en", text: "English", selected: BOOT.lang !== "zh-CN" }));
    this.query = /** @type {HTMLInputElement} */ (el("input", { id: "article-pick-query", type: "search",
      "aria-label": t("articles_pick_search"), placeholder: t("articles_pick_search"), maxlength: 200 }));
    this.results = el("ul", { id: "article-pick-results", class: "article-results" });
    this.dialog = /** @type {HTMLDialogElement} */ (el("dialog", { id: "article-pick-dialog", "aria-labelledby": "article-pick-title" },
      el("h3", { id: "article-pick-title", text: t("articles_pick") }),
      el("div", { class: "article-pick-search" }, this.query, this.lang),
      this.results,
      el("div", { class: "buttons" }, el("button", { type: "button", text: t("close"), onclick: () => this.dialog.close() }))));
    document.body.append(this.dialog);
    const button = el("button", { type: "button", id: "pick-article", class: "link", text: t("articles_pick"), onclick: () => void this.open() });
    byId("my-replies").after(button);
    this.query.addEventListener("input", () => this.later());
    this.lang.addEventListener("change", () => this.later());
  }

  async open() {
    if (!this.usable()) return;
    this.results.replaceChildren();
    this.query.value = "";
    this.dialog.showModal();
    this.query.focus();
  }

  later() {
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.search(), DEBOUNCE_MS);
  }

  async search() {
    const q = this.query.value.trim();
    const seq = ++this.seq;
    if (!q) {
      this.results.replaceChildren();
      return;
    }
    const params = new URLSearchParams({ q, lang: /** @type {HTMLSelectElement} */ (this.lang).value, status: "published" });
    /** @type {Frame[]} */
    let found = [];
    try {
      found = (await api("GET", `/api/v1/articles?${params}`)).articles.slice(0, SHOWN);
    } catch {
      found = [];
    }
    if (seq !== this.seq) return;
    if (!found.length) {
      this.results.replaceChildren(el("li", { class: "none", text: t("articles_pick_none") }));
      return;
    }
    this.results.replaceChildren(...found.map((a) => {
      const text = plainText(a.html || "");
      return el("li", { class: "article-result", dataset: { id: a.id } },
        el("div", {}, el("strong", { text: a.title }),
          el("span", { class: "snippet", text: text.length > SNIPPET ? `${text.slice(0, SNIPPET)}…` : text })),
        el("div", { class: "pick-buttons" },
          el("button", { type: "button", class: "primary pick-text", text: t("articles_pick_insert"),
            onclick: () => this.pick(`${a.title}\n\n${text}`) }),
          a.url ? el("button", { type: "button", class: "pick-link", text: t("articles_pick_link"),
            onclick: () => this.pick(`${a.title}\n${a.url}`) }) : null));
    }));
  }

  /** @param {string} text what goes into the composer */
  pick(text) {
    this.dialog.close();
    this.insert(text.slice(0, MAX_TEXT));
  }
}
