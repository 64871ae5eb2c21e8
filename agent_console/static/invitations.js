// @ts-check
/**
 * The Invitations page (admins): the site's proactive invitation rules, in order (the widget
 * shows the first enabled rule that fits; docs/widget.md). Each rule is a small form; "Save
 * the rules" replaces the whole list (PUT /api/v1/sites/{site}/invitations), and the server
 * says which rule it refuses and why.
 */
import { api, ApiError } from "./api.js";
import { byId, el, t, toast } from "./dom.js";

/** @typedef {import("./dom.js").Frame} Frame */

const ui = {
  form: /** @type {HTMLFormElement} */ (byId("rules-form")),
  rules: byId("rules"),
  none: byId("rules-none"),
};
let site = "";

/** A new rule: a greeting on the cart page after 20 s. */
const FRESH = { id: "", enabled: true, url: "", seconds_on_page: 20, min_cart_value: null, min_cart_items: null,
  returning: null, min_pages: null, exit_intent: false, business_hours: true, needs_room: true,
  messages: { en: "", "zh-CN": "" }, per_days: 1 };

async function load() {
  try {
    site = (await api("GET", "/api/v1/me")).site?.key || "";
    const { invitations } = await api("GET", `/api/v1/sites/${encodeURIComponent(site)}/invitations`);
    ui.rules.replaceChildren(...invitations.map(ruleItem));
  } catch (error) {
    failed(error);
  }
  renderNone();
}

function renderNone() {
  ui.none.hidden = ui.rules.children.length > 0;
}

/**
 * @param {Frame} rule
 * @returns {HTMLElement}
 */
function ruleItem(rule) {
  const number = (/** @type {string} */ name, /** @type {string} */ label, /** @type {string} */ step = "1") =>
    el("label", {}, t(label), el("input", { name, type: "number", min: name === "per_days" || name === "min_pages" ? 1 : 0, step, value: rule[name] ?? "" }));
  const check = (/** @type {string} */ name, /** @type {string} */ label) =>
    el("label", { class: "choice" }, el("input", { name, type: "checkbox", checked: Boolean(rule[name]) }), ` ${t(label)}`);
  const returning = el("select", { name: "returning" }, ...[["", "invitations_returning_any"], ["true", "invitations_returning_yes"],
    ["false", "invitations_returning_no"]].map(([value, label]) => el("option", { value, text: t(label), selected: String(rule.returning ?? "") === value })));
  const item = el("li", { class: "rule", dataset: { id: rule.id || "" } },
    el("div", { class: "rule-head" },
      check("enabled", "invitations_enabled"),
      el("label", {}, t("invitations_id"), el("input", { name: "id", value: rule.id || "", maxlength: 64, pattern: "[A-Za-z0-9_\\-]{1,64}" })),
      el("button", { type: "button", class: "remove", text: t("invitations_remove"), onclick: () => { item.remove(); renderNone(); } })),
    el("label", {}, t("invitations_message_zh"), el("input", { name: "message-zh-CN", maxlength: 300, value: rule.messages?.["zh-CN"] || "" })),
    el("label", {}, t("invitations_message_en"), el("input", { name: "message-en", maxlength: 300, value: rule.messages?.en || "" })),
    el("div", { class: "rule-grid" },
      el("label", {}, t("invitations_url"), el("input", { name: "url", maxlength: 200, value: rule.url || "" })),
      number("seconds_on_page", "invitations_seconds"),
      number("min_cart_value", "invitations_cart_value", "any"),
      number("min_cart_items", "invitations_cart_items"),
      number("min_pages", "invitations_pages"),
      el("label", {}, t("invitations_returning"), returning),
      number("per_days", "invitations_per_days")),
    el("div", { class: "rule-flags" },
      check("exit_intent", "invitations_exit"), check("business_hours", "invitations_hours"), check("needs_room", "invitations_room")));
  return item;
}

/**
 * The rule a form item holds, as the API takes it.
 * @param {Element} item
 * @returns {Frame}
 */
function ruleOf(item) {
  const field = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (item.querySelector(`[name="${name}"]`));
  const number = (/** @type {string} */ name) => (field(name).value.trim() === "" ? null : Number(field(name).value));
  const returning = field("returning").value;
  /** @type {Frame} */
  const rule = {
    enabled: field("enabled").checked, url: field("url").value.trim() || null,
    seconds_on_page: number("seconds_on_page"), min_cart_value: number("min_cart_value"),
    min_cart_items: number("min_cart_items"), min_pages: number("min_pages"),
    returning: returning === "" ? null : returning === "true",
    exit_intent: field("exit_intent").checked, business_hours: field("business_hours").checked,
    needs_room: field("needs_room").checked,
    messages: Object.fromEntries([["en", field("message-en").value.trim()], ["zh-CN", field("message-zh-CN").value.trim()]]
      .filter(([, text]) => text)),
    per_days: number("per_days") ?? 1,
  };
  const id = field("id").value.trim();
  return id ? { id, ...rule } : rule;
}

async function save() {
  const rules = [...ui.rules.querySelectorAll(".rule")].map(ruleOf);
  try {
    const { invitations } = await api("PUT", `/api/v1/sites/${encodeURIComponent(site)}/invitations`, { invitations: rules });
    ui.rules.replaceChildren(...invitations.map(ruleItem));
    toast(t("invitations_saved"));
  } catch (error) {
    failed(error);
  }
  renderNone();
}

/** @param {unknown} error */
function failed(error) {
  const message = error instanceof ApiError ? error.body.message || error.message : String(error);
  toast(t("articles_failed", { error: message }), "error");
}

ui.form.addEventListener("submit", (event) => { event.preventDefault(); void save(); });
byId("rule-add").addEventListener("click", () => {
  const item = ruleItem({ ...FRESH, messages: { ...FRESH.messages } });
  ui.rules.append(item);
  renderNone();
  /** @type {HTMLInputElement | null} */ (item.querySelector('[name="message-zh-CN"]'))?.focus();
});
void load();
