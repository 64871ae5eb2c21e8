"""A store's order endpoint for the pull tests: a real HTTP server on 127.0.0.1 that answers
`GET /customers/<id>/orders` with what the test put in, fails, or hangs for 30 seconds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import orjson

HANG_SECONDS = 30.0


class StoreEndpoint:
    def __init__(self) -> None:
        self.orders: dict[str, list[dict[str, Any]]] = {}
        self.mode = "answer"  # or "fail" (500), or "hang" (no answer for HANG_SECONDS)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.hanging = asyncio.Event()  # a request is being held
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url_template(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/customers/{{customer_id}}/orders"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        self._release.set()
        assert self._server is not None
        self._server.close()
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
        customer = unquote(path.split("/")[2])
        status, body = (
            (500, b"{}")
            if self.mode == "fail"
            else (200, orjson.dumps({"orders": self.orders.get(customer, [])}))
        )
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()


@contextlib.asynccontextmanager
async def store_endpoint() -> AsyncIterator[StoreEndpoint]:
    endpoint = StoreEndpoint()
    await endpoint.start()
    try:
        yield endpoint
    finally:
        await endpoint.stop()
