// @ts-check
/**
 * The agent socket (/ws/v1/agent, docs/protocol.md): hello with the session cookie, keepalive
 * pings, and reconnects with jittered backoff. What to resume and resend after a welcome is
 * the console's business (it knows its chats and its outbox).
 */

/** @typedef {import("./dom.js").Frame} Frame */

const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;

export class AgentSocket {
  /**
   * @param {(frame: Frame) => void} onFrame every frame received
   * @param {(up: boolean) => void} onLink the socket is up (after welcome) or down
   */
  constructor(onFrame, onLink) {
    this.onFrame = onFrame;
    this.onLink = onLink;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.attempt = 0;
    this.up = false;
    /** @type {number | undefined} */
    this.pingTimer = undefined;
    /** @type {number | undefined} */
    this.pongTimer = undefined;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/v1/agent`, ["chat.v1.json"]);
    this.ws = ws;
    // No token: the server takes the session from the console's HttpOnly cookie.
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello" }));
    ws.onmessage = (event) => this.received(JSON.parse(String(event.data)));
    ws.onclose = () => this.closed(ws);
  }

  /** @param {Frame} frame */
  received(frame) {
    if (frame.type === "welcome") {
      this.attempt = 0;
      this.up = true;
      this.keepAlive();
      this.onLink(true);
    } else if (frame.type === "pong") {
      clearTimeout(this.pongTimer);
      return;
    } else if (frame.type === "error" && frame.code === "bad_token") {
      location.assign("/console/login"); // the session ended: log in again
      return;
    }
    this.onFrame(frame);
  }

  /** @param {WebSocket} ws */
  closed(ws) {
    if (ws !== this.ws) return;
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    if (this.up) this.onLink(false);
    this.up = false;
    const delay = Math.min(5000, 100 * 2 ** this.attempt) * (0.5 + Math.random());
    this.attempt += 1;
    setTimeout(() => this.connect(), delay);
  }

  keepAlive() {
    clearInterval(this.pingTimer);
    this.pingTimer = window.setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = window.setTimeout(() => this.ws?.close(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  /**
   * Send a frame if the socket is up; false if it is not (the caller keeps it to resend).
   * @param {Frame} frame
   * @returns {boolean}
   */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.up) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }
}
