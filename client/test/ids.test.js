import assert from "node:assert/strict";
import { test } from "node:test";

import { compareIds, maxId, newCmid } from "../ids.js";

test("ids compare as number pairs, not as strings", () => {
  assert.ok(compareIds("10-0", "9-5") > 0); // "10-0" < "9-5" as strings
  assert.ok(compareIds("5-10", "5-9") > 0);
  assert.equal(compareIds("7-1", "7-1"), 0);
  assert.ok(compareIds("0-0", "1-0") < 0);
  assert.equal(compareIds("", "0-0"), 0); // a missing id is the start
});

test("maxId keeps the later id", () => {
  assert.equal(maxId("9-5", "10-0"), "10-0");
  assert.equal(maxId("10-0", "9-5"), "10-0");
});

test("client message ids are unique and carry their prefix", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newCmid("w")));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^w[0-9a-z]+$/);
});
