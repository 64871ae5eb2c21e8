// @ts-check
/**
 * Answers before the queue. While the shopper writes the first question of a chat, the site's
 * articles that answer it appear above the message field (GET .../articles/search, debounced);
 * one opens inside the panel (the server's sanitised HTML, sifted once more here). "This
 * answered my question" records it (POST .../feedback) and ends there; "Talk to someone" sends
 * the question as the first message, and the start frame names the articles read.
 */

import { sift } from "../../../client/sift.js";

/** @typedef {import("./view.js").View} View */
/** @typedef {{id: string, title: string, snippet?: string, department?: string | null}} Found */

const DEBOUNCE_MS = 300;
const MIN_CHARS = 2;
const SHOWN = 3;

export class Faq {
  /** @param {View} view */
  constructor(view) {
    this.view = view;
    this.chat = view.chat;
    this.list = el("div", "fq");
    this.list.hidden = true;
    this.reader = el("div", "fr");
    this.reader.hidden = true;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.asked = ""; // the question the list answers
    this.seq = 0; // answers to older questions are dropped
  }

  /** Suggestions are for the first question of a chat, on a site that has articles. */
  active() {
    const chat = this.chat;
    return Boolean(chat.host.config.articles) && !chat.saved.conv && !chat.starting() && !chat.unavailable();
  }

  /** The message field changed. @param {string} value */
  typed(value) {
    clearTimeout(this.timer);
    const question = value.trim();
    if (!this.active() || question.length < MIN_CHARS) return this.hide();
    if (question === this.asked) return;
    this.timer = setTimeout(() => this.search(question), DEBOUNCE_MS);
  }

  /** @param {string} question */
  async search(question) {
    const seq = ++this.seq;
    const query = new URLSearchParams({ q: question, lang: this.chat.host.lang(), limit: String(SHOWN) });
    /** @type {Found[]} */
    let found = [];
    try {
      found = (await this.call("GET", "search?" + query)).articles || [];
    } catch (e) {
      found = []; // no suggestions: the shopper simply asks
    }
    if (seq !== this.seq || !this.active()) return;
    this.asked = question;
    this.draw(found.slice(0, SHOWN));
  }

  /** @param {Found[]} found */
  draw(found) {
    this.list.hidden = !found.length;
    const items = found.map((a) => {
      const button = el("button", "qi", [el("strong", "", [a.title]), a.snippet ? el("span", "", [a.snippet]) : ""]);
      button.setAttribute("type", "button");
      button.dataset.id = a.id;
      button.onclick = () => this.open(a.id);
      return el("li", "", [button]);
    });
    this.list.replaceChildren(el("p", "", [this.view.t("faqTitle")]), el("ul", "", items));
  }

  /** Show one article in the panel. @param {string} id */
  async open(id) {
    this.seq++;
    const back = this.button("bt2", "faqBack", () => this.close());
    this.show([back, el("p", "", ["…"])]);
    /** @type {Record<string, any>} */
    let article;
    try {
      article = (await this.call("GET", encodeURIComponent(id))).article;
    } catch (e) {
      return this.show([back, el("p", "e", [this.view.t("faqError")])]);
    }
    const chat = this.chat;
    if (!chat.read.includes(article.id)) chat.read.push(article.id);
    const body = el("div", "qb");
    body.append(sift(article.html || ""));
    const helpful = this.button("bt", "faqHelpful", () => this.helpful(article.id));
    const talk = this.button("bt2", "faqTalk", () => this.talk());
    this.show([back, el("h3", "", [article.title]), body, el("div", "qf", [helpful, talk])]);
    this.reader.dataset.id = article.id;
  }

  /** "This answered my question": recorded, and the shopper leaves without queueing.
   * @param {string} id */
  helpful(id) {
    const chat = this.chat;
    const visitor = chat.welcome && chat.welcome.visitor_id;
    this.call("POST", encodeURIComponent(id) + "/feedback", { helpful: true, question: this.question(), visitor_id: visitor || undefined }).catch(() => {});
    chat.read = [];
    this.view.input.value = "";
    this.view.grow();
    this.asked = "";
    this.list.hidden = true;
    const close = this.button("bt", "faqClose", () => chat.close(true));
    this.show([el("p", "qt", [this.view.t("faqThanks")]), close]);
    close.focus();
  }

  /** "Talk to someone": the question goes out as the chat's first message. */
  talk() {
    const id = this.reader.dataset.id;
    if (id) this.call("POST", encodeURIComponent(id) + "/feedback", { helpful: false, question: this.question() }).catch(() => {});
    this.close();
    this.view.submit();
    this.view.input.focus();
  }

  close() {
    this.seq++;
    this.reader.hidden = true;
    this.reader.dataset.id = "";
    this.view.log.hidden = false;
    this.list.hidden = !this.list.querySelector("li") || !this.active();
    this.view.input.focus();
  }

  /** After each change of the chat's state: no suggestions once a conversation exists. */
  update() {
    if (this.active()) return;
    this.hide();
    if (!this.reader.hidden && this.chat.saved.conv) this.close();
  }

  hide() {
    this.seq++;
    this.asked = "";
    this.list.hidden = true;
  }

  question() {
    return this.view.input.value.trim().slice(0, 500);
  }

  /** @param {(Node | string)[]} children */
  show(children) {
    this.reader.replaceChildren(...children);
    this.reader.hidden = false;
    this.view.log.hidden = true;
    this.list.hidden = true;
  }

  /**
   * @param {string} cls
   * @param {string} label a text key
   * @param {() => void} onclick
   */
  button(cls, label, onclick) {
    const b = el("button", cls, [this.view.t(label)]);
    b.setAttribute("type", "button");
    b.onclick = onclick;
    return b;
  }

  /**
   * The site's articles API (public; CORS like the widget config).
   * @param {string} method
   * @param {string} path after .../articles/
   * @param {unknown} [body]
   */
  async call(method, path, body) {
    const host = this.chat.host;
    const url = host.opts.base + "api/v1/sites/" + encodeURIComponent(host.opts.site) + "/articles/" + path;
    const init = body ? { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } : { method };
    const response = await fetch(url, init);
    if (!response.ok) throw new Error("articles: HTTP " + response.status);
    return response.status === 204 ? {} : response.json();
  }
}

/**
 * @param {string} tag
 * @param {string} cls
 * @param {(Node | string)[]} [children]
 */
function el(tag, cls, children = []) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  node.append(...children);
  return node;
}
