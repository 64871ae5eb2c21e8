// @ts-check
/**
 * The reports page: a period and a department to look at; the KPIs against the targets;
 * charts (conversations by hour of day, the wait for a first reply, satisfaction and median
 * wait by day) drawn with uPlot; tables by agent, department and day; every table as CSV.
 * Bundled with uPlot by agent_console/build.mjs into dist/reports.js.
 */
import uPlot from "uplot";

import { api, ApiError } from "./api.js";
import { byId, el, t } from "./dom.js";
import { TARGETED, card, format, more } from "./kpis.js";

/** @typedef {Record<string, any>} Report */

const AGENT_COLUMNS = ["assigned", "closed", "agent_hours", "chats_per_agent_hour", "wait_median",
  "handle_median", "csat", "rated", "resolution_rate", "transfers", "left_answered"];
const DEPARTMENT_COLUMNS = ["conversations", "answered", "wait_median", "wait_p90",
  "abandonment_rate", "closed", "csat", "resolution_rate", "transfers_per_chat", "agent_hours",
  "deflected", "deflection_rate"];
const DAY_COLUMNS = ["conversations", "answered", "wait_median", "wait_p90", "abandonment_rate",
  "closed", "csat", "resolution_rate", "left", "deflected", "deflection_rate"];
/** Shown after kpis.js's list under the cards: the shoppers the FAQ articles answered. */
const SELF_SERVICE = ["deflected", "deflection_rate"];
const CHART_HEIGHT = 240;

/** @type {uPlot[]} */
let charts = [];

async function main() {
  const me = await api("GET", "/api/v1/me");
  const select = /** @type {HTMLSelectElement} */ (byId("department"));
  for (const dept of me.site?.departments || []) select.append(el("option", { value: dept, text: dept }));
  const params = new URLSearchParams(location.search);
  for (const name of ["from", "to", "department"]) {
    const value = params.get(name);
    if (value) /** @type {HTMLInputElement} */ (byId(name)).value = value;
  }
  byId("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", `?${query()}`);
    void load();
  });
  addEventListener("resize", resize);
  await load();
}

/** The report's parameters as the form has them (empty ones left out). */
function query() {
  const params = new URLSearchParams();
  for (const name of ["from", "to", "department"]) {
    const value = /** @type {HTMLInputElement} */ (byId(name)).value;
    if (value) params.set(name, value);
  }
  return params.toString();
}

async function load() {
  const error = byId("report-error");
  try {
    const report = await api("GET", `/api/v1/reports?${query()}`);
    error.hidden = true;
    render(report);
  } catch (failure) {
    error.textContent = failure instanceof ApiError ? failure.message : t("reports_failed");
    error.hidden = false;
  }
}

/** @param {Report} report */
function render(report) {
  /** @type {HTMLInputElement} */ (byId("from")).value = report.from;
  /** @type {HTMLInputElement} */ (byId("to")).value = report.to;
  byId("report-zone").textContent = t("reports_timezone", { zone: report.timezone });
  byId("demo-data").hidden = !report.demo_data;
  const params = new URLSearchParams({ from: report.from, to: report.to });
  if (report.department) params.set("department", report.department);
  for (const link of document.querySelectorAll("a.csv")) {
    const table = /** @type {HTMLElement} */ (link).dataset.table;
    link.setAttribute("href", `/api/v1/reports/${table}.csv?${params}`);
    link.setAttribute("download", "");
    link.setAttribute("aria-label", t("reports_download_csv", { table: t(`reports_table_${table}`) }));
  }
  const period = report.from === report.to ? report.from : `${report.from} – ${report.to}`;
  const periods = [{ label: period, figures: report.summary }];
  byId("summary").replaceChildren(...TARGETED.map((name) => card(name, periods, report.targets)));
  byId("summary-more").replaceChildren(...more(report.summary), ...SELF_SERVICE.map((name) => el("div", {},
    el("dt", { text: t(`kpi_${name}`) }),
    el("dd", { dataset: { kpi: name }, text: show(name, report.summary[name]) }))));
  table("agents-table", "agent", report.agents.map((/** @type {Report} */ r) => ({ ...r, agent: r.name })), AGENT_COLUMNS);
  table("departments-table", "department", report.departments, DEPARTMENT_COLUMNS);
  table("days-table", "day", report.days, DAY_COLUMNS);
  drawCharts(report);
}

/**
 * A table: one row per item, its first column `key`, then `columns` formatted.
 * @param {string} id
 * @param {string} key
 * @param {Report[]} rows
 * @param {string[]} columns
 */
function table(id, key, rows, columns) {
  const head = el("thead", {}, el("tr", {}, el("th", { scope: "col", text: t(`kpi_${key}`) }),
    ...columns.map((name) => el("th", { scope: "col", text: t(`kpi_${name}`) }))));
  const body = el("tbody", {}, ...(rows.length ? rows.map((row) => el("tr", {},
    el("th", { scope: "row", text: row[key] }),
    ...columns.map((name) => el("td", { dataset: { kpi: name }, text: show(name, row[name]) }))))
    : [el("tr", {}, el("td", { colspan: columns.length + 1, class: "empty", text: t("reports_no_data") }))]));
  byId(id).replaceChildren(head, body);
}

