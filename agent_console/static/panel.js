// @ts-check
/**
 * The customer panel beside the conversation: who the customer is (verified or not), where
 * they are on the site and what is in their cart, their orders and earlier conversations.
 * It never waits for the store: orders come from the server's cache, with their age.
 */
import { api } from "./api.js";
import { filesSection } from "./attach.js";
import { byId, duration, el, safeUrl, t, toast, when } from "./dom.js";
import { entryItem, outcomeText } from "./transcript.js";

/** @typedef {import("./dom.js").Frame} Frame */

const REFRESH_MS = 3000;
const MAX_REFRESHES = 20;

export class Panel {
  /**
   * @param {(text: string) => void} insert put a text into the composer
   * @param {(conversationId: string, panel: Frame) => void} loaded a panel arrived
   */
  constructor(insert, loaded) {
    this.insert = insert;
    this.loaded = loaded;
    this.root = byId("panel");
    /** @type {string | null} */
    this.shown = null;
    /** @type {Frame | null} */
    this.data = null;
    this.refreshes = 0;
    /** @type {number | undefined} */
    this.timer = undefined;
    /** @type {Map<string, Frame>} the last panel of each conversation */
    this.cache = new Map();
  }

  /**
   * Show the panel of a conversation (null: none), fetching it afresh.
   * @param {string | null} conversationId
   */
  async show(conversationId) {
    if (conversationId !== this.shown) this.refreshes = 0;
    this.shown = conversationId;
    clearTimeout(this.timer);
    if (conversationId === null) {
      this.root.replaceChildren(el("p", { class: "empty", text: t("panel_empty") }));
      return;
    }
    const cached = this.cache.get(conversationId);
    if (cached) this.render(cached);
    else this.root.replaceChildren(el("p", { class: "loading", text: t("loading") }));
    let data;
    try {
      data = await api("GET", `/api/v1/conversations/${encodeURIComponent(conversationId)}/customer`);
    } catch (error) {
      if (this.shown === conversationId && !cached) {
        this.root.replaceChildren(el("p", { class: "error", text: t("panel_failed") }));
      }
      return;
    }
    this.cache.set(conversationId, data);
    this.loaded(conversationId, data);
    if (this.shown !== conversationId) return; // another chat was selected meanwhile
    this.render(data);
    if (data.orders?.refreshing && this.refreshes < MAX_REFRESHES) {
      this.refreshes += 1;
      this.timer = window.setTimeout(() => this.show(conversationId), REFRESH_MS);
    }
  }

  /**
   * Load a conversation's panel into the cache only (the chat list names the customer).
   * @param {string} conversationId
   */
  async prefetch(conversationId) {
    try {
      const data = await api("GET", `/api/v1/conversations/${encodeURIComponent(conversationId)}/customer`);
      this.cache.set(conversationId, data);
      this.loaded(conversationId, data);
    } catch {
      // shown as "loading" until the chat is opened
    }
  }

  /** @param {Frame} data */
  render(data) {
    this.data = data;
    this.root.replaceChildren(
      el("section", { class: "customer", "aria-label": t("panel_customer") }, ...this.who(data)),
      el("section", { class: "context", "aria-label": t("panel_context") }, ...this.context(data)),
      el("section", { class: "orders", "aria-label": t("panel_orders") }, ...this.orders(data)),
      el("section", { class: "history", "aria-label": t("panel_history") }, ...this.history(data)),
      filesSection(data.conversation_id),
    );
    this.root.dataset.conversationId = data.conversation_id;
  }

  /** Re-render (the ages of cached orders move on). */
  tick() {
    const age = this.root.querySelector(".orders-age");
    if (age && this.data?.orders?.as_of) age.textContent = this.ageText(this.data.orders);
  }

  /** @param {Frame} data */
  who(data) {
    const c = data.customer;
    const name = c?.name || data.contact?.name || t("anonymous");
    const rows = [el("h3", { class: "name", text: name })];
    if (c) {
      rows.push(el("span", { class: "badge verified", text: t("verified") }),
        el("dl", {}, ...pair(t("customer_id"), c.id), ...pair(t("email"), c.email || data.contact?.email),
          ...pair(t("phone"), c.phone)));
    } else {
      rows.push(el("span", { class: "badge unverified", text: t("not_verified") }));
      if (data.claim) rows.push(el("p", { class: "claim", text: t("claim_unverified", { id: data.claim.id }) }));
      rows.push(el("dl", {}, ...pair(t("email"), data.contact?.email), ...pair(t("visitor_id"), data.visitor_id)));
    }
    return rows;
  }

