// @ts-check
/** Transcript entries as list items: messages, internal notes, system events. */
import { compareIds } from "../../client/ids.js";
import { richText } from "../../client/links.js";
import { figure } from "./attach.js";
import { clock, el, t } from "./dom.js";

/** @typedef {import("./dom.js").Frame} Frame */

/**
 * One entry of a transcript.
 * @param {Frame} entry a `message`, `note` or `event` frame (or a pending message)
 * @param {{shopperRead?: string, pending?: boolean, failed?: string}} [state]
 * @returns {HTMLElement}
 */
export function entryItem(entry, state = {}) {
  if (entry.type === "event") {
    return el("li", { class: "entry event", dataset: { id: entry.id, event: entry.event } },
      el("span", { class: "text", text: eventText(entry) }),
      el("time", { text: clock(entry.ts) }));
  }
  const role = entry.from?.role === "shopper" ? "shopper" : "agent";
  const note = entry.type === "note";
  const classes = ["entry", note ? "note" : "message", role];
  if (state.pending) classes.push("pending");
  if (state.failed) classes.push("failed");
  const who = note ? t("note_by", { name: entry.from?.name || "" })
    : role === "shopper" ? t("customer") : entry.from?.name || t("agent");
  const item = el("li", { class: classes.join(" "), dataset: { id: entry.id || "", cmid: entry.client_msg_id || "" } },
    el("div", { class: "meta" }, el("span", { class: "who", text: who }),
      entry.ts ? el("time", { text: clock(entry.ts) }) : null,
      entry.via === "email" ? el("span", { class: "via-email", text: t("via_email") }) : null),
    linked(el("div", { class: "text" }), String(entry.text ?? "")));
  if (entry.attachment) item.lastChild?.before(figure(entry.attachment, entry.conversation_id));
  if (state.failed) item.append(el("div", { class: "status error", text: state.failed }));
  else if (state.pending) item.append(el("div", { class: "status", text: t("sending") }));
  else if (!note && role === "agent" && state.shopperRead && compareIds(entry.id, state.shopperRead) <= 0) {
    item.append(el("div", { class: "status read", text: t("read_by_customer") }));
  }
  return item;
}

/**
 * The knowledge-base articles the shopper opened in the widget before asking (the
 * conversation's `articles_read`), as the transcript's first line; none: nothing.
 * @param {{id: string, title: string}[] | undefined} articles
 * @returns {HTMLElement[]}
 */
export function readBefore(articles) {
  if (!articles?.length) return [];
  return [el("li", { class: "entry event read-before", dataset: { articles: articles.map((a) => a.id).join(" ") } },
    el("span", { class: "text", text: t("articles_read_before", { titles: articles.map((a) => a.title).join(", ") }) }))];
}

/**
 * @param {HTMLElement} node
 * @param {string} text
 * @returns {HTMLElement} `node` holding `text`, its http(s) URLs as links
 */
function linked(node, text) {
  richText(node, text);
  return node;
}

/**
 * What a system event says, in the console's language.
 * @param {Frame} e
 * @returns {string}
 */
export function eventText(e) {
  switch (e.event) {
    case "created":
      return t("event_created", { department: e.department || "" });
    case "assigned":
      return t("event_assigned", { name: e.agent?.name || "" });
    case "transferred":
      return t("event_transferred", {
        to: e.to?.name || e.to?.department || "",
        by: e.by?.name || "",
      });
    case "requeued":
      return t("event_requeued");
    case "closed":
      return e.by?.role === "shopper" ? t("event_closed_by_customer")
        : t("event_closed", { name: e.by?.name || "", outcome: outcomeText(e.outcome) });
    case "abandoned":
      return t("event_abandoned");
    case "contact":
      return t("event_contact", { details: [e.contact?.name, e.contact?.email].filter(Boolean).join(", ") });
    case "rated":
      return t("event_rated", { rating: t(`rating_${e.rating}`) });
    case "transcript_requested":
      return t("event_transcript", { email: e.email || "" });
    case "emailed": // agents' lines the customer had not read, mailed to them (docs/email.md)
      return t("event_emailed", { count: Array.isArray(e.entries) ? e.entries.length : 0 });
    case "continued":
      return t("event_continued");
    default:
      return t("event_other", { event: String(e.event) });
  }
}

/**
 * @param {string | null | undefined} outcome
 * @returns {string}
 */
export function outcomeText(outcome) {
  return outcome ? t(`outcome_${outcome}`) : t("outcome_none");
}
