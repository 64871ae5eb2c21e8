// @ts-check
/**
 * One socket that comes back, shared by the widget and the console (docs/protocol.md section
 * 16, "What a robust client must do"):
 *
 * - reconnects with jittered exponential backoff (`base` doubling to `cap`, x0.5-1.5);
 * - detects a dead connection with application pings (browsers cannot see WebSocket pings):
 *   a ping every `pingEvery` ms, and the socket is dropped when no pong comes within
 *   `pongWithin` ms: at most pingEvery + pongWithin (20 s) to notice a silent drop;
 * - reacts to the browser at once: `offline` drops the socket (nothing can get through) and
 *   waits for `online`, which reconnects without waiting for the backoff; a tab that becomes
 *   visible reconnects now, or pings now if the socket looks up (a laptop waking up);
 * - counts the attempts that failed since the last healthy connection (`failures`), so that a
 *   client can say "cannot connect" instead of "sending..." forever.
 *
 * What to say after a connect (hello, resume, resend) is the caller's business (`on.open`).
 */

/** @typedef {import("./frames.js").Frame} Frame */

/**
 * @typedef {object} Environment what the socket listens to; the browser's by default
 * @property {(type: string, fn: () => void) => void} on
 * @property {(type: string, fn: () => void) => void} off
 * @property {() => boolean} hidden whether the page is hidden
 * @property {() => boolean} online navigator.onLine
 */

/**
 * @typedef {object} Options
 * @property {number} pingEvery ms
 * @property {number} pongWithin ms
 * @property {number} base first backoff delay, ms
 * @property {number} cap longest backoff delay, ms
 * @property {typeof WebSocket} WebSocket
 * @property {Environment} env
 * @property {() => number} random
 */

/**
 * @typedef {object} Handlers
 * @property {() => void} open the socket is open: say hello
 * @property {(frame: Frame) => void} frame every frame received (pongs included)
 * @property {() => void} down an open socket closed, or the browser went offline
 * @property {() => void} [failed] an attempt to connect failed (see `failures`)
 */

export const DEFAULTS = Object.freeze({ pingEvery: 15_000, pongWithin: 5_000, base: 250, cap: 8_000 });
const PROTOCOL = "chat.v1.json";

export class ReconnectingSocket {
  /**
   * @param {string} url
   * @param {Handlers} on
   * @param {Partial<Options>} [options]
   */
  constructor(url, on, options = {}) {
    this.url = url;
    this.on = on;
    /** @type {Options} */
    this.options = { ...DEFAULTS, WebSocket: globalThis.WebSocket, env: browser(), random: Math.random, ...options };
    /** @type {WebSocket | null} */
    this.ws = null;
    this.opened = false; // the current socket reached `open`
    this.attempt = 0;
    this.failures = 0; // attempts that failed since the last healthy() (or the start)
    this.stopped = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pongTimer = undefined;
    this.wentOffline = () => this.lose();
    this.cameOnline = () => this.retryNow();
    this.visible = () => {
      if (this.options.env.hidden()) return;
      if (this.ws && this.opened) this.ping();
      else this.retryNow();
    };
    const env = this.options.env;
    env.on("offline", this.wentOffline);
    env.on("online", this.cameOnline);
    env.on("visibilitychange", this.visible);
  }

  /** Whether the socket is open (frames can be sent). */
  get open() {
    return Boolean(this.ws && this.opened && this.ws.readyState === this.options.WebSocket.OPEN);
  }

  connect() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    if (!this.options.env.online()) return; // `online` connects
    let ws;
    try {
      ws = new this.options.WebSocket(this.url, [PROTOCOL]);
    } catch (e) {
      this.failed();
      return;
    }
    this.ws = ws;
    this.opened = false;
    ws.onopen = () => {
      this.opened = true;
      this.pingTimer = setInterval(() => this.ping(), this.options.pingEvery);
      this.on.open();
    };
    ws.onmessage = (event) => this.received(event.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      const wasOpen = this.opened;
      this.drop();
      if (wasOpen) this.on.down();
      else this.failed();
      this.schedule();
    };
  }

  /** @param {unknown} data */
  received(data) {
    let frame;
    try {
      frame = JSON.parse(String(data));
    } catch (e) {
      return; // not ours to interpret: the server only sends JSON objects
    }
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "pong") clearTimeout(this.pongTimer);
    this.on.frame(frame);
  }

  /** The server accepted us (welcome): the next drop starts the backoff from the beginning. */
  healthy() {
    this.attempt = 0;
    this.failures = 0;
  }

  /**
   * @param {Frame} frame
   * @returns {boolean} false if the socket is not open (the caller keeps the frame)
   */
  send(frame) {
    if (!this.open || !this.ws) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Reconnect now (after a refused token, a new identity, or a Retry button). */
  restart() {
    this.lose();
    this.attempt = 0;
    this.connect();
  }

  /** Connect now if not connected (skipping the backoff's wait). */
  retryNow() {
    if (this.ws || this.stopped) return;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const env = this.options.env;
    env.off("offline", this.wentOffline);
    env.off("online", this.cameOnline);
    env.off("visibilitychange", this.visible);
    this.lose();
  }

  ping() {
    if (!this.send({ type: "ping" })) return;
    clearTimeout(this.pongTimer);
    this.pongTimer = setTimeout(() => this.lose(true), this.options.pongWithin);
  }

  /**
   * Give up the current socket now (offline, no pong, restart) and tell the caller.
   * @param {boolean} [retry] schedule a reconnect (else: `online` or a call does it)
   */
  lose(retry = false) {
    const ws = this.ws;
    if (!ws) return;
    const wasOpen = this.opened;
    this.drop();
    try {
      ws.close();
    } catch (e) {
      // closing a socket that never opened may throw in old browsers: it is gone either way
    }
    if (wasOpen) this.on.down();
    if (retry) this.schedule();
  }

  /** @private */
  failed() {
    this.failures += 1;
    if (this.on.failed) this.on.failed();
  }

  /** @private */
  drop() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    if (this.ws) this.ws.onopen = this.ws.onmessage = this.ws.onclose = null;
    this.ws = null;
    this.opened = false;
  }

  /** @private */
  schedule() {
    if (this.stopped) return;
    const { base, cap, random } = this.options;
    const delay = Math.min(cap, base * 2 ** this.attempt) * (0.5 + random());
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}

/** @returns {Environment} the browser's window and document */
function browser() {
  return {
    on(type, fn) {
      (type === "visibilitychange" ? document : window).addEventListener(type, fn);
    },
    off(type, fn) {
      (type === "visibilitychange" ? document : window).removeEventListener(type, fn);
    },
    hidden: () => document.visibilityState === "hidden",
    online: () => navigator.onLine !== false,
  };
}
