"""The lane (store/lane.py): one shared connection for the hot path's commands, on a real
Redis. Replies reach their own callers in order, an error reply only its caller; a lost
connection is made again and the command sent again; a Redis that stops answering fails every
waiting caller within the timeout; a restarted Redis's missing scripts are loaded."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, ConnectionError, ResponseError, TimeoutError

from chatserver.store import clients
from chatserver.store.embedded import EmbeddedRedis
from chatserver.store.lane import Lane
from chatserver.store.scripts import Scripts
from chatserver.store.transcripts import Transcripts
from tests.integration.store.conftest import ACCOUNT_PASSWORD


def _key() -> str:
    return "lane:" + uuid.uuid4().hex[:12]


def _lane(server: EmbeddedRedis) -> Lane:
    """The lane a server process makes for its Redis."""
    lane = clients.lane_for(clients.command_client(server.url, 4))
    assert lane is not None
    return lane


@pytest.fixture
async def lane(redis_server: EmbeddedRedis) -> AsyncIterator[Lane]:
    lane = _lane(redis_server)
    yield lane
    await lane.aclose()


async def test_many_callers_each_get_their_own_reply_in_order(lane: Lane, redis: Redis) -> None:
    keys = [_key() for _ in range(200)]
    await asyncio.gather(*(lane.execute("SET", k, f"value {i} é") for i, k in enumerate(keys)))
    replies = await asyncio.gather(*(lane.execute("GET", k) for k in keys))
    assert replies == [f"value {i} é" for i in range(200)]
    assert await redis.get(keys[7]) == "value 7 é"
    counter = _key()
    counts = await asyncio.gather(*(lane.execute("INCRBY", counter, 2) for _ in range(50)))
    assert counts == list(range(2, 102, 2))  # sent and answered in the callers' order


async def test_an_error_reply_reaches_its_caller_only(lane: Lane, redis: Redis) -> None:
    text, number = _key(), _key()
    await redis.set(text, "not a number")
    await redis.set(number, "41")
    outcomes = await asyncio.gather(
        lane.execute("INCR", text), lane.execute("INCR", number), return_exceptions=True
    )
    assert isinstance(outcomes[0], ResponseError)
    assert "not an integer" in str(outcomes[0])
    assert outcomes[1] == 42
    replies = await lane.execute_many([("INCR", text), ("GET", number)])
    assert isinstance(replies[0], ResponseError) and replies[1] == "42"
    assert await lane.execute_many([]) == []


async def test_a_cancelled_caller_does_not_shift_the_replies_of_others(
    lane: Lane, redis: Redis
) -> None:
    first, second = _key(), _key()
    await redis.set(first, "first")
    await redis.set(second, "second")
    cancelled = asyncio.create_task(lane.execute("GET", first))
    await asyncio.sleep(0)  # its command is queued
    cancelled.cancel()
    assert await lane.execute("GET", second) == "second"
    assert cancelled.cancelled()


async def test_a_killed_connection_is_made_again_and_the_command_sent_again(
    lane: Lane, redis: Redis
) -> None:
    key = _key()
    await lane.execute("SET", key, "before")
    killed = await lane.execute("CLIENT", "ID")
    await redis.client_kill_filter(_id=killed)
    assert await lane.execute("GET", key) == "before"
    assert await lane.execute("CLIENT", "ID") != killed


async def test_no_redis_fails_every_caller_with_a_connection_error() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lane = Lane("127.0.0.1", port, connect_timeout=1)
    try:
        outcomes = await asyncio.gather(
            *(lane.execute("GET", "k") for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(o, ConnectionError) for o in outcomes), outcomes
    finally:
        await lane.aclose()


async def test_a_redis_that_stops_answering_fails_every_waiting_caller_in_time() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads everything, answers nothing, until the lane hangs up
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    lane = Lane("127.0.0.1", port, timeout=0.5, retry=Retry(NoBackoff(), 0))  # one attempt
    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(lane.execute("GET", "k") for _ in range(5)), return_exceptions=True),
            timeout=10,
        )
        assert all(isinstance(o, TimeoutError) for o in outcomes), outcomes
    finally:
        await lane.aclose()
        server.close()
        await server.wait_closed()


async def test_the_database_and_the_account_of_the_url_are_used(
    redis_server: EmbeddedRedis, redis: Redis, redis_account: str
) -> None:
    key = _key()
    host, port = redis_server.url.removeprefix("redis://").split("/")[0].split(":")
    lane = Lane(host, int(port), db=3, username=redis_account, password=ACCOUNT_PASSWORD)
    await lane.execute("SET", key, "in db 3")
    await lane.aclose()
    in_db_3 = Redis(host=host, port=int(port), db=3, decode_responses=True)
    assert await in_db_3.get(key) == "in db 3"
    assert await redis.get(key) is None
    await in_db_3.aclose()
    wrong = Lane(host, int(port), username=redis_account, password="not it")
    with pytest.raises(AuthenticationError):
        await wrong.execute("GET", key)
    await wrong.aclose()


async def test_scripts_on_the_lane_are_loaded_again_after_a_flush(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    lane = _lane(redis_server)
    scripts = Scripts(redis, lane=lane)
    transcripts = Transcripts(redis, scripts)
    conv = "c" + uuid.uuid4().hex[:12]
    message = {"kind": "message", "from": {"role": "shopper"}, "text": "before"}
    await transcripts.append(conv, message, dedupe="shopper|0")
    await redis.script_flush()  # what a restarted Redis looks like to a running process
    await asyncio.gather(*(
        transcripts.append(conv, {**message, "text": f"after {i}"}, dedupe=f"shopper|{i + 1}")
        for i in range(5)
    ))  # fmt: skip
    texts = [e.data["text"] for e in await transcripts.read(conv)]
    assert texts == ["before"] + [f"after {i}" for i in range(5)]
    await scripts.aclose()


def test_only_one_redis_over_tcp_gets_a_lane() -> None:
    assert clients.lane_for(clients.command_client("redis://127.0.0.1:6390/2", 4)) is not None
    assert clients.lane_for(clients.plain_client("redis://127.0.0.1:6390/2")) is None
    assert clients.lane_for(clients.command_client("rediss://127.0.0.1:6390", 4)) is None
    assert clients.lane_for(clients.command_client("unix:///tmp/redis.sock", 4)) is None


async def test_its_reads_answer_as_redis_pys_do(lane: Lane, redis: Redis) -> None:
    """Stores are given either client for their hot reads (Scripts.reads)."""
    text, hashed, ranked, stream = _key(), _key(), _key(), _key()
    await redis.set(text, "é")
    await redis.hset(hashed, mapping={"a": "1", "b": "two"})
    await redis.zadd(ranked, {"x": 1, "y": 2, "z": 3})
    for i in range(3):
        await redis.xadd(stream, {"e": f"entry {i}", "n": str(i)})
    first = (await redis.xrange(stream))[0][0]
    for ours, theirs in [
        (lane.get(text), redis.get(text)),
        (lane.get(_key()), redis.get(_key())),
        (lane.hget(hashed, "b"), redis.hget(hashed, "b")),
        (lane.hgetall(hashed), redis.hgetall(hashed)),
        (lane.hgetall(_key()), redis.hgetall(_key())),
        (lane.zrevrange(ranked, 0, 1), redis.zrevrange(ranked, 0, 1)),
        (lane.xrange(stream), redis.xrange(stream)),
        (lane.xrange(stream, f"({first}", "+", 1), redis.xrange(stream, f"({first}", "+", 1)),
        (lane.xrange(_key()), redis.xrange(_key())),
    ]:
        assert await ours == await theirs
