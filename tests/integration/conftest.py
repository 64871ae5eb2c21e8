"""Fixtures that run real chatserver processes against the session's Redis.

    async def test_resume_on_another_process(two_servers):
        first, second = two_servers
        ...
        await first.kill()

    async def test_grace_period(servers):
        server = await servers(CHAT_GRACE_SECONDS=1)

Every server a test started is stopped when it ends; one that died by itself (not through
`stop()` or `kill()`) fails the test, with its log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import pytest

from chatserver.store.embedded import EmbeddedRedis
from tests.integration.servers import ServerProcess, ServerProcessError


class StartServer(Protocol):
    """`await start_server(CHAT_GRACE_SECONDS=1)`: a started server; `redis_url` overrides the
    session's Redis (for a test that runs its own); `demo` runs `chatserver demo --no-seed`
    (the demo store's pages) instead of `serve`."""

    async def __call__(
        self, *, redis_url: str | None = None, demo: bool = False, **env: object
    ) -> ServerProcess: ...


@pytest.fixture
async def servers(redis_server: EmbeddedRedis, tmp_path: Path) -> AsyncIterator[StartServer]:
    started: list[ServerProcess] = []

    async def start_server(
        *, redis_url: str | None = None, demo: bool = False, **env: object
    ) -> ServerProcess:
        server = ServerProcess(
            redis_url=redis_url or redis_server.url,
            workdir=tmp_path / f"server-{len(started)}",
            env={key: str(value) for key, value in env.items()},
            demo=demo,
        )
        started.append(server)
        return await server.start()

    yield start_server
    await _stop_all(started)


@pytest.fixture
async def server(servers: StartServer) -> ServerProcess:
    """One server with the default settings."""
    return await servers()


@pytest.fixture
async def two_servers(servers: StartServer) -> tuple[ServerProcess, ServerProcess]:
    """Two servers on one Redis (started one after the other: each takes a port only once the
    one before is listening)."""
    return await servers(), await servers()


async def _stop_all(started: list[ServerProcess]) -> None:
    problems: list[str] = []
    for server in started:
        if server.process is not None:  # else never started, or stopped or killed by the test
            problems.extend(await _stop(server))
    for server in started:
        print(server.log_tail(2000))  # pytest shows it only when the test fails
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


async def _stop(server: ServerProcess) -> list[str]:
    """Stop a server the test left running; say what went wrong (its message quotes the log)."""
    problems = []
    if not server.running:
        problems.append(f"{server.base_url} exited by itself (a crash?)")
    try:
        await server.stop()
    except ServerProcessError as error:
        problems.append(str(error).split("\n", 1)[0])
    return problems
