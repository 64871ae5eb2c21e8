"""The server process itself: a deadline for request headers (slowloris), X-Forwarded-For
believed from trusted proxies only, and a password on the embedded Redis."""

from __future__ import annotations

import asyncio
import stat
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import httpx
import psutil
import pytest
from redis.asyncio import Redis

from chatserver.store.embedded import REDIS_CONFIG_FILE, REDIS_PASSWORD_FILE
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.world import make_site, shopper_client, start_chat

HEADER_TIMEOUT = 1.0  # CHAT_HEADER_TIMEOUT of these servers (uvicorn's keep-alive stays 5 s)
MARGIN = 3.0  # on top of HEADER_TIMEOUT: how late a close may come on a busy machine
REQUEST = b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
HALF_REQUESTS = {
    "nothing": b"",
    "half a request line": b"GET /liv",
    "half the headers": b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: sl",
}
CLIENT = "203.0.113.9"  # TEST-NET-3: what a proxy says the client is


# --- the header deadline ----------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2])
async def test_connections_that_do_not_complete_their_headers_are_closed(
    servers: StartServer, workers: int
) -> None:
    server = await servers(CHAT_HEADER_TIMEOUT=HEADER_TIMEOUT, CHAT_WORKERS=workers)

    async def stall(sent: bytes) -> tuple[bytes, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        opened = time.monotonic()
        writer.write(sent)
        await writer.drain()
        try:
            return await _read_to_close(reader), time.monotonic() - opened
        finally:
            writer.close()

    results = await asyncio.gather(*(stall(sent) for sent in HALF_REQUESTS.values()))
    for what, (answer, seconds) in zip(HALF_REQUESTS, results, strict=True):
        assert answer == b"", f"{what}: the server answered {answer!r}"
        assert seconds >= HEADER_TIMEOUT * 0.8, f"{what}: closed after {seconds:.2f} s"


async def test_a_kept_alive_connection_has_a_header_deadline_for_each_request(
    servers: StartServer,
) -> None:
    server = await servers(CHAT_HEADER_TIMEOUT=HEADER_TIMEOUT)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        for _ in range(2):  # the deadline is per request, not per connection
            writer.write(REQUEST)
            assert (await _response(reader)).startswith(b"HTTP/1.1 200 ")
            # Idle between requests the keep-alive timeout (5 s) applies, not the deadline.
            await asyncio.sleep(HEADER_TIMEOUT * 1.5)
        writer.write(HALF_REQUESTS["half the headers"])
        began = time.monotonic()
        assert await _read_to_close(reader) == b""
        assert time.monotonic() - began >= HEADER_TIMEOUT * 0.8, "counted from its first byte"
    finally:
        writer.close()


async def test_requests_and_websockets_that_complete_their_headers_are_served(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    server = await servers(CHAT_HEADER_TIMEOUT=HEADER_TIMEOUT)
    site = await make_site(redis, site_key)
    shopper, _ = await shopper_client(server, site)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for part in (REQUEST[:20], REQUEST[20:]):  # in pieces, but in time
            writer.write(part)
            await writer.drain()
        assert (await _response(reader)).startswith(b"HTTP/1.1 200 ")
        writer.close()
        await asyncio.sleep(HEADER_TIMEOUT * 1.5)  # the socket outlives the header deadline
        assert await start_chat(shopper, "still here?")
    finally:
        await shopper.close()


async def _read_to_close(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (bounded in time)."""
    async with asyncio.timeout(scaled(HEADER_TIMEOUT + MARGIN)):
        return await reader.read()


async def _response(reader: asyncio.StreamReader) -> bytes:
    """One response with a Content-Length body: its head and body."""
    async with asyncio.timeout(scaled(10)):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return head + await reader.readexactly(length)


# --- trusted proxies --------------------------------------------------------------------------
async def test_x_forwarded_for_is_ignored_without_trusted_proxies(servers: StartServer) -> None:
    # uvicorn's own variable (its default trusts loopback) changes nothing either.
    server = await servers(CHAT_LOG_LEVEL="debug", FORWARDED_ALLOW_IPS="*")
    assert (await _client_seen(server)).startswith("127.0.0.1:")


async def test_x_forwarded_for_from_a_trusted_proxy_is_the_client(servers: StartServer) -> None:
    server = await servers(CHAT_LOG_LEVEL="debug", CHAT_FORWARDED_ALLOW_IPS="127.0.0.1")
    assert (await _client_seen(server)).startswith(f"{CLIENT}:")


async def _client_seen(server: ServerProcess) -> str:
    """The client address the server saw for a request with X-Forwarded-For (as its access
    log, on at --log-level debug, shows it: written before the response is sent)."""
    probe = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        response = await http.get(f"/livez?probe={probe}", headers={"X-Forwarded-For": CLIENT})
    assert response.status_code == 200
    line = next(line for line in server.log_path.read_text().splitlines() if probe in line)
    return line.split(" - ", 1)[0].split()[-1]


# --- the embedded Redis -----------------------------------------------------------------------
async def test_the_embedded_redis_wants_a_private_password_that_survives_restarts(
    tmp_path: Path,
) -> None:
    server = ServerProcess(redis_url="", workdir=tmp_path)  # no --redis-url: embedded Redis
    data = tmp_path / "data"
    await server.start()
    try:
        url = (data / "redis.url").read_text().split()[0]
        password = (data / REDIS_PASSWORD_FILE).read_text().strip()
        assert urlparse(url).password == password and len(password) >= 32
        for name in (REDIS_PASSWORD_FILE, REDIS_CONFIG_FILE, "redis.url"):
            assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
        assert await _unauthenticated_ping(url) == b"-NOAUTH"
        redis_server = _redis_child(server)
        assert password not in " ".join(redis_server.cmdline()), "ps shows command lines"
        assert _listening_on(redis_server) == {"127.0.0.1"}
        async with Redis.from_url(url) as redis:
            await redis.set("kept", "yes")
    finally:
        await server.stop()

    await server.start()
    try:
        again = (data / "redis.url").read_text().split()[0]
        assert urlparse(again).password == password, "the same password after a restart"
        async with Redis.from_url(again, decode_responses=True) as redis:
            assert await redis.get("kept") == "yes"
        assert await _unauthenticated_ping(again) == b"-NOAUTH"
    finally:
        await server.stop()


async def _unauthenticated_ping(url: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", urlparse(url).port)
    try:
        writer.write(b"PING\r\n")
        async with asyncio.timeout(scaled(5)):
            return (await reader.readline()).split()[0]
    finally:
        writer.close()


def _redis_child(server: ServerProcess) -> psutil.Process:
    assert server.process is not None
    children = psutil.Process(server.process.pid).children(recursive=True)
    return next(child for child in children if "redis-server" in child.name())


def _listening_on(process: psutil.Process) -> set[str]:
    return {c.laddr.ip for c in process.net_connections() if c.status == psutil.CONN_LISTEN}
