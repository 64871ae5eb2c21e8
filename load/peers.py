"""Simulated shoppers and agents: one `Peer` per socket, resuming after drops.

A peer does what docs/protocol.md asks of a real client: it keeps the last stream id and the
epoch of each conversation and an outbox of unacknowledged messages; after a drop it
reconnects with jittered exponential backoff, says hello with its token, resumes every
conversation and resends its outbox. Frames are handled by callbacks (no task per socket);
what a frame means for the measurement is up to the `World` the peer belongs to.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from load.wire import Frame, WsConn, open_ws

HELLO_TIMEOUT = 15.0
BACKOFF_BASE = (
    0.25  # seconds: the first retry comes within 0.25 s, then 0.5, 1, 2 ... (full jitter)
)
BACKOFF_CAP = 4.0
RESEND_AFTER = 15.0  # safety net: a message unacknowledged this long is sent again (deduplicated)
RETRY_AFTER = 1.0  # a message the server refused with a retryable error goes again this much later
RETRYABLE = ("unavailable", "rate_limited", "internal")


@dataclass(slots=True)
class View:
    """What a peer knows of one conversation."""

    epoch: int = 1
    last_id: str = "0-0"
    last_key: tuple[int, int] = (0, 0)
    state: str = ""


@dataclass
class Counters:
    """Events worth reporting, summed over a worker's peers."""

    errors: Counter[str] = field(default_factory=Counter)
    closes: Counter[int] = field(default_factory=Counter)
    connect_failures: int = 0
    reconnects: int = 0
    resets: int = 0
    resent: int = 0


class World:
    """What the peers of one worker share; scenarios subclass it and override the hooks."""

    def __init__(self, binary: bool, connect_slots: int, seed: int) -> None:
        self.binary = binary
        self.slots = asyncio.Semaphore(connect_slots)
        self.rng = random.Random(seed)
        self.counters = Counters()
        self.reconnect = True
        self.stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background job of a peer, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_message(self, peer: Peer, frame: Frame) -> None:
        """A message of some conversation reached `peer` (its own included)."""

    def on_conversation(self, peer: Peer, frame: Frame) -> None:
        """A conversation summary (state change, assignment) reached `peer`."""

    def on_back(self, peer: Peer) -> None:
        """`peer` reconnected and every conversation it follows is synced again."""

    def on_other(self, peer: Peer, frame: Frame) -> None:
        """Any other frame (queue, agent, event ...)."""

    def on_error(self, peer: Peer, frame: Frame) -> None:
        code = str(frame.get("code"))
        self.counters.errors[code] += 1
        item = peer.outbox.get(frame.get("ref") or "")
        if item is not None and code in RETRYABLE:
            item[1] = time.monotonic() - RESEND_AFTER + RETRY_AFTER  # due again in RETRY_AFTER

    def on_close(self, peer: Peer, code: int) -> None:
        self.counters.closes[code] += 1


