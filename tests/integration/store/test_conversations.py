"""Conversations and their queues on a real Redis: assignment, capacity, queue order, transfer,
hand-back after the grace period, abandonment."""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections import Counter

import pytest
from redis.asyncio import Redis

from chatserver.core.model import AgentStatus, ConversationState, ValidationError
from chatserver.core.routing import BAND, MAX_PRIORITY, MIDDLE
from chatserver.store import keys
from chatserver.store.embedded import EmbeddedRedis
from tests.conftest import scaled
from tests.integration.store.conftest import GRACE_MS, HEARTBEAT_MS, Shop, ShopFactory

QUEUED, ASSIGNED = ConversationState.QUEUED, ConversationState.ASSIGNED
CLOSED, ABANDONED = ConversationState.CLOSED, ConversationState.ABANDONED


# --- create and serve ------------------------------------------------------------------------
async def test_served_conversation_goes_to_the_available_agent(shop_factory: ShopFactory) -> None:
    shop = await shop_factory({"ann": ("sales",)})
    await shop.ready("ann")
    c1 = await shop.create(customer="cust-1")

    assert await shop.serve() == [(c1, "ann")]

    conv = await shop.conv(c1)
    assert (conv.state, conv.agent, conv.assigned_ms) == (ASSIGNED, shop.login("ann"), shop.now)
    assert (conv.customer, conv.created_ms, conv.epoch) == ("cust-1", shop.now, 1)
    assert await shop.queue() == []
    assert await shop.chats("ann") == [c1]
    assert await shop.load("ann") == 1


async def test_new_conversation_waits_in_its_department_queue(shop: Shop) -> None:
    c1 = await shop.create(dept="support", priority=2)
    conv = await shop.conv(c1)
    assert (conv.state, conv.department, conv.priority, conv.agent) == (QUEUED, "support", 2, "")
    assert await shop.queue("support") == [c1]
    assert await shop.queue("sales") == []
    assert await shop.store.conversations.position(shop.key, "support", c1) == 1
    assert await shop.store.conversations.position(shop.key, "sales", c1) is None


async def test_creating_the_same_conversation_twice_changes_nothing(shop: Shop) -> None:
    c1 = await shop.create("same", priority=1)
    again = await shop.conv(c1)
    again.priority, again.created_ms = 5, shop.now + 1_000
    assert not await shop.store.conversations.create(again)
    conv = await shop.conv(c1)
    assert (conv.priority, conv.created_ms) == (1, shop.now)
    assert await shop.queue() == [c1]


async def test_priority_outside_range_is_refused_before_anything_is_stored(shop: Shop) -> None:
    with pytest.raises(ValidationError):
        await shop.create("bad", priority=MAX_PRIORITY + 1)
    assert await shop.store.conversations.get(shop.key, "bad") is None


async def test_extra_fields_and_visitor_history_are_kept(shop: Shop) -> None:
    conv = await shop.conv(await shop.create("first", visitor="vis"))
    conv.id, conv.created_ms, conv.extra = "second", conv.created_ms + 5, {"page": "/cart"}
    assert await shop.store.conversations.create(conv)
    assert (await shop.conv("second")).extra == {"page": "/cart"}
    history = await shop.store.conversations.of_visitor(shop.key, "vis")
    assert [c.id for c in history] == ["second", "first"]


async def test_agent_who_is_online_but_not_connected_gets_nothing(shop: Shop) -> None:
    await shop.set_status("ann", AgentStatus.ONLINE)
    c1 = await shop.create()
    assert await shop.serve() == []
    assert await shop.queue() == [c1]
    assert (await shop.conv(c1)).state is QUEUED


@pytest.mark.parametrize("status", [AgentStatus.AWAY, AgentStatus.OFFLINE])
async def test_connected_agent_who_is_not_online_gets_nothing(
    shop_factory: ShopFactory, status: AgentStatus
) -> None:
    shop = await shop_factory({"ann": ("sales",)})
    await shop.ready("ann")
    assert await shop.set_status("ann", status) == "online"
    c1 = await shop.create()
    assert await shop.serve() == []
    assert await shop.queue() == [c1]
    assert await shop.available() == []


async def test_agent_of_another_department_gets_nothing(shop_factory: ShopFactory) -> None:
    shop = await shop_factory({"sue": ("support",)})
    await shop.ready()
    c1 = await shop.create(dept="sales")
    assert await shop.serve("sales") == []
    assert await shop.queue("sales") == [c1]


