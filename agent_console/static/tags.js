// @ts-check
/**
 * Tags on the selected conversation (how it ended, what it was about): chips in the
 * conversation's header, an input with the site's most used tags as suggestions, stored with
 * PUT /api/v1/conversations/{id}/tags and searchable.
 */
import { api, ApiError } from "./api.js";
import { byId, el, t, toast } from "./dom.js";

export class Tags {
  constructor() {
    this.root = byId("tags");
    this.input = /** @type {HTMLInputElement} */ (byId("tag-input"));
    this.suggestions = byId("tag-suggestions");
    /** @type {string | null} */
    this.conversation = null;
    /** @type {string[]} */
    this.tags = [];
    this.input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing) return;
      event.preventDefault();
      const tag = this.input.value.trim().toLowerCase();
      if (tag && !this.tags.includes(tag)) void this.save([...this.tags, tag]);
      this.input.value = "";
    });
  }

  /** @param {string | null} conversationId the selected chat */
  async show(conversationId) {
    if (conversationId === this.conversation) return;
    this.conversation = conversationId;
    this.tags = [];
    this.render();
    if (!conversationId) return;
    try {
      const data = await api("GET", `/api/v1/conversations/${encodeURIComponent(conversationId)}/tags`);
      if (this.conversation === conversationId) this.update(data);
    } catch {
      // a chat without its tags shown still works
    }
  }

  /** @param {string[]} tags */
  async save(tags) {
    const conversation = this.conversation;
    if (!conversation) return;
    try {
      const data = await api("PUT", `/api/v1/conversations/${encodeURIComponent(conversation)}/tags`, { tags });
      if (this.conversation === conversation) this.update(data);
    } catch (error) {
      toast(error instanceof ApiError ? error.message : t("panel_failed"), "error");
    }
  }

  /** @param {{tags: string[], suggested: string[]}} data */
  update(data) {
    this.tags = data.tags;
    this.suggestions.replaceChildren(...data.suggested.filter((s) => !data.tags.includes(s))
      .map((s) => el("option", { value: s })));
    this.render();
  }

  render() {
    this.root.hidden = !this.conversation;
    const chips = this.tags.map((tag) => el("li", { class: "tag" }, tag,
      el("button", { type: "button", class: "remove-tag", "aria-label": t("tag_remove", { tag }), text: "×",
        onclick: () => void this.save(this.tags.filter((x) => x !== tag)) })));
    byId("tag-list").replaceChildren(...chips);
  }
}
