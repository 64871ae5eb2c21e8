"""Real chatserver processes for integration tests: start, stop, kill, start again.

A `ServerProcess` runs `python -m chatserver serve` on a free port of 127.0.0.1 against a given
Redis, with CHAT_* settings from the test, and writes its stdout and stderr to a log file that
failure messages quote. Its methods are coroutines: waiting for a process never blocks the
test's event loop, where the test's own WebSocket clients live (a server shutting down
gracefully waits for those clients to answer its close frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from chatserver.store.embedded import free_port
from tests.conftest import scaled

START_TIMEOUT = 20.0  # seconds until /readyz answers 200 (times CHAT_TEST_TIMEOUT_SCALE)
STOP_TIMEOUT = 15.0  # seconds from SIGTERM to exit (times CHAT_TEST_TIMEOUT_SCALE)
_POLL = 0.05  # a child's readiness or exit has no event to wait on: poll it
_LOG_TAIL = 4000  # characters of the log quoted in a failure message
_FORBIDDEN_PORT = 6379  # the machine's own Redis: tests never touch it


class ServerProcessError(RuntimeError):
    """The server did not start, or did not stop; the message ends with its log tail."""


@dataclass
class ServerProcess:
    """One `chatserver serve` process; after `stop()` or `kill()`, `start()` reuses the port.

    `env` holds extra environment variables (CHAT_GRACE_SECONDS="2" ...). CHAT_* variables of
    the test run itself are not passed on, so every server is configured by its test alone.
    """

    redis_url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    demo: bool = False  # `chatserver demo --no-seed`: the demo store's pages are served too
    port: int = 0
    returncode: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for url in (self.redis_url, self.env.get("CHAT_REDIS_URL", "")):
            if url and _FORBIDDEN_PORT in _ports(url):
                raise ValueError(f"tests never use port {_FORBIDDEN_PORT}: {url}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        mode = ["demo", "--no-seed"] if self.demo else ["serve"]
        return [
            sys.executable, "-m", "chatserver", *mode,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--redis-url", self.redis_url,
        ]  # fmt: skip

    async def start(self) -> ServerProcess:
        """Start the process and wait until GET /readyz answers 200."""
        if self.running:
            raise ServerProcessError(f"already running on {self.base_url}")
        if not self.port:
            self.port = free_port()
        self._spawn()
        timeout = scaled(START_TIMEOUT)
        try:
            async with asyncio.timeout(timeout):
                await self._wait_ready()
        except TimeoutError:
            await self.kill()
            raise ServerProcessError(
                f"{self.base_url}/readyz did not answer 200 within {timeout:.0f} s (killed)"
                f"\n{self.log_tail()}"
            ) from None
        return self

    async def stop(self) -> int:
        """SIGTERM, then wait for the graceful exit; returns the exit code."""
        if self.process is None:
            raise ServerProcessError("not started")
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        timeout = scaled(STOP_TIMEOUT)
        try:
            async with asyncio.timeout(timeout):
                await self._wait_exit()
        except TimeoutError:
            await self.kill()
            raise ServerProcessError(
                f"{self.base_url} still ran {timeout:.0f} s after SIGTERM (killed)"
                f"\n{self.log_tail()}"
            ) from None
        return self._reap()

    async def kill(self) -> int:
        """SIGKILL the process and anything it started, as a crash of the machine would."""
        if self.process is None:
            raise ServerProcessError("not started")
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        await self._wait_exit()  # SIGKILL cannot be caught: the exit is a matter of moments
        return self._reap()

    def log_tail(self, chars: int = _LOG_TAIL) -> str:
        """The end of the log (every start of this server appends to it)."""
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace")
        return f"--- last of {self.log_path} ---\n{text[-chars:]}"

    def _spawn(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.returncode = None
        with self.log_path.open("ab") as log:
            log.write(f"--- {' '.join(self.command())}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self._environment(),
                start_new_session=True,  # its own process group: kill() reaches its children
            )

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("CHAT_") or key.startswith("CHAT_TEST_")
        }
        env["PYTHONUNBUFFERED"] = "1"  # the log is complete up to a SIGKILL
        env["CHAT_DATA_DIR"] = str(self.workdir / "data")
        # Every test connects from 127.0.0.1 to one Redis for the whole session: the hourly
        # count of new conversations per address would add up across tests. The tests of that
        # limit set it themselves (and connect from addresses of their own).
        env["CHAT_CONVERSATIONS_PER_ADDRESS"] = "1000000"
        env.update(self.env)
        return env

    async def _wait_ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, trust_env=False) as client:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    code = self._reap()
                    raise ServerProcessError(
                        f"server exited with {code} before it was ready\n{self.log_tail()}"
                    )
                if await _ready(client):
                    return
                await asyncio.sleep(_POLL)

    async def _wait_exit(self) -> None:
        assert self.process is not None
        while self.process.poll() is None:  # noqa: ASYNC110 (a child's exit sets no Event)
            await asyncio.sleep(_POLL)

    def _reap(self) -> int:
        """Forget the exited process (and its leftover children); keep its exit code."""
        assert self.process is not None
        code = self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # no child outlived it: the usual case
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None
        self.returncode = code
        return code


def _ports(url: str) -> list[int | None]:
    """The ports of a Redis URL (a cluster or Sentinel URL lists several hosts)."""
    netloc = urlparse(url).netloc.rpartition("@")[2]
    return [urlparse(f"redis://{host}").port for host in netloc.split(",")]


async def _ready(client: httpx.AsyncClient) -> bool:
    try:
        response = await client.get("/readyz", timeout=scaled(2.0))
    except httpx.TransportError:
        return False  # not listening yet
    return response.status_code == 200
