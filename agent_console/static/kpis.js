// @ts-check
/**
 * The service KPIs as the supervisor's view and the reports page show them: a card per
 * targeted figure (its value, a status in words and colour, the target), and a list of the
 * others. The figures come from the reports API (docs/reports.md defines them).
 */
import { duration, el, t } from "./dom.js";

/** @typedef {Record<string, any>} Figures */
/** @typedef {{wait_seconds: number, csat_percent: number, resolution_percent: number}} Targets */

/** The KPIs with a target, in the order of the cards. */
export const TARGETED = ["wait_median", "csat", "resolution_rate"];
/** The other figures listed under the cards. */
export const MORE = ["conversations", "wait_p90", "assign_median", "abandonment_rate", "closed",
  "response_rate", "transfers_per_chat", "chats_per_agent_hour", "left", "left_reply_median"];

const DURATIONS = new Set(["wait_median", "wait_p90", "assign_median", "assign_p90",
  "handle_median", "handle_mean", "left_reply_median"]);
const RATES = new Set(["csat", "resolution_rate", "abandonment_rate", "response_rate", "sale_rate"]);
const DECIMALS = new Set(["transfers_per_chat", "chats_per_agent_hour", "enquiries_per_agent_hour",
  "agent_hours"]);

/**
 * A figure as text: durations as m:ss, rates as percentages, "–" when not measured.
 * @param {string} name
 * @param {number | null | undefined} value
 * @returns {string}
 */
export function format(name, value) {
  if (value === null || value === undefined) return "–";
  if (DURATIONS.has(name)) return duration(Math.round(value));
  if (RATES.has(name)) return `${(value * 100).toFixed(1)}%`;
  if (name === "transfers_per_chat") return value.toFixed(2);
  if (DECIMALS.has(name)) return value.toFixed(1);
  return String(value);
}

/**
 * "target ≤ 2:00" or "target ≥ 85%".
 * @param {string} name
 * @param {Targets} targets
 * @returns {string}
 */
export function targetText(name, targets) {
  if (name === "wait_median") return t("kpi_target_wait", { value: duration(targets.wait_seconds) });
  const percent = name === "csat" ? targets.csat_percent : targets.resolution_percent;
  return t("kpi_target_rate", { value: `${percent}%` });
}

/**
 * One targeted KPI: its value in each period (today, last 7 days...) with its status.
 * @param {string} name
 * @param {Array<{label: string, figures: Figures}>} periods
 * @param {Targets} targets
 * @returns {HTMLElement}
 */
export function card(name, periods, targets) {
  // The card's colour: the first period with a figure (today, or the week early in the day).
  const measured = periods.map((p) => p.figures.status?.[name] || "none").filter((s) => s !== "none");
  const first = measured[0] || "none";
  return el("article", { class: `kpi ${first}`, dataset: { kpi: name, status: first } },
    el("h3", { text: t(`kpi_${name}`) }),
    el("ul", {}, ...periods.map(({ label, figures }) => {
      const status = figures.status?.[name] || "none";
      return el("li", { class: `status-${status}`, dataset: { status } },
        el("span", { class: "period", text: label }),
        el("strong", { class: "value", text: format(name, figures[name]) }),
        el("span", { class: "verdict", text: t(`kpi_status_${status}`) }));
    })),
    el("p", { class: "target", text: targetText(name, targets) }));
}

/**
 * The other figures of one period, as a definition list's groups.
 * @param {Figures} figures
 * @returns {HTMLElement[]}
 */
export function more(figures) {
  return MORE.map((name) => el("div", {},
    el("dt", { text: t(`kpi_${name}`) }),
    el("dd", { dataset: { kpi: name }, text: format(name, figures[name]) })));
}
