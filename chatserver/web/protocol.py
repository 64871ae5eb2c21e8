"""HTTP/1.1 connections: uvicorn's h11 protocol with a deadline for a request's headers.

uvicorn waits as long as a client likes for the headers of a request: a client that connects
and sends nothing, or half a request line, holds a socket (and a file descriptor) forever, and
a few thousand of them exhaust the process's file limit (slowloris). Here every connection that
owes a request's headers has `header_timeout` seconds to send them, counted from the moment it
opened, or, on a kept-alive connection, from the first byte of its next request. Between
requests uvicorn's keep-alive timeout applies as before; once the headers are complete the
deadline is off (a body, a response or a WebSocket is not a header). A WebSocket handshake is an
HTTP request first, so it is covered too.

The implementation is pinned to h11 (httptools is not a dependency; "auto" would pick it if it
were installed, and this subclass reads h11's state).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


class ServerConfig(uvicorn.Config):
    """uvicorn's Config with HTTP served by HeaderTimeoutProtocol, which reads `header_timeout`.

    A module-level class (not a closure) because `--workers N` pickles the config into each
    worker process."""

    def __init__(self, app: str, *, header_timeout: float, **options: Any) -> None:
        super().__init__(app, http=HeaderTimeoutProtocol, **options)
        self.header_timeout = header_timeout


class HeaderTimeoutProtocol(H11Protocol):
    """An h11 connection closed when a request's headers are not complete in time."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        if not isinstance(config, ServerConfig):
            raise TypeError("HeaderTimeoutProtocol needs a ServerConfig (its header_timeout)")
        super().__init__(config, *args, **kwargs)
        self.header_timeout = config.header_timeout
        self.header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may go on with a pipelined request
        self._watch_headers()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # The socket goes to the WebSocket protocol: this one hears nothing more of it.
        self._cancel_deadline()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _watch_headers(self) -> None:
        """Arm the deadline while the client owes a request's headers; disarm it otherwise.

        An armed deadline is left as it is: it counts from the start of the request."""
        if not self._owes_headers():
            self._cancel_deadline()
        elif self.header_deadline is None:
            self.header_deadline = self.loop.call_later(self.header_timeout, self._too_late)

    def _owes_headers(self) -> bool:
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return False  # closed, or headers complete (body, response or upgrade under way)
        # Idle between two requests, the keep-alive timeout runs; any byte received cancels
        # it, and from then on the headers of the next request are owed.
        return self.timeout_keep_alive_task is None or bool(self.conn.trailing_data[0])

    def _cancel_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _too_late(self) -> None:
        self.header_deadline = None
        if self.transport.is_closing():
            return
        if self.client:
            self.logger.debug(
                "%s:%d - request headers not complete within %g s: connection closed",
                *self.client,
                self.header_timeout,
            )
        self.transport.close()  # connection_lost tells h11
