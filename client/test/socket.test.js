// The shared socket against a stand-in of the browser's WebSocket and window events, with
// node's mock timers: backoff, ping/pong, offline/online, visibility, failures.
import assert from "node:assert/strict";
import { beforeEach, afterEach, mock, test } from "node:test";

import { ReconnectingSocket } from "../socket.js";

/** The browser's WebSocket as far as the socket uses it; tests drive its events. */
class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 3;
  /** @type {FakeWebSocket[]} */
  static made = [];

  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = FakeWebSocket.CONNECTING;
    this.sent = [];
    this.onopen = this.onmessage = this.onclose = null;
    FakeWebSocket.made.push(this);
  }
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = FakeWebSocket.CLOSED;
  }
  // --- what the network does
  accept() {
    this.readyState = FakeWebSocket.OPEN;
    this.onopen?.();
  }
  deliver(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop() {
    this.readyState = FakeWebSocket.CLOSED;
    this.onclose?.();
  }
}

function environment() {
  const listeners = new Map();
  return {
    state: { hidden: false, online: true },
    on: (type, fn) => listeners.set(type, fn),
    off: (type) => listeners.delete(type),
    hidden() { return this.state.hidden; },
    online() { return this.state.online; },
    fire(type) { listeners.get(type)?.(); },
    listening: () => [...listeners.keys()].sort(),
  };
}

let env;
let log;
let socket;

beforeEach(() => {
  mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  FakeWebSocket.made = [];
  env = environment();
  log = [];
  socket = new ReconnectingSocket("ws://chat.example/ws/v1/shopper", {
    open: () => log.push("open"),
    frame: (f) => log.push(f.type),
    down: () => log.push("down"),
    failed: () => log.push("failed"),
  }, { WebSocket: FakeWebSocket, env, random: () => 0.5 });
});

afterEach(() => {
  socket.stop();
  mock.timers.reset();
});

const last = () => FakeWebSocket.made.at(-1);

test("connects with the protocol's subprotocol and sends only while open", () => {
  socket.connect();
  assert.deepEqual(last().protocols, ["chat.v1.json"]);
  assert.equal(socket.send({ type: "hello" }), false);
  last().accept();
  assert.equal(socket.send({ type: "hello" }), true);
  assert.deepEqual(last().sent, [{ type: "hello" }]);
  assert.deepEqual(log, ["open"]);
});

test("reconnects with a doubling backoff up to the cap, from the start after healthy()", () => {
  socket.connect();
  const delays = [];
  for (let i = 0; i < 7; i++) {
    const before = FakeWebSocket.made.length;
    last().drop();
    let waited = 0;
    while (FakeWebSocket.made.length === before) {
      mock.timers.tick(50);
      waited += 50;
    }
    delays.push(waited);
  }
  assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 8000, 8000]);
  assert.equal(socket.failures, 7);
  last().accept();
  socket.healthy();
  assert.equal(socket.failures, 0);
  last().drop();
  mock.timers.tick(250);
  assert.equal(FakeWebSocket.made.length, 9); // back to the first delay
});

test("a socket that never opens counts as a failure, an open one that closes as down", () => {
  socket.connect();
  last().drop();
  assert.deepEqual(log, ["failed"]);
  mock.timers.tick(250);
  last().accept();
  last().drop();
  assert.deepEqual(log, ["failed", "open", "down"]);
});

test("no pong within 5 s of a ping: the socket is dropped and a new one is made", () => {
  socket.connect();
  last().accept();
  const first = last();
  mock.timers.tick(15_000);
  assert.deepEqual(first.sent, [{ type: "ping" }]);
  first.deliver({ type: "pong" }); // answered: nothing happens
  mock.timers.tick(15_000);
  assert.equal(FakeWebSocket.made.length, 1);
  mock.timers.tick(5_000); // the second ping got no answer
  assert.equal(first.readyState, FakeWebSocket.CLOSED);
  assert.deepEqual(log, ["open", "pong", "down"]);
  mock.timers.tick(250);
  assert.equal(FakeWebSocket.made.length, 2);
});

test("offline drops the socket at once and waits; online reconnects without the backoff", () => {
  socket.connect();
  last().accept();
  env.state.online = false;
  env.fire("offline");
  assert.deepEqual(log, ["open", "down"]);
  assert.equal(socket.open, false);
  mock.timers.tick(60_000);
  assert.equal(FakeWebSocket.made.length, 1); // no attempt while offline
  env.state.online = true;
  env.fire("online");
  assert.equal(FakeWebSocket.made.length, 2);
});

test("a tab that becomes visible reconnects now, or pings a socket that looks up", () => {
  socket.connect();
  last().drop(); // waiting for the backoff
  env.fire("visibilitychange");
  assert.equal(FakeWebSocket.made.length, 2);
  last().accept();
  env.fire("visibilitychange");
  assert.deepEqual(last().sent, [{ type: "ping" }]);
  env.state.hidden = true;
  env.fire("visibilitychange");
  assert.equal(last().sent.length, 1); // hidden: nothing
});

test("frames are parsed; what is not JSON is ignored", () => {
  socket.connect();
  last().accept();
  last().onmessage({ data: "not json" });
  last().deliver({ type: "welcome" });
  assert.deepEqual(log, ["open", "welcome"]);
});

test("stop() closes, stops retrying and removes the listeners", () => {
  socket.connect();
  last().accept();
  socket.stop();
  assert.deepEqual(env.listening(), []);
  mock.timers.tick(60_000);
  assert.equal(FakeWebSocket.made.length, 1);
});
