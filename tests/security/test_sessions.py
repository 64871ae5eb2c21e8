"""Sessions belong to the account, and revoking an agent takes effect within seconds.

Findings: a session was tied to the login name (a login removed and re-created on another site
kept its old sessions there, with the new account's rights); a new password ended no session;
an open agent socket kept the rights it had at hello after its agent was demoted or removed;
a 1-character password was accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import orjson
import websockets
from redis.asyncio import Redis

from chatserver.client import Client, ResumingClient
from chatserver.core.frames import CloseCode
from chatserver.core.model import Role, Site
from chatserver.store import keys, sites
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.test_cli import _chatserver
from tests.integration.world import (
    PASSWORD,
    agent_client,
    login,
    make_agent,
    make_site,
    shopper_client,
    start_chat,
)

REVOKED = CloseCode.SESSION_REVOKED
NEW_PASSWORD = "a new password"


def _api(server: ServerProcess, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.base_url, trust_env=False, timeout=scaled(10),
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip


async def _me(server: ServerProcess, token: str) -> int:
    async with _api(server, token) as http:
        return (await http.get("/api/v1/me")).status_code


async def _hello(server: ServerProcess, token: str) -> Client:
    client = Client(f"{server.ws_url}/ws/v1/agent")
    await client.connect()
    await client.send({"type": "hello", "token": token})
    return client


async def _hello_refused(server: ServerProcess, token: str) -> bool:
    client = await _hello(server, token)
    try:
        await client.wait_for("error", scaled(10), code="bad_token")
        return await client.wait_closed(scaled(10)) == CloseCode.POLICY_VIOLATION
    finally:
        await client.close()


async def _socket(server: ServerProcess, token: str) -> Client:
    client = await _hello(server, token)
    await client.wait_for("welcome", scaled(10))
    return client


async def _alive(client: Client) -> bool:
    await client.send({"type": "ping"})
    await client.wait_for("pong", scaled(10))
    return client.close_code is None


async def _login_with(server: ServerProcess, agent: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        response = await http.post("/api/v1/login", json={"login": agent, "password": password})
    response.raise_for_status()
    return str(response.json()["token"])


async def _site(redis: Redis, key: str) -> Site:
    site = await sites.load_site(redis, key)
    assert site is not None
    return site


async def _texts(redis: Redis, conversation_id: str) -> list[str]:
    rows = await redis.xrange(keys.transcript(conversation_id))
    return [str(orjson.loads(f["e"]).get("text")) for _, f in rows]


async def test_removing_an_agent_ends_their_sessions_and_closes_their_sockets(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    await make_agent(redis, site, f"{site_key}-amy")
    token = await login(server, f"{site_key}-amy")
    socket = await _socket(server, token)
    assert await _me(server, token) == 200

    async with _api(server, await login(server, f"{site_key}-boss")) as boss:
        assert (await boss.delete(f"/api/v1/agents/{site_key}-amy")).status_code == 204
    assert await socket.wait_closed(scaled(5)) == REVOKED
    assert socket.close_reason == "session revoked"
    assert await _me(server, token) == 401
    assert await _hello_refused(server, token)


async def test_a_new_password_ends_every_session_and_a_new_name_none(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    await make_agent(redis, site, f"{site_key}-amy")
    token = await login(server, f"{site_key}-amy")
    socket = await _socket(server, token)
    async with _api(server, await login(server, f"{site_key}-boss")) as boss:
        url = f"/api/v1/agents/{site_key}-amy"
        renamed = await boss.patch(url, json={"name": "Amy B.", "departments": ["sales"],
                                              "max_capacity": 2})  # fmt: skip
        assert renamed.status_code == 200, renamed.text
        assert await _me(server, token) == 200 and await _alive(socket)

        changed = await boss.patch(url, json={"password": NEW_PASSWORD})
        assert changed.status_code == 200, changed.text
    assert await socket.wait_closed(scaled(5)) == REVOKED
    assert await _me(server, token) == 401
    assert await _hello_refused(server, token)
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        old = await http.post("/api/v1/login", json={"login": f"{site_key}-amy",
                                                     "password": PASSWORD})  # fmt: skip
        new = await http.post("/api/v1/login", json={"login": f"{site_key}-amy",
                                                     "password": NEW_PASSWORD})  # fmt: skip
    assert (old.status_code, new.status_code) == (401, 200)


async def test_a_login_removed_and_re_created_on_another_site_refuses_the_old_token(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    first = await make_site(redis, site_key)
    other = await make_site(redis, f"{site_key}-b")
    await make_agent(redis, first, f"{site_key}-boss", role=Role.ADMIN)
    await make_agent(redis, first, f"{site_key}-amy", role=Role.ADMIN)
    token = await login(server, f"{site_key}-amy")
    async with _api(server, await login(server, f"{site_key}-boss")) as boss:
        assert (await boss.delete(f"/api/v1/agents/{site_key}-amy")).status_code == 204
    await make_agent(redis, other, f"{site_key}-amy", role=Role.ADMIN)

    assert await _me(server, token) == 401
    async with _api(server, token) as http:
        listed = await http.get("/api/v1/agents")
    assert listed.status_code == 401, "no admin rights on the other site"
    assert await _hello_refused(server, token)
    assert await _me(server, await login(server, f"{site_key}-amy")) == 200


async def _supervisor_in_anns_chat(
    redis: Redis, site_key: str, server: ServerProcess
) -> tuple[str, str, Client, Client]:
    """Ann (an agent) serves a chat; supervisor Sue has two sockets and posts in the chat.
    Returns the chat's id, Sue's token and her two sockets."""
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-ann")
    await make_agent(redis, site, f"{site_key}-sue", role=Role.SUPERVISOR)
    ann = await agent_client(server, f"{site_key}-ann")
    shopper, _ = await shopper_client(server, site)
    conv = await start_chat(shopper, "where is my parcel?")
    await ann.wait_for("conversation", scaled(10), conversation_id=conv, state="assigned")
    token = await login(server, f"{site_key}-sue")
    busy, idle = await _socket(server, token), await _socket(server, token)
    await busy.send({"type": "message", "conversation_id": conv, "client_msg_id": "before",
                     "text": "a supervisor steps in"})  # fmt: skip
    await busy.wait_for("ack", scaled(10), client_msg_id="before")
    return conv, token, busy, idle


async def _post_with_old_role(client: Client, conversation_id: str) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):  # already closed: fine too
        frame = {"type": "message", "conversation_id": conversation_id,
                 "client_msg_id": "after", "text": "posted with the old role"}  # fmt: skip
        await client.send(frame)


async def test_a_demoted_supervisors_open_sockets_close_within_seconds(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    # The sweeper (and the heartbeat checking sessions) runs every 30 s here: what closes the
    # sockets within seconds is the `revoked` event of the change.
    server = await servers(CHAT_SWEEP_SECONDS=30)
    conv, token, busy, idle = await _supervisor_in_anns_chat(redis, site_key, server)
    await make_agent(redis, await _site(redis, site_key), f"{site_key}-boss", role=Role.ADMIN)
    async with _api(server, await login(server, f"{site_key}-boss")) as boss:
        demoted = await boss.patch(f"/api/v1/agents/{site_key}-sue", json={"role": "agent"})
    assert demoted.status_code == 200, demoted.text
    started = time.monotonic()
    await _post_with_old_role(busy, conv)
    assert await idle.wait_closed(scaled(5)) == REVOKED
    assert await busy.wait_closed(scaled(5)) == REVOKED
    assert time.monotonic() - started < scaled(5)
    assert not [f for f in busy.received if f.get("type") == "ack" and f.get("client_msg_id")
                == "after"], "the frame was handled"  # fmt: skip
    assert "posted with the old role" not in await _texts(redis, conv)
    assert await _hello_refused(server, token)


async def test_a_frame_sent_right_after_a_demotion_is_never_handled_with_the_old_role(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    """Before any event or heartbeat could close the socket, its next frame is checked."""
    server = await servers(CHAT_SWEEP_SECONDS=30)
    conv, _, busy, _ = await _supervisor_in_anns_chat(redis, site_key, server)
    # The demotion as the store writes it, but with no event (as if it were still on its way).
    login_ = f"{site_key}-sue"
    profile = orjson.loads(await redis.hget(keys.agents(site_key), login_))
    profile.update(role="agent", version="demoted")
    await redis.hset(keys.agents(site_key), login_, orjson.dumps(profile))

    await _post_with_old_role(busy, conv)
    refused = await busy.wait_for("error", scaled(10), ref="after")
    assert (refused["code"], refused["message"]) == ("bad_token", "session revoked")
    assert await busy.wait_closed(scaled(5)) == REVOKED
    assert "posted with the old role" not in await _texts(redis, conv)
    assert not [f for f in busy.received if f.get("type") == "ack" and f.get("client_msg_id")
                == "after"], "the frame was handled"  # fmt: skip


async def test_the_heartbeat_closes_a_revoked_socket_whose_event_was_missed(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-amy")
    socket = await _socket(server, await login(server, f"{site_key}-amy"))
    # A new account version written behind the server's back: no event is published.
    profile = orjson.loads(await redis.hget(keys.agents(site_key), f"{site_key}-amy"))
    profile["version"] = "changed-silently"
    await redis.hset(keys.agents(site_key), f"{site_key}-amy", orjson.dumps(profile))
    assert await socket.wait_closed(scaled(5)) == REVOKED


async def test_logout_closes_the_sockets_of_that_session_only(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-amy")
    ended, kept = await login(server, f"{site_key}-amy"), await login(server, f"{site_key}-amy")
    closing, staying = await _socket(server, ended), await _socket(server, kept)
    async with _api(server, ended) as http:
        assert (await http.post("/api/v1/logout")).status_code == 204
    assert await closing.wait_closed(scaled(5)) == REVOKED
    assert await _me(server, ended) == 401
    for _ in range(5):  # through a few heartbeats (about one a second)
        await asyncio.sleep(0.5)
        assert await _alive(staying)
    assert await _me(server, kept) == 200
    await staying.close()


async def test_new_passwords_under_10_characters_are_refused_by_rest(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    new = {"id": f"{site_key}-ben", "name": "Ben", "departments": ["sales"]}
    async with _api(server, await login(server, f"{site_key}-boss")) as boss:
        short = await boss.post("/api/v1/agents", json={**new, "password": "x" * 9})
        assert short.status_code == 422
        rule = "password must be at least 10 characters long"
        assert short.json() == {"error": "invalid_field", "message": rule}
        listed = (await boss.get("/api/v1/agents")).json()["agents"]
        assert new["id"] not in {a["id"] for a in listed}
        created = await boss.post("/api/v1/agents", json={**new, "password": "y" * 10})
        assert created.status_code == 201, created.text

        url = f"/api/v1/agents/{site_key}-ben"
        short = await boss.patch(url, json={"password": "z" * 9})
        assert short.status_code == 422 and "at least 10 characters" in short.json()["message"]
        assert (await boss.patch(url, json={"password": "z" * 10})).status_code == 200
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        signed = await http.post("/api/v1/login", json={"login": new["id"], "password": "z" * 10})
    assert signed.status_code == 200


async def test_new_passwords_under_10_characters_are_refused_by_the_cli(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    url = server.redis_url
    await make_site(redis, site_key)
    add = ("agent", "add", f"{site_key}-cli", "--name", "Cli", "--site", site_key,
           "--departments", "sales", "--redis-url", url)  # fmt: skip
    short = _chatserver(*add, "--password", "x" * 9)
    assert short.returncode == 2 and "password must be at least 10 characters" in short.stderr
    from_env = _chatserver(*add, env={"CHAT_AGENT_PASSWORD": "x" * 9})
    assert from_env.returncode == 2 and "at least 10 characters" in from_env.stderr
    added = _chatserver(*add, "--password", "x" * 10)
    assert added.returncode == 0, added.stderr

    token = await _login_with(server, f"{site_key}-cli", "x" * 10)
    setter = ("agent", "set", f"{site_key}-cli", "--redis-url", url)
    short = _chatserver(*setter, "--password", "y" * 9)
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    assert await _me(server, token) == 200, "a refused password changed nothing"
    changed = _chatserver(*setter, "--password", "y" * 10)
    assert changed.returncode == 0, changed.stderr
    assert await _me(server, token) == 401, "the CLI's new password ended the session"
    assert await _login_with(server, f"{site_key}-cli", "y" * 10)


async def test_the_reference_client_gives_up_a_revoked_session(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-gone")
    agent = ResumingClient([f"{server.ws_url}/ws/v1/agent"],
                           {"token": await login(server, f"{site_key}-gone")})  # fmt: skip
    await agent.start()
    assert _chatserver("agent", "remove", f"{site_key}-gone", "--redis-url",
                       server.redis_url).returncode == 0  # fmt: skip
    await agent.until(lambda: agent.ended == "session ended", scaled(15))
    assert agent.reconnects == 0, "a refused session is never retried"
