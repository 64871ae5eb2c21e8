"""A store's order endpoint for the pull tests: a real HTTP server on 127.0.0.1 (and on the same
port of ::1, where the machine has IPv6) that answers `GET /customers/<id>/orders` with what
the test put in, fails, or hangs for 30 seconds; it keeps every request it receives.

chatserver pulls from loopback only when its operator allows it: servers of these tests run
with CHAT_OUTBOUND_ALLOW=ALLOW_LOCAL_STORE."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import orjson

HANG_SECONDS = 30.0
ALLOW_LOCAL_STORE = "127.0.0.1"  # CHAT_OUTBOUND_ALLOW of servers that pull from here


class StoreEndpoint:
    def __init__(self) -> None:
        self.orders: dict[str, list[dict[str, Any]]] = {}
        # or "fail" (500), "redirect" (302 to /elsewhere), or "hang" (none for HANG_SECONDS)
        self.mode = "answer"
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.hanging = asyncio.Event()  # a request is being held
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._server_v6: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url_template(self) -> str:
        return f"http://127.0.0.1:{self.port}/customers/{{customer_id}}/orders"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        with contextlib.suppress(OSError):  # no IPv6 here, or the port is taken there
            self._server_v6 = await asyncio.start_server(self._serve, "::1", self.port)

    async def stop(self) -> None:
        self._release.set()
        assert self._server is not None
        self._server.close()
        if self._server_v6 is not None:
            self._server_v6.close()
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._answer(reader, writer)
        finally:
            writer.close()
            self._handlers.discard(task)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readline()).decode()
        headers: dict[str, str] = {}
        while (line := (await reader.readline()).decode().strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        path = request.split(" ")[1]
        self.requests.append((path, headers))
        if self.mode == "hang":
            self.hanging.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), HANG_SECONDS)
            return
        status, body = self._reply(path)
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nLocation: /elsewhere\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    def _reply(self, path: str) -> tuple[int, bytes]:
        if self.mode == "fail":
            return 500, b"{}"
        if self.mode == "redirect":
            return 302, b"{}"
        customer = unquote(path.split("/")[2])
        return 200, orjson.dumps({"orders": self.orders.get(customer, [])})


@contextlib.asynccontextmanager
async def store_endpoint() -> AsyncIterator[StoreEndpoint]:
    endpoint = StoreEndpoint()
    await endpoint.start()
    try:
        yield endpoint
    finally:
        await endpoint.stop()
