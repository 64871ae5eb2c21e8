"""Agents on a real Redis: profiles, passwords, status, capacity and connections, and the
available set the routing reads."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time

import pytest

from chatserver.core.model import Agent, AgentStatus, Role, ValidationError
from chatserver.core.routing import agent_score
from chatserver.store import keys
from tests.integration.store.conftest import (
    GRACE_MS,
    HEARTBEAT_MS,
    PASSWORD,
    Shop,
    ShopFactory,
    Store,
)


async def test_saved_agent_is_found_by_login_and_listed_by_site(shop: Shop) -> None:
    ann = shop.agents["ann"]
    found = await shop.store.agents.get(ann.login)
    assert found is not None
    assert (found.login, found.name, found.site, found.departments) == (
        ann.login,
        "Ann",
        shop.key,
        ("sales",),
    )
    listed = await shop.store.agents.of_site(shop.key)
    assert [a.login for a in listed] == sorted([ann.login, shop.login("bob")])
    assert await shop.store.agents.get("nobody-here") is None


async def test_new_agent_needs_a_password(store: Store, site_key: str) -> None:
    agent = Agent(f"new.{site_key}", "New", site_key, ("sales",))
    with pytest.raises(ValidationError, match="needs a password"):
        await store.agents.save(agent)
    assert await store.agents.get(agent.login) is None


async def test_existing_agent_is_updated_without_a_new_password(shop: Shop) -> None:
    ann = dataclasses.replace(shop.agents["ann"], name="Ann B.", departments=("support",))
    await shop.store.agents.save(ann)
    found = await shop.store.agents.get(ann.login)
    assert found is not None
    assert (found.name, found.departments) == ("Ann B.", ("support",))
    assert await shop.store.agents.verify_password(ann.login, PASSWORD) is not None


async def test_a_login_belongs_to_one_site(shop: Shop, shop_factory: ShopFactory) -> None:
    other = dataclasses.replace(shop.agents["ann"], site="elsewhere")
    with pytest.raises(ValidationError, match="already belongs to site"):
        await shop.store.agents.save(other, password=PASSWORD)
    assert await shop.store.agents.of_site("elsewhere") == []


async def test_password_is_verified_for_the_right_one_only(shop: Shop) -> None:
    login = shop.login("ann")
    agent = await shop.store.agents.verify_password(login, PASSWORD)
    assert agent is not None and agent.login == login
    assert await shop.store.agents.verify_password(login, PASSWORD + "!") is None
    assert await shop.store.agents.verify_password("nobody-here", PASSWORD) is None
    stored = await shop.store.redis.hget(keys.passwords(shop.key), login)
    assert stored is not None and PASSWORD not in stored and stored.startswith("$argon2")


async def test_password_check_does_not_block_the_event_loop(shop: Shop) -> None:
    """argon2 is slow on purpose (~0.1 s): other tasks of the process must keep running."""
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0)  # yield to the loop, as any other socket task does

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = time.perf_counter()
    assert await shop.store.agents.verify_password(shop.login("ann"), PASSWORD) is not None
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0)  # one more tick: ends the last stall
    task.cancel()
    longest_stall = max(b - a for a, b in itertools.pairwise(ticks))
    # Blocked, the loop would stall for about the whole check (argon2 dominates it).
    assert longest_stall < elapsed / 2, (longest_stall, elapsed)


async def test_new_agent_starts_offline_with_their_capacity(shop_factory: ShopFactory) -> None:
    shop = await shop_factory({"ann": ("sales",)}, capacity=2)
    state = await shop.store.agents.state(shop.agents["ann"])
    assert (state.status, state.load, state.connections, state.chats) == (
        AgentStatus.OFFLINE,
        0,
        0,
        (),
    )
    assert state.agent.capacity == 2


async def test_set_status_returns_the_previous_status(shop: Shop) -> None:
    assert await shop.set_status("ann", AgentStatus.ONLINE) == "offline"
    assert await shop.set_status("ann", AgentStatus.AWAY) == "online"
    assert (await shop.store.agents.state(shop.agents["ann"])).status is AgentStatus.AWAY


async def test_agent_is_available_only_when_online_and_connected(shop: Shop) -> None:
    await shop.set_status("ann", AgentStatus.ONLINE)
    assert await shop.available() == []
    await shop.connect("ann")
    assert await shop.available() == ["ann"]
    await shop.set_status("ann", AgentStatus.AWAY)
    assert await shop.available() == []
    await shop.set_status("ann", AgentStatus.ONLINE)
    assert await shop.available() == ["ann"]
    await shop.disconnect("ann")
    assert await shop.available() == []


async def test_available_score_is_load_then_idle_since(shop: Shop) -> None:
    await shop.ready("ann")
    online_at = shop.now
    shop.now += 100
    await shop.create()
    await shop.serve()
    score = await shop.store.redis.zscore(keys.available(shop.key), shop.login("ann"))
    assert score == agent_score(1, shop.now)
    assert score != agent_score(0, online_at)


async def test_touch_reports_agents_who_had_no_connection_before(shop: Shop) -> None:
    ann, bob = shop.login("ann"), shop.login("bob")
    pairs = [(ann, "c1"), (bob, "c2"), (ann, "c3")]
    assert await shop.store.agents.touch(shop.key, pairs, shop.now, shop.now + 10) == [ann, bob]
    assert await shop.store.agents.touch(shop.key, pairs, shop.now, shop.now + 20) == []
    assert await shop.store.agents.touch(shop.key, [], shop.now, shop.now + 20) == []
    state = await shop.store.agents.state(shop.agents["ann"])
    assert state.connections == 2


async def test_dropping_an_unknown_connection_changes_nothing(shop: Shop) -> None:
    await shop.ready("ann")
    await shop.disconnect("ann", "never-seen")
    assert await shop.available() == ["ann"]
    assert (await shop.store.agents.state(shop.agents["ann"])).connections == 1


async def test_capacity_above_the_agent_limit_is_refused(shop_factory: ShopFactory) -> None:
    shop = await shop_factory({"ann": ("sales",)}, capacity=2, max_capacity=2)
    with pytest.raises(ValidationError, match="between 1 and 2, got 3"):
        await shop.set_capacity("ann", 3)
    with pytest.raises(ValidationError):
        await shop.set_capacity("ann", 0)
    assert (await shop.store.agents.state(shop.agents["ann"])).agent.capacity == 2


async def test_capacity_change_updates_availability(shop_factory: ShopFactory) -> None:
    shop = await shop_factory({"ann": ("sales",)}, capacity=1)
    await shop.ready()
    await shop.create()
    await shop.serve()
    assert await shop.available() == []
    await shop.set_capacity("ann", 2)
    assert await shop.available() == ["ann"]
    assert (await shop.store.agents.state(shop.agents["ann"])).agent.capacity == 2
    await shop.set_capacity("ann", 1)
    assert await shop.available() == []


async def test_state_lists_the_agents_chats(shop: Shop) -> None:
    await shop.ready("ann")
    ids = [await shop.create() for _ in range(2)]
    await shop.serve()
    state = await shop.store.agents.state(shop.agents["ann"])
    assert (state.status, state.load, state.connections) == (AgentStatus.ONLINE, 2, 1)
    assert state.chats == tuple(ids)
    assert await shop.chats("bob") == []


async def test_chats_of_one_agent_never_include_those_of_a_login_sharing_a_prefix(
    shop_factory: ShopFactory,
) -> None:
    shop = await shop_factory({"ann": ("sales",), "ann2": ("sales",)}, capacity=1)
    await shop.ready("ann2")
    c1 = await shop.create()
    await shop.serve()
    await shop.ready("ann")
    c2 = await shop.create()
    await shop.serve()
    assert (await shop.chats("ann"), await shop.chats("ann2")) == ([c2], [c1])


async def test_agent_holding_chats_cannot_be_removed(shop: Shop) -> None:
    await shop.ready("ann")
    c1 = await shop.create()
    await shop.serve()
    with pytest.raises(ValidationError, match="still has chats"):
        await shop.store.agents.remove(shop.login("ann"))
    assert await shop.chats("ann") == [c1]


async def test_removed_agent_is_gone_everywhere(shop: Shop) -> None:
    await shop.ready("ann")
    assert await shop.store.agents.remove(shop.login("ann"))
    assert await shop.store.agents.get(shop.login("ann")) is None
    assert await shop.store.agents.verify_password(shop.login("ann"), PASSWORD) is None
    assert await shop.available() == []
    assert not await shop.store.agents.remove(shop.login("ann"))


async def test_removed_agent_never_comes_back_through_the_sweep(shop: Shop) -> None:
    await shop.ready("ann")  # connected: a live presence entry
    assert await shop.store.agents.remove(shop.login("ann"))
    later = shop.now + HEARTBEAT_MS + GRACE_MS
    assert await shop.store.conversations.sweep(shop.key, later, GRACE_MS) == ([], [])
    assert await shop.store.conversations.sweep(shop.key, later + GRACE_MS, GRACE_MS) == ([], [])


async def test_supervisor_role_is_kept(store: Store, site_key: str) -> None:
    sup = Agent(f"sup.{site_key}", "Sup", site_key, ("sales",), role=Role.SUPERVISOR)
    await store.agents.save(sup, password=PASSWORD)
    found = await store.agents.get(sup.login)
    assert found is not None and found.role is Role.SUPERVISOR


async def test_saving_an_agent_keeps_the_capacity_they_set(shop: Shop) -> None:
    agent = shop.agents["ann"]
    await shop.store.agents.set_capacity(agent, 1, now_ms=shop.now)
    renamed = await shop.store.agents.get(agent.login)
    assert renamed is not None and renamed.capacity == 1
    await shop.store.agents.save(dataclasses.replace(renamed, name="Ann Lee"))
    again = await shop.store.agents.get(agent.login)
    assert again is not None and (again.name, again.capacity) == ("Ann Lee", 1)