@pytest.mark.parametrize("capacity", [1, 2, 3])
async def test_agent_never_gets_more_chats_than_their_capacity(
    shop_factory: ShopFactory, capacity: int
) -> None:
    shop = await shop_factory({"ann": ("sales",)}, capacity=capacity)
    await shop.ready()
    ids = [await shop.create() for _ in range(capacity + 2)]

    served = await shop.serve()

    assert served == [(c, "ann") for c in ids[:capacity]]
    assert await shop.load("ann") == capacity
    assert await shop.queue() == ids[capacity:]
    assert await shop.available() == []
    assert await shop.serve() == []


async def test_queue_is_fifo_within_a_priority_and_higher_priority_first(shop: Shop) -> None:
    order = [("a", 0), ("b", 1), ("c", 0), ("d", 2), ("e", 1), ("f", 0)]
    for conv_id, priority in order:
        await shop.create(conv_id, priority=priority)
    assert await shop.queue() == ["d", "b", "e", "a", "c", "f"]

    await shop.set_capacity("ann", 2)
    await shop.ready("ann")
    assert await shop.serve() == [("d", "ann"), ("b", "ann")]
    assert await shop.queue() == ["e", "a", "c", "f"]


async def test_new_conversations_score_at_the_back_of_their_priority_band(shop: Shop) -> None:
    c1, c2 = await shop.create(priority=0), await shop.create(priority=3)
    scores = dict(
        await shop.store.redis.zrange(keys.queue(shop.key, "sales"), 0, -1, withscores=True)
    )
    assert MIDDLE < scores[c1] - MAX_PRIORITY * BAND < BAND
    assert MIDDLE < scores[c2] - (MAX_PRIORITY - 3) * BAND < BAND


async def test_least_loaded_agent_gets_the_next_chat_then_the_idle_longest(
    shop_factory: ShopFactory,
) -> None:
    shop = await shop_factory({"ann": ("sales",), "bob": ("sales",), "cid": ("sales",)})
    for name in ("cid", "bob", "ann"):  # cid came online first: idle longest
        shop.now += 10
        await shop.ready(name)
    served = []
    for _ in range(4):  # one at a time, 1 ms apart
        await shop.create()
        served += await shop.serve()
    # Loads 0,0,0 -> cid (idle longest), bob, ann; then 1,1,1 -> cid (assigned longest ago).
    assert [agent for _, agent in served] == ["cid", "bob", "ann", "cid"]


async def test_agents_tied_on_load_and_idle_time_are_taken_in_login_order(
    shop_factory: ShopFactory,
) -> None:
    shop = await shop_factory({"cid": ("sales",), "bob": ("sales",), "ann": ("sales",)})
    await shop.ready()
    ids = [await shop.create() for _ in range(4)]
    served = await shop.serve()  # one serve: every assignment at the same ms
    assert served == list(zip(ids, ["ann", "bob", "cid", "ann"], strict=True))


async def test_capacity_raised_lets_the_agent_take_more(shop_factory: ShopFactory) -> None:
    shop = await shop_factory({"ann": ("sales",)}, capacity=1)
    await shop.ready()
    c1, c2 = await shop.create(), await shop.create()
    assert await shop.serve() == [(c1, "ann")]
    await shop.set_capacity("ann", 2)
    assert await shop.available() == ["ann"]
    assert await shop.serve() == [(c2, "ann")]


async def test_capacity_lowered_below_load_keeps_the_chats_but_takes_no_new_one(
    shop_factory: ShopFactory,
) -> None:
    shop = await shop_factory({"ann": ("sales",)})
    await shop.ready()
    ids = [await shop.create() for _ in range(4)]
    await shop.serve()
    await shop.set_capacity("ann", 1)
    assert await shop.chats("ann") == ids[:3]
    assert await shop.available() == []
    await shop.store.conversations.finish(shop.key, ids[0], shop.now)
    await shop.store.conversations.finish(shop.key, ids[1], shop.now)
    assert await shop.serve() == []  # load 1 of capacity 1
    await shop.store.conversations.finish(shop.key, ids[2], shop.now)
    assert await shop.serve() == [(ids[3], "ann")]


