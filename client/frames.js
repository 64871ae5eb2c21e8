// @ts-check
/**
 * The protocol's frames as both front ends build and read them (docs/protocol.md sections 5
 * and 6): JSDoc types, and one builder per frame a client sends.
 */

/** @typedef {Record<string, any>} Frame any frame, as parsed from JSON */
/** @typedef {{role: "shopper" | "agent" | "system", id?: string, name?: string}} Sender */
/**
 * A transcript entry (section 6.3 - 6.5): a message, an agent's internal note, or an event.
 * @typedef {object} Entry
 * @property {"message" | "note" | "event"} type
 * @property {string} id stream id "MS-SEQ"
 * @property {string} conversation_id
 * @property {number} ts ms
 * @property {string} [text]
 * @property {Sender} [from]
 * @property {string} [client_msg_id]
 * @property {string} [event] for events: created, assigned, transferred, closed, rated...
 */
/**
 * @typedef {object} ErrorFrame section 6.14
 * @property {"error"} type
 * @property {string} code see section 13
 * @property {string} message
 * @property {string} [ref] the client message id of the frame refused
 * @property {string} [conversation_id]
 */

/** Error codes after which a message is kept and resent (section 13). */
export const RESEND_AFTER = Object.freeze(["unavailable", "rate_limited"]);

/**
 * @param {{token?: string, customer?: {id: string, expires: number, signature: string}}} [auth]
 * @returns {Frame}
 */
export function hello(auth = {}) {
  /** @type {Frame} */
  const frame = { type: "hello" };
  if (auth.token) frame.token = auth.token;
  if (auth.customer) frame.customer = auth.customer;
  return frame;
}

/**
 * @param {string} conversationId
 * @param {number} epoch
 * @param {string} after the last id the client holds ("0-0": everything)
 * @returns {Frame}
 */
export function resume(conversationId, epoch, after) {
  return { type: "resume", conversation_id: conversationId, epoch, after };
}

/**
 * @param {"message" | "note"} type
 * @param {string} conversationId
 * @param {string} cmid
 * @param {string} text
 * @returns {Frame}
 */
export function message(type, conversationId, cmid, text) {
  return { type, conversation_id: conversationId, client_msg_id: cmid, text };
}

/**
 * @param {string} conversationId
 * @param {boolean} on
 * @returns {Frame}
 */
export function typing(conversationId, on) {
  return { type: "typing", conversation_id: conversationId, typing: on };
}

/**
 * @param {string} conversationId
 * @param {string} upTo
 * @returns {Frame}
 */
export function read(conversationId, upTo) {
  return { type: "read", conversation_id: conversationId, up_to: upTo };
}

/**
 * @param {string} conversationId
 * @param {string} [outcome] agents only
 * @returns {Frame}
 */
export function close(conversationId, outcome) {
  return outcome ? { type: "close", conversation_id: conversationId, outcome } : { type: "close", conversation_id: conversationId };
}

/**
 * Whether an `error` frame refused a frame for good (drop it) rather than for now (resend).
 * @param {Frame} error
 * @returns {boolean}
 */
export function refusedForGood(error) {
  return !RESEND_AFTER.includes(String(error.code));
}
