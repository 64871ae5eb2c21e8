"""Script calls of one event-loop tick share one round trip (store/batch.py), on a real Redis:
each caller still gets its own result or its own error, a restarted Redis's missing scripts
are loaded, and a failed round trip reaches every caller of the batch."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError, ResponseError

from chatserver.store import keys
from chatserver.store.scripts import Scripts
from chatserver.store.transcripts import Transcripts
from tests.integration.store.conftest import Store


def _conv() -> str:
    return "c" + uuid.uuid4().hex[:12]


def _message(text: str) -> dict[str, object]:
    return {"kind": "message", "from": {"role": "shopper"}, "text": text}


async def test_appends_of_one_tick_make_one_round_trip_in_order(store: Store) -> None:
    batch = store.scripts.batch("append")
    assert batch is not None
    before = (batch.batches, batch.items)
    conv = _conv()
    results = await asyncio.gather(*(
        store.transcripts.append(conv, _message(f"m{i}"), dedupe=f"shopper|{i}")
        for i in range(50)
    ))  # fmt: skip
    assert (batch.batches - before[0], batch.items - before[1]) == (1, 50)
    entries = await store.transcripts.read(conv)
    assert [e.data["text"] for e in entries] == [f"m{i}" for i in range(50)]
    assert [(e.id, True) for e in entries] == list(results)


async def test_one_calls_error_goes_to_its_caller_only(store: Store, redis: Redis) -> None:
    broken, fine = _conv(), _conv()
    await redis.set(keys.transcript(broken), "not a stream")  # XADD on it: WRONGTYPE
    outcomes = await asyncio.gather(
        store.transcripts.append(broken, _message("lost"), dedupe="shopper|a"),
        store.transcripts.append(fine, _message("kept"), dedupe="shopper|b"),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], ResponseError)
    assert outcomes[1] == ((await store.transcripts.read(fine))[0].id, True)


async def test_scripts_missing_after_a_flush_are_loaded_and_each_call_runs_once(
    redis: Redis,
) -> None:
    store = Store.on(redis)
    conv = _conv()
    await store.transcripts.append(conv, _message("before"), dedupe="shopper|0")
    await redis.script_flush()  # what a restarted Redis looks like to a running process
    await asyncio.gather(*(
        store.transcripts.append(conv, _message(f"after {i}"), dedupe=f"shopper|{i + 1}")
        for i in range(5)
    ))  # fmt: skip
    texts = [e.data["text"] for e in await store.transcripts.read(conv)]
    assert texts == ["before"] + [f"after {i}" for i in range(5)]


async def test_a_failed_round_trip_reaches_every_caller() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    redis = Redis(port=port, socket_connect_timeout=1)
    try:
        transcripts = Transcripts(redis, Scripts(redis))
        outcomes = await asyncio.gather(
            *(transcripts.append(_conv(), _message("x"), dedupe="shopper|x") for _ in range(3)),
            return_exceptions=True,
        )
        assert all(isinstance(o, ConnectionError) for o in outcomes), outcomes
    finally:
        await redis.aclose()


@pytest.mark.parametrize("replicas", [0, 1])
def test_writes_waited_on_replicas_are_not_batched(redis: Redis, replicas: int) -> None:
    scripts = Scripts(redis, replicas=replicas)
    assert (scripts.batch("append") is None) == (replicas > 0)
