"""One task per socket: the frame loop shared by shoppers and agents.

A connection reads frames, checks them (rate, shape), hands them to its role's handlers, and
writes through a bounded send queue: a client that does not read is disconnected (1013) before
its queue can grow without bound. Conversations it watches are `View`s: subscribed on the
process bus, caught up from the stream, deduplicated by stream id.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from chatserver.core import frames, outgoing
from chatserver.core.frames import CloseCode, ErrorCode, Frame, ProtocolError
from chatserver.core.model import Conversation
from chatserver.core.site_events import SiteEvent
from chatserver.gateway import eager
from chatserver.reports import metrics
from chatserver.store import keys
from chatserver.store.clients import StorageError
from chatserver.store.transcripts import Refused

if TYPE_CHECKING:
    from chatserver.gateway.services import Services

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0
# A client whose frame waited on the server (a Redis outage) kept sending meanwhile: that much
# sending is credited to its bucket, up to this many seconds of its rate, on top of the burst.
MAX_CREDIT_SECONDS = 60.0
_REFUSALS = {
    "rate": (ErrorCode.RATE_LIMITED, "too many messages: slow down, then resend"),
    "full": (ErrorCode.CONVERSATION_FULL, "this conversation holds its most messages"),
}
FLUSH_TIMEOUT = 2.0
# Frames that never wait for admission (Gateway.admission): a ping costs nothing (and a client's
# pong deadline must hold under load); a resume spends its time waiting for its subscription
# and catch-up reads, and holding a turn through that made a reconnect storm come back slower.
UNQUEUED = frozenset({"ping", "resume"})
FrameHandler = Callable[[Frame], Awaitable[None]]


class Closing(Exception):
    """Close the socket with `code` (raised from a handler)."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class View:
    """A conversation this socket follows: everything after `last_id`, once, in order."""

    def __init__(self, conversation_id: str, last_id: str, epoch: int) -> None:
        self.conversation_id = conversation_id
        self.last_id = last_id
        self.epoch = epoch  # of the entries this socket was sent
        self.syncing = True
        self.buffer: list[tuple[str, dict[str, Any]]] = []
        self.lock = asyncio.Lock()  # one catch-up at a time (resume, follow, bus back)

    def fresh(self, entry_id: str) -> bool:
        return frames.stream_id_key(entry_id) > frames.stream_id_key(self.last_id)


