// @ts-check
/**
 * widget.js, the loader: what every store page fetches.
 *
 *   <script async src="https://CHAT_HOST/widget.js" data-site="SITE_KEY"></script>
 *
 * It renders only the launcher (in a shadow root), runs the page's queued commands in order,
 * and imports the chat UI (widget/chat.js) when the shopper opens the chat, or at once when a
 * conversation is under way. It never throws into the page: every entry point is guarded.
 */

/** @typedef {import("./types").Options} Options */
/** @typedef {import("./types").Config} Config */
/** @typedef {import("./types").Host} Host */
/** @typedef {import("./types").ChatApi} ChatApi */

const w = window;
const d = document;
const COMMANDS = "open close toggle identify reset setLanguage setDepartment page cart".split(" ");
/** Launcher names: [label, unread, dismiss]; the rest of the texts live in the chat UI. */
const NAMES = /** @type {Record<string, string[]>} */ ({ en: ["Chat with us", "unread", "Dismiss"], "zh-CN": ["在线聊天", "条未读", "关闭"] });
// The chat bubble, and the × it turns into while the panel is open.
const ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/><path class="x" d="M6 6l12 12M18 6L6 18"/></svg>';
const STYLE =
  ":host{all:initial!important;display:block!important;position:fixed!important;inset:auto 0 0 auto!important;width:0!important;height:0!important;margin:0!important;padding:0!important;border:0!important;z-index:2147483000!important;transform:none!important;filter:none!important;visibility:visible!important;opacity:1!important;pointer-events:auto!important}" +
  '.w{--a:var(--chat-accent,var(--cw-site));--at:var(--chat-accent-text,#fff);font:14px/1.45 var(--chat-font,system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif);color:#1f2328;text-align:left}' +
  ".l{position:fixed;bottom:var(--chat-offset-y,20px);right:var(--chat-offset-x,20px);width:56px;height:56px;box-sizing:border-box;border-radius:50%;border:0;margin:0;padding:0;background:var(--a);color:var(--at);cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}" +
  ".left .l{right:auto;left:var(--chat-offset-x,20px)}.l:focus-visible{outline:none;box-shadow:0 0 0 3px #fff,0 0 0 6px #1f2328}" +
  ".l svg{width:28px;height:28px;fill:currentColor}.l .x,.open .l path{display:none}.open .l .x{display:block;stroke:currentColor;stroke-width:2.5}" +
  ".gb{position:fixed;bottom:calc(var(--chat-offset-y,20px) + 68px);right:var(--chat-offset-x,20px);max-width:260px;display:flex;background:#fff;border-radius:12px;box-shadow:0 4px 14px rgba(0,0,0,.25)}.left .gb{right:auto;left:var(--chat-offset-x,20px)}.open .gb{display:none}" +
  ".gb button{border:0;background:none;font:inherit;cursor:pointer;text-align:left;padding:12px}.gt{max-height:6em;overflow:hidden}.gx{font-size:18px!important;padding:8px}" +
  ".b{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;box-sizing:border-box;border-radius:10px;background:#b3261e;color:#fff;font-size:12px;font-weight:700;line-height:20px;text-align:center}.b[hidden]{display:none}";

try {
  boot();
} catch (e) {
  warn(e);
}

