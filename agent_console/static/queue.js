// @ts-check
/**
 * The queue beside my chats: who waits in my departments (supervisors, admins: all), in the
 * order they will be served, each with how long they have waited and their first message.
 * Refreshed every REFRESH_MS from GET /api/v1/queue; the waits tick every second in between.
 */
import { api } from "./api.js";
import { byId, duration, el, t } from "./dom.js";

/** @typedef {import("./dom.js").Frame} Frame */

const REFRESH_MS = 5000;

export class Queue {
  constructor() {
    this.list = byId("queue-list");
    this.count = byId("queue-count");
    /** @type {Frame[]} */
    this.departments = [];
    this.fetchedAt = Date.now();
  }

  start() {
    void this.refresh();
    setInterval(() => void this.refresh(), REFRESH_MS);
  }

  async refresh() {
    try {
      this.departments = (await api("GET", "/api/v1/queue")).departments;
      this.fetchedAt = Date.now();
    } catch {
      return; // keep what is shown; the next refresh tries again
    }
    this.render();
  }

  render() {
    const total = this.departments.reduce((n, d) => n + d.waiting.length, 0);
    this.count.textContent = total ? String(total) : "";
    if (!total) {
      this.list.replaceChildren(el("li", { class: "empty", text: t("queue_empty") }));
      return;
    }
    const many = this.departments.filter((d) => d.waiting.length).length > 1;
    this.list.replaceChildren(...this.departments.filter((d) => d.waiting.length).flatMap((d) => [
      many ? el("li", { class: "queue-department", text: d.department }) : null,
      ...d.waiting.map((/** @type {Frame} */ w) => el("li", {
        class: "waiting-customer", dataset: { conversationId: w.conversation_id } },
        el("span", { class: "who", text: w.name || w.customer || t("visitor", { id: w.conversation_id.slice(0, 6) }) }),
        el("span", { class: "since", dataset: { seconds: w.waiting_seconds }, text: duration(w.waiting_seconds) }),
        w.position === 1 ? el("span", { class: "next", text: t("queue_next") }) : null,
        w.text ? el("span", { class: "preview", text: w.text }) : null)),
    ].filter((node) => node !== null)));
  }

  /** Every second: the waits move on between refreshes. */
  tick() {
    const gone = (Date.now() - this.fetchedAt) / 1000;
    for (const node of this.list.querySelectorAll(".since")) {
      const seconds = Number(/** @type {HTMLElement} */ (node).dataset.seconds) + gone;
      node.textContent = duration(seconds);
      node.className = `since ${lateness(seconds)}`;
    }
  }
}

/**
 * How late a wait is, against the team's target (median wait <= 120 s): "" under a minute,
 * "slow" from one minute, "late" from two.
 * @param {number} seconds
 * @returns {string}
 */
export function lateness(seconds) {
  return seconds >= 120 ? "late" : seconds >= 60 ? "slow" : "";
}
