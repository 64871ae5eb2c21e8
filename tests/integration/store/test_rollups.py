"""Report rollups counted by the routing scripts: a scripted day with known timings gives
exactly the figures docs/reports.md defines (real Redis, the store's explicit clock)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chatserver.core.kpis import DAY_MS, HOUR_MS
from chatserver.core.model import AgentStatus, ConversationState
from chatserver.reports.service import Reports
from chatserver.reports.tables import Period
from chatserver.store import keys
from chatserver.store.rollups import Rollups
from tests.integration.store.conftest import Shop

DAY = 1_894_665_600_000  # 2030-01-15 00:00 UTC (in the future: day hashes expire by the real clock)
T0 = DAY + 9 * HOUR_MS  # the scripted day starts at 09:00 UTC
UTC_DAY = Period.of(date(2030, 1, 15), date(2030, 1, 15), ZoneInfo("UTC"))


def at(shop: Shop, seconds: float) -> None:
    """Move the shop's clock to T0 + `seconds`."""
    shop.now = T0 + int(seconds * 1000)


async def create(shop: Shop, conv_id: str, seconds: float, visitor: str = "") -> None:
    at(shop, seconds)
    shop.now -= 1  # Shop.create adds 1 ms
    await shop.create(conv_id, visitor=visitor or f"v-{conv_id}")


async def reply(shop: Shop, conv_id: str, agent: str, seconds: float) -> None:
    at(shop, seconds)
    await shop.store.conversations.set_first_reply(shop.key, conv_id, shop.now, shop.login(agent))


async def close(shop: Shop, conv_id: str, seconds: float, outcome: str = "") -> None:
    at(shop, seconds)
    assert await shop.store.conversations.finish(shop.key, conv_id, shop.now, outcome) is not None


async def rate(shop: Shop, conv_id: str, rating: str) -> bool:
    return await shop.store.conversations.rate_once(shop.key, conv_id, rating, "", shop.now)


async def report(shop: Shop, now: int | None = None, **options: Any) -> dict[str, Any]:
    reports = Reports(Rollups(shop.store.redis), shop.store.agents.of_site)
    return await reports.report(shop.site, UTC_DAY, now or DAY + DAY_MS, **options)


async def scripted_day(shop: Shop) -> None:
    """ann and bob (sales) online 09:00-11:00; seven conversations (docs in the test names)."""
    at(shop, 0)
    await shop.ready("ann", "bob")
    await create(shop, "c1", 0)
    at(shop, 10)
    assert await shop.serve() == [("c1", "ann")]
    await reply(shop, "c1", "ann", 40)
    await create(shop, "c2", 100)
    assert await shop.serve() == [("c2", "bob")]
    await reply(shop, "c2", "bob", 190)
    await create(shop, "c3", 200)
    at(shop, 230)
    assert await shop.serve() == [("c3", "ann")]
    await create(shop, "c4", 300)
    at(shop, 400)  # c4's shopper gives up
    await shop.store.conversations.finish(shop.key, "c4", shop.now, "", ConversationState.ABANDONED)
    await reply(shop, "c3", "ann", 500)
    await close(shop, "c1", 600, "resolved")
    assert await rate(shop, "c1", "good")
    await close(shop, "c2", 900, "not_resolved")
    assert await rate(shop, "c2", "bad")
    await create(shop, "c5", 1000)
    assert await shop.serve() == [("c5", "bob")]
    await reply(shop, "c5", "bob", 1060)
    at(shop, 1100)
    status, _ = await shop.store.conversations.transfer(
        shop.key, "c5", shop.now, to_agent=shop.login("ann")
    )
    assert status == "moved"
    await close(shop, "c3", 1200, "sale")
    assert await rate(shop, "c3", "good")
    await create(shop, "c6", 1300)
    at(shop, 1310)
    assert await shop.store.conversations.leave(shop.key, "c6", shop.now)
    await close(shop, "c5", 1500, "resolved")
    await create(shop, "c7", 2000, visitor="v-c1")  # c1's shopper is back: c1 is reopened
    at(shop, 2100)
    await shop.store.conversations.finish(shop.key, "c7", shop.now, "", ConversationState.ABANDONED)
    at(shop, 4000)
    assert await shop.store.conversations.take(shop.key, "c6", shop.login("bob"), shop.now, False)
    await reply(shop, "c6", "bob", 4100)
    await close(shop, "c6", 4200, "resolved")
    at(shop, 7200)
    await shop.set_status("ann", AgentStatus.OFFLINE)
    await shop.set_status("bob", AgentStatus.OFFLINE)


