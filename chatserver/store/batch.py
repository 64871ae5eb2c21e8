"""Calls made in one event-loop tick, sent to Redis together.

Under load many sockets store a message (or check a session) in the same turn of the event
loop. Each call alone is a round trip: a write to Redis's socket, a read, and redis-py's
per-call work around them (pool, retry, timeout), and on loopback the write is most of the
cost. A `TickBatch` collects the calls of one tick and makes one round trip for all of them
(a pipeline, not a transaction: each call keeps its own atomicity and its own result).
Measured in docs/performance.md ("Gateway v2, third pass: Redis round trips per loop tick").

A call's result (or its own error, such as a script's refusal) goes to its caller; an error of
the round trip itself (Redis down) goes to every caller of the batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
# Runs a batch: one result (or the exception for that item) per item, in order.
RunMany = Callable[[Sequence[Item]], Awaitable[Sequence[Result | Exception]]]
MAX_BATCH = 256


class TickBatch(Generic[Item, Result]):
    def __init__(self, run: RunMany[Item, Result], max_batch: int = MAX_BATCH) -> None:
        self._run = run
        self._max = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # round trips made (tests and benchmarks read these)
        self.items = 0

    async def __call__(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, future))
        if len(self._waiting) == 1:
            loop.call_soon(self._flush)  # after the other callbacks of this tick
        elif len(self._waiting) >= self._max:
            self._flush()
        return await future

    def _flush(self) -> None:
        batch, self._waiting = self._waiting, []
        if batch:
            task = asyncio.create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            results = await self._run([item for item, _ in batch])
        except Exception as exc:  # the round trip failed: every caller hears it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # cancelled (the process stops)
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