# --- finish ----------------------------------------------------------------------------------
async def test_finish_frees_capacity_and_the_next_serve_takes_the_oldest_queued(
    shop_factory: ShopFactory,
) -> None:
    shop = await shop_factory({"ann": ("sales",)}, capacity=1)
    await shop.ready()
    c1, c2, c3 = [await shop.create() for _ in range(3)]
    await shop.serve()
    shop.now += 60_000

    assert await shop.store.conversations.finish(shop.key, c1, shop.now, "resolved") == shop.login(
        "ann"
    )

    conv = await shop.conv(c1)
    assert (conv.state, conv.closed_ms, conv.outcome) == (CLOSED, shop.now, "resolved")
    assert await shop.load("ann") == 0
    assert await shop.serve() == [(c2, "ann")]
    assert await shop.queue() == [c3]


async def test_finish_of_a_queued_conversation_takes_it_out_of_the_queue(shop: Shop) -> None:
    c1, c2 = await shop.create(), await shop.create()
    assert await shop.store.conversations.finish(shop.key, c1, shop.now) == ""
    assert await shop.queue() == [c2]
    assert (await shop.conv(c1)).state is CLOSED


async def test_finish_of_a_conversation_not_open_returns_none(shop: Shop) -> None:
    c1 = await shop.create()
    assert await shop.store.conversations.finish(shop.key, c1, shop.now) == ""
    assert await shop.store.conversations.finish(shop.key, c1, shop.now + 5) is None
    assert (await shop.conv(c1)).closed_ms == shop.now
    assert await shop.store.conversations.finish(shop.key, "no-such", shop.now) is None


async def test_finish_keeps_a_rolling_handle_time_per_department(
    shop_factory: ShopFactory,
) -> None:
    shop = await shop_factory({"ann": ("sales",)})
    await shop.ready()
    c1, c2 = await shop.create(), await shop.create()
    await shop.serve()
    start = shop.now
    await shop.store.conversations.finish(shop.key, c1, start + 60_000)
    snap = await shop.store.conversations.snapshot(shop.key, "sales")
    assert snap.avg_handle_seconds == pytest.approx(60.0)
    await shop.store.conversations.finish(shop.key, c2, start + 160_000)
    snap = await shop.store.conversations.snapshot(shop.key, "sales")
    assert snap.avg_handle_seconds == pytest.approx(60.0 + 0.2 * (160.0 - 60.0))


async def test_snapshot_counts_slots_of_online_connected_agents_only(
    shop_factory: ShopFactory,
) -> None:
    shop = await shop_factory(
        {"ann": ("sales",), "bob": ("sales",), "cid": ("sales",), "sue": ("support",)}
    )
    await shop.ready("ann", "bob", "sue")
    await shop.set_capacity("bob", 2)
    await shop.set_status("cid", AgentStatus.ONLINE)  # not connected
    ids = [await shop.create() for _ in range(6)]
    await shop.serve()  # ann 3, bob 2 -> one left
    await shop.store.conversations.finish(shop.key, ids[0], shop.now)

    snap = await shop.store.conversations.snapshot(shop.key, "sales")

    assert snap.queued == tuple(ids[5:])
    assert (snap.free_slots, snap.total_slots) == (1, 5)
    assert snap.avg_handle_seconds is not None


# --- returning customers ---------------------------------------------------------------------
async def returning_setup(shop: Shop) -> tuple[str, str]:
    """ann serves cust-1, bob serves cust-2; then ann's chat ends: ann 0, bob 1."""
    await shop.ready("ann", "bob")
    c1 = await shop.create(customer="cust-1")
    c2 = await shop.create(customer="cust-2")
    assert await shop.serve() == [(c1, "ann"), (c2, "bob")]
    await shop.store.conversations.finish(shop.key, c1, shop.now)
    return c1, c2


async def test_returning_customer_goes_back_to_the_previous_agent_with_room(shop: Shop) -> None:
    await returning_setup(shop)
    c3 = await shop.create(customer="cust-2")
    assert await shop.serve() == [(c3, "bob")]  # although ann is less loaded


async def test_returning_customer_goes_to_the_least_loaded_when_previous_is_full(
    shop: Shop,
) -> None:
    await returning_setup(shop)
    await shop.set_capacity("bob", 1)
    c3 = await shop.create(customer="cust-2")
    assert await shop.serve() == [(c3, "ann")]