async def test_a_scripted_day_gives_exactly_the_expected_site_figures(shop: Shop) -> None:
    await scripted_day(shop)
    summary = (await report(shop))["summary"]
    # First replies after 40, 90, 300 and 60 s (c6 was a left message: not a live wait).
    assert (summary["answered"], summary["wait_median"], summary["wait_p90"]) == (4, 75.0, 300.0)
    # Assigned after 10, 0, 30 and 0 s.
    assert (summary["assign_median"], summary["assign_p90"]) == (5.0, 30.0)
    # c4 and c7 left the queue before any agent; four live chats got one.
    assert (summary["abandoned"], summary["abandonment_rate"]) == (2, 0.3333)
    # Served and closed: c1, c2, c3, c5, c6; resolved c1, c5, c6 and c3 (a sale); c1 reopened.
    assert (summary["closed"], summary["resolved"], summary["reopened"]) == (5, 4, 1)
    assert summary["resolution_rate"] == 0.6
    assert (summary["good"], summary["rated"]) == (2, 3)
    assert summary["csat"] == pytest.approx(0.6667, abs=1e-4)
    assert summary["response_rate"] == 0.6
    assert summary["transfers_per_chat"] == 0.2
    assert (summary["sales"], summary["sale_rate"]) == (1, 0.2)
    # Handle times 590, 800, 970, 500 and 200 s.
    assert (summary["handle_median"], summary["handle_mean"]) == (590.0, 612.0)
    assert (summary["left"], summary["left_answered"], summary["left_reply_median"]) == (
        1, 1, 2790.0,
    )  # fmt: skip
    # Two agents online two hours each: 5 chats closed, 7 conversations started.
    assert summary["agent_hours"] == 4.0
    assert (summary["chats_per_agent_hour"], summary["enquiries_per_agent_hour"]) == (1.25, 1.75)
    assert summary["status"] == {"wait_median": "green", "csat": "red", "resolution_rate": "red"}


