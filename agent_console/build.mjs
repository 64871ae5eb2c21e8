// Build the console's reports page: node agent_console/build.mjs [--check]
//
// The reports page (agent_console/static/reports.js and the modules it imports) draws its
// charts with uPlot (npm: ~50 KB, no dependencies, canvas); esbuild bundles and minifies them
// into agent_console/static/dist/reports.js, and copies uPlot's stylesheet beside it
// (committed, so the server needs no node; no CDN). The rest of the console is built by
// widget/build.mjs. Prints each file's size, raw and gzipped, and fails when one is over its
// budget. With --check it writes nothing and fails when the committed files differ from a
// fresh build.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import * as esbuild from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const UPLOT = join(ROOT, "node_modules", "uplot", "dist");
const OUT = join(ROOT, "agent_console", "static", "dist");
// Gzipped bytes (level 9).
const BUDGETS = { "reports.js": 32 * 1024, "uplot.css": 2 * 1024 };

async function build() {
  const result = await esbuild.build({
    entryPoints: [join(ROOT, "agent_console", "static", "reports.js")],
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020", "chrome90", "firefox90", "safari14"],
    charset: "utf8",
    legalComments: "none",
    write: false,
  });
  return {
    "reports.js": Buffer.from(result.outputFiles[0].contents),
    "uplot.css": await readFile(join(UPLOT, "uPlot.min.css")),
  };
}

async function main() {
  const check = process.argv.includes("--check");
  let failed = false;
  for (const [name, data] of Object.entries(await build())) {
    const zipped = gzipSync(data, { level: 9 }).length;
    const over = zipped > BUDGETS[name];
    failed ||= over;
    console.log(`console/dist/${name.padEnd(11)} ${String(data.length).padStart(7)} B  ${String(zipped).padStart(6)} B gzipped  (budget ${BUDGETS[name]} B)${over ? "  OVER BUDGET" : ""}`);
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