class Peer:
    """One shopper or agent socket that survives drops."""

    def __init__(self, world: World, index: int, role: str, url: str, hello: Frame) -> None:
        self.world = world
        self.index = index
        self.role = role
        self.url = url
        self.hello = dict(hello)
        self.conn: WsConn | None = None
        self.up = False
        self.views: dict[str, View] = {}
        self.outbox: dict[str, list[Any]] = {}  # cmid -> [frame, monotonic time sent]
        self.expect: dict[str, asyncio.Future[Frame]] = {}
        self.unsynced: set[str] = set()
        self.connecting = False
        self.stopped = False
        self.dropped_at = 0.0
        self.back_delays: list[float] = []
        self.data: dict[str, Any] = {}  # scenario-specific state

    # --- connecting -----------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the socket, say hello, then resume every conversation and resend the outbox."""
        self.connecting = True
        try:
            async with self.world.slots:
                welcome = self.expecting("welcome")
                self.conn = await open_ws(
                    self.url, self.on_frame, self.on_close, self.world.binary, HELLO_TIMEOUT
                )
                self.conn.send({"type": "hello", **self.hello})
                frame = await asyncio.wait_for(welcome, HELLO_TIMEOUT)
        except BaseException:
            self.expect.pop("welcome", None)
            if self.conn is not None:
                self.conn.abort()
            raise
        finally:
            self.connecting = False
        if self.role == "shopper" and frame.get("token"):
            self.hello["token"] = frame["token"]
        self.up = True
        self.unsynced = set(self.views)
        for conv_id, view in self.views.items():
            self.send(
                {
                    "type": "resume",
                    "conversation_id": conv_id,
                    "epoch": view.epoch,
                    "after": view.last_id,
                }
            )
        self.resend(0.0)
        if not self.unsynced:
            self._back()

    def expecting(self, kind: str) -> asyncio.Future[Frame]:
        """A future for the next frame of type `kind`."""
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self.expect[kind] = future
        return future

    async def reconnect(self) -> None:
        attempt = 0
        while not self.stopped and not self.world.stopping:
            ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
            await asyncio.sleep(self.world.rng.uniform(0, ceiling))  # full-jitter backoff
            try:
                await self.connect()
                self.world.counters.reconnects += 1
                return
            except (OSError, TimeoutError, ConnectionError):
                self.world.counters.connect_failures += 1
                attempt += 1

    def drop(self) -> None:
        """Lose the connection abruptly (no close frame), as a network failure does."""
        if self.conn is not None and self.up:
            self.dropped_at = time.monotonic()
            self.conn.abort()

    def stop(self) -> None:
        self.stopped = True
        if self.conn is not None:
            self.conn.close()

    # --- sending --------------------------------------------------------------------------
    def send(self, frame: Frame) -> bool:
        return self.conn is not None and self.up and self.conn.send(frame)

    def send_message(self, conv_id: str, cmid: str, text: str) -> None:
        """Put a message in the outbox and send it if connected (else on reconnect)."""
        frame = {"type": "message", "conversation_id": conv_id, "client_msg_id": cmid, "text": text}
        self.outbox[cmid] = [frame, time.monotonic()]
        self.send(frame)

    def resend(self, older_than: float) -> int:
        """Send again every unacknowledged message sent more than `older_than` seconds ago."""
        if not self.up or not self.outbox:
            return 0
        now, count = time.monotonic(), 0
        for item in self.outbox.values():
            if now - item[1] >= older_than:
                item[1] = now
                self.send(item[0])
                count += 1
        return count

    # --- receiving ------------------------------------------------------------------------
    def on_frame(self, frame: Frame) -> None:
        kind = frame.get("type")
        if self.expect:
            future = self.expect.pop(kind, None)  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_result(frame)
        if kind == "message":
            self._entry(frame)
            self.world.on_message(self, frame)
        elif kind == "ack":
            self.outbox.pop(frame.get("client_msg_id", ""), None)
        elif kind == "event" or kind == "note":
            self._entry(frame)
            self.world.on_other(self, frame)
        elif kind == "conversation":
            view = self.views.setdefault(frame["conversation_id"], View())
            view.epoch, view.state = frame["epoch"], frame["state"]
            self.world.on_conversation(self, frame)
        elif kind == "synced":
            if self.unsynced:
                self.unsynced.discard(frame["conversation_id"])
                if not self.unsynced:
                    self._back()
            self.world.on_other(self, frame)
        elif kind == "reset":
            self.views[frame["conversation_id"]] = View(epoch=frame["epoch"])
            self.world.counters.resets += 1
        elif kind == "error":
            self.world.on_error(self, frame)
        else:
            self.world.on_other(self, frame)

    def _entry(self, frame: Frame) -> None:
        view = self.views.get(frame["conversation_id"])
        if view is None:
            view = self.views[frame["conversation_id"]] = View()
        entry_id = frame["id"]
        ms, _, seq = entry_id.partition("-")
        key = (int(ms), int(seq or 0))
        if key > view.last_key:
            view.last_key, view.last_id = key, entry_id

    def _back(self) -> None:
        if self.dropped_at:
            self.back_delays.append(time.monotonic() - self.dropped_at)
            self.dropped_at = 0.0
        self.world.on_back(self)

    def on_close(self, code: int) -> None:
        self.up = False
        self.conn = None
        for future in self.expect.values():
            if not future.done():
                future.set_exception(ConnectionError(f"closed with {code}"))
        self.expect.clear()
        self.world.on_close(self, code)
        if self.world.reconnect and not (self.connecting or self.stopped or self.world.stopping):
            if not self.dropped_at:
                self.dropped_at = time.monotonic()
            self.world.spawn(self.reconnect())


async def connect_all(peers: list[Peer]) -> list[BaseException]:
    """Connect every peer (the world's semaphore bounds handshakes in flight); the failures."""
    results = await asyncio.gather(*(p.connect() for p in peers), return_exceptions=True)
    return [r for r in results if isinstance(r, BaseException)]
