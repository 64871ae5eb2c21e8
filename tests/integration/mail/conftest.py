"""A real SMTP server (aiosmtpd) in the test process, on a free port, and what it received.

`sink = smtp_sink()` picks a port but does not listen yet (the server is "down");
`await sink.start()` starts it; `await sink.wait_for(address, count, timeout)` returns the mails
to `address` once `count` have arrived.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[EmailMessage] = []
        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Condition()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        await asyncio.to_thread(self._controller.start)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd's hook (in the controller's thread): hand the mail to the test's loop."""
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        asyncio.run_coroutine_threadsafe(self._add(msg), self._loop)
        return "250 OK"

    async def _add(self, msg: Any) -> None:
        async with self._arrived:
            self.received.append(msg)
            self._arrived.notify_all()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]

    async def wait_for(self, address: str, count: int, timeout: float) -> list[EmailMessage]:
        """The mails to `address` once there are `count` of them (or TimeoutError)."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.to(address)) >= count)
        return self.to(address)


@pytest.fixture
def smtp_sink() -> Iterator[Callable[[], SmtpSink]]:
    sinks: list[SmtpSink] = []

    def make() -> SmtpSink:
        sinks.append(SmtpSink())
        return sinks[-1]

    yield make
    for sink in sinks:
        sink.stop()


class Clock:
    """A clock file the servers read (CHAT_TEST_CLOCK_FILE): it stands still until moved."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.now_ms = int(time.time() * 1000)
        self.advance(0)

    def advance(self, seconds: float) -> None:
        self.now_ms += int(seconds * 1000)
        part = self.path.with_suffix(".tmp")
        part.write_text(str(self.now_ms))
        os.replace(part, self.path)  # never a half-written file for a reading server

    def env(self) -> dict[str, Any]:
        # No periodic sweep: presence would not be refreshed while the clock jumps.
        return {"CHAT_TEST_CLOCK_FILE": self.path, "CHAT_SWEEP_SECONDS": 3600}


@pytest.fixture
def clock(tmp_path: Path) -> Clock:
    return Clock(tmp_path / "clock")
