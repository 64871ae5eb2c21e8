// @ts-check
/**
 * Proactive invitations, in the page: the loader imports the chat UI early when the site has
 * invitation rules and calls `invitations()`. This gathers the facts the rules need (time on
 * page, the page's cart, the visitor's visits and pages, exit intent), asks invite.js every
 * second which rule fits, and shows the first one that does as a greeting beside the launcher:
 * not a conversation, until the shopper answers (a click opens the chat, the greeting on top).
 * It stops for good once the panel opened or a conversation exists.
 */

import { text } from "./i18n.js";
import { cartFigures, message, pick, visit } from "./invite.js";
import * as storage from "./storage.js";

/** @typedef {import("../types").Host} Host */
/** @typedef {import("./invite.js").Visits} Visits */
/** @typedef {Partial<Visits> & {shown?: Record<string, number>}} Kept */

const EVERY_MS = 1000;

/**
 * @param {Host} host
 * @param {(command: unknown[]) => void} run the loader's command runner (answering runs "open")
 */
export function invitations(host, run) {
  const rules = host.config.invitations || [];
  const site = host.opts.site;
  const key = "chatw:v1:" + site + ":invite";
  if (!rules.length || busy(host)) return;
  const counts = visit(read(key), Date.now());
  write(key, { ...read(key), ...counts });
  let exit = false;
  /** @param {MouseEvent} e */
  const leaving = (e) => {
    if (!e.relatedTarget && e.clientY <= 0) {
      exit = true;
      check();
    }
  };
  const timer = setInterval(check, EVERY_MS);
  document.addEventListener("mouseout", leaving);
  check();

  function check() {
    if (busy(host)) return stop();
    const kept = read(key); // another tab may have shown one meanwhile
    const now = Date.now();
    const rule = pick(rules, {
      path: location.pathname,
      seconds: performance.now() / 1000,
      cart: cartFigures(host.opts.cart),
      returning: counts.visits > 1,
      pages: counts.pages,
      exitIntent: exit,
      open: Boolean(host.config.open),
      room: Boolean(host.config.room),
      shown: kept.shown || {},
      now,
    });
    if (!rule) return;
    stop();
    write(key, { ...kept, shown: { ...kept.shown, [rule.id]: now } });
    show(host, rule.id, message(rule, host.lang()), () => run(["open"]));
  }

  function stop() {
    clearInterval(timer);
    document.removeEventListener("mouseout", leaving);
  }
}

/** Whether the shopper is past invitations: the panel is open, or a conversation exists.
 * @param {Host} host */
function busy(host) {
  const saved = storage.load(host.opts.site);
  return host.frame.classList.contains("open") || Boolean(saved.conv && !saved.done);
}

/**
 * The greeting beside the launcher (in place of the store's standing greeting).
 * @param {Host} host
 * @param {string} id
 * @param {string} greeting
 * @param {() => void} open
 */
function show(host, id, greeting, open) {
  if (!greeting) return;
  host.frame.querySelector(".gb:not(.pv)")?.remove();
  const box = document.createElement("div");
  box.className = "gb iv";
  box.dataset.rule = id;
  box.setAttribute("role", "status");
  const say = document.createElement("button");
  say.className = "gt";
  say.type = "button";
  say.textContent = greeting;
  const close = document.createElement("button");
  close.className = "gx";
  close.type = "button";
  close.textContent = "×";
  close.setAttribute("aria-label", text(host.config.texts, host.lang(), "dismiss"));
  say.onclick = () => {
    host.invited = greeting;
    box.remove();
    open();
  };
  close.onclick = () => box.remove();
  box.append(say, close);
  host.frame.append(box);
}

/** @param {string} key @returns {Kept} */
function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "{}") || {};
  } catch (e) {
    return {};
  }
}

/** @param {string} key @param {Kept} value */
function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (e) {
    /* no storage: no cap, no counts across pages */
  }
}
