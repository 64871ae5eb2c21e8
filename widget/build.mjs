// Build the widget: node widget/build.mjs [--check]
//
// Bundles and minifies widget/src with esbuild into chatserver/web/static/ (committed, so the
// server needs no node): widget.js (the loader, an IIFE) and widget/chat.js (the chat UI, an ES
// module the loader imports; its content hash is baked into the loader so that it can be
// cached for a year). Prints each file's size, raw and gzipped, and fails when a file is over
// its budget. With --check it writes nothing and fails when the committed files differ from a
// fresh build.
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import * as esbuild from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "chatserver", "web", "static");
// Gzipped bytes (level 9, as tests/browser/widget/test_weight.py measures them).
const BUDGETS = { "widget.js": 3 * 1024, "widget/chat.js": 30 * 1024 };

/**
 * @param {string} entry
 * @param {"iife" | "esm"} format
 * @param {Record<string, string>} define
 */
async function bundle(entry, format, define = {}) {
  const result = await esbuild.build({
    entryPoints: [join(ROOT, "widget", "src", entry)],
    bundle: true,
    minify: true,
    format,
    target: ["es2020", "chrome90", "firefox90", "safari14"],
    charset: "utf8",
    legalComments: "none",
    define,
    write: false,
  });
  return Buffer.from(result.outputFiles[0].contents);
}

async function build() {
  const chat = await bundle("chat/index.js", "esm");
  const version = createHash("sha256").update(chat).digest("hex").slice(0, 12);
  const loader = await bundle("loader.js", "iife", { __CHAT_VERSION__: JSON.stringify(version) });
  return { "widget.js": loader, "widget/chat.js": chat };
}

async function main() {
  const check = process.argv.includes("--check");
  const files = await build();
  let failed = false;
  for (const [name, data] of Object.entries(files)) {
    const zipped = gzipSync(data, { level: 9 }).length;
    const budget = BUDGETS[name];
    const over = zipped > budget;
    failed ||= over;
    console.log(`${name.padEnd(16)} ${String(data.length).padStart(7)} B  ${String(zipped).padStart(6)} B gzipped  (budget ${budget} B)${over ? "  OVER BUDGET" : ""}`);
    const path = join(OUT, name);
    if (check) {
      const committed = await readFile(path).catch(() => Buffer.alloc(0));
      if (!committed.equals(data)) {
        console.error(`${path} differs from a fresh build: run npm run build`);
        failed = true;
      }
    } else {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, data);
    }
  }
  if (failed) process.exit(1);
}

await main();
