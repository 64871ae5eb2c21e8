// @ts-check
/**
 * Unsent text per chat: switching chats (Alt+1, Alt+2) or reloading the page keeps what the
 * agent was writing in each, and the reload comes back to the chat that was selected. Kept in
 * sessionStorage (this tab, this agent), never sent.
 */

export class Drafts {
  /** @param {string} agent whose drafts (two agents may share a browser) */
  constructor(agent) {
    this.key = `console:drafts:${agent}`;
    /** @type {Record<string, string>} */
    this.texts = {};
    try {
      this.texts = JSON.parse(sessionStorage.getItem(this.key) || "{}");
    } catch {
      // storage refused or spoiled: start without drafts
    }
  }

  /**
   * The chat selected before a reload, if it is still one of mine.
   * @param {Map<string, unknown>} chats
   * @returns {string | null}
   */
  selected(chats) {
    const id = this.texts["\u0000selected"];
    return id && chats.has(id) ? id : null;
  }

  /** @param {string | null} chat */
  select(chat) {
    this.set("\u0000selected", chat || "");
  }

  /**
   * @param {string} chat
   * @returns {string}
   */
  get(chat) {
    return this.texts[chat] || "";
  }

  /**
   * @param {string} chat
   * @param {string} text "" forgets it
   */
  set(chat, text) {
    if (text.trim()) this.texts[chat] = text;
    else delete this.texts[chat];
    try {
      sessionStorage.setItem(this.key, JSON.stringify(this.texts));
    } catch {
      // a full or refused storage keeps the drafts of this page only
    }
  }
}
