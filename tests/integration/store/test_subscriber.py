"""The bus's subscriber on one Redis over TCP (store/subscriber.py), on a real Redis: it hands
out what redis-py's PubSub would, in the same shapes, and a lost connection is an error the bus
sees (it never reconnects by itself)."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, ConnectionError

from chatserver.store import clients
from chatserver.store.embedded import EmbeddedRedis
from chatserver.store.subscriber import RawPubSub
from tests.conftest import scaled
from tests.integration.store.conftest import ACCOUNT_PASSWORD


def _channel() -> str:
    return "sub:" + uuid.uuid4().hex[:12]


def _address(server: EmbeddedRedis) -> tuple[str, int]:
    subscriber = clients.subscriber_for(clients.bus_client(server.url))
    assert subscriber is not None, "a bus on one Redis over TCP reads with hiredis"
    return subscriber._address


async def test_it_hands_out_what_redis_pys_pubsub_does(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    ours = clients.subscriber_for(clients.bus_client(redis_server.url))
    assert ours is not None
    theirs = clients.bus_client(redis_server.url).pubsub()
    channel = _channel()
    try:
        for pubsub in (ours, theirs):  # confirmed: what is published next reaches both
            await pubsub.subscribe(channel)
            confirmed = await pubsub.get_message(timeout=scaled(5))  # type: ignore[union-attr]
            assert confirmed is not None
            assert (confirmed["type"], confirmed["channel"], confirmed["data"]) == (
                "subscribe", channel, 1)  # fmt: skip
        payloads = ['{"e": "é"}', "second", '{"n": 3}']
        for payload in payloads:
            await redis.publish(channel, payload)
        for pubsub in (ours, theirs):
            await pubsub.unsubscribe(channel)

        async def everything(pubsub: object) -> list[tuple[str, object, object]]:
            seen = []
            while len(seen) < 4:
                message = await pubsub.get_message(timeout=scaled(5))  # type: ignore[attr-defined]
                assert message is not None, f"only {seen}"
                seen.append((message["type"], message["channel"], message["data"]))
            return seen

        expected = [*(("message", channel, p) for p in payloads), ("unsubscribe", channel, 0)]
        assert await everything(ours) == expected
        assert await everything(theirs) == expected
        assert await ours.get_message(timeout=0.2) is None  # nothing more: None in time
        await ours.ping()  # the bus's health check: any answer will do, as with redis-py
        assert await ours.get_message(timeout=scaled(5)) is not None
    finally:
        await ours.aclose()
        await theirs.aclose()  # type: ignore[no-untyped-call]


async def test_a_killed_connection_is_an_error_for_the_bus(
    redis_server: EmbeddedRedis, redis: Redis
) -> None:
    subscriber = RawPubSub(*_address(redis_server), password=_password(redis_server))
    channel = _channel()
    await subscriber.subscribe(channel)
    assert (await subscriber.get_message(timeout=scaled(5)) or {})["type"] == "subscribe"
    assert subscriber._protocol is not None and subscriber._protocol._transport is not None
    host, port = subscriber._protocol._transport.get_extra_info("sockname")[:2]
    await redis.client_kill(f"{host}:{port}")
    with pytest.raises(ConnectionError):
        await subscriber.get_message(timeout=scaled(5))
    with pytest.raises(ConnectionError):
        await subscriber.subscribe(channel)  # it does not reconnect by itself
    await subscriber.aclose()


async def test_the_account_is_used_and_a_wrong_password_refused(
    redis_server: EmbeddedRedis, redis_account: str
) -> None:
    channel = _channel()
    subscriber = RawPubSub(
        *_address(redis_server), username=redis_account, password=ACCOUNT_PASSWORD
    )
    await subscriber.subscribe(channel)
    assert (await subscriber.get_message(timeout=scaled(5)) or {})["type"] == "subscribe"
    await subscriber.aclose()
    wrong = RawPubSub(*_address(redis_server), username=redis_account, password="not it")
    with pytest.raises(AuthenticationError):
        await wrong.subscribe(channel)
    await wrong.aclose()


def _password(server: EmbeddedRedis) -> str | None:
    kwargs = clients.bus_client(server.url).connection_pool.connection_kwargs
    password: str | None = kwargs.get("password")
    return password
