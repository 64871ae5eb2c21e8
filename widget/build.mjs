// Build the front ends: node widget/build.mjs [--check]
//
// Bundles and minifies with esbuild (the output is committed, so the server needs no node):
// - widget/src into chatserver/web/static/: widget.js (the loader, an IIFE) and widget/chat.js
//   (the chat UI, an ES module the loader imports; its content hash is baked into the loader so
//   that it can be cached for a year);
// - the agent console (agent_console/static/console.js and the modules it imports) into
//   agent_console/static/dist/console.js, and its reports page (reports.js, with uPlot) into
//   agent_console/static/dist/reports.js, with uPlot's stylesheet copied beside it, and its
//   knowledge-base pages (articles.js, invitations.js) into agent_console/static/dist/.
// Both take the shared client library (client/: socket, ids, frames, links) into their bundle.
// Prints each file's size, raw and gzipped (the console's CSS too, served as is), and fails
// when a file is over its budget. With --check it writes nothing and fails when the committed
// files differ from a fresh build.
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import * as esbuild from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "chatserver", "web", "static");
const CONSOLE = join(ROOT, "agent_console", "static");
// Gzipped bytes (level 9, as tests/browser/widget/test_weight.py measures them).
const BUDGETS = {
  "widget.js": 3 * 1024, "widget/chat.js": 30 * 1024, "console/dist/console.js": 40 * 1024,
  "console/console.css": 8 * 1024, "console/dist/reports.js": 32 * 1024, "console/dist/uplot.css": 2 * 1024,
  "console/dist/articles.js": 8 * 1024, "console/dist/invitations.js": 8 * 1024,
};
// Measured against its budget, not written: the console's own stylesheet is its source.
const SOURCES = new Set(["console/console.css"]);
/** @param {string} name where a built file goes */
const target = (name) => (name.startsWith("console/") ? join(CONSOLE, name.slice(8)) : join(OUT, name));

/**
 * @param {string} entry
 * @param {"iife" | "esm"} format
 * @param {Record<string, string>} define
 */
async function bundle(entry, format, define = {}) {
  const result = await esbuild.build({
    entryPoints: [join(ROOT, entry)],
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
  const chat = await bundle("widget/src/chat/index.js", "esm");
  const version = createHash("sha256").update(chat).digest("hex").slice(0, 12);
  const loader = await bundle("widget/src/loader.js", "iife", { __CHAT_VERSION__: JSON.stringify(version) });
  const console_ = await bundle("agent_console/static/console.js", "esm");
  const css = await readFile(join(CONSOLE, "console.css"));
  // The reports page draws its charts with uPlot (~50 KB, no dependencies; no CDN): its
  // bundle and uPlot's stylesheet are committed beside the console's.
  const reports = await bundle("agent_console/static/reports.js", "esm");
  const uplotCss = await readFile(join(ROOT, "node_modules", "uplot", "dist", "uPlot.min.css"));
  // The knowledge-base pages (admins, supervisors): a bundle each.
  const articles = await bundle("agent_console/static/articles.js", "esm");
  const invitations = await bundle("agent_console/static/invitations.js", "esm");
  return {
    "widget.js": loader, "widget/chat.js": chat, "console/dist/console.js": console_,
    "console/console.css": css, "console/dist/reports.js": reports, "console/dist/uplot.css": uplotCss,
    "console/dist/articles.js": articles, "console/dist/invitations.js": invitations,
  };
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
    console.log(`${name.padEnd(24)} ${String(data.length).padStart(7)} B  ${String(zipped).padStart(6)} B gzipped  (budget ${budget} B)${over ? "  OVER BUDGET" : ""}`);
    if (SOURCES.has(name)) continue;
    const path = target(name);
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
