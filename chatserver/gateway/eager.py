"""Run a coroutine at once, as far as it goes without waiting; a task only for the rest.

A socket's writes rarely wait: uvicorn's send writes to the transport and returns, unless the
client reads so slowly that the transport is paused. A task per write (created, scheduled,
stepped a turn of the event loop later) then costs more than the write itself, several times
per relayed message. `start` runs the coroutine in the caller's turn and makes a task only
if it has to wait, which is what Python 3.12's eager tasks do (`asyncio.eager_task_factory`;
this package supports 3.11). Measured in docs/performance.md ("Gateway v2, fourth pass").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Generator
from typing import Any

log = logging.getLogger(__name__)


def start(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coro` until it first waits. None if it finished (an error it raised is logged, as a
    task's would be); else the task that runs the rest of it."""
    try:
        waited_on = coro.send(None)
    except StopIteration:
        return None
    except Exception:
        log.exception("%s failed", getattr(coro, "__qualname__", coro))
        return None
    return asyncio.get_running_loop().create_task(_rest(coro, waited_on))


async def _rest(coro: Coroutine[Any, Any, None], waited_on: Any) -> None:
    await _Resume(coro, waited_on)


class _Resume:
    """Awaiting it goes on with a coroutine stopped at `waited_on` (what it yielded: a future,
    or None for a bare turn of the loop). The task awaiting it waits on the same future, then
    sends the result (or throws the error, such as a cancellation) into the coroutine, as the
    task would have done had it run the coroutine from the start."""

    def __init__(self, coro: Coroutine[Any, Any, None], waited_on: Any) -> None:
        self._coro = coro
        self._waited_on = waited_on

    def __await__(self) -> Generator[Any, Any, None]:
        coro, waited_on = self._coro, self._waited_on
        while True:
            try:
                try:
                    value = yield waited_on
                except BaseException as exc:  # handed to the coroutine, as a task does
                    waited_on = coro.throw(exc)
                else:
                    waited_on = coro.send(value)
            except StopIteration:
                return
