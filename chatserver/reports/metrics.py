"""Prometheus metrics of the running processes (`GET /metrics`, docs/reports.md#metrics).

Two kinds:

* what happens in this process (sockets, messages, frames, closes, assignments, Redis script
  latency, event-bus lag): counters and histograms updated where it happens;
* the state shared in Redis (open conversations, queue lengths and oldest waits, Redis up):
  gauges each process's sampler refreshes every few seconds (and the /metrics handler before
  it answers).

With `--workers N`, `chatserver serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory
before the workers start: each writes its values there and any of them (or the separate
listener of `--metrics-address`, in the parent) reports the sum over all of them, so a scrape
that lands on any worker sees the whole server. The variable must be set before
prometheus_client is imported, so this module decides the mode once, when imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MULTIPROCESS = bool(os.environ.get(MULTIPROC_ENV))
CONTENT_TYPE = CONTENT_TYPE_LATEST
SAMPLE_SECONDS = 5.0
STOP_SECONDS = 5.0  # how long a stopping sampler may take to end its sample
_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# --- this process ---------------------------------------------------------------------------
SOCKETS = Gauge("chat_sockets", "Open WebSocket connections", ["role"],
                multiprocess_mode="livesum")  # fmt: skip
MESSAGES_IN = Counter("chat_messages_in_total", "Messages stored (resends not counted)", ["role"])
FRAMES_OUT = Counter("chat_frames_out_total", "Frames sent to sockets, by frame type "
                     "(type=message: messages out)", ["role", "type"])  # fmt: skip
FRAMES_REFUSED = Counter("chat_frames_refused_total", "Error frames sent, by error code",
                         ["role", "code"])  # fmt: skip
CLOSES = Counter("chat_socket_closes_total", "Sockets the server closed, by close code",
                 ["role", "code"])  # fmt: skip
STARTED = Counter("chat_conversations_started_total", "Conversations started")
ENDED = Counter("chat_conversations_ended_total", "Conversations ended", ["state"])
ASSIGNMENTS = Counter("chat_assignments_total", "Conversations given to an agent, by how "
                      "(queue: routing; inbox: a left message taken; transfer: to a named "
                      "agent)", ["how"])  # fmt: skip
REDIS_SECONDS = Histogram("chat_redis_seconds", "Redis latency: each Lua script call, and the "
                          "sampler's PING", ["op"], buckets=_LATENCY)  # fmt: skip
BUS_LAG = Histogram("chat_bus_lag_seconds", "From PUBLISH to delivery by this process's event "
                    "bus (a probe every few seconds)", buckets=_LATENCY)  # fmt: skip

# --- the state shared in Redis (the most recent sample of any process) -------------------------
CONVERSATIONS = Gauge("chat_conversations", "Open conversations by state", ["state"],
                      multiprocess_mode="mostrecent")  # fmt: skip
QUEUE_LENGTH = Gauge("chat_queue_length", "Conversations waiting in a department's queue",
                     ["site", "department"], multiprocess_mode="mostrecent")  # fmt: skip
QUEUE_OLDEST = Gauge("chat_queue_oldest_wait_seconds", "How long the head of a department's "
                     "queue has waited (0: empty)", ["site", "department"],
                     multiprocess_mode="mostrecent")  # fmt: skip
AGENTS_ONLINE = Gauge("chat_agents_online", "Agents online and connected", ["site"],
                      multiprocess_mode="mostrecent")  # fmt: skip
REDIS_UP = Gauge("chat_redis_up", "1 if Redis answered the last probe, else 0",
                 multiprocess_mode="mostrecent")  # fmt: skip
# The mail outbox (docs/email.md): counted where mails are sent, sized by each mail worker.
MAIL_SENT = Counter("chat_mail_sent_total", "Mails the SMTP server accepted")
MAIL_RETRIES = Counter("chat_mail_retries_total", "Failed tries of mails, to be tried again")
MAIL_DEAD = Counter("chat_mail_dead_total", "Mails given up on (to the dead-letter list)")
MAIL_OUTBOX = Gauge("chat_mail_outbox", "Mails by state: queued (to send or being sent), "
                    "retrying (waiting for their next try), dead (dead-letter list)", ["state"],
                    multiprocess_mode="mostrecent")  # fmt: skip


# --- recording ----------------------------------------------------------------------------------
def frame_out(role: str, frame: dict[str, Any]) -> None:
    """A frame is queued to a socket of `role` (an error frame counts as refused too)."""
    kind = str(frame.get("type", ""))
    FRAMES_OUT.labels(role, kind).inc()
    if kind == "error":
        FRAMES_REFUSED.labels(role, str(frame.get("code", ""))).inc()


def closed(role: str, code: int) -> None:
    CLOSES.labels(role, str(code)).inc()


def socket_opened(role: str) -> None:
    SOCKETS.labels(role).inc()


def socket_closed(role: str) -> None:
    SOCKETS.labels(role).dec()


def redis_call(op: str, seconds: float) -> None:
    REDIS_SECONDS.labels(op).observe(seconds)


# --- exposition ---------------------------------------------------------------------------------
def registry(directory: str | None = None) -> CollectorRegistry:
    """What a scrape reports: every process's values (multiprocess mode, or the workers'
    `directory`), or this one's."""
    if directory is None and not MULTIPROCESS:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected, path=directory)  # type: ignore[no-untyped-call]
    return collected


def render() -> bytes:
    return generate_latest(registry())


@contextlib.contextmanager
def exposed(workers: int, address: tuple[str, int] | None) -> Iterator[None]:
    """Around `serve`: with several workers, a fresh shared directory for their values (set
    before they start, removed after); with an address, the separate /metrics listener (in
    this process: a thread)."""
    directory = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        directory = tempfile.mkdtemp(prefix="chatserver-metrics-")
        os.environ[MULTIPROC_ENV] = directory
    try:
        if address is not None:
            start_http_server(address[1], address[0], registry=registry(directory))
            log.info("metrics on http://%s:%d/metrics", *address)
        yield
    finally:
        if directory is not None:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(directory, ignore_errors=True)


def process_exited(pid: int) -> None:
    """A worker stops: its live gauges (sockets) leave the sums."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


# --- the sampler --------------------------------------------------------------------------------
Sample = Callable[[], Any]


@contextlib.asynccontextmanager
async def sampling(
    sample: Callable[[], Any], period: float = SAMPLE_SECONDS
) -> AsyncIterator[None]:
    """Run `sample()` (a coroutine function) every `period` seconds while the context is open;
    failures are logged, never raised."""

    stopping = False

    async def loop() -> None:
        # The flag, not only the cancel: redis-py can turn a cancellation that lands inside a
        # command into its own TimeoutError, which the `except` below would swallow (a server
        # then hung in its shutdown, waiting for this task).
        while not stopping:
            try:
                await sample()
            except Exception:
                log.exception("metrics sample failed")
            await asyncio.sleep(period)  # a period timer, not a synchronisation

    task = asyncio.create_task(loop(), name="metrics-sampler")
    try:
        yield
    finally:
        stopping = True
        task.cancel()
        await asyncio.wait({task}, timeout=STOP_SECONDS)


def since(start: float) -> float:
    return time.perf_counter() - start
