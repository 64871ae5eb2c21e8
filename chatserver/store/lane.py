"""One Redis connection that many callers share, for the commands of every message.

Every relayed message costs the server a script call (the append) and, from an agent, a session
check. Through redis-py each is a pooled connection's round trip wrapped in its per-call work
(pool lock, retry, timeouts, command objects): about 100 µs of the server's CPU per call on the
machine of docs/performance.md, more than the rest of the message's handling in Redis. The lane
sends such commands over one connection that is never checked out: a command is written with
the others of the same event-loop tick (one write) and its reply is the next one Redis sends
back (Redis answers each connection in order), parsed by hiredis. Measured in
docs/performance.md ("Gateway v2, fourth pass").

What the command client promises holds here too: a command that meets a lost connection (a
Redis restart) is sent again on a new one, up to three times with a short backoff (every
command sent here is safe to repeat); a reply that does not come within `timeout` seconds ends
the connection and fails every command waiting on it (`TimeoutError`); an error reply goes to
its own caller only (`ResponseError`, `NoScriptError`...). Only plain TCP Redis (`redis://`)
gets a lane (clients.lane_for); other topologies keep redis-py's path. Never send a blocking
command (BLPOP, XREAD BLOCK...) here: every caller waits behind it.

The reads of a socket's hello and resume (a session, a visitor's conversations, a transcript's
entries) go here too, through the few methods below that answer as redis-py does, so a store
can be given either client for them (`Scripts.reads`).
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Sequence
from typing import Any, cast

import hiredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ConnectionError,
    NoScriptError,
    ReadOnlyError,
    ResponseError,
    TimeoutError,
)

Arg = str | bytes | int | float
# Error replies that mean something to callers or to the retry (redis-py's classes, so code
# handling redis-py's errors handles these alike); any other is a ResponseError.
_ERRORS: dict[str, type[Exception]] = {
    "NOSCRIPT": NoScriptError,
    "LOADING": BusyLoadingError,  # a restarted Redis reading its file: a ConnectionError
    "READONLY": ReadOnlyError,
    "NOAUTH": AuthenticationError,
    "WRONGPASS": AuthenticationError,
}


class Lane:
    def __init__(
        self,
        host: str,
        port: int,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        connect_timeout: float = 2.0,
        timeout: float = 5.0,
        retry: Retry | None = None,
    ) -> None:
        self._address = (host, port)
        self._hello = setup_commands(db, username, password)
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._retry = retry or Retry(ExponentialBackoff(cap=0.5, base=0.05), 3)
        self._link: _Link | None = None
        self._connecting: asyncio.Task[_Link] | None = None
        self._closed = False

    async def execute(self, *args: Arg) -> Any:
        """One command's reply; its error reply raised."""
        (reply,) = await self.execute_many([args])
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def execute_many(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """The replies of `commands`, sent together; an error reply is returned in its place.
        Connection errors and timeouts are raised (after the retries)."""
        if not commands:
            return []  # no reply would ever come for it
        packed = b"".join(pack(command) for command in commands)

        async def attempt() -> list[Any]:
            link = await self._connected()
            replies = await link.send(packed, len(commands))
            for reply in replies:
                if isinstance(reply, BusyLoadingError):  # Redis is starting: try again
                    raise reply
            return replies

        async def failed(error: Exception) -> None:
            pass  # the link that failed is dropped already; the next attempt makes a new one

        replies: list[Any] = await self._retry.call_with_retry(attempt, failed)
        return replies

    # --- reads shaped as redis-py's (decode_responses=True), for stores given either client --
    async def get(self, key: str) -> str | None:
        reply: str | None = await self.execute("GET", key)
        return reply

    async def hget(self, key: str, field: str) -> str | None:
        reply: str | None = await self.execute("HGET", key, field)
        return reply

    async def hgetall(self, key: str) -> dict[str, str]:
        flat = await self.execute("HGETALL", key)
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def zrevrange(self, key: str, start: int, end: int) -> list[str]:
        reply: list[str] = await self.execute("ZREVRANGE", key, start, end)
        return reply

    async def xrange(
        self, key: str, min: str = "-", max: str = "+", count: int | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        args: list[Arg] = ["XRANGE", key, min, max]
        if count is not None:
            args += ["COUNT", count]
        rows = await self.execute(*args)
        return [(entry_id, dict(zip(fields[::2], fields[1::2], strict=True)) if fields else {})
                for entry_id, fields in rows]  # fmt: skip

    async def aclose(self) -> None:
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
        if self._link is not None:
            self._link.abort(ConnectionError("the lane was closed"))
            self._link = None

    async def _connected(self) -> _Link:
        if self._closed:
            raise ConnectionError("the lane was closed")
        link = self._link
        if link is not None and link.alive:
            return link
        if self._connecting is None:  # one connect for all the callers that need it
            self._connecting = asyncio.create_task(self._connect())
            self._connecting.add_done_callback(self._connect_done)
        return await asyncio.shield(self._connecting)

    def _connect_done(self, task: asyncio.Task[_Link]) -> None:
        self._connecting = None
        if not task.cancelled() and task.exception() is None:
            self._link = task.result()
        elif not task.cancelled():
            task.exception()  # retrieved: each waiter got it

    async def _connect(self) -> _Link:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, link = await loop.create_connection(lambda: _Link(self._timeout), *self._address)
        except OSError as exc:  # the builtin TimeoutError (of asyncio.timeout) included
            raise ConnectionError(f"Error connecting to {self._address}: {exc}") from exc
        if self._hello:
            replies = await link.send(b"".join(pack(c) for c in self._hello), len(self._hello))
            for reply in replies:
                if isinstance(reply, Exception):
                    link.abort(ConnectionError(f"setting up the connection: {reply}"))
                    raise reply
        return link


class _Link(asyncio.Protocol):
    """One connection: replies are matched to waiters in the order the commands were sent."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._reader = hiredis.Reader(encoding="utf-8", replyError=ResponseError)
        self._transport: asyncio.Transport | None = None
        self._out: list[bytes] = []  # written at the end of this loop tick
        # Per batch sent: its future, how many replies it wants, those read so far, when sent.
        self._waiting: collections.deque[tuple[asyncio.Future[list[Any]], int, list[Any], float]]
        self._waiting = collections.deque()
        self._watchdog: asyncio.TimerHandle | None = None
        self.alive = False

    # --- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.alive = True

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while self._waiting:
            try:
                reply = self._reader.gets()
            except hiredis.ProtocolError as exc:
                self.abort(ConnectionError(f"protocol error: {exc}"))
                return
            if reply is False:  # not whole yet
                return
            future, count, replies, _ = self._waiting[0]
            replies.append(error_of(reply) if isinstance(reply, ResponseError) else reply)
            if len(replies) == count:
                self._waiting.popleft()
                if not future.done():  # its caller may have been cancelled
                    future.set_result(replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"Connection lost: {exc or 'closed by Redis'}"))

    # --- sending -----------------------------------------------------------------------
    def send(self, packed: bytes, count: int) -> asyncio.Future[list[Any]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        if not self.alive:
            future.set_exception(ConnectionError("Connection lost"))
            return future
        if not self._out:
            loop.call_soon(self._flush)
        self._out.append(packed)
        self._waiting.append((future, count, [], time.monotonic()))
        if self._watchdog is None:
            self._watchdog = loop.call_later(self._timeout, self._check_replies)
        return future

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self._transport is not None and self.alive and out:
            self._transport.writelines(out)

    def _check_replies(self) -> None:
        """Every `timeout` while replies are awaited: one older than that ends the link."""
        self._watchdog = None
        if not self._waiting:
            return
        overdue = time.monotonic() - self._waiting[0][3] - self._timeout
        if overdue >= 0:
            self.abort(TimeoutError("Timeout reading from Redis"))
            return
        self._watchdog = asyncio.get_running_loop().call_later(-overdue, self._check_replies)

    def abort(self, error: Exception) -> None:
        self._fail(error)
        if self._transport is not None:
            self._transport.abort()

    def _fail(self, error: Exception) -> None:
        self.alive = False
        self._out.clear()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self._waiting:
            future = self._waiting.popleft()[0]
            if not future.done():
                future.set_exception(error)


def setup_commands(db: int, username: str | None, password: str | None) -> list[list[Arg]]:
    commands: list[list[Arg]] = []
    if password:
        commands.append(["AUTH", username, password] if username else ["AUTH", password])
    if db:
        commands.append(["SELECT", db])
    return commands


def pack(args: Sequence[Arg]) -> bytes:
    """A command in RESP: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, int):
            data = b"%d" % arg
        else:
            data = repr(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def error_of(reply: ResponseError) -> Exception:
    """The error reply as redis-py raises it: its class by the error code; "ERR " dropped."""
    message = str(reply)
    code = message.split(" ", 1)[0]
    return _ERRORS.get(code, ResponseError)(message.removeprefix("ERR "))
