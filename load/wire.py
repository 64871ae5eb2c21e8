"""A lean WebSocket client: the `websockets` sans-I/O protocol inside an asyncio.Protocol.

No task per socket and no awaiting per frame: received frames are decoded and handed to a
callback as they arrive, and `send` writes to the transport at once. That keeps the generator
cheap enough to load a server running on the same machine, and makes sends non-blocking (the
open-loop schedule never waits for a socket).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlparse

import msgpack
import orjson
from websockets.client import ClientProtocol
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

Frame = dict[str, Any]
OnFrame = Callable[[Frame], None]
OnClose = Callable[[int], None]

JSON = Subprotocol("chat.v1.json")
MSGPACK = Subprotocol("chat.v1.msgpack")
ABNORMAL = 1006  # no close frame: the TCP connection just ended
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


class NotLoopback(ValueError):
    """The generator only ever targets this machine."""


def check_loopback(url: str) -> None:
    """Refuse any URL with a host that is not a loopback address (every host of a Cluster or
    Sentinel URL: `redis+cluster://h1:p1,h2:p2`)."""
    netloc = urlparse(url).netloc.rpartition("@")[2]
    for node in netloc.split(","):
        host = urlparse(f"//{node}").hostname or ""
        if host not in LOOPBACK and not host.startswith("127."):
            raise NotLoopback(f"refusing {url!r}: the load generator targets 127.0.0.1 only")


class WsConn(asyncio.Protocol):
    """One client socket. `opened` resolves once the handshake is done (or fails)."""

    def __init__(self, url: str, on_frame: OnFrame, on_close: OnClose, binary: bool) -> None:
        check_loopback(url)
        self.binary = binary
        self.proto = ClientProtocol(
            parse_uri(url), subprotocols=[MSGPACK if binary else JSON], max_size=2**20
        )
        self.on_frame = on_frame
        self.on_close = on_close
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.frames_in = 0

    # --- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.proto.send_request(self.proto.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if not isinstance(event, WsFrame):
                self._handshake_done()  # the handshake's response
                continue
            opcode = event.opcode
            if opcode is Opcode.TEXT:
                self.frames_in += 1
                self.on_frame(orjson.loads(event.data))
            elif opcode is Opcode.BINARY:
                self.frames_in += 1
                self.on_frame(msgpack.unpackb(event.data, raw=False))
        self._flush()

    def eof_received(self) -> bool | None:
        self.proto.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during handshake: {exc}"))
        if not self.closed:
            self.closed = True
            received = self.proto.close_rcvd
            self.on_close(received.code if received is not None else ABNORMAL)

    # --- API ------------------------------------------------------------------------------
    def send(self, frame: Frame) -> bool:
        """Write one frame now; False if the socket is not open."""
        if self.closed or self.transport is None or self.transport.is_closing():
            return False
        if self.binary:
            self.proto.send_binary(msgpack.packb(frame, use_bin_type=True))
        else:
            self.proto.send_text(orjson.dumps(frame))
        self._flush()
        return True

    def close(self) -> None:
        """A clean close (1000)."""
        if self.transport is not None and not self.transport.is_closing():
            try:
                self.proto.send_close(1000)
            except Exception:
                self.transport.close()
                return
            self._flush()

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake, as a network failure would."""
        if self.transport is not None:
            self.transport.abort()

    def pause_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    # --- helpers --------------------------------------------------------------------------
    def _handshake_done(self) -> None:
        if self.opened.done():
            return
        error = self.proto.handshake_exc
        if error is None:
            self.opened.set_result(None)
        else:
            self.opened.set_exception(ConnectionError(f"handshake refused: {error}"))

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.proto.data_to_send():
            if chunk:
                self.transport.write(chunk)
            else:  # the protocol's end-of-stream marker: the close handshake is over
                self.transport.close()


async def open_ws(
    url: str, on_frame: OnFrame, on_close: OnClose, binary: bool = False, timeout: float = 15.0
) -> WsConn:
    """Connect and complete the WebSocket handshake."""
    check_loopback(url)
    parsed = urlparse(url)
    loop = asyncio.get_running_loop()
    conn = WsConn(url, on_frame, on_close, binary)
    async with asyncio.timeout(timeout):
        await loop.create_connection(
            lambda: conn, parsed.hostname or "127.0.0.1", parsed.port or 80
        )
        try:
            await conn.opened
        except BaseException:
            conn.abort()
            raise
    return conn
