"""What the benchmark runs against: a throwaway Redis (or Redis Cluster: `--redis-cluster`) and
server processes it starts itself (`python -m chatserver serve`), or a server already running
on this machine (`--url`).

Everything started here listens on 127.0.0.1 only, runs in its own process group, and is
stopped (SIGTERM, then SIGKILL) when the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from chatserver.store.embedded import EmbeddedRedis, free_port
from load import procstat
from load.topologies import Cluster
from load.wire import check_loopback

READY_TIMEOUT = 30.0
CLUSTER_MASTERS = 3  # with a replica each
CLUSTER_NODE_TIMEOUT_MS = 5000  # no failover of a node that is merely starved of CPU for a while
_SOURCE_ROOT = str(Path(__file__).resolve().parent.parent)  # where `-m load.echo_server` resolves
STOP_TIMEOUT = 10.0


class StackError(RuntimeError):
    """A process did not start; the message quotes its log."""


@dataclass
class Process:
    """One child process (a chat server or the echo server) on 127.0.0.1:`port`."""

    name: str
    command: list[str]
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, cpus: set[int] | None) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
                start_new_session=True,
                cwd=self.log.parent,
            )
        procstat.pin(self.popen.pid, cpus)

    def log_tail(self, chars: int = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text[-chars:]

    def stop(self) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(STOP_TIMEOUT)
        self.popen = None


@dataclass
class Stack:
    """Redis and servers for one run. `server_urls` are ws:// bases; `server_pids` the pids
    whose CPU and memory the report counts (their children included); `redis_pids` the Redis
    processes the run started (every node of a cluster; none for `--url`)."""

    redis_url: str
    server_urls: list[str]
    root_pids: list[int]
    redis_pids: list[int] = field(default_factory=list)
    workdir: Path | None = None
    _redis: EmbeddedRedis | None = None
    _cluster: Cluster | None = None
    _servers: list[Process] = field(default_factory=list)
    _echo: Process | None = None

    @property
    def server_pids(self) -> list[int]:
        return procstat.with_descendants(self.root_pids) if self.root_pids else []

    async def start_echo(self, cpus: set[int] | None) -> Process:
        """The bare `websockets` echo server (the floor), in its own process."""
        assert self.workdir is not None
        port = free_port()
        echo = Process(
            "echo",
            [sys.executable, "-m", "load.echo_server", "--port", str(port)],
            port,
            self.workdir / "echo.log",
            {"PYTHONPATH": _SOURCE_ROOT},
        )
        echo.start(cpus)
        await _wait_listening(echo)
        self._echo = echo
        return echo

    def stop_echo(self) -> None:
        if self._echo is not None:
            self._echo.stop()
            self._echo = None

    def close(self) -> None:
        self.stop_echo()
        for server in self._servers:
            server.stop()
        if self._redis is not None:
            self._redis.stop()
        if self._cluster is not None:
            self._cluster.close()
        if self.workdir is not None and not os.environ.get("LOAD_KEEP_WORKDIR"):
            shutil.rmtree(self.workdir, ignore_errors=True)


async def start_stack(
    servers: int,
    server_cpus: set[int] | None,
    redis_cpus: set[int] | None,
    server_env: dict[str, str],
    appendfsync: str,
    redis_cluster: bool = False,
) -> Stack:
    """A throwaway Redis and `servers` chat server processes, each ready (GET /readyz 200).

    `redis_cluster`: a Redis Cluster of CLUSTER_MASTERS masters with a replica each instead
    (Debian's redis-server >= 7, every node pinned to `redis_cpus`, append-only files with
    `appendfsync` like the single Redis), the servers given its `redis+cluster://` URL."""
    workdir = Path(tempfile.mkdtemp(prefix="chatload-"))
    stack = Stack("", [], [], workdir=workdir)
    try:
        if redis_cluster:
            stack._cluster = await Cluster.create(
                workdir / "cluster",
                masters=CLUSTER_MASTERS,
                node_timeout_ms=CLUSTER_NODE_TIMEOUT_MS,
                appendfsync=appendfsync,
                cpus=redis_cpus,
            )
            stack.redis_url = stack._cluster.url
            stack.redis_pids = stack._cluster.pids
        else:
            stack._redis = redis = EmbeddedRedis(workdir / "redis", appendfsync=appendfsync)
            stack.redis_url = redis.start()
            assert redis.process is not None
            stack.redis_pids = [redis.process.pid]
            procstat.pin(redis.process.pid, redis_cpus)
        for i in range(servers):
            port = free_port()
            server = Process(
                f"server{i}",
                [
                    sys.executable,
                    "-m",
                    "chatserver",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--redis-url",
                    stack.redis_url,
                ],
                port,
                workdir / f"server{i}.log",
                {
                    "CHAT_DATA_DIR": str(workdir / f"data{i}"),
                    "CHAT_LOG_LEVEL": "warning",
                    **UNLIMITED_ADDRESS,
                    **server_env,
                },
            )
            server.start(server_cpus)
            stack._servers.append(server)
            assert server.popen is not None
            stack.root_pids.append(server.popen.pid)
            stack.server_urls.append(server.ws)
        for server in stack._servers:
            await _wait_ready(server)
    except BaseException:
        stack.close()
        raise
    return stack


# Every simulated shopper connects from 127.0.0.1: the per-address and per-visitor limits
# meant for the open internet (docs/security.md) would measure themselves, not the hub.
UNLIMITED_ADDRESS = {
    "CHAT_SOCKETS_PER_ADDRESS": "1000000",
    "CHAT_CONVERSATIONS_PER_ADDRESS": "1000000000",
    "CHAT_CONVERSATIONS_PER_VISITOR": "1000000000",
    "CHAT_VISITOR_RATE_PER_SECOND": "1000",
    "CHAT_VISITOR_RATE_BURST": "100000",
    "CHAT_MAX_ENTRIES": "100000000",  # long relay runs write more than a real chat holds
}


def external_stack(url: str, redis_url: str, pids: list[int]) -> Stack:
    """A server somebody else runs on this machine (its Redis is needed to seed)."""
    check_loopback(url)
    check_loopback(redis_url)
    parsed = urlparse(url)
    base = f"ws://{parsed.hostname}:{parsed.port or 80}"
    return Stack(redis_url, [base], pids or _listening_pids(parsed.port or 80))


def _listening_pids(port: int) -> list[int]:
    """The pid listening on `port`, when psutil can tell (else CPU is not reported)."""
    try:
        import psutil
    except ImportError:
        return []
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections("tcp"):
            if conn.status == "LISTEN" and conn.laddr and conn.laddr.port == port and conn.pid:
                return [conn.pid]
    return []


async def _wait_ready(server: Process) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        assert server.popen is not None
        if server.popen.poll() is not None:
            raise StackError(f"{server.name} exited at start:\n{server.log_tail()}")
        if await http_status(server.port, "/readyz") == 200:
            return
        await asyncio.sleep(0.05)  # a child's readiness has no event to wait on
    raise StackError(f"{server.name} not ready in {READY_TIMEOUT:.0f} s:\n{server.log_tail()}")


async def _wait_listening(proc: Process) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", proc.port)
            writer.close()
            return
        await asyncio.sleep(0.05)
    raise StackError(f"{proc.name} not listening:\n{proc.log_tail()}")


async def http_status(port: int, path: str) -> int:
    """The status of GET http://127.0.0.1:`port``path` (0 if nothing answers)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return 0
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        line = await asyncio.wait_for(reader.readline(), 5)
        parts = line.split()
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    except (OSError, TimeoutError):
        return 0
    finally:
        writer.close()
