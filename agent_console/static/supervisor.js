// @ts-check
/**
 * The supervisor's view: the service KPIs of today and the last 7 days against the site's
 * targets; each department's queue (length, oldest wait, free slots, expected wait) and each
 * agent's status, load and capacity, with the limit the supervisor allows. It refreshes itself.
 */
import { api, ApiError } from "./api.js";
import { byId, duration, el, t, toast } from "./dom.js";
import { TARGETED, card, more } from "./kpis.js";

/** @typedef {import("./dom.js").Frame} Frame */

const REFRESH_MS = 5000;

async function refresh() {
  try {
    const [overview, live] = await Promise.all([api("GET", "/api/v1/overview"), api("GET", "/api/v1/reports/live")]);
    render(overview);
    renderKpis(live);
    byId("updated").textContent = t("updated_now");
  } catch {
    byId("updated").textContent = t("panel_failed");
  }
}

/** @param {Frame} live today's and the last 7 days' figures, with the targets */
function renderKpis(live) {
  const periods = [{ label: t("kpi_today"), figures: live.today }, { label: t("kpi_last_7_days"), figures: live.last_7_days }];
  byId("kpis").replaceChildren(...TARGETED.map((name) => card(name, periods, live.targets)));
  byId("kpi-more").replaceChildren(...more(live.today));
}

/** @param {Frame} data */
function render(data) {
  byId("queues").replaceChildren(...data.departments.map((/** @type {Frame} */ d) => el("tr", { dataset: { department: d.department } },
    el("th", { scope: "row", text: d.department }),
    el("td", { class: "queued", text: d.queued }),
    el("td", { text: d.oldest_wait_seconds === null ? "–" : duration(d.oldest_wait_seconds) }),
    el("td", { text: `${d.free_slots} / ${d.total_slots}` }),
    el("td", { text: d.eta_seconds === null ? t("no_agent_online") : duration(d.eta_seconds) }))));
  byId("agents").replaceChildren(...data.agents.map((/** @type {Frame} */ a) => el("tr", { dataset: { agent: a.id } },
    el("th", { scope: "row", text: a.name }),
    el("td", { text: a.departments.join(", ") }),
    el("td", { class: `status ${a.status}`, text: t(`status_${a.status}`) + (a.connected ? "" : ` (${t("disconnected")})`) }),
    el("td", { class: "load", text: `${a.load} / ${a.capacity}` }),
    el("td", {}, limitControl(a)))));
}

/** @param {Frame} agent */
function limitControl(agent) {
  const select = /** @type {HTMLSelectElement} */ (el("select", { class: "max-capacity", "aria-label": t("max_capacity") },
    ...[1, 2, 3].map((n) => el("option", { value: n, text: n, selected: n === agent.max_capacity }))));
  select.addEventListener("change", async () => {
    try {
      await api("PATCH", `/api/v1/agents/${encodeURIComponent(agent.id)}`, { max_capacity: Number(select.value) });
      toast(t("saved"));
    } catch (error) {
      toast(error instanceof ApiError ? error.message : t("panel_failed"), "error");
    }
    await refresh();
  });
  return select;
}

void refresh();
setInterval(refresh, REFRESH_MS);
