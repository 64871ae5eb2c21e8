"""Findings 2-4: logins could be raced past the throttle, a team could be locked out from one
address, and every refused login cost a full argon2 hash.

Attempts are counted before any password is checked; delays grow per login+address and per
address, never a lock of the login from everywhere."""

from __future__ import annotations

import asyncio

import httpx
from redis.asyncio import Redis

from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.world import PASSWORD, make_agent, make_site


def _client(server: ServerProcess, address: str) -> httpx.AsyncClient:
    """HTTP from a chosen loopback address (the whole 127/8 is ours on Linux)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=server.base_url, transport=transport, trust_env=False)


async def _login(http: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await http.post("/api/v1/login", json={"login": login, "password": password})


async def test_parallel_wrong_logins_get_at_most_five_password_checks(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    agent = await make_agent(redis, site, f"p{site_key}")
    server = await servers()
    async with _client(server, "127.0.0.21") as http:
        answers = await asyncio.gather(
            *(_login(http, agent.login, f"wrong {i}") for i in range(40))
        )
    statuses = [a.status_code for a in answers]
    assert statuses.count(401) <= 5, statuses  # 401: a password was checked and was wrong
    assert statuses.count(401) + statuses.count(429) == 40, statuses
    refused = [a for a in answers if a.status_code == 429]
    assert all(int(a.headers["retry-after"]) >= 1 for a in refused)
    assert {a.json()["error"] for a in refused} <= {"too_many_attempts", "busy"}


async def test_failures_from_one_address_never_stop_a_right_login_from_another(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    agent = await make_agent(redis, site, f"q{site_key}")
    server = await servers()
    async with _client(server, "127.0.0.2") as attacker:
        answers = [await _login(attacker, agent.login, "guess") for _ in range(50)]
        answers += [await _login(attacker, f"nobody{i}", "guess") for i in range(50)]
        assert answers[-1].status_code == 429, "the attacker's address is slowed down"
        assert (await _login(attacker, agent.login, PASSWORD)).status_code == 429
    async with _client(server, "127.0.0.3") as agent_http:
        right = await _login(agent_http, agent.login, PASSWORD)
    assert right.status_code == 200, right.text


async def test_a_right_login_forgives_only_its_own_address_typos(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    agent = await make_agent(redis, site, f"r{site_key}")
    server = await servers()
    async with _client(server, "127.0.0.4") as http:
        for _ in range(4):
            assert (await _login(http, agent.login, "typo")).status_code == 401
        assert (await _login(http, agent.login, PASSWORD)).status_code == 200
        # The count started over: four typos again are checked, not delayed.
        for _ in range(4):
            assert (await _login(http, agent.login, "typo")).status_code == 401


async def test_console_form_is_throttled_like_the_api(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    agent = await make_agent(redis, site, f"s{site_key}")
    server = await servers()
    async with _client(server, "127.0.0.5") as http:
        for _ in range(5):
            assert (await _login(http, agent.login, "typo")).status_code == 401
        form = await http.get("/console/login")
        csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        posted = await http.post(
            "/console/login", data={"login": agent.login, "password": PASSWORD, "csrf": csrf}
        )
    assert posted.status_code == 429, "the form shares the API's count"


async def test_unknown_logins_are_checked_one_at_a_time_and_the_rest_told_to_wait(
    servers: StartServer,
) -> None:
    """Finding 4: every unknown login cost a full argon2 check (64 MiB, ~0.15 s), all at once.
    Now at most CHAT_PASSWORD_CHECKS run at a time; an attempt that finds none free within
    2 s gets 429 `busy` instead of a hash (100 checks one at a time take longer than that)."""
    server = await servers(CHAT_PASSWORD_CHECKS=1)
    clients = [_client(server, f"127.0.1.{i}") for i in range(1, 5)]  # 25 each: no throttle
    try:
        answers = await asyncio.gather(
            *(_login(clients[i % 4], f"nobody-{i}", "guess") for i in range(100))
        )
    finally:
        for http in clients:
            await http.aclose()
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {401, 429}, statuses
    busy = [a for a in answers if a.status_code == 429]
    assert busy and {a.json()["error"] for a in busy} == {"busy"}
    assert all(a.headers["retry-after"] == "1" for a in busy)
