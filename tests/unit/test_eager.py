"""gateway/eager.py: a coroutine runs in the caller's turn until it has to wait; only the rest
becomes a task, which goes on exactly as a task made from the start would."""

from __future__ import annotations

import asyncio
import logging

import pytest

from chatserver.gateway import eager


async def test_a_coroutine_that_never_waits_runs_at_once_and_makes_no_task() -> None:
    done: list[str] = []

    async def write() -> None:
        done.append("written")

    tasks_before = len(asyncio.all_tasks())
    assert eager.start(write()) is None
    assert done == ["written"]  # before the caller went on
    assert len(asyncio.all_tasks()) == tasks_before


async def test_one_that_waits_goes_on_in_a_task_with_what_it_waited_for() -> None:
    steps: list[object] = []
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def write() -> None:
        steps.append("first part")
        steps.append(await ready)
        await asyncio.sleep(0)  # a bare turn of the loop
        steps.append("last part")

    task = eager.start(write())
    assert task is not None
    assert steps == ["first part"]
    ready.set_result("the result")
    await task
    assert steps == ["first part", "the result", "last part"]


async def test_an_error_after_the_wait_is_the_tasks_and_a_cancel_reaches_the_coroutine() -> None:
    ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    cleaned: list[str] = []

    async def fails() -> None:
        await ready
        raise ValueError("after the wait")

    task = eager.start(fails())
    assert task is not None
    ready.set_result(None)
    with pytest.raises(ValueError, match="after the wait"):
        await task

    async def waits_forever() -> None:
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            cleaned.append("finally ran")

    task = eager.start(waits_forever())
    assert task is not None
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["finally ran"]


async def test_an_error_before_any_wait_is_logged_not_raised_to_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails_at_once() -> None:
        raise RuntimeError("at once")

    with caplog.at_level(logging.ERROR, logger="chatserver.gateway.eager"):
        assert eager.start(fails_at_once()) is None
    assert "at once" in caplog.text
