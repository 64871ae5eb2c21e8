import assert from "node:assert/strict";
import { test } from "node:test";

import { capped, cartFigures, DAY, glob, matches, message, pick, visit, VISIT_GAP } from "../src/chat/invite.js";

const NOW = 1_800_000_000_000;

/** Facts that satisfy every condition of STRICT. */
function facts(over = {}) {
  return {
    path: "/demo/zh/cart", seconds: 30, cart: { value: 300, items: 3 }, returning: true, pages: 4,
    exitIntent: true, open: true, room: true, shown: {}, now: NOW, ...over,
  };
}

/** A rule with every condition set. */
const STRICT = {
  id: "strict", enabled: true, url: "/demo/*/cart", seconds_on_page: 20, min_cart_value: 200,
  min_cart_items: 2, returning: true, min_pages: 3, exit_intent: true, business_hours: true,
  needs_room: true, messages: { en: "Need help?", "zh-CN": "需要帮忙吗？" }, per_days: 1,
};

/** A rule without conditions. */
const BARE = { id: "bare", enabled: true, url: null, seconds_on_page: null, min_cart_value: null,
  min_cart_items: null, returning: null, min_pages: null, exit_intent: false, business_hours: false,
  needs_room: false, messages: { en: "Hi" }, per_days: 1 };

test("a rule fits when every condition holds", () => {
  assert.equal(matches(STRICT, facts()), true);
});

// Each condition, both ways: the facts that fail it, and the rule without it then fits.
const CASES = [
  ["enabled", { enabled: false }, {}],
  ["url", { url: "/demo/*/cart" }, { path: "/demo/zh/product/t1" }],
  ["seconds_on_page", { seconds_on_page: 20 }, { seconds: 19.9 }],
  ["min_cart_value", { min_cart_value: 200 }, { cart: { value: 199, items: 3 } }],
  ["min_cart_items", { min_cart_items: 2 }, { cart: { value: 300, items: 1 } }],
  ["returning (true)", { returning: true }, { returning: false }],
  ["returning (false)", { returning: false }, { returning: true }],
  ["min_pages", { min_pages: 3 }, { pages: 2 }],
  ["exit_intent", { exit_intent: true }, { exitIntent: false }],
  ["business_hours", { business_hours: true }, { open: false }],
  ["needs_room", { needs_room: true }, { room: false }],
  ["per_days", { per_days: 1 }, { shown: { bare: NOW - DAY + 1000 } }, { per_days: 0 }],
];

for (const [name, condition, failing, without = {}] of CASES) {
  test(`condition ${name}: refuses when unmet, no condition when unset`, () => {
    const rule = { ...BARE, ...condition };
    assert.equal(matches(rule, facts(failing)), false, "the unmet condition refuses");
    assert.equal(matches({ ...BARE, ...without }, facts(failing)), true, "without it the rule fits");
    if (name !== "enabled" && name !== "per_days") {
      // every other condition met: the rule fits on facts that meet it
      assert.equal(matches(rule, facts(name === "returning (false)" ? { returning: false } : {})), true);
    }
  });
}

test("thresholds are inclusive", () => {
  const exact = facts({ seconds: 20, cart: { value: 200, items: 2 }, pages: 3 });
  assert.equal(matches(STRICT, exact), true);
});

test("the cap lasts per_days days from the last showing; 0 means no cap", () => {
  const rule = { ...BARE, per_days: 2 };
  assert.equal(capped(rule, { bare: NOW - 2 * DAY + 1 }, NOW), true);
  assert.equal(capped(rule, { bare: NOW - 2 * DAY }, NOW), false);
  assert.equal(capped(rule, { other: NOW }, NOW), false, "another rule's showing does not count");
  assert.equal(capped({ ...BARE, per_days: null }, { bare: NOW - DAY + 1 }, NOW), true, "default: once a day");
  assert.equal(capped({ ...BARE, per_days: 0 }, { bare: NOW }, NOW), false);
});

test("URL patterns: * within a path segment, ** across segments, the rest literal", () => {
  assert.equal(glob("/demo/*/cart").test("/demo/en/cart"), true);
  assert.equal(glob("/demo/*/cart").test("/demo/en/x/cart"), false);
  assert.equal(glob("/demo/*/cart").test("/demo/en/cart/more"), false);
  assert.equal(glob("/demo/**").test("/demo/en/product/t1"), true);
  assert.equal(glob("/a.b").test("/axb"), false, "a dot is a dot");
  assert.equal(glob("/p(1)+").test("/p(1)+"), true);
});

test("the first fitting rule wins, in the site's order", () => {
  const later = { ...BARE, id: "later" };
  assert.equal(pick([{ ...STRICT }, later], facts())?.id, "strict");
  assert.equal(pick([{ ...STRICT }, later], facts({ room: false }))?.id, "later");
  assert.equal(pick([{ ...STRICT }], facts({ room: false })), null);
  assert.equal(pick([], facts()), null);
});

test("cart figures come from the page's cart context, in either shape", () => {
  assert.deepEqual(cartFigures(null), { value: 0, items: 0 });
  assert.deepEqual(cartFigures({ items: [{ sku: "a", qty: 2, price: 10 }, { sku: "b", qty: 1 }], total: 128, currency: "CNY" }), { value: 128, items: 3 });
  assert.deepEqual(cartFigures({ value: "99.5", items: 4 }), { value: 99.5, items: 4 });
  assert.deepEqual(cartFigures({ items: [{ sku: "a" }], total: "n/a" }), { value: 0, items: 1 });
});

test("visits: pages count up within a visit, a gap starts a new visit (a returning visitor)", () => {
  const first = visit(null, NOW);
  assert.deepEqual(first, { visits: 1, pages: 1, last: NOW });
  const second = visit(first, NOW + 1000);
  assert.deepEqual(second, { visits: 1, pages: 2, last: NOW + 1000 });
  const back = visit(second, NOW + 1000 + VISIT_GAP + 1);
  assert.deepEqual(back, { visits: 2, pages: 1, last: NOW + 1000 + VISIT_GAP + 1 });
});

test("the message in the shopper's language, else English", () => {
  assert.equal(message(STRICT, "zh-CN"), "需要帮忙吗？");
  assert.equal(message(STRICT, "fr"), "Need help?");
  assert.equal(message({ ...BARE, messages: { "zh-CN": "您好" } }, "en"), "您好");
});