async def test_returning_customer_skips_a_previous_agent_who_is_away(shop: Shop) -> None:
    await returning_setup(shop)
    await shop.set_status("bob", AgentStatus.AWAY)
    c3 = await shop.create(customer="cust-2")
    assert await shop.serve() == [(c3, "ann")]


async def test_returning_anonymous_visitor_is_recognised_by_visitor_id(shop: Shop) -> None:
    await shop.ready("ann", "bob")
    c1 = await shop.create(visitor="vis-1")
    c2 = await shop.create(visitor="vis-2")
    assert await shop.serve() == [(c1, "ann"), (c2, "bob")]
    await shop.store.conversations.finish(shop.key, c1, shop.now)
    c3 = await shop.create(visitor="vis-2")
    assert await shop.serve() == [(c3, "bob")]


# --- transfer --------------------------------------------------------------------------------
async def transfer_setup(shop: Shop) -> str:
    """ann holds c1; bob is ready with room."""
    await shop.ready("ann")
    c1 = await shop.create(customer="cust-1")
    assert await shop.serve() == [(c1, "ann")]
    await shop.ready("bob")
    return c1


async def test_transfer_to_an_agent_with_room_moves_the_chat(shop: Shop) -> None:
    c1 = await transfer_setup(shop)
    result = await shop.store.conversations.transfer(
        shop.key, c1, shop.now, to_agent=shop.login("bob"), by=shop.login("ann")
    )
    assert result == ("moved", shop.login("ann"))
    conv = await shop.conv(c1)
    assert (conv.state, conv.agent) == (ASSIGNED, shop.login("bob"))
    assert (await shop.load("ann"), await shop.load("bob")) == (0, 1)
    assert (await shop.chats("ann"), await shop.chats("bob")) == ([], [c1])


async def test_transfer_to_an_agent_without_room_changes_nothing(shop: Shop) -> None:
    c1 = await transfer_setup(shop)
    await shop.set_capacity("bob", 1)
    c2 = await shop.create()
    assert await shop.serve() == [(c2, "bob")]

    result = await shop.store.conversations.transfer(
        shop.key, c1, shop.now, to_agent=shop.login("bob")
    )

    assert result == ("no_room", "")
    assert (await shop.conv(c1)).agent == shop.login("ann")
    assert (await shop.load("ann"), await shop.load("bob")) == (1, 1)


@pytest.mark.parametrize("reason", ["away", "disconnected"])
async def test_transfer_to_an_unavailable_agent_is_no_room(shop: Shop, reason: str) -> None:
    c1 = await transfer_setup(shop)
    if reason == "away":
        await shop.set_status("bob", AgentStatus.AWAY)
    else:
        await shop.disconnect("bob")
    result = await shop.store.conversations.transfer(
        shop.key, c1, shop.now, to_agent=shop.login("bob")
    )
    assert result == ("no_room", "")
    assert await shop.chats("ann") == [c1]


async def test_transfer_refusals_name_their_reason(shop: Shop) -> None:
    c1 = await transfer_setup(shop)
    transfer = shop.store.conversations.transfer
    ann, bob = shop.login("ann"), shop.login("bob")
    assert await transfer(shop.key, c1, shop.now, to_agent=ann) == ("same_agent", "")
    assert await transfer(shop.key, c1, shop.now, to_agent=ann, by=bob) == ("not_yours", "")
    queued = await shop.create()
    assert await transfer(shop.key, queued, shop.now, to_department="support") == (
        "not_assigned",
        "",
    )
    assert await shop.queue() == [queued]
    with pytest.raises(ValueError, match="not both"):
        await transfer(shop.key, c1, shop.now, to_agent=bob, to_department="support")
    with pytest.raises(ValueError, match="not both"):
        await transfer(shop.key, c1, shop.now)
    assert await shop.chats("ann") == [c1]


async def test_transfer_to_a_department_puts_the_chat_at_the_front_of_its_queue(
    shop: Shop,
) -> None:
    c1 = await transfer_setup(shop)
    s1 = await shop.create(dept="support")
    s2 = await shop.create(dept="support", priority=1)

    result = await shop.store.conversations.transfer(
        shop.key, c1, shop.now, to_department="support", by=shop.login("ann")
    )

    assert result == ("moved", shop.login("ann"))
    conv = await shop.conv(c1)
    assert (conv.state, conv.department, conv.agent) == (QUEUED, "support", "")
    # Front of its own priority band: a higher priority still goes first.
    assert await shop.queue("support") == [s2, c1, s1]
    assert await shop.load("ann") == 0


