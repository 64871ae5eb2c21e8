"""The event bus's subscription on one Redis over TCP, read with hiredis directly.

Every relayed message reaches a process once through its bus (the conversation's channel).
redis-py's `PubSub.get_message` spends about 45 µs of the server's CPU on each (a read under a
timeout, its parser's push handling, the message dict) on the machine of docs/performance.md;
here a read of the socket parses every message it holds at once, and `get_message` hands them
out without waiting. Only what the bus uses is offered, in redis-py's shapes: `subscribe`,
`unsubscribe`, `ping`, `get_message` (dicts with `type`, `channel`, `data`), `aclose`. A lost
connection makes `get_message` raise `ConnectionError`, as redis-py's does; the bus then makes a
new subscriber (nothing here reconnects by itself: the bus must see every drop).
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, cast

import hiredis
from redis.exceptions import ConnectionError, ResponseError

from chatserver.store.lane import error_of, pack, setup_commands

Message = dict[str, Any]


class RawPubSub:
    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        connect_timeout: float = 2.0,
    ) -> None:
        self._address = (host, port)
        self._hello = setup_commands(0, username, password)  # channels ignore the database
        self._connect_timeout = connect_timeout
        self._protocol: _Subscription | None = None
        self._connecting = asyncio.Lock()  # one connection, however many callers wait for it

    async def subscribe(self, *channels: str) -> None:
        (await self._connected()).write(pack(["SUBSCRIBE", *channels]))

    async def unsubscribe(self, *channels: str) -> None:
        (await self._connected()).write(pack(["UNSUBSCRIBE", *channels]))

    async def ping(self) -> None:
        (await self._connected()).write(pack(["PING"]))  # answered by a `pong` message

    async def get_message(self, timeout: float) -> Message | None:
        """The next message (`subscribe` confirmations and `pong`s included), or None if none
        came within `timeout` seconds."""
        protocol = await self._connected()
        return await protocol.next(timeout)

    async def aclose(self) -> None:
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None

    async def _connected(self) -> _Subscription:
        if self._protocol is not None:
            return self._protocol
        async with self._connecting:
            if self._protocol is None:
                self._protocol = await self._connect()
            return self._protocol

    async def _connect(self) -> _Subscription:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, protocol = await loop.create_connection(_Subscription, *self._address)
                for command in self._hello:  # AUTH, before anything is subscribed
                    protocol.write(pack(command))
                    reply = await protocol.reply()
                    if isinstance(reply, Exception):
                        protocol.close()
                        raise reply
        except OSError as exc:  # the builtin TimeoutError (of asyncio.timeout) included
            raise ConnectionError(f"Error connecting to {self._address}: {exc}") from exc
        return protocol


class _Subscription(asyncio.Protocol):
    def __init__(self) -> None:
        self._reader = hiredis.Reader(encoding="utf-8", replyError=ResponseError)
        self._transport: asyncio.Transport | None = None
        self._replies: collections.deque[Any] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        try:
            while (reply := self._reader.gets()) is not False:
                self._replies.append(reply)
        except hiredis.ProtocolError as exc:
            self._lost = ConnectionError(f"protocol error: {exc}")
            self.close()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._lost is None:
            self._lost = ConnectionError(f"Connection lost: {exc or 'closed by Redis'}")
        self._wake()

    def write(self, data: bytes) -> None:
        if self._lost is not None:
            raise self._lost
        assert self._transport is not None
        self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    async def reply(self) -> Any:
        """The next reply as it came (setting the connection up)."""
        while not self._replies:
            await self._wait()
        reply = self._replies.popleft()
        return error_of(reply) if isinstance(reply, ResponseError) else reply

    async def next(self, timeout: float) -> Message | None:
        if not self._replies:
            try:
                async with asyncio.timeout(timeout):
                    await self._wait()
            except TimeoutError:
                return None
        reply = self._replies.popleft()
        if isinstance(reply, ResponseError):
            raise error_of(reply)
        if not isinstance(reply, list):  # PING before any subscription: +PONG
            return {"type": "pong", "pattern": None, "channel": None, "data": reply}
        kind = reply[0]
        if kind == "pong":
            return {"type": "pong", "pattern": None, "channel": None, "data": reply[1]}
        return {"type": kind, "pattern": None, "channel": reply[1], "data": reply[2]}

    async def _wait(self) -> None:
        if self._lost is not None and not self._replies:
            raise self._lost
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        if self._lost is not None and not self._replies:
            raise self._lost

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