async def test_a_scripted_day_gives_exactly_the_expected_per_agent_figures(shop: Shop) -> None:
    await scripted_day(shop)
    agents = {row["agent"]: row for row in (await report(shop))["agents"]}
    ann, bob = agents[shop.login("ann")], agents[shop.login("bob")]
    # ann: given c1, c3 and c5 (transferred to her); closed all three.
    assert (ann["assigned"], ann["closed"], ann["wait_median"], ann["handle_median"]) == (
        3, 3, 170.0, 590.0,
    )  # fmt: skip
    assert (ann["csat"], ann["resolved"], ann["reopened"], ann["transfers"]) == (1.0, 3, 1, 0)
    assert ann["resolution_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert (ann["agent_hours"], ann["chats_per_agent_hour"]) == (2.0, 1.5)
    # bob: given c2, c5 and c6 (from the inbox); closed c2 and c6; transferred c5.
    assert (bob["assigned"], bob["closed"], bob["wait_median"], bob["transfers"]) == (3, 2, 75.0, 1)
    assert (bob["csat"], bob["resolution_rate"], bob["left_reply_median"]) == (0.0, 0.5, 2790.0)
    assert (bob["agent_hours"], bob["enquiries_per_agent_hour"]) == (2.0, 1.5)


async def test_hours_days_and_waits_split_the_same_day(shop: Shop) -> None:
    await scripted_day(shop)
    found = await report(shop)
    hours = {row["hour"]: row for row in found["hours"]}
    assert hours[9]["conversations"] == 7 and hours[10]["conversations"] == 0
    assert hours[10]["left_answered"] == 1  # bob answered c6's message at 10:08
    assert (hours[9]["agent_hours"], hours[10]["agent_hours"], hours[11]["agent_hours"]) == (
        2.0, 2.0, 0.0,
    )  # fmt: skip
    assert [d["day"] for d in found["days"]] == ["2030-01-15"]
    assert found["days"][0]["wait_median"] == 75.0
    waits = {row["from_seconds"]: row["first_reply"] for row in found["waits"]}
    assert waits == {0: 0, 15: 0, 30: 1, 60: 2, 120: 0, 180: 0, 300: 1, 600: 0}
    departments = {row["department"]: row for row in found["departments"]}
    assert departments["sales"]["closed"] == 5 and departments["support"]["closed"] == 0
    assert departments["support"]["agent_hours"] == 0.0  # nobody serves support


async def test_a_day_in_another_time_zone_takes_its_own_hours(shop: Shop) -> None:
    await scripted_day(shop)
    # 09:00-11:00 UTC is 17:00-19:00 in Shanghai, the same local day.
    shanghai = Period.of(date(2030, 1, 15), date(2030, 1, 15), ZoneInfo("Asia/Shanghai"))
    reports = Reports(Rollups(shop.store.redis), shop.store.agents.of_site)
    found = await reports.report(shop.site, shanghai, DAY + DAY_MS)
    assert found["summary"]["conversations"] == 7
    assert {row["hour"] for row in found["hours"] if row["conversations"]} == {17}
    # The next local day starts at 16:00 UTC: it holds none of it.
    next_day = Period.of(date(2030, 1, 16), date(2030, 1, 16), ZoneInfo("Asia/Shanghai"))
    assert (await reports.report(shop.site, next_day, DAY + DAY_MS))["summary"]["closed"] == 0


async def test_a_department_filter_keeps_its_conversations_and_agents(shop: Shop) -> None:
    await scripted_day(shop)
    support = await report(shop, department="support")
    assert support["summary"]["conversations"] == 0
    assert support["agents"] == []  # ann and bob serve sales only
    assert (await report(shop, department="sales"))["summary"]["closed"] == 5


async def test_facts_are_counted_once_whatever_is_retried(shop: Shop) -> None:
    await shop.ready("ann")
    await create(shop, "c1", 0)
    await shop.serve()
    await reply(shop, "c1", "ann", 20)
    await reply(shop, "c1", "ann", 50)  # a second message: not a first reply
    await close(shop, "c1", 60, "resolved")
    assert await shop.store.conversations.finish(shop.key, "c1", shop.now, "other") is None
    assert await rate(shop, "c1", "good")
    assert not await rate(shop, "c1", "bad")  # the first rating stays
    summary = (await report(shop))["summary"]
    assert (summary["answered"], summary["wait_median"], summary["closed"]) == (1, 20.0, 1)
    assert (summary["good"], summary["rated"]) == (1, 1)


async def test_a_rating_of_a_chat_no_agent_served_is_not_in_csat(shop: Shop) -> None:
    await create(shop, "c1", 0)
    at(shop, 30)
    await shop.store.conversations.finish(shop.key, "c1", shop.now, "", ConversationState.ABANDONED)
    assert await rate(shop, "c1", "bad")
    summary = (await report(shop))["summary"]
    assert (summary["abandoned"], summary["rated"], summary["csat"]) == (1, 0, None)


async def test_a_return_after_the_reopen_window_leaves_the_chat_resolved(shop: Shop) -> None:
    await shop.ready("ann")
    await create(shop, "c1", 0)
    await shop.serve()
    await close(shop, "c1", 60, "resolved")
    # The store's default window is 3 days: come back after 3 days and a second.
    await create(shop, "c2", 60 + 3 * 86_400 + 1, visitor="v-c1")
    summary = (await report(shop))["summary"]
    assert (summary["resolved"], summary["reopened"], summary["resolution_rate"]) == (1, 0, 1.0)


async def test_a_customer_back_twice_reopens_their_resolved_chat_once(shop: Shop) -> None:
    await shop.ready("ann")
    await create(shop, "c1", 0, visitor="v-1")
    await shop.serve()
    await close(shop, "c1", 60, "resolved")
    await create(shop, "c2", 100, visitor="v-1")
    await shop.store.conversations.finish(shop.key, "c2", shop.now + 1, "")
    await create(shop, "c3", 200, visitor="v-1")
    assert (await report(shop))["summary"]["reopened"] == 1


async def test_requeued_chats_count_for_the_agent_who_lost_them(shop: Shop) -> None:
    await shop.ready("ann")
    await create(shop, "c1", 0)
    await shop.serve()
    at(shop, 30)
    assert await shop.store.conversations.requeue_agent(
        shop.key, shop.login("ann"), shop.now, False
    )
    cells = await Rollups(shop.store.redis).cells(shop.key, DAY, DAY + DAY_MS)
    requeued = {(c.agent, c.n) for c in cells if c.name == "requeued"}
    assert requeued == {("", 1), (shop.login("ann"), 1)}


async def test_day_hashes_expire_after_the_rollups_keep(shop: Shop) -> None:
    await create(shop, "c1", 0)
    ttl = await shop.store.redis.pttl(keys.kpi_day(shop.key, DAY))
    expires = time.time() * 1000 + ttl
    assert abs(expires - (DAY + DAY_MS + 731 * DAY_MS)) < 60_000


async def test_time_online_ends_when_the_last_heartbeat_ran_out(shop: Shop) -> None:
    """A process that died never said goodbye: its agent's time online ends at the deadline
    of their last heartbeat, not at the sweep that noticed, however late."""
    at(shop, 0)
    await shop.ready("ann")  # heartbeat deadline: +15 s (conftest.HEARTBEAT_MS)
    at(shop, 3600)
    await shop.store.conversations.sweep(shop.key, shop.now, 30_000)
    sessions = await Rollups(shop.store.redis).sessions(shop.key, DAY, DAY + DAY_MS, shop.now)
    assert [(s.start, s.end) for s in sessions] == [(T0, T0 + 15_000)]


async def test_an_agent_online_now_counts_until_now(shop: Shop) -> None:
    at(shop, 0)
    await shop.ready("ann")
    summary = (await report(shop, now=T0 + 90 * 60_000))["summary"]
    assert summary["agent_hours"] == 1.5


async def test_the_demo_history_is_plausible_marked_and_seeded_once(shop: Shop) -> None:
    from chatserver.reports import demo_history

    now = DAY + 10 * HOUR_MS
    agents = list(shop.agents.values())
    assert await demo_history.seed(shop.store.redis, shop.site, agents, now, 30 * DAY_MS)
    assert not await demo_history.seed(shop.store.redis, shop.site, agents, now, 30 * DAY_MS)
    week = Period.of(date(2030, 1, 8), date(2030, 1, 14), ZoneInfo("UTC"))
    reports = Reports(Rollups(shop.store.redis), shop.store.agents.of_site)
    found = await reports.report(shop.site, week, now)
    assert found["demo_data"]
    s = found["summary"]
    assert 7 * 30 < s["conversations"] < 7 * 120
    assert 10 < s["wait_median"] < 120 and 0.75 < s["csat"] < 0.95
    assert 0.75 < s["resolution_rate"] < 0.95 and s["agent_hours"] > 7 * 10
    raw = await shop.store.redis.hgetall(keys.kpi_day(shop.key, DAY - DAY_MS))
    cells = await Rollups(shop.store.redis).cells(shop.key, DAY - DAY_MS, DAY)
    assert len(cells) == len(raw)  # every field has the shape the scripts write
    today = await Rollups(shop.store.redis).cells(shop.key, DAY, DAY + DAY_MS)
    assert today == []  # nothing made up for today, nor for the future
