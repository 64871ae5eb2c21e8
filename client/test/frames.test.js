import assert from "node:assert/strict";
import { test } from "node:test";

import * as frames from "../frames.js";

test("the builders make the frames of docs/protocol.md", () => {
  assert.deepEqual(frames.hello(), { type: "hello" });
  assert.deepEqual(frames.hello({ token: "t" }), { type: "hello", token: "t" });
  assert.deepEqual(frames.resume("c1", 2, "5-0"), { type: "resume", conversation_id: "c1", epoch: 2, after: "5-0" });
  assert.deepEqual(frames.message("note", "c1", "m1", "hi"), { type: "note", conversation_id: "c1", client_msg_id: "m1", text: "hi" });
  assert.deepEqual(frames.typing("c1", true), { type: "typing", conversation_id: "c1", typing: true });
  assert.deepEqual(frames.read("c1", "9-0"), { type: "read", conversation_id: "c1", up_to: "9-0" });
  assert.deepEqual(frames.close("c1"), { type: "close", conversation_id: "c1" });
  assert.deepEqual(frames.close("c1", "sale"), { type: "close", conversation_id: "c1", outcome: "sale" });
});

test("only unavailable and rate_limited are worth a resend", () => {
  assert.equal(frames.refusedForGood({ code: "unavailable" }), false);
  assert.equal(frames.refusedForGood({ code: "rate_limited" }), false);
  assert.equal(frames.refusedForGood({ code: "conversation_closed" }), true);
  assert.equal(frames.refusedForGood({ code: "already_rated" }), true);
});
