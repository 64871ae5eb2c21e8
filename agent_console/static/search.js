// @ts-check
/**
 * Conversation search: the header's search field (Alt+K) asks GET /api/v1/search (customer,
 * name, email, order number, tag, message text) and lists the results in a dialog; a result
 * opens its whole transcript.
 */
import { api, ApiError } from "./api.js";
import { byId, el, t, when } from "./dom.js";
import { openPast } from "./panel.js";
import { outcomeText } from "./transcript.js";

/** @typedef {import("./dom.js").Frame} Frame */

export class Search {
  constructor() {
    this.form = /** @type {HTMLFormElement} */ (byId("search-form"));
    this.input = /** @type {HTMLInputElement} */ (byId("search"));
    this.dialog = /** @type {HTMLDialogElement} */ (byId("search-dialog"));
    this.list = byId("search-results");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.run(this.input.value.trim());
    });
  }

  focus() {
    this.input.focus();
    this.input.select();
  }

  /** @param {string} query */
  async run(query) {
    if (query.length < 2) return;
    byId("search-title").textContent = t("search_title", { query });
    this.list.replaceChildren(el("li", { class: "loading", text: t("loading") }));
    if (!this.dialog.open) this.dialog.showModal();
    try {
      const { results } = await api("GET", `/api/v1/search?q=${encodeURIComponent(query)}`);
      this.render(results);
    } catch (error) {
      const message = error instanceof ApiError ? error.message : t("panel_failed");
      this.list.replaceChildren(el("li", { class: "error", text: message }));
    }
  }

  /** @param {Frame[]} results */
  render(results) {
    if (!results.length) {
      this.list.replaceChildren(el("li", { class: "none", text: t("search_none") }));
      return;
    }
    this.list.replaceChildren(...results.map((r) => el("li", {},
      el("button", { type: "button", class: "result", dataset: { conversationId: r.conversation_id },
        onclick: () => void openPast(r) },
        el("span", { class: "who", text: r.name || r.email || r.customer || t("visitor", { id: r.visitor_id.slice(0, 6) }) }),
        el("span", { class: "date", text: when(r.created) }),
        el("span", { class: "outcome", text: r.state === "closed" || r.state === "abandoned" ? outcomeText(r.outcome) : t(`state_${r.state}`) }),
        el("span", { class: "matched", text: matchedText(r) }),
        r.tags.length ? el("span", { class: "tag-list" }, ...r.tags.map((/** @type {string} */ tag) => el("span", { class: "tag", text: tag }))) : null))));
  }
}

/**
 * @param {Frame} result
 * @returns {string} what matched, in the console's language
 */
function matchedText(result) {
  if (result.matched === "message") return result.excerpt;
  if (String(result.matched).startsWith("order ")) return t("search_order", { number: result.matched.slice(6) });
  return t(`search_${result.matched}`);
}