async def test_transfer_to_a_department_does_not_hand_the_chat_back_by_preference(
    shop: Shop,
) -> None:
    """ann transfers cust-1's chat out of her hands; ann still has room and chats (load 1),
    bob has none: the returning-customer rule must not send it straight back to ann."""
    c1 = await transfer_setup(shop)  # ann holds c1 (cust-1); bob ready, load 0
    await shop.store.redis.hset(keys.agent_load(shop.key), "unused", 0)  # no effect on routing
    c2 = await shop.create()
    assert await shop.serve() == [(c2, "bob")]
    c3 = await shop.create()
    assert await shop.serve() == [(c3, "ann")]  # ann 2, bob 1
    await shop.store.conversations.finish(shop.key, c2, shop.now)  # ann 2, bob 0

    await shop.store.conversations.transfer(shop.key, c1, shop.now, to_department="sales")

    assert await shop.serve() == [(c1, "bob")]


async def test_transfer_to_a_department_never_returns_to_the_transferring_agent(
    shop: Shop,
) -> None:
    """Even when she is the least loaded agent once the chat leaves her."""
    c1 = await transfer_setup(shop)  # ann holds c1; bob ready, load 0
    c2 = await shop.create()
    assert await shop.serve() == [(c2, "bob")]  # ann 1, bob 1

    await shop.store.conversations.transfer(shop.key, c1, shop.now, to_department="sales")

    assert await shop.serve() == [(c1, "bob")]  # ann (0) is excluded; bob (1) takes it
    await shop.store.conversations.finish(shop.key, c1, shop.now)
    c3 = await shop.create()  # the exclusion was that chat's only: ann takes new ones
    assert await shop.serve() == [(c3, "ann")]


async def test_transferred_chat_is_assigned_before_older_queued_ones(shop: Shop) -> None:
    c1 = await transfer_setup(shop)
    await shop.set_capacity("bob", 1)
    await shop.set_status("ann", AgentStatus.AWAY)
    c2, c3 = await shop.create(), await shop.create()
    assert await shop.serve() == [(c2, "bob")]
    await shop.store.conversations.transfer(shop.key, c1, shop.now, to_department="sales")
    assert await shop.queue() == [c1, c3]
    await shop.store.conversations.finish(shop.key, c2, shop.now)
    assert await shop.serve() == [(c1, "bob")]


# --- hand back: going offline, grace period --------------------------------------------------
async def test_requeue_agent_puts_their_chats_at_the_front_of_the_queue_in_order(
    shop: Shop,
) -> None:
    await shop.ready("ann")
    # Ids that do not sort in creation order: the order must come from the conversations.
    mine = [await shop.create(i) for i in ("zulu", "alpha", "mike")]
    assert [c for c, _ in await shop.serve()] == mine
    waiting = [await shop.create(i) for i in ("yankee", "bravo")]

    count = await shop.store.conversations.requeue_agent(
        shop.key, shop.login("ann"), shop.now, only_expired=False
    )

    assert count == 3
    assert await shop.queue() == mine + waiting
    assert await shop.chats("ann") == []
    assert await shop.load("ann") == 0
    for conv_id in mine:
        conv = await shop.conv(conv_id)
        assert (conv.state, conv.agent) == (QUEUED, "")
    state = await shop.store.agents.state(shop.agents["ann"])
    assert state.status is AgentStatus.OFFLINE


async def test_requeued_chats_stay_behind_higher_priority_waiting_ones(shop: Shop) -> None:
    await shop.ready("ann")
    c1 = await shop.create(priority=0)
    c2 = await shop.create(priority=1)
    await shop.serve()
    urgent = await shop.create(priority=2)
    normal = await shop.create(priority=1)
    low = await shop.create(priority=0)
    await shop.store.conversations.requeue_agent(shop.key, shop.login("ann"), shop.now, False)
    assert await shop.queue() == [urgent, c2, normal, c1, low]


async def test_requeued_chats_go_back_to_their_own_departments(
    shop_factory: ShopFactory,
) -> None:
    shop = await shop_factory({"ann": ("sales", "support")})
    await shop.ready()
    s1 = await shop.create(dept="sales")
    t1 = await shop.create(dept="support")
    await shop.serve("sales")
    await shop.serve("support")
    await shop.store.conversations.requeue_agent(shop.key, shop.login("ann"), shop.now, False)
    assert (await shop.queue("sales"), await shop.queue("support")) == ([s1], [t1])