function boot() {
  const prior = w.ChatWidget;
  if (prior && prior.loaded) return; // a second tag (or an SPA re-inserting it): one widget
  const script = findScript();
  if (!script) return warn("no script with data-site");
  /** @type {IArguments[]} */
  const backlog = (prior && prior.q) || [];
  /** @type {Options} */
  const opts = { site: script.dataset.site || "", base: new URL("./", script.src).href, customer: null, language: "", department: "", page: null, cart: null, sound: script.dataset.sound === "on" };
  /** @type {Record<string, Function[]>} */
  const handlers = {};
  /** @type {unknown[][]} commands that arrived while the chat UI loads */
  const pending = [];
  /** @type {ChatApi | null} */
  let ui = null;
  /** @type {Promise<void> | null} */
  let loading = null;
  let ready = false;
  let announced = false;
  let unread = 0;
  /** @type {Host | null} */
  let host = null;

  const api = /** @type {NonNullable<Window["ChatWidget"]>} */ (
    function () {
      // eslint-disable-next-line prefer-rest-params
      if (ready) run(Array.from(arguments));
      else backlog.push(arguments);
    }
  );
  api.loaded = true;
  api.version = __CHAT_VERSION__;
  w.ChatWidget = api;

  /** @param {unknown[]} args */
  function run(args) {
    try {
      const [cmd, ...rest] = args;
      if (cmd === "on" || cmd === "off") return listen(cmd, String(rest[0]), rest[1]);
      if (!COMMANDS.includes(/** @type {string} */ (cmd))) return warn("unknown command " + String(cmd));
      if (ui) return /** @type {Function} */ (ui[/** @type {keyof ChatApi} */ (cmd)]).apply(ui, rest);
      if (loading) return void pending.push(args);
      if (cmd === "open" || cmd === "toggle") return void load(args);
      if (cmd === "identify") opts.customer = /** @type {any} */ (rest[0]) || null;
      else if (cmd === "setLanguage") opts.language = String(rest[0] || "");
      else if (cmd === "setDepartment") opts.department = String(rest[0] || "");
      else if (cmd === "page" || cmd === "cart") opts[cmd] = /** @type {any} */ (rest[0]) || null;
      else if (cmd === "reset") forget(opts.site);
      if (cmd === "setLanguage" && host) host.relabel();
    } catch (e) {
      warn(e);
    }
  }

  /**
   * @param {string} cmd
   * @param {string} name
   * @param {unknown} fn
   */
  function listen(cmd, name, fn) {
    if (typeof fn !== "function") return;
    const list = (handlers[name] = handlers[name] || []);
    if (cmd === "off") return void list.splice(list.indexOf(fn) >>> 0, 1);
    list.push(fn);
    if (name === "ready" && announced) call(fn, { site: opts.site });
  }

  /**
   * @param {string} name
   * @param {unknown} [data]
   */
  function emit(name, data) {
    for (const fn of (handlers[name] || []).slice()) call(fn, data);
  }

  /** Import the chat UI (once), then run `first` and what was queued meanwhile, in order.
   * @param {unknown[]} [first] */
  function load(first) {
    if (first) pending.push(first);
    if (loading || !host) return loading;
    const h = host;
    h.launcher.setAttribute("aria-busy", "true");
    loading = chat()
      .then((mod) => {
        ui = mod.mount(h);
        for (const args of pending.splice(0)) run(args);
      })
      .catch((e) => {
        pending.length = 0;
        warn(e);
      })
      .finally(() => {
        loading = null;
        h.launcher.removeAttribute("aria-busy");
      });
    return loading;
  }

  /** The chat UI module (the browser imports it once, however often asked). */
  const chat = () => import(opts.base + "widget/chat.js?v=" + __CHAT_VERSION__);

  fetch(opts.base + "api/v1/sites/" + encodeURIComponent(opts.site) + "/widget-config")
    .then((r) => (r.ok ? r.json() : Promise.reject("widget-config: " + r.status)))
    .then((/** @type {Config} */ config) => whenBody(() => start(config)))
    .catch(warn);

  /** @param {Config} config */
  function start(config) {
    const el = d.createElement("chat-widget");
    const root = el.attachShadow({ mode: "open" });
    const frame = d.createElement("div");
    frame.className = "w" + (config.position === "left" ? " left" : "");
    frame.style.setProperty("--cw-site", /^#[0-9a-f]{6}$/i.test(config.color) ? config.color : "#1f5fbf");
    frame.innerHTML = '<button class="l" type="button" aria-expanded="false">' + ICON + '<span class="b" aria-hidden="true" hidden></span></button>';
    root.innerHTML = "<style>" + STYLE + "</style>";
    root.append(frame);
    const launcher = /** @type {HTMLButtonElement} */ (frame.firstChild);
    const badge = /** @type {HTMLElement} */ (launcher.lastChild);
    host = {
      opts, config, root, frame, launcher, emit,
      lang: () => pickLang(opts.language, config.language),
      setUnread(count) {
        badge.hidden = !count;
        badge.textContent = "" + count;
        if (count !== unread) emit("unread", { count: (unread = count) });
        this.relabel();
      },
      relabel() {
        const lang = this.lang();
        const own = config.texts[lang] || {};
        const name = own.launcher || NAMES[lang][0];
        launcher.setAttribute("aria-label", unread ? name + " (" + unread + " " + (own.unread || NAMES[lang][1]) + ")" : name);
      },
    };
    host.relabel();
    launcher.onclick = () => run([ui ? "toggle" : "open"]);
    const greeting = (config.texts[host.lang()] || {}).greeting;
    if (greeting && !ongoing(opts.site)) greet(frame, greeting, NAMES[host.lang()][2], () => run(["open"]));
    keepAttached(el);
    ready = true;
    for (const args of backlog.splice(0)) run(Array.from(args));
    emit("ready", { site: opts.site });
    announced = true;
    if (ongoing(opts.site)) load();
    // Invitation rules run in the chat UI: import it now (the import does not hold up the page).
    else if ((config.invitations || [])[0]) chat().then((mod) => mod.invitations(host, run)).catch(warn);
  }
}

/**
 * The store's greeting beside the launcher, once per tab session, until opened or dismissed.
 * @param {HTMLElement} frame
 * @param {string} text
 * @param {string} dismiss
 * @param {() => void} open
 */
function greet(frame, text, dismiss, open) {
  const key = "chatw:greeted";
  try {
    if (sessionStorage.getItem(key)) return;
    sessionStorage.setItem(key, "1");
  } catch (e) {
    /* no storage: greet on every page */
  }
  const box = d.createElement("div");
  box.className = "gb";
  box.innerHTML = '<button class="gt" type="button"></button><button class="gx" type="button">×</button>';
  const [say, close] = /** @type {HTMLCollectionOf<HTMLButtonElement>} */ (box.children);
  say.textContent = text;
  close.setAttribute("aria-label", dismiss);
  say.onclick = () => (box.remove(), open());
  close.onclick = () => box.remove();
  frame.append(box);
}

/** @returns {HTMLScriptElement | null} */
function findScript() {
  const current = d.currentScript;
  if (current instanceof HTMLScriptElement && current.dataset.site) return current;
  return d.querySelector('script[data-site][src*="widget.js"]');
}

/**
 * The active language: the page's choice, else the site's, else the browser's.
 * @param {string} fromApi
 * @param {string} fromSite
 */
function pickLang(fromApi, fromSite) {
  for (const tag of [fromApi, fromSite, ...navigator.languages]) {
    const t = String(tag || "").toLowerCase();
    if (t.startsWith("zh")) return "zh-CN";
    if (t.startsWith("en")) return "en";
  }
  return "en";
}

/** Whether this browser holds a conversation of the site that is not finished.
 * @param {string} site */
function ongoing(site) {
  try {
    const state = JSON.parse(localStorage.getItem("chatw:v1:" + site) || "{}");
    return Boolean(state.conv && !state.done);
  } catch (e) {
    return false;
  }
}

/** @param {string} site */
function forget(site) {
  try {
    for (const key of Object.keys(localStorage)) if (key.startsWith("chatw:v1:" + site)) localStorage.removeItem(key);
    sessionStorage.removeItem("chatw:v1:" + site + ":open");
  } catch (e) {
    warn(e);
  }
}

/** @param {() => void} fn */
function whenBody(fn) {
  if (d.body) fn();
  else d.addEventListener("DOMContentLoaded", fn);
}

/** An SPA that replaces the body (or its content) must not lose the widget, nor double it.
 * @param {HTMLElement} el */
function keepAttached(el) {
  let body = d.body;
  const watch = new MutationObserver(() => {
    if (d.body && d.body !== body) watch.observe((body = d.body), { childList: true });
    if (!el.isConnected && d.body) d.body.appendChild(el);
  });
  body.appendChild(el);
  watch.observe(d.documentElement, { childList: true });
  watch.observe(body, { childList: true });
}

/**
 * @param {unknown} fn
 * @param {unknown} data
 */
function call(fn, data) {
  try {
    /** @type {Function} */ (fn)(data);
  } catch (e) {
    warn(e);
  }
}

/** @param {unknown} e */
function warn(e) {
  try {
    console.warn("[chat widget]", e);
  } catch (_) {
    /* a console that throws must not break the page either */
  }
}