/**
 * A figure as text (kpis.js's format; the share answered by articles as a percentage).
 * @param {string} name
 * @param {number | null | undefined} value
 */
function show(name, value) {
  if (name === "deflection_rate" && typeof value === "number") return `${(value * 100).toFixed(1)}%`;
  return format(name, value);
}

// --- charts ---------------------------------------------------------------------------------------
/** @param {Report} report */
function drawCharts(report) {
  for (const chart of charts) chart.destroy();
  const colors = palette();
  // Two series of bars side by side: one left of each x, one right of it.
  const left = uPlot.paths.bars?.({ size: [0.4, 28], align: -1 });
  const right = uPlot.paths.bars?.({ size: [0.4, 28], align: 1 });
  const hours = report.hours.map((/** @type {Report} */ h) => h.hour);
  charts = [
    plot("chart-hours", {
      scales: { x: { time: false } },
      axes: [{ values: (/** @type {uPlot} */ _, /** @type {number[]} */ ticks) => ticks.map((v) => `${v}:00`) }, {}],
      series: [{ label: t("kpi_hour") },
        { label: t("kpi_conversations"), fill: colors.accent, stroke: colors.accent, paths: left },
        { label: t("kpi_abandoned"), fill: colors.danger, stroke: colors.danger, paths: right }],
    }, [hours, report.hours.map((/** @type {Report} */ h) => h.conversations), report.hours.map((/** @type {Report} */ h) => h.abandoned)]),
    plot("chart-waits", {
      scales: { x: { time: false } },
      axes: [{ space: 10, label: t("reports_wait_seconds"), splits: () => report.waits.map((/** @type {unknown} */ _, /** @type {number} */ i) => i),
        values: (/** @type {uPlot} */ _, /** @type {number[]} */ ticks) => ticks.map((i) => binLabel(report.waits[i])) }, {}],
      series: [{ label: t("reports_wait") },
        { label: t("kpi_first_reply"), fill: colors.accent, stroke: colors.accent, paths: left },
        { label: t("kpi_assignment"), fill: colors.muted, stroke: colors.muted, paths: right }],
    }, [report.waits.map((/** @type {unknown} */ _, /** @type {number} */ i) => i),
      report.waits.map((/** @type {Report} */ w) => w.first_reply), report.waits.map((/** @type {Report} */ w) => w.assignment)]),
    plot("chart-days", {
      scales: { x: { time: true }, percent: { range: [0, 100] } },
      axes: [{}, { scale: "percent", values: (/** @type {uPlot} */ _, /** @type {number[]} */ ticks) => ticks.map((v) => `${v}%`) },
        { scale: "s", side: 1, grid: { show: false }, values: (/** @type {uPlot} */ _, /** @type {number[]} */ ticks) => ticks.map((v) => `${v}s`) }],
      series: [{ label: t("kpi_day") },
        { label: t("kpi_csat"), scale: "percent", stroke: colors.ok, width: 2, value: (/** @type {uPlot} */ _, /** @type {number | null} */ v) => v === null ? "–" : `${v.toFixed(1)}%` },
        { label: t("kpi_target_csat"), scale: "percent", stroke: colors.ok, dash: [6, 4], width: 1 },
        { label: t("kpi_wait_median"), scale: "s", stroke: colors.accent, width: 2 },
        { label: t("kpi_target_wait_line"), scale: "s", stroke: colors.accent, dash: [6, 4], width: 1 }],
    }, [report.days.map((/** @type {Report} */ d) => Date.parse(`${d.day}T00:00:00`) / 1000),
      report.days.map((/** @type {Report} */ d) => d.csat === null ? null : d.csat * 100),
      report.days.map(() => report.targets.csat_percent),
      report.days.map((/** @type {Report} */ d) => d.wait_median),
      report.days.map(() => report.targets.wait_seconds)]),
  ];
}

/**
 * A chart in the element `id`, as wide as it is.
 * @param {string} id
 * @param {Partial<uPlot.Options>} options
 * @param {uPlot.AlignedData} data
 * @returns {uPlot}
 */
function plot(id, options, data) {
  const target = byId(id);
  target.replaceChildren();
  const chart = new uPlot({ width: width(target), height: CHART_HEIGHT, series: [], ...options }, data, target);
  target.dataset.drawn = String(data[0].length);
  return chart;
}

/** @param {HTMLElement} target */
function width(target) {
  return Math.max(280, target.clientWidth || 600);
}

function resize() {
  for (const chart of charts) {
    const target = /** @type {HTMLElement} */ (chart.root.parentElement);
    chart.setSize({ width: width(target), height: CHART_HEIGHT });
  }
}

/** @param {Report} bin */
function binLabel(bin) {
  if (!bin) return "";
  return bin.to_seconds === null
    ? t("seconds_over", { from: bin.from_seconds })
    : t("seconds_range", { from: bin.from_seconds, to: bin.to_seconds });
}

/** The page's colours (the console's theme, light or dark) for the canvas. */
function palette() {
  const style = getComputedStyle(document.documentElement);
  /** @param {string} name @param {string} fallback */
  const color = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return { accent: color("--accent", "#2458c6"), danger: color("--danger", "#b42318"),
    ok: color("--ok", "#1a7f37"), muted: color("--muted", "#56606b") };
}

void main();
