"""The generator's worker processes and the controller's link to them.

Each worker is a separate process (multiprocessing, spawn) pinned to the load CPUs, running
one scenario's `work(spec, link)` on its own event loop. Controller and workers talk over a
pipe in lock-step messages: the worker says `ready` after its setup, the controller answers
`go` with a start time on the shared monotonic clock, and so on; a worker's last message is
its `result` (or `error`). Every worker also stops by itself at its hard deadline.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import multiprocessing
import resource
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from load.loop import run
from load.procstat import pin

Message = tuple[str, Any]


class WorkerError(RuntimeError):
    """A worker failed; the message carries its traceback."""


class Link:
    """The worker's end of the pipe."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def send(self, kind: str, data: Any = None) -> None:
        self._conn.send((kind, data))

    async def recv(self, kind: str) -> Any:
        """The next message from the controller, which must be of `kind`."""
        got, data = await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)
        if got != kind:
            raise WorkerError(f"expected {kind!r} from the controller, got {got!r}")
        return data


def raise_fd_limit() -> None:
    """Lift the soft limit on open files to the hard one (a socket is a file)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def worker_main(conn: Connection, spec: dict[str, Any]) -> None:
    """Entry point of a worker process."""
    pin(0, set(spec["cpus"]) if spec.get("cpus") else None)
    raise_fd_limit()
    # Fewer, cheaper collections: a full collection over thousands of sockets' objects
    # would stall the send schedule for tens of milliseconds.
    gc.set_threshold(50_000, 20, 1000)
    link = Link(conn)
    module = importlib.import_module(f"load.scenarios.{spec['scenario']}")
    try:
        run(_bounded(module.work(spec, link), spec["deadline"]))
    except BaseException as exc:
        link.send("error", "".join(traceback.format_exception(exc)))
    finally:
        conn.close()


async def _bounded(work: Any, deadline: float) -> None:
    async with asyncio.timeout(max(1.0, deadline - time.monotonic())):
        await work


class Workers:
    """The controller's end: start the workers, exchange messages with all of them."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pool = ThreadPoolExecutor(max_workers=len(specs), thread_name_prefix="worker-pipe")
        self._conns: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for spec in specs:
            parent, child = ctx.Pipe()
            process = ctx.Process(target=worker_main, args=(child, spec), daemon=True)
            process.start()
            child.close()
            self._conns.append(parent)
            self.processes.append(process)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    async def gather(self, kind: str, timeout: float) -> list[Any]:
        """The next message of every worker, each of which must be `kind`; the first failure
        raises at once."""
        loop = asyncio.get_running_loop()
        pending = {
            loop.run_in_executor(self._pool, conn.recv): i for i, conn in enumerate(self._conns)
        }
        out: list[Any] = [None] * len(self._conns)
        async with asyncio.timeout(timeout):
            while pending:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    message_kind, data = future.result()
                    if message_kind == "error":
                        raise WorkerError(f"worker {i} failed:\n{data}")
                    if message_kind != kind:
                        raise WorkerError(f"worker {i} said {message_kind!r}, not {kind!r}")
                    out[i] = data
        return out

    def broadcast(self, kind: str, data: Any = None) -> None:
        for conn in self._conns:
            conn.send((kind, data))

    def close(self) -> None:
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
        for conn in self._conns:
            conn.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