async def test_chats_of_an_agent_gone_past_the_grace_period_are_requeued(shop: Shop) -> None:
    await shop.ready("ann")
    c1 = await shop.create()
    await shop.serve()
    c2 = await shop.create()  # waiting: bob is not online
    await shop.disconnect("ann")
    dropped_at = shop.now
    conversations = shop.store.conversations

    assert await shop.available() == []
    assert await conversations.sweep(shop.key, dropped_at + GRACE_MS - 1, GRACE_MS) == ([], [])
    assert (
        await conversations.requeue_agent(
            shop.key, shop.login("ann"), dropped_at + GRACE_MS - 1, only_expired=True
        )
        == 0
    )
    assert await shop.chats("ann") == [c1]

    shop.now = dropped_at + GRACE_MS
    assert await conversations.sweep(shop.key, shop.now, GRACE_MS) == ([shop.login("ann")], [])
    assert await conversations.requeue_agent(shop.key, shop.login("ann"), shop.now, True) == 1

    assert await shop.queue() == [c1, c2]
    assert await shop.chats("ann") == []
    assert (await shop.store.agents.state(shop.agents["ann"])).status is AgentStatus.OFFLINE
    assert await conversations.sweep(shop.key, shop.now + 1, GRACE_MS) == ([], [])


async def test_agent_reconnecting_within_grace_keeps_their_chats(shop: Shop) -> None:
    await shop.ready("ann")
    c1 = await shop.create()
    await shop.serve()
    await shop.disconnect("ann")
    shop.now += GRACE_MS - 1
    assert await shop.connect("ann", "conn-2") == [shop.login("ann")]

    later = shop.now + GRACE_MS
    await shop.connect("ann", "conn-2")  # heartbeat
    shop.now = later
    await shop.connect("ann", "conn-2")
    assert await shop.store.conversations.sweep(shop.key, later, GRACE_MS) == ([], [])
    assert (
        await shop.store.conversations.requeue_agent(
            shop.key, shop.login("ann"), later, only_expired=True
        )
        == 0
    )
    assert await shop.chats("ann") == [c1]
    assert await shop.available() == ["ann"]


async def test_agent_reconnecting_after_the_sweep_but_before_the_requeue_keeps_chats(
    shop: Shop,
) -> None:
    await shop.ready("ann")
    c1 = await shop.create()
    await shop.serve()
    await shop.disconnect("ann")
    shop.now += GRACE_MS
    expired, _ = await shop.store.conversations.sweep(shop.key, shop.now, GRACE_MS)
    assert expired == [shop.login("ann")]
    await shop.connect("ann", "conn-2")  # in between, as another process would see it
    assert (
        await shop.store.conversations.requeue_agent(
            shop.key, shop.login("ann"), shop.now, only_expired=True
        )
        == 0
    )
    assert await shop.chats("ann") == [c1]


async def test_connection_without_heartbeat_expires_and_starts_the_grace_period(
    shop: Shop,
) -> None:
    await shop.ready("ann")
    c1 = await shop.create()
    await shop.serve()
    expiry = shop.now + HEARTBEAT_MS  # the process holding ann's socket died: no heartbeat
    conversations = shop.store.conversations

    assert await conversations.sweep(shop.key, expiry, GRACE_MS) == ([], [])
    state = await shop.store.agents.state(shop.agents["ann"])
    assert state.connections == 0
    assert await shop.available() == []
    assert await conversations.sweep(shop.key, expiry + GRACE_MS - 1, GRACE_MS) == ([], [])
    assert await conversations.sweep(shop.key, expiry + GRACE_MS, GRACE_MS) == (
        [shop.login("ann")],
        [],
    )
    assert await conversations.requeue_agent(shop.key, shop.login("ann"), expiry + GRACE_MS, True)
    assert await shop.queue() == [c1]


async def test_agent_with_a_second_connection_stays_available_when_one_drops(
    shop: Shop,
) -> None:
    await shop.ready("ann")
    assert await shop.connect("ann", "conn-2") == []
    await shop.disconnect("ann", "conn-1")
    assert await shop.available() == ["ann"]
    shop.now += GRACE_MS * 2
    await shop.connect("ann", "conn-2")
    assert await shop.store.conversations.sweep(shop.key, shop.now, GRACE_MS) == ([], [])