  /** @param {Frame} data */
  context(data) {
    const { page, cart } = data.context || {};
    const out = [el("h4", { text: t("current_page") })];
    if (page && (page.title || page.url)) {
      const url = safeUrl(page.url);
      out.push(el("p", { class: "page" }, el("span", { class: "title", text: page.title || "" }),
        url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "url", text: url }) : null));
    } else {
      out.push(el("p", { class: "unknown", text: t("unknown") }));
    }
    out.push(el("h4", { text: t("cart") }));
    const items = Array.isArray(cart?.items) ? cart.items : null;
    if (items && items.length) {
      out.push(el("ul", { class: "cart" }, ...items.map((/** @type {Frame} */ i) =>
        el("li", { text: `${i.name ?? i.title ?? i.sku ?? "?"} × ${i.quantity ?? i.qty ?? 1}${i.price ? ` · ${i.price}` : ""}` }))));
      if (cart.total !== undefined) out.push(el("p", { class: "cart-total", text: t("cart_total", { total: `${cart.total} ${cart.currency || ""}`.trim() }) }));
    } else {
      out.push(el("p", { class: "unknown", text: cart ? t("cart_empty") : t("unknown") }));
    }
    return out;
  }

  /** @param {Frame} data */
  orders(data) {
    const out = [el("h4", { text: t("panel_orders") })];
    const view = data.orders;
    if (!data.customer || !view) {
      out.push(el("p", { class: "unknown", text: t("orders_verified_only") }));
      return out;
    }
    const status = this.ordersStatus(view);
    if (status) out.push(status);
    for (const order of view.orders) out.push(this.order(order));
    if (!view.orders.length && view.state !== "loading" && view.state !== "unavailable") {
      out.push(el("p", { class: "none", text: t("orders_none") }));
    }
    return out;
  }

  /** @param {Frame} view */
  ordersStatus(view) {
    if (view.state === "loading") return el("p", { class: "orders-state loading", text: t("orders_loading") });
    if (view.state === "unavailable") {
      return el("p", { class: "orders-state unavailable", text: t("orders_unavailable", { error: view.error || "" }) });
    }
    if (view.as_of) {
      const cls = view.state === "stale" || view.error ? "orders-state stale" : "orders-state fresh";
      return el("p", { class: cls },
        el("span", { class: "orders-age", text: this.ageText(view) }),
        view.error ? el("span", { class: "orders-error", text: ` ${t("orders_store_failing", { error: view.error })}` }) : null);
    }
    return null;
  }

  /** @param {Frame} view */
  ageText(view) {
    const seconds = Math.max(0, (Date.now() - view.as_of) / 1000);
    return t(view.refreshing ? "orders_cached_refreshing" : "orders_cached", { age: duration(seconds) });
  }

  /** @param {Frame} order */
  order(order) {
    const total = order.totals?.total ? `${order.totals.total} ${order.currency || ""}`.trim() : "";
    const url = safeUrl(order.tracking_url);
    const details = el("details", { class: "order", dataset: { number: order.number } },
      el("summary", {},
        el("span", { class: "number", text: order.number }),
        el("span", { class: "date", text: when(order.placed_ms, false) }),
        el("span", { class: "status", text: order.status }),
        el("span", { class: "total", text: total })),
      el("ul", { class: "items" }, ...(order.items || []).map((/** @type {Frame} */ i) =>
        el("li", { class: "item", text: `${i.name} × ${i.quantity}${i.price ? ` · ${i.price}` : ""}` }))),
      el("dl", {},
        ...Object.entries(order.totals || {}).flatMap(([k, v]) => pair(t(`total_${k}`), `${v} ${order.currency || ""}`.trim())),
        ...pair(t("payment"), order.payment_status),
        ...pair(t("shipping"), order.shipping_status),
        ...pair(t("carrier"), [order.carrier, order.tracking_number].filter(Boolean).join(" "))),
      url ? el("a", { class: "tracking", href: url, target: "_blank", rel: "noopener noreferrer", text: t("tracking_link") }) : null,
      el("button", { type: "button", class: "insert-order", onclick: () => this.insert(orderSummary(order)), text: t("insert_into_reply") }));
    return details;
  }

  /** @param {Frame} data */
  history(data) {
    const out = [el("h4", { text: t("panel_history") })];
    if (!data.customer) {
      out.push(el("p", { class: "unknown", text: t("history_verified_only") }));
      return out;
    }
    if (!data.conversations.length) {
      out.push(el("p", { class: "none", text: t("history_none") }));
      return out;
    }
    out.push(el("ul", { class: "past" }, ...data.conversations.map((/** @type {Frame} */ c) => el("li", {},
      el("button", { type: "button", class: "past-conversation", dataset: { conversationId: c.conversation_id },
        onclick: () => openPast(c) },
        el("span", { class: "date", text: when(c.created) }),
        el("span", { class: "outcome", text: c.state === "closed" || c.state === "abandoned" ? outcomeText(c.outcome) : t(`state_${c.state}`) }),
        el("span", { class: "agent", text: c.agent?.name || "" }))))));
    return out;
  }
}

/**
 * @param {string} label
 * @param {unknown} value
 * @returns {HTMLElement[]}
 */
function pair(label, value) {
  if (value === undefined || value === null || value === "") return [];
  return [el("dt", { text: label }), el("dd", { text: String(value) })];
}

/**
 * An order in a few words, to insert into a reply.
 * @param {Frame} o
 * @returns {string}
 */
export function orderSummary(o) {
  const items = (o.items || []).map((/** @type {Frame} */ i) => `${i.name} × ${i.quantity}`).join(", ");
  const total = o.totals?.total ? `${o.totals.total} ${o.currency || ""}`.trim() : "";
  return t("order_summary", {
    number: o.number, date: when(o.placed_ms, false), status: o.status, items, total,
  }) + (safeUrl(o.tracking_url) ? ` ${t("order_summary_tracking", { url: o.tracking_url })}` : "");
}

/**
 * Show an earlier conversation's whole transcript in a dialog.
 * @param {Frame} conversation
 */
export async function openPast(conversation) {
  const dialog = /** @type {HTMLDialogElement} */ (byId("past-dialog"));
  const list = byId("past-transcript");
  byId("past-title").textContent = t("past_title", { date: when(conversation.created), outcome: outcomeText(conversation.outcome) });
  list.replaceChildren(el("li", { class: "loading", text: t("loading") }));
  dialog.showModal();
  try {
    const data = await api("GET", `/api/v1/conversations/${encodeURIComponent(conversation.conversation_id)}/transcript`);
    list.replaceChildren(...data.entries.map((/** @type {Frame} */ e) => entryItem(e)));
  } catch (error) {
    list.replaceChildren();
    toast(t("past_failed"), "error");
  }
}
