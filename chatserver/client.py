"""A protocol client for Python programs: tests, the load generator, bots, integrations.

`Client` is one socket: send frames, wait for frames. `ResumingClient` adds what a real client
must do (docs/protocol.md, "Resuming"): it keeps the last id and epoch of each conversation and
an outbox of unacknowledged messages, and after a drop it reconnects (to any of its URLs, with
jittered backoff), says hello with its token, resumes every conversation and resends the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from chatserver.core import frames

Frame = dict[str, Any]
Predicate = Callable[[Frame], bool]
# How the outbox is resent (docs/protocol.md section 16): within the server's default burst of
# 60 frames, then at half its sustained 20 frames a second.
RESEND_BURST = 30
RESEND_PER_SECOND = 10.0
# After `rate_limited` the unacknowledged messages are resent this much later (jittered), once
# however many such errors arrive meanwhile (section 15: slow down, then resend).
RATE_LIMITED_DELAY = 1.0


class ClientClosed(Exception):
    """The socket closed while waiting; `code` is its close code."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed with {code} {reason}")
        self.code = code
        self.reason = reason


class Client:
    """One WebSocket connection speaking the chat protocol (JSON, or msgpack if `binary`)."""

    def __init__(
        self, url: str, binary: bool = False, origin: str | None = None,
        local_address: str | None = None,
    ) -> None:  # fmt: skip
        self.url = url
        self.binary = binary
        self.origin = origin
        self.local_address = local_address  # the address to connect from (default: any)
        self.ws: ClientConnection | None = None
        self.received: list[Frame] = []
        self._inbox: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._taken: set[int] = set()
        self._arrived = asyncio.Event()
        self._closed_seen = False

    async def connect(self) -> None:
        proto = frames.MSGPACK_SUBPROTOCOL if self.binary else frames.JSON_SUBPROTOCOL
        self.ws = await websockets.connect(
            self.url, subprotocols=[proto],  # type: ignore[list-item]
            origin=self.origin, max_size=2**20, compression=None, open_timeout=10,  # type: ignore[arg-type]
            **self._socket_options(),
        )  # fmt: skip
        self.close_code = None
        self._closed_seen = False
        self._inbox = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    def _socket_options(self) -> dict[str, Any]:
        """What asyncio's create_connection gets besides the URL (the local address)."""
        return {"local_addr": (self.local_address, 0)} if self.local_address else {}

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                frame = frames.decode(raw, isinstance(raw, bytes))
                self.received.append(frame)
                self._inbox.put_nowait(frame)
                self._arrived.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason or ""
            self._closed_seen = True
            self._inbox.put_nowait(None)
            self._arrived.set()

    async def send(self, frame: Frame) -> None:
        assert self.ws is not None
        data = frames.encode(frame, self.binary)
        await self.ws.send(data if self.binary else data.decode())

    async def send_raw(self, data: str | bytes) -> None:
        assert self.ws is not None
        await self.ws.send(data)

    async def next(self, timeout: float = 10.0) -> Frame:
        """The next frame received (in order, each once), or ClientClosed."""
        frame = await asyncio.wait_for(self._inbox.get(), timeout)
        if frame is None:
            self._inbox.put_nowait(None)
            raise ClientClosed(self.close_code, self.close_reason)
        return frame

    async def wait_for(
        self, type_: str, timeout: float = 10.0, where: Predicate | None = None, **match: Any
    ) -> Frame:
        """The first frame of `type_` whose fields equal `match` (and satisfy `where`) that no
        earlier wait_for returned, looking at everything received so far, then waiting."""

        def fits(frame: Frame) -> bool:
            return (
                frame.get("type") == type_
                and all(frame.get(k) == v for k, v in match.items())
                and (where is None or where(frame))
            )

        async with asyncio.timeout(timeout):
            index = 0
            while True:
                while index < len(self.received):
                    frame = self.received[index]
                    index += 1
                    if id(frame) not in self._taken and fits(frame):
                        self._taken.add(id(frame))
                        return frame
                if self._closed_seen:
                    raise ClientClosed(self.close_code, self.close_reason)
                self._arrived.clear()
                await self._arrived.wait()

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        """Wait until the server closes the socket; returns the close code."""
        with contextlib.suppress(ClientClosed):
            async with asyncio.timeout(timeout):
                while True:
                    await self.next(timeout)
        return self.close_code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake (a network failure)."""
        if self.ws is not None:
            self.ws.transport.abort()


@dataclass
class ConversationLog:
    """What a client knows of one conversation: its epoch and its entries, by stream id."""

    epoch: int = 1
    last_id: str = "0-0"
    entries: dict[str, Frame] = field(default_factory=dict)
    duplicates: int = 0
    out_of_order: int = 0
    resets: int = 0

    def add(self, frame: Frame) -> None:
        entry_id = frame["id"]
        if entry_id in self.entries:
            self.duplicates += 1
            return
        if frames.stream_id_key(entry_id) < frames.stream_id_key(self.last_id):
            self.out_of_order += 1
        self.entries[entry_id] = frame
        self.last_id = entry_id

    def messages(self) -> list[Frame]:
        return [f for f in self.entries.values() if f["type"] == "message"]


class ResumingClient:
    """A client that survives drops: reconnect, hello, resume, resend (docs/protocol.md)."""

    def __init__(
        self, urls: list[str], hello: Frame, binary: bool = False, origin: str | None = None
    ) -> None:
        self.urls = urls
        self.hello = dict(hello)
        self.binary = binary
        self.origin = origin
        self.client: Client | None = None
        self.logs: dict[str, ConversationLog] = {}
        self.outbox: dict[str, Frame] = {}
        self.acks: dict[str, Frame] = {}
        self.welcome: Frame = {}
        self.events: list[Frame] = []
        self.reconnects = 0
        self.ended = ""  # why the client gave up: its agent session ended ('session ended')
        self._changed = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._jobs: set[asyncio.Task[None]] = set()
        self._slowed = False  # a resend after `rate_limited` is scheduled

    async def start(self) -> None:
        await self._connect_once(self.urls[0])
        self._runner = asyncio.create_task(self._run())

    async def _connect_once(self, url: str) -> None:
        client = Client(url, self.binary, self.origin)
        await client.connect()
        await client.send({"type": "hello", **self.hello})
        welcome = await client.wait_for("welcome")
        self.welcome = welcome
        if welcome.get("token") and "site" in self.hello:
            self.hello["token"] = welcome["token"]
        self.client = client
        for conv in welcome.get("conversations", []):  # known to the server, new to us
            self.logs.setdefault(conv["conversation_id"], ConversationLog(epoch=conv["epoch"]))
        for conv_id, log in self.logs.items():
            await client.send({"type": "resume", "conversation_id": conv_id,
                               "epoch": log.epoch, "after": log.last_id})  # fmt: skip
        self._later(self._resend(list(self.outbox), 0))  # paced, after the resumes

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            assert self.client is not None
            try:
                frame = await self.client.next(timeout=3600)
            except ClientClosed as closed:
                if self._stopping:
                    return
                if self._session_ended(closed.code):
                    self.ended = "session ended"
                    self._changed.set()
                    return
                attempt = await self._reconnect(attempt)
                continue
            attempt = 0
            self._handle(frame)

    def _session_ended(self, code: int | None) -> bool:
        """After `bad_token` (or 4001 `session revoked`) a shopper starts over without its
        token; an agent gives up: a refused token is never retried (section 16, step 3)."""
        refused = code == 4001 or any(
            f.get("type") == "error" and f.get("code") == "bad_token"
            for f in (self.client.received[-3:] if self.client else [])
        )
        if not refused:
            return False
        if "site" in self.hello:
            self.hello.pop("token", None)
            return False
        return True

    async def _reconnect(self, attempt: int) -> int:
        while not self._stopping:
            delay = min(2.0, 0.05 * 2**attempt) * (0.5 + random.random())  # jittered backoff
            await asyncio.sleep(delay)
            url = self.urls[(self.reconnects + attempt) % len(self.urls)]
            attempt += 1
            try:
                await self._connect_once(url)
                self.reconnects += 1
                return 0
            except (OSError, ClientClosed, TimeoutError, websockets.WebSocketException):
                continue
        return attempt

    def _handle(self, frame: Frame) -> None:
        kind = frame.get("type")
        conv_id = frame.get("conversation_id")
        if kind in ("message", "event", "note") and conv_id:
            self.logs.setdefault(conv_id, ConversationLog()).add(frame)
        elif kind == "ack":
            self.outbox.pop(frame["client_msg_id"], None)
            self.acks[frame["client_msg_id"]] = frame
        elif kind == "reset" and conv_id:
            old = self.logs.get(conv_id, ConversationLog())
            self.logs[conv_id] = ConversationLog(epoch=frame["epoch"], resets=old.resets + 1)
        elif kind == "service" and frame.get("state") == "ok":
            self._later(self._resend(list(self.outbox), 0))  # storage is back: all unacked
        elif kind == "error" and frame.get("code") == "unavailable" and frame.get("ref"):
            self._later(self._resend([frame["ref"]], 0.5))  # that one message, a bit later
        elif kind == "error" and frame.get("code") == "rate_limited" and not self._slowed:
            # Which frame was dropped is not said (no ref) or more may follow: all unacked
            # messages, once, after a pause.
            self._slowed = True
            self._later(self._resend_slowed())
        elif kind == "conversation" and conv_id:
            self.logs.setdefault(conv_id, ConversationLog(epoch=frame["epoch"]))
        self.events.append(frame)
        self._changed.set()

    def _later(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(job)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _resend(self, client_msg_ids: list[str], delay: float) -> None:
        """Resend these outbox messages, in order, paced as docs/protocol.md section 16 says:
        RESEND_BURST at once, then RESEND_PER_SECOND (half the server's default rate)."""
        await asyncio.sleep(delay * (0.5 + random.random()))  # jittered retry delay
        client = self.client
        with contextlib.suppress(Exception):
            for i, cmid in enumerate(client_msg_ids):
                frame = self.outbox.get(cmid)
                if frame is None or client is None or self.client is not client:
                    continue  # acked meanwhile, or a new connection resends it itself
                if i >= RESEND_BURST:
                    await asyncio.sleep(1 / RESEND_PER_SECOND)  # a pace, not a wait
                await client.send(frame)

    async def _resend_slowed(self) -> None:
        try:
            await asyncio.sleep(RATE_LIMITED_DELAY * (0.5 + random.random()))  # a pause
        finally:
            self._slowed = False
        await self._resend(list(self.outbox), 0)

    async def send_message(self, conversation_id: str, text: str) -> str:
        """Queue a message in the outbox and send it; returns its client message id."""
        cmid = uuid.uuid4().hex
        frame = {"type": "message", "conversation_id": conversation_id,
                 "client_msg_id": cmid, "text": text}  # fmt: skip
        self.outbox[cmid] = frame
        with contextlib.suppress(Exception):
            assert self.client is not None
            await self.client.send(frame)
        return cmid

    async def send(self, frame: Frame) -> None:
        assert self.client is not None
        await self.client.send(frame)

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `condition()` holds (checked after every frame)."""
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def stop(self) -> None:
        self._stopping = True
        if self.client is not None:
            await self.client.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
