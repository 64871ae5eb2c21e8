"""Reports and metrics end to end: a scripted day through real server processes whose clock the
test moves (CHAT_TEST_CLOCK_FILE), read back through the REST API and /metrics."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.core.model import Role, Site
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.world import agent_client, login, make_agent, make_site, shopper_client

DAY = 1_894_665_600_000  # 2030-01-15 00:00 UTC (day hashes expire by Redis's real clock)
NINE = DAY + 9 * 3_600_000
TOKEN = "metrics-token-for-tests-0123456789"
Clock = Callable[[float], None]


@pytest.fixture
def clock(tmp_path: Path) -> tuple[Path, Clock]:
    """A clock file the servers read; `set(seconds)` moves it to 09:00 UTC + seconds."""
    path = tmp_path / "clock"

    def set_clock(seconds: float) -> None:
        part = path.with_suffix(".tmp")
        part.write_text(str(NINE + int(seconds * 1000)))
        os.replace(part, path)  # never a half-written file for a reading server

    set_clock(0)
    return path, set_clock


def settings(clock_file: Path, **more: object) -> dict[str, object]:
    # No periodic sweep: the scripted clock jumps, and a sweep would expire presence meanwhile.
    return {"CHAT_TEST_CLOCK_FILE": clock_file, "CHAT_SWEEP_SECONDS": 3600,
            "CHAT_METRICS_TOKEN": TOKEN, **more}  # fmt: skip


async def start(shopper: Client, text: str) -> str:
    await shopper.send({"type": "start", "text": text, "client_msg_id": "c1"})
    return str((await shopper.wait_for("ack", scaled(10), client_msg_id="c1"))["conversation_id"])


async def reply(agent: Client, conv: str, text: str) -> None:
    await agent.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    await agent.send({"type": "message", "conversation_id": conv, "client_msg_id": text,
                      "text": text})  # fmt: skip
    await agent.wait_for("ack", scaled(10), client_msg_id=text)


async def close_and_rate(
    agent: Client, shopper: Client, conv: str, outcome: str, rating: str
) -> None:
    await agent.send({"type": "close", "conversation_id": conv, "outcome": outcome})
    await shopper.wait_for("conversation", scaled(10), conversation_id=conv, state="closed")
    await shopper.send({"type": "rate", "conversation_id": conv, "rating": rating})
    await shopper.wait_for("event", scaled(10), conversation_id=conv, event="rated")


async def scripted_day(
    redis: Redis, site: Site, first: ServerProcess, second: ServerProcess, set_clock: Clock
) -> list[Client]:
    """ann (on `first`) and bob (on `second`) online at 09:00; three chats, answered after 30,
    120 and 300 s; closed resolved, resolved, not resolved; rated good, good, bad."""
    ann = await agent_client(first, f"{site.key}-ann")
    bob = await agent_client(second, f"{site.key}-bob")
    s1, _ = await shopper_client(first, site)
    s2, _ = await shopper_client(second, site)
    s3, _ = await shopper_client(second, site)
    c1 = await start(s1, "Do you have it in blue?")  # 09:00:00 -> ann
    set_clock(30)
    await reply(ann, c1, "Yes, in all sizes.")
    set_clock(60)
    c2 = await start(s2, "Where is my parcel?")  # -> bob (ann has one)
    set_clock(180)
    await reply(bob, c2, "It left yesterday.")
    set_clock(240)
    c3 = await start(s3, "Can I return shoes?")  # -> ann (idle longer than bob)
    set_clock(540)
    await reply(ann, c3, "Within 7 days.")
    set_clock(600)
    await close_and_rate(ann, s1, c1, "resolved", "good")
    set_clock(720)
    await close_and_rate(bob, s2, c2, "resolved", "good")
    set_clock(900)
    await close_and_rate(ann, s3, c3, "not_resolved", "bad")
    set_clock(3600)
    for agent in (ann, bob):
        await agent.send({"type": "status", "status": "offline"})
        await agent.wait_for("agent", scaled(10), status="offline")
    return [ann, bob, s1, s2, s3]


async def get_report(server: ServerProcess, token: str, **params: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        response = await http.get(
            "/api/v1/reports", params={"from": "2030-01-15", "to": "2030-01-15", **params},
            headers={"authorization": f"Bearer {token}"},
        )  # fmt: skip
    assert response.status_code == 200, response.text
    return dict(response.json())


def expected_figures(report: dict[str, Any], site: Site) -> None:
    s = report["summary"]
    assert (s["conversations"], s["answered"], s["closed"]) == (3, 3, 3)
    assert (s["wait_median"], s["wait_p90"]) == (120.0, 300.0)
    assert (s["good"], s["rated"], s["csat"]) == (2, 3, 0.6667)
    assert (s["resolved"], s["resolution_rate"]) == (2, 0.6667)
    assert s["agent_hours"] == 2.0  # two agents, 09:00-10:00
    assert s["status"] == {"wait_median": "green", "csat": "red", "resolution_rate": "red"}
    agents = {row["agent"]: row for row in report["agents"]}
    ann, bob = agents[f"{site.key}-ann"], agents[f"{site.key}-bob"]
    assert (ann["closed"], ann["wait_median"], ann["csat"]) == (2, 165.0, 0.5)
    assert (bob["closed"], bob["wait_median"], bob["csat"]) == (1, 120.0, 1.0)
    assert (ann["agent_hours"], bob["agent_hours"]) == (1.0, 1.0)


async def test_a_scripted_day_reads_back_exactly_from_both_processes_and_after_a_restart(
    redis: Redis, site_key: str, servers: StartServer, clock: tuple[Path, Clock]
) -> None:
    clock_file, set_clock = clock
    site = await make_site(redis, site_key, departments=("sales",))
    for name in ("ann", "bob"):
        await make_agent(redis, site, f"{site_key}-{name}")
    await make_agent(redis, site, f"{site_key}-sup", role=Role.SUPERVISOR)
    first = await servers(**settings(clock_file))
    second = await servers(**settings(clock_file))
    clients = await scripted_day(redis, site, first, second, set_clock)
    token = await login(first, f"{site_key}-sup")
    for server in (first, second):
        expected_figures(await get_report(server, token), site)
    for client in clients:
        await client.close()
    await first.stop()
    await second.stop()
    await first.start()
    expected_figures(await get_report(first, token), site)


async def test_metrics_count_the_scripted_traffic(
    redis: Redis, site_key: str, servers: StartServer, clock: tuple[Path, Clock]
) -> None:
    clock_file, set_clock = clock
    site = await make_site(redis, site_key, departments=("sales",))
    for name in ("ann", "bob"):
        await make_agent(redis, site, f"{site_key}-{name}")
    first = await servers(**settings(clock_file))
    second = await servers(**settings(clock_file))
    await scripted_day(redis, site, first, second, set_clock)
    totals: dict[str, float] = {}
    for server in (first, second):  # each process counts what it did: their sum is the day
        for name, value in (await scrape(server)).items():
            totals[name] = totals.get(name, 0) + value
    assert totals["chat_conversations_started_total"] == 3
    assert totals['chat_assignments_total{how="queue"}'] == 3
    assert totals['chat_messages_in_total{role="shopper"}'] == 3
    assert totals['chat_messages_in_total{role="agent"}'] == 3
    assert totals['chat_conversations_ended_total{state="closed"}'] == 3
    assert totals['chat_sockets{role="agent"}'] == 2
    assert totals['chat_sockets{role="shopper"}'] == 3
    assert totals['chat_frames_out_total{role="agent",type="message"}'] >= 6
    assert totals["chat_redis_up"] == 2  # each process's own probe
    assert totals['chat_redis_seconds_count{op="assign"}'] >= 3


async def test_metrics_need_the_token_and_are_absent_without_one(
    servers: StartServer, clock: tuple[Path, Clock]
) -> None:
    guarded = await servers(CHAT_METRICS_TOKEN=TOKEN)
    closed = await servers()
    async with httpx.AsyncClient(trust_env=False) as http:
        assert (await http.get(f"{guarded.base_url}/metrics")).status_code == 401
        wrong = {"authorization": "Bearer not-the-token-at-all-0000"}
        assert (await http.get(f"{guarded.base_url}/metrics", headers=wrong)).status_code == 401
        assert (await http.get(f"{closed.base_url}/metrics")).status_code == 404


@pytest.mark.slow
async def test_metrics_are_whole_across_worker_processes(
    redis: Redis, site_key: str, servers: StartServer, tmp_path: Path
) -> None:
    """With --workers 2, whichever worker answers a scrape reports both workers' counts; so
    does the --metrics-address listener."""
    site = await make_site(redis, site_key, departments=("sales",))
    from chatserver.store.embedded import free_port

    port = free_port()
    server = await servers(CHAT_WORKERS=2, CHAT_METRICS_TOKEN=TOKEN,
                           CHAT_METRICS_ADDRESS=f"127.0.0.1:{port}")  # fmt: skip
    shoppers = []
    for i in range(8):  # new connections: the kernel spreads them over the two workers
        shopper, _ = await shopper_client(server, site)
        await start(shopper, f"question {i}")
        shoppers.append(shopper)
    for _ in range(4):
        found = await scrape(server)
        assert found["chat_conversations_started_total"] == 8
        assert found['chat_sockets{role="shopper"}'] == 8
    async with httpx.AsyncClient(trust_env=False) as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    assert _values(text)["chat_conversations_started_total"] == 8
    for shopper in shoppers:
        await shopper.close()


async def scrape(server: ServerProcess) -> dict[str, float]:
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(
            f"{server.base_url}/metrics", headers={"authorization": f"Bearer {TOKEN}"}
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return _values(response.text)


def _values(text: str) -> dict[str, float]:
    """Samples by name{labels} (the text must parse as Prometheus exposition format)."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items())
                              if k != "pid")  # fmt: skip
            name = f"{sample.name}{{{labels}}}" if labels else sample.name
            found[name] = found.get(name, 0.0) + sample.value
    return found
