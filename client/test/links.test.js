import assert from "node:assert/strict";
import { test } from "node:test";

import { safeHref, splitLinks } from "../links.js";

test("http(s) URLs become links; the rest stays text, punctuation outside the link", () => {
  assert.deepEqual(splitLinks("Track it: https://track.example/p?id=1. Thanks!"), [
    { text: "Track it: " },
    { text: "https://track.example/p?id=1", href: "https://track.example/p?id=1" },
    { text: ". Thanks!" },
  ]);
  assert.deepEqual(splitLinks("看这里：https://shop.example/茶。"), [
    { text: "看这里：" },
    { text: "https://shop.example/茶", href: "https://shop.example/%E8%8C%B6" },
    { text: "。" },
  ]);
});

test("nothing else becomes a link, and the pieces always join back into the text", () => {
  for (const text of ["javascript:alert(1)", "<a href=x>y</a>", "ftp://x.example", "www.example.com", ""]) {
    const pieces = splitLinks(text);
    assert.equal(pieces.filter((p) => p.href).length, 0, text);
    assert.equal(pieces.map((p) => p.text).join(""), text);
  }
  assert.equal(safeHref("data:text/html,x"), "");
  assert.equal(safeHref(42), "");
});
