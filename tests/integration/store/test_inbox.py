"""The offline inbox on a real Redis: a left message leaves the live queue for its department's
inbox, is never abandoned, is closed like any conversation, and an agent takes it by hand
within their capacity (two agents racing for it: exactly one gets it)."""

from __future__ import annotations

import asyncio

import orjson
from redis.asyncio import Redis

from chatserver.core.model import AgentStatus, ConversationState
from chatserver.store import keys
from chatserver.store.embedded import EmbeddedRedis
from tests.conftest import scaled
from tests.integration.store.conftest import GRACE_MS, Shop, ShopFactory, Store

ASSIGNED, LEFT = ConversationState.ASSIGNED, ConversationState.LEFT
CLOSED, ABANDONED = ConversationState.CLOSED, ConversationState.ABANDONED


async def leave(shop: Shop, conv_id: str) -> bool:
    shop.now += 1
    return await shop.store.conversations.leave(shop.key, conv_id, shop.now)


async def take(shop: Shop, conv_id: str, name: str, any_department: bool = False) -> str:
    conversations = shop.store.conversations
    return await conversations.take(shop.key, conv_id, shop.login(name), shop.now, any_department)


async def inbox(shop: Shop, dept: str = "sales") -> list[str]:
    return [c for c, _ in await shop.store.conversations.inbox(shop.key, dept, 100)]


# --- leaving ---------------------------------------------------------------------------------
async def test_leaving_moves_the_conversation_from_the_queue_to_the_inbox(shop: Shop) -> None:
    c1, c2 = await shop.create(), await shop.create()
    channel = shop.store.redis.pubsub()
    await channel.subscribe(keys.site_channel(shop.key))
    await channel.get_message(timeout=scaled(5))  # the subscription's confirmation

    assert await leave(shop, c1)

    conv = await shop.conv(c1)
    assert (conv.state, conv.agent, conv.open) == (LEFT, "", True)
    assert await shop.queue() == [c2]
    assert await shop.store.conversations.position(shop.key, "sales", c2) == 1
    assert await shop.store.conversations.inbox(shop.key, "sales", 10) == [(c1, shop.now)]
    events = [orjson.loads((await channel.get_message(timeout=scaled(5)))["data"])
              for _ in range(2)]  # fmt: skip
    assert events == [{"t": "left", "conv": c1, "dept": "sales"}, {"t": "queue", "dept": "sales"}]
    await channel.aclose()


async def test_thirty_left_messages_do_not_delay_the_next_live_shopper(shop: Shop) -> None:
    left = [await shop.create() for _ in range(30)]
    for conv_id in left:
        assert await leave(shop, conv_id)
    live = await shop.create()

    assert await shop.queue() == [live]
    assert await shop.store.conversations.position(shop.key, "sales", live) == 1
    snapshot = await shop.store.conversations.snapshot(shop.key, "sales")
    assert snapshot.queued == (live,)

    await shop.ready("ann")
    assert await shop.serve() == [(live, "ann")]  # the live shopper, not a left message
    assert await shop.load("ann") == 1
    assert await inbox(shop) == left  # oldest first, none of them given to anybody


async def test_only_a_queued_conversation_is_left(shop: Shop) -> None:
    await shop.ready("ann")
    c1 = await shop.create()
    await shop.serve()
    assert not await leave(shop, c1)  # assigned: it stays with its agent
    assert (await shop.conv(c1)).state is ASSIGNED

    c2 = await shop.create(dept="support")
    assert await leave(shop, c2)
    assert not await leave(shop, c2)  # once
    assert await inbox(shop, "support") == [c2]
    assert not await shop.store.conversations.leave(shop.key, "nope", shop.now)


# --- never abandoned; closed like any conversation -------------------------------------------
async def test_the_sweep_never_abandons_an_inbox_conversation(shop: Shop) -> None:
    conversations = shop.store.conversations
    c1 = await shop.create()
    assert await conversations.mark_left(shop.key, c1, shop.now + 10)  # the shopper went away
    assert await leave(shop, c1)  # ... having left a message: the pending abandonment goes

    later = shop.now + 10 * 24 * 3600 * 1000
    assert await conversations.sweep(shop.key, later, GRACE_MS) == ([], [])
    assert not await conversations.mark_left(shop.key, c1, later)  # a disconnect changes nothing
    assert await conversations.finish(shop.key, c1, later, state=ABANDONED) is None
    assert (await shop.conv(c1)).state is LEFT
    assert await inbox(shop) == [c1]