async def test_requeue_of_an_agent_without_chats_sets_them_offline(shop: Shop) -> None:
    await shop.ready("ann")
    count = await shop.store.conversations.requeue_agent(
        shop.key, shop.login("ann"), shop.now, only_expired=False
    )
    assert count == 0
    assert (await shop.store.agents.state(shop.agents["ann"])).status is AgentStatus.OFFLINE
    assert await shop.available() == []


# --- abandoned -------------------------------------------------------------------------------
async def test_conversation_left_in_the_queue_is_abandoned_after_its_deadline(shop: Shop) -> None:
    c1, c2 = await shop.create(), await shop.create()
    conversations = shop.store.conversations
    deadline = shop.now + 60_000
    assert await conversations.mark_left(shop.key, c1, deadline)

    assert await conversations.sweep(shop.key, deadline - 1, GRACE_MS) == ([], [])
    assert await conversations.sweep(shop.key, deadline, GRACE_MS) == ([], [c1])
    assert await conversations.finish(shop.key, c1, deadline, state=ABANDONED) == ""

    conv = await shop.conv(c1)
    assert (conv.state, conv.closed_ms) == (ABANDONED, deadline)
    assert await shop.queue() == [c2]
    assert await conversations.sweep(shop.key, deadline + 1, GRACE_MS) == ([], [])


async def test_shopper_coming_back_is_not_abandoned(shop: Shop) -> None:
    c1 = await shop.create()
    await shop.store.conversations.mark_left(shop.key, c1, shop.now + 10)
    await shop.store.conversations.mark_back(shop.key, c1)
    assert await shop.store.conversations.sweep(shop.key, shop.now + 10, GRACE_MS) == ([], [])
    assert await shop.queue() == [c1]


async def test_abandon_only_works_while_the_conversation_is_queued(shop: Shop) -> None:
    await shop.ready("ann")
    c1 = await shop.create()
    await shop.serve()
    assert await shop.store.conversations.finish(shop.key, c1, shop.now, state=ABANDONED) is None
    conv = await shop.conv(c1)
    assert (conv.state, conv.agent) == (ASSIGNED, shop.login("ann"))
    assert await shop.load("ann") == 1


async def test_assignment_cancels_a_pending_abandonment(shop: Shop) -> None:
    c1 = await shop.create()
    await shop.store.conversations.mark_left(shop.key, c1, shop.now + 10)
    await shop.ready("ann")
    await shop.serve()
    assert await shop.store.conversations.sweep(shop.key, shop.now + 10, GRACE_MS) == ([], [])


async def test_a_conversation_assigned_before_mark_left_is_never_abandoned(shop: Shop) -> None:
    """The hub reads 'queued', the chat is assigned meanwhile, then mark_left arrives: it must
    not stick, or the sweep would abandon the live chat once the agent's grace is over."""
    await shop.ready("ann")
    c1 = await shop.create()
    await shop.serve()
    conversations = shop.store.conversations

    assert not await conversations.mark_left(shop.key, c1, shop.now + 10)

    await shop.disconnect("ann")
    shop.now += GRACE_MS
    assert await conversations.sweep(shop.key, shop.now, GRACE_MS) == ([shop.login("ann")], [])
    await conversations.requeue_agent(shop.key, shop.login("ann"), shop.now, only_expired=True)
    assert await conversations.sweep(shop.key, shop.now, GRACE_MS) == ([], [])
    assert (await shop.conv(c1)).state is QUEUED


