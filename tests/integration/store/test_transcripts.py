"""Transcripts on a real Redis: appended once per dedupe key, read strictly after a position,
fanned out in stream order."""

from __future__ import annotations

import uuid

import orjson
import pytest
from redis.asyncio import Redis

from chatserver.core.frames import stream_id_key
from chatserver.store import keys
from tests.conftest import scaled
from tests.integration.store.conftest import Store


@pytest.fixture
def conv_id() -> str:
    """Transcript keys are not per site: every test needs a conversation id of its own."""
    return "c" + uuid.uuid4().hex[:12]


def message(text: str) -> dict[str, object]:
    return {"kind": "message", "from": {"role": "shopper"}, "text": text}


async def test_same_dedupe_key_appends_once_and_returns_the_first_id(
    store: Store, conv_id: str
) -> None:
    results = [
        await store.transcripts.append(conv_id, message(f"try {i}"), dedupe="shopper|m1")
        for i in range(3)
    ]
    first_id = results[0][0]
    assert results == [(first_id, True), (first_id, False), (first_id, False)]
    entries = await store.transcripts.read(conv_id)
    assert [(e.id, e.data["text"]) for e in entries] == [(first_id, "try 0")]


async def test_different_dedupe_keys_and_no_key_each_append(store: Store, conv_id: str) -> None:
    a, new_a = await store.transcripts.append(conv_id, message("a"), dedupe="shopper|m1")
    b, new_b = await store.transcripts.append(conv_id, message("b"), dedupe="agent|m1")
    c, new_c = await store.transcripts.append(conv_id, message("c"))
    d, new_d = await store.transcripts.append(conv_id, message("c"))
    assert (new_a, new_b, new_c, new_d) == (True, True, True, True)
    assert len({a, b, c, d}) == 4
    assert [e.id for e in await store.transcripts.read(conv_id)] == [a, b, c, d]


async def test_entries_are_stored_as_given(store: Store, conv_id: str) -> None:
    entry = {"kind": "event", "event": "assigned", "agent": {"id": "ann", "name": "Ann ✓"}, "n": 2}
    entry_id, _ = await store.transcripts.append(conv_id, entry)
    [stored] = await store.transcripts.read(conv_id)
    assert (stored.id, stored.data) == (entry_id, entry)


async def test_read_after_returns_the_entries_strictly_after_in_order(
    store: Store, conv_id: str
) -> None:
    ids = [(await store.transcripts.append(conv_id, message(str(i))))[0] for i in range(6)]
    assert ids == sorted(ids, key=stream_id_key)

    assert [e.id for e in await store.transcripts.read(conv_id, after=ids[2])] == ids[3:]
    assert [e.id for e in await store.transcripts.read(conv_id, after=ids[-1])] == []
    for start in ("", "0", "0-0"):
        assert [e.id for e in await store.transcripts.read(conv_id, after=start)] == ids
    assert [e.id for e in await store.transcripts.read(conv_id, after=ids[0], count=2)] == ids[1:3]
    texts = [e.data["text"] for e in await store.transcripts.read(conv_id, after=ids[1])]
    assert texts == ["2", "3", "4", "5"]


async def test_read_of_an_unknown_conversation_is_empty(store: Store, conv_id: str) -> None:
    assert await store.transcripts.read(conv_id) == []
    assert await store.transcripts.read(conv_id, after="5-0") == []


async def test_has_tells_whether_the_exact_entry_exists(store: Store, conv_id: str) -> None:
    entry_id, _ = await store.transcripts.append(conv_id, message("x"))
    ms, seq = stream_id_key(entry_id)
    assert await store.transcripts.has(conv_id, entry_id)
    assert not await store.transcripts.has(conv_id, f"{ms}-{seq + 1}")
    assert not await store.transcripts.has(conv_id, "1-0")
    assert not await store.transcripts.has("c-unknown-" + conv_id, entry_id)


async def test_appended_entries_are_published_in_stream_order_once(
    store: Store, redis: Redis, conv_id: str
) -> None:
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.conversation_channel(conv_id))
        await next_message(pubsub)  # the subscribe confirmation
        ids = [(await store.transcripts.append(conv_id, message(str(i))))[0] for i in range(3)]
        await store.transcripts.append(conv_id, message("0 again"), dedupe="s|m0")
        await store.transcripts.append(conv_id, message("0 again"), dedupe="s|m0")
        await store.transcripts.publish(conv_id, {"kind": "typing", "typing": True})

        published = [orjson.loads((await next_message(pubsub))["data"]) for _ in range(5)]

    assert [p["id"] for p in published[:4]] == [*ids, published[3]["id"]]
    assert [p["e"]["text"] for p in published[:4]] == ["0", "1", "2", "0 again"]
    assert published[4] == {"e": {"kind": "typing", "typing": True}}
    assert len(await store.transcripts.read(conv_id)) == 4  # the typing event is not kept


async def next_message(pubsub: object) -> dict[str, object]:
    """The next pub/sub message, waited for (not polled with sleeps) up to a scaled limit."""
    message = await pubsub.get_message(timeout=scaled(5))  # type: ignore[attr-defined]
    assert message is not None, "nothing published"
    return message  # type: ignore[no-any-return]