async def test_closing_an_inbox_conversation_takes_it_out_of_the_inbox(shop: Shop) -> None:
    c1, c2 = await shop.create(), await shop.create()
    await leave(shop, c1)
    await leave(shop, c2)

    assert await shop.store.conversations.finish(shop.key, c1, shop.now, "spam") == ""

    conv = await shop.conv(c1)
    assert (conv.state, conv.closed_ms, conv.outcome) == (CLOSED, shop.now, "spam")
    assert await inbox(shop) == [c2]
    assert await take(shop, c1, "ann") == "not_in_inbox"


# --- taking ----------------------------------------------------------------------------------
async def test_an_agent_takes_a_left_message_like_an_assignment(shop: Shop) -> None:
    await shop.ready("ann")
    c1 = await shop.create(customer="cust-1")
    await leave(shop, c1)
    shop.now += 5

    assert await take(shop, c1, "ann") == "taken"

    conv = await shop.conv(c1)
    assert (conv.state, conv.agent, conv.assigned_ms) == (ASSIGNED, shop.login("ann"), shop.now)
    assert await inbox(shop) == []
    assert await shop.chats("ann") == [c1]
    assert await shop.load("ann") == 1
    assert await shop.store.redis.hget(keys.last_agent(shop.key), "cust-1") == shop.login("ann")
    assert await take(shop, c1, "bob") == "not_in_inbox"  # taken already
    assert await shop.store.conversations.finish(shop.key, c1, shop.now) == shop.login("ann")
    assert await shop.load("ann") == 0


async def test_taking_respects_capacity(shop_factory: ShopFactory) -> None:
    shop = await shop_factory({"ann": ("sales",)}, capacity=1)
    await shop.ready("ann")
    live = await shop.create()
    await shop.serve()
    c1 = await shop.create()
    await leave(shop, c1)

    assert await take(shop, c1, "ann") == "no_room"
    assert (await shop.conv(c1)).state is LEFT and await inbox(shop) == [c1]

    await shop.store.conversations.finish(shop.key, live, shop.now)
    assert await take(shop, c1, "ann") == "taken"
    assert await shop.load("ann") == 1


async def test_taking_needs_the_department_or_a_manager(shop_factory: ShopFactory) -> None:
    shop = await shop_factory({"ann": ("sales",), "sue": ("support",)})
    await shop.ready()
    c1 = await shop.create()
    await leave(shop, c1)
    assert await take(shop, c1, "sue") == "wrong_department"
    assert await take(shop, c1, "sue", any_department=True) == "taken"


async def test_taking_needs_online_or_away_and_a_connection(shop: Shop) -> None:
    c1 = await shop.create()
    await leave(shop, c1)
    await shop.set_status("ann", AgentStatus.ONLINE)
    assert await take(shop, c1, "ann") == "unavailable"  # online but not connected
    await shop.connect("ann")
    await shop.set_status("ann", AgentStatus.OFFLINE)
    assert await take(shop, c1, "ann") == "unavailable"  # connected but offline
    await shop.set_status("ann", AgentStatus.AWAY)
    assert await take(shop, c1, "ann") == "taken"  # away: no routing, but a deliberate take
    assert await shop.available() == []  # still away: the queue gives ann nothing


async def test_agents_racing_for_left_messages_never_share_one_or_exceed_capacity(
    shop: Shop, redis_server: EmbeddedRedis
) -> None:
    """ann and bob (capacity 3) each try to take all 10 messages at once, from two clients
    (two processes): each message goes to exactly one of them, and each takes 3."""
    await shop.ready()
    left = [await shop.create() for _ in range(10)]
    for conv_id in left:
        await leave(shop, conv_id)
    other = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        stores = {"ann": shop.store, "bob": Store.on(other)}
        attempts = [(name, conv_id) for conv_id in left for name in ("bob", "ann")]
        results = await asyncio.gather(*(
            stores[name].conversations.take(shop.key, conv_id, shop.login(name), shop.now, False)
            for name, conv_id in attempts
        ))  # fmt: skip
    finally:
        await other.aclose()

    taken = [attempt for attempt, result in zip(attempts, results, strict=True)
             if result == "taken"]  # fmt: skip
    assert len(taken) == 6 and len({conv_id for _, conv_id in taken}) == 6
    assert set(results) <= {"taken", "no_room", "not_in_inbox"}
    assert (await shop.load("ann"), await shop.load("bob")) == (3, 3)
    assert sorted(await shop.chats("ann") + await shop.chats("bob")) == sorted(
        conv_id for _, conv_id in taken
    )
    assert sorted(await inbox(shop)) == sorted(set(left) - {c for _, c in taken})
