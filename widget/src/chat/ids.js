// @ts-check
/** Transcript ids are Redis Stream ids "MS-SEQ": compared as number pairs, never as strings. */

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

/** @param {string} a @param {string} b */
export const maxId = (a, b) => (compareIds(a, b) >= 0 ? a : b);

/** A client message id: unique per sender, random enough for two tabs writing at once. */
export function newCmid() {
  return "w" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
}
