// @ts-check
/**
 * What the console knows of each of its chats: the conversation's snapshot, its transcript
 * (deduplicated and ordered by id), unacknowledged messages, read positions, typing.
 */
import { compareIds } from "../../client/ids.js";
import { t } from "./dom.js";

/** @typedef {import("./dom.js").Frame} Frame */

export const TYPING_SHOWN_MS = 10_000;

export class Chat {
  /** @param {string} id */
  constructor(id) {
    this.id = id;
    /** @type {Frame} the latest `conversation` frame */
    this.summary = {};
    /** @type {Map<string, Frame>} transcript entries by id */
    this.entries = new Map();
    this.epoch = 1;
    /** the last_id of the latest `synced`: everything up to it is here */
    this.synced = "0-0";
    /** what the shopper has read (their `read` frames) */
    this.shopperRead = "0-0";
    /** what this agent has read (sent in `read` frames) */
    this.agentRead = "0-0";
    this.typingUntil = 0;
    /** @type {Map<string, Frame>} messages and notes sent and not yet acknowledged */
    this.outbox = new Map();
    /** @type {Map<string, string>} client message id -> error text, for refused ones */
    this.failed = new Map();
    this.fresh = true; // assigned and not opened yet
    this.closing = false; // this console asked to close it
    this.arrived = Date.now();
  }

  get state() {
    return String(this.summary.state || "assigned");
  }

  get open() {
    return this.state === "assigned" || this.state === "queued" || this.state === "left";
  }

  /**
   * Keep a transcript entry once; true if it is new.
   * @param {Frame} frame
   * @returns {boolean}
   */
  add(frame) {
    if (this.entries.has(frame.id)) return false;
    this.entries.set(frame.id, frame);
    for (const [cmid, pending] of this.outbox) {
      if (pending.ackId === frame.id) this.outbox.delete(cmid);
    }
    return true;
  }

  /** @returns {Frame[]} the transcript in id order */
  transcript() {
    return [...this.entries.values()].sort((a, b) => compareIds(a.id, b.id));
  }

  /** @returns {string} the id of the last entry held */
  lastId() {
    const all = this.transcript();
    return all.length ? all[all.length - 1].id : "0-0";
  }

  /** @returns {number} shopper messages this agent has not read */
  unread() {
    let count = 0;
    for (const entry of this.entries.values()) {
      if (isShopperMessage(entry) && compareIds(entry.id, this.agentRead) > 0) count += 1;
    }
    return count;
  }

  /**
   * Since when the customer waits for a reply: the first shopper message after the last
   * agent message (ms), or null when the agent had the last word.
   * @returns {number | null}
   */
  waitingSince() {
    let since = null;
    for (const entry of this.transcript()) {
      if (entry.type !== "message") continue;
      if (entry.from?.role === "agent") since = null;
      else if (since === null) since = entry.ts;
    }
    return since;
  }

  /** @returns {string} the last message's text, for the chat list */
  preview() {
    const messages = this.transcript().filter((e) => e.type === "message");
    const last = messages[messages.length - 1];
    return last ? String(last.text || (last.attachment ? `📎 ${last.attachment.name}` : "")) : "";
  }

  /**
   * How the customer is named in the list: the verified id, a name they gave, or the visitor.
   * @param {Frame | null} panel the customer panel, if loaded
   * @returns {string}
   */
  label(panel) {
    const name = panel?.customer?.name || panel?.contact?.name;
    if (name) return String(name);
    if (this.summary.customer) return String(this.summary.customer);
    return t("visitor", { id: String(this.summary.visitor_id || this.id).slice(0, 6) });
  }

  typing() {
    return this.typingUntil > Date.now();
  }
}

/**
 * @param {Frame} entry
 * @returns {boolean}
 */
export function isShopperMessage(entry) {
  return entry.type === "message" && entry.from?.role === "shopper";
}
