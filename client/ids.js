// @ts-check
/**
 * Message ids, shared by the widget and the console. Transcript ids are Redis Stream ids
 * "MS-SEQ" (docs/protocol.md 7.2): compared as number pairs, never as strings.
 */

/**
 * @param {string} a
 * @param {string} b
 * @returns {number} < 0, 0 or > 0
 */
export function compareIds(a, b) {
  const [am, as = "0"] = (a || "0").split("-");
  const [bm, bs = "0"] = (b || "0").split("-");
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

/**
 * @param {string} a
 * @param {string} b
 * @returns {string} the later of two ids
 */
export function maxId(a, b) {
  return compareIds(a, b) >= 0 ? a : b;
}

/**
 * A client message id: unique per sender, random enough for two tabs writing at once
 * (crypto.getRandomValues works outside secure contexts, unlike crypto.randomUUID).
 * @param {string} [prefix]
 * @returns {string}
 */
export function newCmid(prefix = "") {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return prefix + Date.now().toString(36) + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