# --- many processes racing -------------------------------------------------------------------
CREATOR = """
import asyncio, sys, time
from redis.asyncio import Redis
from chatserver.core.model import Conversation, ConversationState
from chatserver.store.conversations import Conversations
from chatserver.store.scripts import Scripts

async def main(url, site, dept, prefix, count, ready, go, timeout):
    redis = Redis.from_url(url, decode_responses=True)
    conversations = Conversations(redis, Scripts(redis))
    await redis.rpush(ready, prefix)
    assert await redis.blpop([go], timeout=float(timeout)), "no go signal"
    for i in range(int(count)):
        now = time.time_ns() // 1_000_000
        conv = Conversation(f"{prefix}-{i:03d}", site, dept, f"v-{prefix}-{i}",
                            ConversationState.QUEUED, created_ms=now)
        assert await conversations.create(conv)
        await conversations.serve(site, dept, now)
    await redis.aclose()

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.mark.slow
async def test_agents_never_exceed_capacity_when_two_processes_race(
    shop_factory: ShopFactory, redis_server: EmbeddedRedis
) -> None:
    agents = {f"a{i}": ("sales",) for i in range(10)}
    shop = await shop_factory(agents, capacity=3)
    await shop.ready()
    redis, site = shop.store.redis, shop.key
    ready, go = f"test:{site}:ready", f"test:{site}:go"
    url = redis_server.url
    args = [url, site, "sales", "{prefix}", "100", ready, go, str(scaled(30))]
    creators = [await start_creator(args, prefix) for prefix in ("p0", "p1")]
    try:
        for _ in creators:
            assert await redis.blpop([ready], timeout=scaled(30)), "a creator did not start"
        stop = asyncio.Event()
        poller = asyncio.create_task(sample_loads(redis, site, stop))
        await redis.rpush(go, "go", "go")
        errors = [(await p.communicate())[1].decode() for p in creators]
        stop.set()
        max_load, samples = await poller
    finally:
        for p in creators:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await redis.delete(ready, go)

    assert [p.returncode for p in creators] == [0, 0], errors
    assert samples >= 10  # the loads were watched while the race ran, not only after
    assert max_load <= 3
    loads = await redis.hgetall(keys.agent_load(site))
    assert sorted(int(loads[shop.login(n)]) for n in agents) == [3] * 10
    assigned = [m.split("\t")[1] for m in await redis.zrange(keys.agent_convs(site), 0, -1)]
    queued = await shop.queue()
    assert (len(assigned), len(queued)) == (30, 170)
    assert set(assigned) | set(queued) == {f"p{p}-{i:03d}" for p in (0, 1) for i in range(100)}
    for prefix in ("p0", "p1"):
        # Each process's conversations: the first ones assigned (the queue was never skipped),
        # the rest queued in the order that process created them.
        mine_assigned = sorted(c for c in assigned if c.startswith(prefix))
        mine_queued = [c for c in queued if c.startswith(prefix)]
        k = len(mine_assigned)
        assert mine_assigned == [f"{prefix}-{i:03d}" for i in range(k)]
        assert mine_queued == [f"{prefix}-{i:03d}" for i in range(k, 100)]
    # Across processes: the 30 that entered the queue first were assigned, and the queue holds
    # the rest in the order they entered it ('arrival', numbered by Redis as they did).
    arrival = {c: int(await redis.hget(keys.conversation(site, c), "arrival")) for c in queued}
    arrival |= {c: int(await redis.hget(keys.conversation(site, c), "arrival")) for c in assigned}
    assert sorted(arrival[c] for c in assigned) == list(range(1, 31))
    assert [arrival[c] for c in queued] == list(range(31, 201))
    scores = [s for _, s in await redis.zrange(keys.queue(site, "sales"), 0, -1, withscores=True)]
    assert all(a < b for a, b in itertools.pairwise(scores))
    for conv_id in queued:
        conv = await shop.conv(conv_id)
        assert (conv.state, conv.agent) == (QUEUED, "")

    some_chat = assigned[0]
    agent = (await shop.conv(some_chat)).agent
    shop.now = 2 * shop.now  # after every creation
    await shop.store.conversations.finish(site, some_chat, shop.now)
    assert await shop.serve() == [(queued[0], shop.name(agent))]
    assert await shop.queue() == queued[1:]


async def start_creator(args: list[str], prefix: str) -> asyncio.subprocess.Process:
    argv = [a.replace("{prefix}", prefix) for a in args]
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", CREATOR, *argv, stderr=asyncio.subprocess.PIPE
    )


async def sample_loads(redis: Redis, site: str, stop: asyncio.Event) -> tuple[int, int]:
    """Until `stop`: read every agent's load and chats in one MULTI (a consistent snapshot),
    check they agree, and keep the highest load seen. Returns (max load, samples)."""
    max_load = samples = 0
    while not stop.is_set():
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.agent_load(site))
            pipe.zrange(keys.agent_convs(site), 0, -1)
            loads, members = await pipe.execute()
        held = Counter(m.split("\t")[0] for m in members)
        assert {k: int(v) for k, v in loads.items() if int(v)} == dict(held)
        max_load = max([max_load, *held.values(), *(int(v) for v in loads.values())])
        samples += 1
    return max_load, samples
