// @ts-check
/**
 * The agent socket (/ws/v1/agent, docs/protocol.md): the shared client's reconnecting socket
 * (client/socket.js: backoff, pings, offline/online) with the console's hello (the session
 * cookie) and its idea of "up": after welcome. What to resume and resend after a welcome is
 * the console's business (it knows its chats and its outbox).
 */
import * as frames from "../../client/frames.js";
import { ReconnectingSocket } from "../../client/socket.js";

/** @typedef {import("../../client/frames.js").Frame} Frame */

export class AgentSocket {
  /**
   * @param {(frame: Frame) => void} onFrame every frame received (pongs aside)
   * @param {(up: boolean) => void} onLink the socket is up (after welcome) or down
   */
  constructor(onFrame, onLink) {
    this.onFrame = onFrame;
    this.onLink = onLink;
    this.up = false;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.socket = new ReconnectingSocket(`${scheme}//${location.host}/ws/v1/agent`, {
      // No token: the server takes the session from the console's HttpOnly cookie.
      open: () => this.socket.send(frames.hello()),
      frame: (frame) => this.received(frame),
      down: () => this.down(),
      failed: () => this.down(),
    }, { base: 100, cap: 5000 });
  }

  connect() {
    this.socket.connect();
  }

  /** @param {Frame} frame */
  received(frame) {
    if (frame.type === "pong") return;
    if (frame.type === "welcome") {
      this.socket.healthy();
      this.up = true;
      this.onLink(true);
    } else if (frame.type === "error" && frame.code === "bad_token") {
      location.assign("/console/login"); // the session ended: log in again
      return;
    }
    this.onFrame(frame);
  }

  down() {
    this.up = false;
    this.onLink(false);
  }

  /**
   * Send a frame if the socket is up; false if it is not (the caller keeps it to resend).
   * @param {Frame} frame
   * @returns {boolean}
   */
  send(frame) {
    return this.up && this.socket.send(frame);
  }
}
