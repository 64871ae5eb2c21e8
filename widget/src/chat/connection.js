// @ts-check
/**
 * One shopper socket that comes back: reconnects with jittered exponential backoff, detects a
 * dead connection with application pings (browsers cannot see WebSocket pings), and reconnects
 * at once when the browser comes back online or the tab becomes visible.
 */

/** @typedef {import("../types").Frame} Frame */

const PING_EVERY = 25000;
const PONG_WITHIN = 10000;
const BACKOFF_BASE = 250;
const BACKOFF_CAP = 8000;

export class Connection {
  /**
   * @param {string} url
   * @param {{ open(): void, frame(frame: Frame): void, down(): void }} on
   */
  constructor(url, on) {
    this.url = url;
    this.on = on;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pongTimer = undefined;
    this.wake = () => {
      if (document.visibilityState !== "hidden") this.retryNow();
    };
    window.addEventListener("online", this.wake);
    document.addEventListener("visibilitychange", this.wake);
  }

  connect() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    let ws;
    try {
      ws = new WebSocket(this.url, ["chat.v1.json"]);
    } catch (e) {
      return this.schedule();
    }
    this.ws = ws;
    ws.onopen = () => {
      this.pingTimer = setInterval(() => this.ping(), PING_EVERY);
      this.on.open();
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame.type === "pong") clearTimeout(this.pongTimer);
      this.on.frame(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.drop();
      this.on.down();
      this.schedule();
    };
  }

  /** A welcome arrived: the next drop starts the backoff from the beginning. */
  healthy() {
    this.attempt = 0;
  }

  get open() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  /** @param {Frame} frame */
  send(frame) {
    if (!this.open || !this.ws) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Reconnect now (after a refused token, a new identity, or the Retry button). */
  restart() {
    const ws = this.ws;
    if (ws) {
      this.drop();
      ws.close();
      this.on.down();
    }
    this.attempt = 0;
    this.connect();
  }

  retryNow() {
    if (!this.ws && !this.stopped) {
      this.attempt = 0;
      this.connect();
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    window.removeEventListener("online", this.wake);
    document.removeEventListener("visibilitychange", this.wake);
    const ws = this.ws;
    this.drop();
    if (ws) ws.close();
  }

  ping() {
    if (this.send({ type: "ping" })) {
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.ws && this.ws.close(), PONG_WITHIN);
    }
  }

  drop() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    if (this.ws) this.ws.onopen = this.ws.onmessage = this.ws.onclose = null;
    this.ws = null;
  }

  schedule() {
    if (this.stopped) return;
    const delay = Math.min(BACKOFF_CAP, BACKOFF_BASE * 2 ** this.attempt) * (0.5 + Math.random());
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