class Connection:
    """What shoppers' and agents' sockets have in common. A frame of type T (one of the
    subclass's `frame_specs`) is handled by its method `on_T`."""

    role: ClassVar[str] = "?"
    frame_specs: ClassVar[dict[str, dict[str, tuple[type, bool]]]] = {}

    def __init__(self, services: Services, ws: WebSocket) -> None:
        self.services = services
        self.hub = services.hub
        self.ws = ws
        self.id = uuid.uuid4().hex[:16]
        self.binary = False
        self.site_key = ""
        self.views: dict[str, View] = {}
        # Frames waiting for the socket (None: close after them), and the task writing them,
        # which exists only while there is something to write: an idle socket has neither a
        # task nor a queue object (docs/performance.md, idle memory).
        self._out: collections.deque[bytes | None] = collections.deque()
        self._writer: asyncio.Task[None] | None = None
        self._accepted = False
        self._tokens = float(services.settings.rate_burst)
        self._refill_at = time.monotonic()
        self._strikes = 0.0
        self._closing: Closing | None = None
        # Made by the first routing event: most sockets (idle shoppers) never get one.
        self._events: asyncio.Queue[SiteEvent] | None = None
        self._event_task: asyncio.Task[None] | None = None
        self._ended = False
        self.authenticated = False

    # --- lifecycle --------------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the socket until it closes. Never raises."""
        address = self.address
        if not self.services.admit_address(address):  # before any work is done for it
            await self.ws.accept()
            await self._close(CloseCode.TRY_AGAIN_LATER, "too many sockets from this address")
            return
        metrics.socket_opened(self.role)
        try:
            await self._run()
        finally:
            self.services.release_address(address)
            metrics.socket_closed(self.role)

    @property
    def address(self) -> str:
        """The client's address (a trusted proxy's X-Forwarded-For, if one is configured)."""
        return self.ws.client.host if self.ws.client else "unknown"

    async def _run(self) -> None:
        try:
            refusal = await self.refuse_reason()
        except (StorageError, OSError):
            await self.ws.accept()
            await self._close(CloseCode.TRY_AGAIN_LATER, "storage unavailable")
            return
        if refusal:
            await self.ws.close(code=CloseCode.POLICY_VIOLATION, reason=refusal)
            return
        offered = self.ws.scope.get("subprotocols", [])
        ours = (frames.MSGPACK_SUBPROTOCOL, frames.JSON_SUBPROTOCOL)
        chosen = next((p for p in offered if p in ours), None)  # the client's first choice
        self.binary = chosen == frames.MSGPACK_SUBPROTOCOL
        await self.ws.accept(subprotocol=chosen)
        self._accepted = True
        self._kick()
        self.services.connections.add(self)
        try:
            await self._read_loop()
        except Closing as closing:
            # Let the writer flush what is queued (the error that explains the close) first.
            self.close_soon(closing.code, closing.reason)
            if self._writer is not None:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(self._writer), FLUSH_TIMEOUT)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("connection %s failed", self.id)
            await self._close(CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            self.services.connections.discard(self)
            for view in list(self.views.values()):
                self.unwatch(view.conversation_id)
            self.services.sites.leave(self, self.site_key)
            # A flag and a bounded wait, not only the cancel: redis-py can turn a cancellation
            # inside a command into its own TimeoutError, which the event loop would survive.
            self._ended = True
            tasks = {t for t in (self._event_task, self._writer) if t is not None}
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=FLUSH_TIMEOUT)
            with contextlib.suppress(StorageError, OSError):
                await self.on_closed()

    async def refuse_reason(self) -> str:
        """Checked before accepting (origin, site): a reason makes the handshake fail (403)."""
        return ""

    async def on_closed(self) -> None:
        """Role-specific clean-up once the socket is gone."""

    async def _read_loop(self) -> None:
        try:
            hello = await asyncio.wait_for(self._receive(), HELLO_TIMEOUT)
        except TimeoutError:
            raise Closing(CloseCode.POLICY_VIOLATION, "no hello") from None
        await self._handle_raw(hello, first=True)
        while True:
            await self._handle_raw(await self._receive(), first=False)

    async def _receive(self) -> str | bytes:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        data = message.get("bytes") if message.get("bytes") is not None else message.get("text")
        return data if data is not None else b""

    async def _handle_raw(self, raw: str | bytes, first: bool) -> None:
        if self._closing is not None:
            raise self._closing
        if not self._take_token():
            self.send(frames.error(ErrorCode.RATE_LIMITED, "too many frames: slow down"))
            return
        started = time.monotonic()
        try:
            await self._handle_frame(raw, first)  # a wait for admission is credited too
        finally:
            self._credit(time.monotonic() - started)

    async def _handle_frame(self, raw: str | bytes, first: bool) -> None:
        ref: str | None = None
        conversation: str | None = None
        try:
            frame = frames.parse(raw, isinstance(raw, bytes), self.frame_specs)
            ref = frame.get("client_msg_id")
            conversation = frame.get("conversation_id")
            if first and frame.type != "hello":
                raise ProtocolError(ErrorCode.NOT_AUTHENTICATED, "the first frame must be hello")
            if not first and frame.type == "hello":
                raise ProtocolError(ErrorCode.INVALID_FIELD, "hello was already sent")
            turn = contextlib.nullcontext() if frame.type in UNQUEUED else self.services.admission
            async with turn:
                await self.handler(frame.type)(frame)
        except ProtocolError as exc:
            self.send(frames.error(exc.code, exc.message, exc.ref or ref, conversation))
            if first:
                raise Closing(CloseCode.POLICY_VIOLATION, exc.message) from None
        except Refused as exc:
            code, text = _REFUSALS[exc.reason]
            self.send(frames.error(code, text, ref, conversation))
        except (StorageError, OSError, TimeoutError) as exc:
            log.warning("storage unavailable: %s", exc)
            self.send(
                frames.error(ErrorCode.UNAVAILABLE, "storage unavailable, retry", ref, conversation)
            )
            if first:
                raise Closing(CloseCode.TRY_AGAIN_LATER, "storage unavailable") from None

    def _take_token(self) -> bool:
        settings = self.services.settings
        now = time.monotonic()
        elapsed = now - self._refill_at
        refilled = min(settings.rate_burst, self._tokens + elapsed * settings.rate_per_second)
        self._tokens = max(self._tokens, refilled)  # a credit above the burst is kept
        # Dropped frames are forgiven at the same rate: only a client that keeps sending well
        # above its rate (not one that bursts now and then) is closed as a flood.
        self._strikes = max(0.0, self._strikes - elapsed * settings.rate_per_second)
        self._refill_at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self._strikes += 1
        if self._strikes > settings.rate_burst:
            raise Closing(CloseCode.POLICY_VIOLATION, "flood")
        return False

    def _credit(self, seconds: float) -> None:
        """The server kept the client waiting `seconds` on one frame: what it sent meanwhile
        (at up to its rate) is not a flood when the server reads it all at once afterwards."""
        rate = self.services.settings.rate_per_second
        cap = self.services.settings.rate_burst + MAX_CREDIT_SECONDS * rate
        self._tokens = min(cap, self._tokens + seconds * rate)
        self._strikes = max(0.0, self._strikes - seconds * rate)

    def handler(self, kind: str) -> FrameHandler:
        """What handles a frame of type `kind` (a type of `frame_specs`): method `on_<kind>`.
        Looked up per frame rather than kept in a dict of bound methods per socket."""
        handler: FrameHandler = getattr(self, f"on_{kind}")
        return handler

    # --- events of the site -------------------------------------------------------------------
    def push_event(self, event: SiteEvent) -> None:
        """A routing event for this socket (from the process's SiteRouter): handled after the
        ones before it, so the frames it causes never overtake theirs."""
        if self._closing is not None:
            return
        if self._events is None:
            self._events = asyncio.Queue()
            self._event_task = asyncio.create_task(self._event_loop(self._events))
        self._events.put_nowait(event)

    async def _event_loop(self, events: asyncio.Queue[SiteEvent]) -> None:
        while not self._ended:
            event = await events.get()
            try:
                await self.on_site_event(event)
            except (StorageError, OSError, TimeoutError) as exc:
                log.warning("event %s for %s not handled: %s", event.kind, self.id, exc)
            except Exception:
                log.exception("event %s for %s failed", event.kind, self.id)

    async def on_site_event(self, event: SiteEvent) -> None:
        """A routing event that concerns this socket (subclasses react)."""

    # --- sending ----------------------------------------------------------------------------
    def send(self, frame: dict[str, Any]) -> None:
        """Queue a frame; a full queue means the client stopped reading: close it (1013)."""
        if self._closing is not None:
            return
        metrics.frame_out(self.role, frame)
        if len(self._out) >= self.services.settings.send_queue:
            log.warning("closing slow reader %s (%d frames queued)", self.id, len(self._out))
            self._closing = Closing(CloseCode.TRY_AGAIN_LATER, "slow reader")
            self._out.clear()
            self._out.append(None)
        else:
            self._out.append(frames.encode(frame, self.binary))
        self._kick()

    def _kick(self) -> None:
        """Write what is queued, if no writer is at it: at once, as far as the socket takes it;
        a writer task goes on only where a send has to wait (the client reads slowly). It stops
        when the queue is empty."""
        if self._out and self._accepted and self._writer is None and not self._ended:
            self._writer = eager.start(self._write_loop())

    async def _write_loop(self) -> None:
        try:
            while self._out:
                data = self._out.popleft()
                if data is None:
                    closing = self._closing or Closing(CloseCode.NORMAL, "")
                    await self._close(closing.code, closing.reason)
                    self._ended = True  # nothing is written after the close
                    return
                try:
                    if self.binary:
                        await self.ws.send_bytes(data)
                    else:
                        await self.ws.send_text(data.decode())
                except (WebSocketDisconnect, RuntimeError, OSError):
                    self._ended = True
                    return
        finally:
            self._writer = None

    async def _close(self, code: CloseCode, reason: str) -> None:
        metrics.closed(self.role, code)
        if self.ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await self.ws.close(code=code, reason=reason)

    def close_soon(self, code: CloseCode, reason: str) -> None:
        """Ask the writer to close after what is queued (a full queue is dropped instead)."""
        if self._closing is None:
            self._closing = Closing(code, reason)
            if len(self._out) >= self.services.settings.send_queue:
                self._out.clear()
            self._out.append(None)
            self._kick()

    # --- following conversations ------------------------------------------------------------
    def visible(self, entry: dict[str, Any]) -> bool:
        """Whether this socket's user may see a transcript entry (shoppers: no notes)."""
        return True

    def present(self, frame: dict[str, Any]) -> dict[str, Any]:
        """The frame as this socket's user sees it."""
        return frame

    async def watch(self, conversation_id: str, after: str, epoch: int) -> None:
        """Follow a conversation from stream id `after` of `epoch`: subscribe, catch up, then
        live."""
        view = self.views.get(conversation_id)
        if view is None:
            view = View(conversation_id, after, epoch)
            self.views[conversation_id] = view
            self.services.sites.follow(self, conversation_id)
            await self.services.bus.subscribe(
                keys.conversation_channel(conversation_id), self.on_conversation_event
            )
            await self.catch_up(view)
            return
        async with view.lock:  # a catch-up in flight finishes first, then this one starts over
            view.last_id, view.epoch, view.syncing, view.buffer = after, epoch, True, []
            await self._catch_up(view)

    async def catch_up(self, view: View, after_outage: bool = False) -> None:
        async with view.lock:
            await self._catch_up(view, after_outage)

    async def _catch_up(self, view: View, after_outage: bool = False) -> None:
        """Send what the view has not seen, then `synced`. After a storage outage, first check
        that what it saw still exists (a resume checked that already, in `on_resume`)."""
        view.syncing = True
        try:
            if (
                after_outage
                and view.last_id != "0-0"
                and await self.hub.lost_tail(view.conversation_id, view.last_id)
            ):
                await self._lost_tail(view)
            while True:
                entries = await self.hub.entries(view.conversation_id, view.last_id)
                for entry in entries:
                    self._deliver(view, entry.id, entry.data)
                if len(entries) < 1000:
                    break
        finally:
            view.syncing = False
        for entry_id, data in view.buffer:
            self._deliver(view, entry_id, data)
        view.buffer = []
        self.send(outgoing.synced(view.conversation_id, view.last_id))

    async def _lost_tail(self, view: View) -> None:
        """Entries this socket was sent are gone (Redis restarted without them): a new epoch,
        `reset`, and the whole transcript again, as a resuming client gets (section 9.3)."""
        conv_id = view.conversation_id
        epoch = await self.hub.new_epoch(self.site_key, conv_id, view.epoch)
        self.send(outgoing.reset(conv_id, epoch, "history_lost"))
        view.last_id, view.epoch = "0-0", epoch

    def unwatch(self, conversation_id: str) -> None:
        if self.views.pop(conversation_id, None) is not None:
            if not self.knows(conversation_id):
                self.services.sites.unfollow(self, conversation_id)
            self.services.bus.unsubscribe(
                keys.conversation_channel(conversation_id), self.on_conversation_event
            )

    def queued_conversations(self) -> list[Conversation]:
        """The queued conversations this socket holds a place for (a shopper's)."""
        return []

    def knows(self, conversation_id: str) -> bool:
        """Whether this socket keeps hearing a conversation's routing events when it no longer
        follows its transcript (a shopper's own conversations)."""
        return False

    def on_conversation_event(self, channel: str, payload: dict[str, Any]) -> None:
        view = self.views.get(keys.conversation_of_channel(channel))
        if view is None:
            return
        entry = payload.get("e", {})
        entry_id = payload.get("id")
        if entry_id is None:
            self.on_ephemeral(view.conversation_id, entry)
        elif view.syncing:
            view.buffer.append((entry_id, entry))
        else:
            self._deliver(view, entry_id, entry)

    def _deliver(self, view: View, entry_id: str, entry: dict[str, Any]) -> None:
        if not view.fresh(entry_id):
            return
        view.last_id = entry_id
        if self.visible(entry):
            frame = frames.entry_frame(view.conversation_id, entry_id, entry)
            frame = self.services.files.present(view.conversation_id, frame)  # signed URLs
            self.send(self.present(frame))

    def on_ephemeral(self, conversation_id: str, event: dict[str, Any]) -> None:
        if event.get("from_conn") == self.id:
            return
        frame = {k: v for k, v in event.items() if k != "from_conn"}
        self.send({**frame, "conversation_id": conversation_id})

    def on_bus_state(self, up: bool) -> None:
        """Redis lost or back: tell the client; once back, catch every view up from its last id
        and bring the routing state (assignments, queue places) up to date."""
        self.send(outgoing.service(up))
        for view in list(self.views.values()):
            if up:
                self.services.spawn(self.catch_up(view, after_outage=True))
            else:  # live entries wait in the buffer until the catch-up has read the gap
                view.syncing = True
        if up:
            self.services.spawn(self.resync())

    async def resync(self) -> None:
        """Routing events may have been missed while the bus was down: re-read what matters."""

    # --- shared frame handlers ----------------------------------------------------------
    async def on_ping(self, frame: Frame) -> None:
        self.send(outgoing.pong())

    async def on_typing(self, frame: Frame) -> None:
        conv = await self.conversation_for(frame["conversation_id"])
        event = {**outgoing.typing(self.role, frame["typing"]), "from_conn": self.id}
        await self.hub.publish(conv.id, event)

    async def on_read(self, frame: Frame) -> None:
        conv = await self.conversation_for(frame["conversation_id"])
        up_to = frame["up_to"]
        if not frames.is_stream_id(up_to):
            raise ProtocolError(ErrorCode.INVALID_FIELD, "field 'up_to' must be a message id")
        await self.hub.mark_read(conv, self.role, up_to)
        await self.hub.publish(conv.id, {**outgoing.read(self.role, up_to), "from_conn": self.id})

    async def on_resume(self, frame: Frame) -> None:
        """Continue a conversation from {epoch, after}; if that history is gone, say so
        (`reset`) and send the whole transcript of the new epoch instead."""
        conv = await self.conversation_for(frame["conversation_id"])
        after = frame["after"]
        if after in ("", "0"):
            after = "0-0"
        if not frames.is_stream_id(after):
            raise ProtocolError(ErrorCode.INVALID_FIELD, "field 'after' must be a message id")
        epoch, reason = conv.epoch, ""
        if frame["epoch"] != conv.epoch:
            reason = "epoch_changed"
        elif after != "0-0" and not await self.hub.has_entry(conv.id, after):
            reason = "history_lost"
            if await self.hub.lost_tail(conv.id, after):
                # The client saw entries past the stream's end: Redis lost them (a restart
                # with appendfsync everysec). A new epoch tells every client of it.
                epoch = await self.hub.new_epoch(conv.site, conv.id, conv.epoch)
        if reason:
            self.send(outgoing.reset(conv.id, epoch, reason))
            after = "0-0"
        self.send(await self.services.summary(conv, self.role, epoch))
        await self.watch(conv.id, after, epoch)

    async def on_message(self, frame: Frame) -> None:
        await self.store_text(frame, note=False)

    async def store_text(self, frame: Frame, note: bool) -> None:
        """Store a message or a note once (deduplicated by client message id) and ack it."""
        conv = await self.conversation_for(frame["conversation_id"])
        cmid, sender = frame["client_msg_id"], self.sender()
        if conv.open:
            attachment = await self._attachment(conv, frame.get("attachment_id"))
            entry_id, new = await self.hub.post(
                conv, sender, cmid, frame.get("text") or "", note, attachment=attachment
            )
        else:  # a retry of a message stored before the close still gets its ack
            stored = await self.hub.stored_id(conv, sender, cmid, note)
            if stored is None:
                raise ProtocolError(ErrorCode.CONVERSATION_CLOSED, "the conversation is closed")
            entry_id, new = stored, False
        self.send(outgoing.ack(conv.id, cmid, entry_id, new))

    async def _attachment(
        self, conv: Conversation, attachment_id: str | None
    ) -> dict[str, Any] | None:
        """The entry form of a file this sender uploaded into this conversation (or None)."""
        if not attachment_id:
            return None
        att = await self.hub.attachment(conv.id, attachment_id)
        if att is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, "no such attachment in this conversation")
        sender = self.sender()
        if att.sender != f"{sender['role']}:{sender['id']}":
            raise ProtocolError(ErrorCode.FORBIDDEN, "the attachment was uploaded by someone else")
        return att.entry()

    def sender(self) -> dict[str, str]:
        raise NotImplementedError

    async def conversation_for(self, conversation_id: str) -> Conversation:
        """The conversation if this socket may act on it, else ProtocolError."""
        raise NotImplementedError
