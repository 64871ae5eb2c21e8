"""The per-process event bus: ONE Redis pub/sub connection for all the sockets of a process.

Sockets register handlers for the channels they need (a conversation's, a site's); the bus
subscribes a channel while at least one handler wants it, decodes each message once and calls
the handlers. When the connection to Redis drops, the bus tells everyone (so clients can be told
and, once it is back, every view re-reads its stream: pub/sub does not replay what was missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
HEALTH_PERIOD = 5.0
KEEPALIVE = "chat:bus:keepalive"  # always subscribed: confirms the connection is live
Handler = Callable[[str, dict[str, Any]], None]
StateListener = Callable[[bool], None]


class Bus:
    def __init__(self, redis: Redis) -> None:
        """`redis` should be a client of the bus's own (its pool is not shared with commands,
        so a burst of socket work can never starve the subscription)."""
        self._redis = redis
        self._handlers: dict[str, set[Handler]] = defaultdict(set)
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._listeners: list[StateListener] = []
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._connected = asyncio.Event()
        self.up = False

    def on_state(self, listener: StateListener) -> None:
        """Call `listener(True|False)` whenever the bus (re)connects or loses Redis."""
        self._listeners.append(listener)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bus")

    async def stop(self) -> None:
        # redis-py may turn our cancellation into its own TimeoutError inside a read, which
        # the loop would take for a lost connection: the flag ends the loop whatever happens.
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=CONNECT_TIMEOUT)
        await self._close_pubsub()

    async def subscribe(self, channel: str, handler: Handler) -> None:
        """Deliver `channel`'s messages to `handler`; returns once Redis confirmed the
        subscription (so nothing published after this returns can be missed)."""
        first = not self._handlers[channel]
        self._handlers[channel].add(handler)
        if first or channel not in self._confirmed:
            self._confirmed[channel] = asyncio.get_running_loop().create_future()
            if self._pubsub is not None and self.up:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.subscribe(channel)
        await asyncio.wait_for(asyncio.shield(self._confirmed[channel]), SUBSCRIBE_TIMEOUT)

    def unsubscribe(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if handlers is None:
            return
        handlers.discard(handler)
        if not handlers:
            del self._handlers[channel]
            self._confirmed.pop(channel, None)
            if self._pubsub is not None and self.up:
                task = asyncio.create_task(self._safe_unsubscribe(channel))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def _safe_unsubscribe(self, channel: str) -> None:
        if channel in self._handlers or self._pubsub is None:
            return
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.unsubscribe(channel)

    async def _run(self) -> None:
        backoff = 0.05
        while not self._stopping:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await self._connect()
                backoff = 0.05
                await self._listen()
            except (RedisError, OSError, TimeoutError) as exc:
                if self._stopping:
                    return
                log.warning("event bus lost Redis: %s (%s)", exc, type(exc).__name__)
            await self._set_up(False)
            await self._close_pubsub()
            await asyncio.sleep(backoff * (1 + random.random()))  # reconnect backoff
            backoff = min(backoff * 2, 2.0)

    async def _connect(self) -> None:
        self._pubsub = self._redis.pubsub()
        # A dummy channel keeps the connection in subscribed mode even with no socket.
        channels = [*self._handlers, KEEPALIVE]
        for channel in self._handlers:
            if self._confirmed.get(channel) is None or self._confirmed[channel].done():
                self._confirmed[channel] = asyncio.get_running_loop().create_future()
        await self._pubsub.subscribe(*channels)

    async def _listen(self) -> None:
        """Dispatch messages. After a health period of silence we PING; a connection that
        stays silent through the next period too (no answer) is dead even if TCP did not say so."""
        pubsub = self._pubsub
        assert pubsub is not None
        unanswered = 0
        while not self._stopping:
            message = await pubsub.get_message(timeout=HEALTH_PERIOD)
            if message is None:
                if unanswered:
                    raise ConnectionError("event bus: no answer to PING")
                unanswered += 1
                await pubsub.ping()
                continue
            unanswered = 0
            kind = message["type"]
            channel = _text(message["channel"])
            if kind == "subscribe":
                future = self._confirmed.get(channel)
                if future is not None and not future.done():
                    future.set_result(None)
                if channel == KEEPALIVE:
                    if self.up:  # subscribed again without our noticing a drop: catch up
                        await self._set_up(False)
                    await self._set_up(True)
                    # Channels asked for while this connection was being made were in neither
                    # its first SUBSCRIBE (KEEPALIVE is last in it) nor sent since: send them.
                    late = [c for c, f in self._confirmed.items() if not f.done()]
                    if late:
                        await pubsub.subscribe(*late)
            elif kind == "message":
                self._dispatch(channel, message["data"])

    def _dispatch(self, channel: str, data: bytes | str) -> None:
        handlers = self._handlers.get(channel)
        if not handlers:
            return
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            log.error("undecodable event on %s", channel)
            return
        for handler in list(handlers):
            try:
                handler(channel, payload)
            except Exception:
                log.exception("event handler failed on %s", channel)

    async def _set_up(self, up: bool) -> None:
        if up == self.up:
            return
        self.up = up
        log.info("event bus %s", "connected" if up else "disconnected")
        for listener in self._listeners:
            listener(up)

    async def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
