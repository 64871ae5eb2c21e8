"""Signing in to the console: CSRF-protected forms, the session cookie, logout, and login
throttling (the form and POST /api/v1/login alike)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx
import orjson
import websockets
from redis.asyncio import Redis

from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.world import PASSWORD, make_agent, make_site

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@contextlib.asynccontextmanager
async def console_session(
    server: ServerProcess, login: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An HTTP client holding the console's session cookie (as a browser would), and the
    session's CSRF token from the console page."""
    async with httpx.AsyncClient(
        base_url=server.base_url, trust_env=False, timeout=scaled(10)
    ) as http:
        form = await http.get("/console/login")
        csrf = _CSRF.search(form.text)
        assert csrf is not None
        done = await http.post(
            "/console/login", data={"login": login, "password": PASSWORD, "csrf": csrf.group(1)}
        )
        assert done.status_code == 303, done.text
        page = await http.get("/console")
        token = re.search(r'"csrf": ?"([^"]+)"', page.text)
        assert page.status_code == 200 and token is not None
        yield http, token.group(1)


async def test_the_login_form_sets_an_httponly_samesite_session_cookie(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-amy")
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        assert (await http.get("/console")).headers["location"] == "/console/login"
        form = await http.get("/console/login")
        assert "default-src 'none'" in form.headers["content-security-policy"]
        csrf = _CSRF.search(form.text)
        assert csrf is not None
        done = await http.post(
            "/console/login",
            data={"login": f"{site_key}-amy", "password": PASSWORD, "csrf": csrf.group(1)},
        )
        assert done.status_code == 303 and done.headers["location"] == "/console"
        cookie = next(
            c for c in done.headers.get_list("set-cookie") if c.startswith("chat_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        assert (await http.get("/console")).status_code == 200


async def test_behind_tls_the_session_cookie_is_secure(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(CHAT_PUBLIC_URL="https://chat.example")
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-amy")
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        form = await http.get("/console/login")
        csrf = _CSRF.search(form.text)
        assert csrf is not None
        nonce = form.headers["set-cookie"]
        assert "Secure" in nonce
        # A browser sends Secure cookies over TLS only; this test talks plain HTTP to the
        # server behind the (imagined) TLS proxy, so it passes the cookie on by hand.
        done = await http.post(
            "/console/login",
            data={"login": f"{site_key}-amy", "password": PASSWORD, "csrf": csrf.group(1)},
            headers={"Cookie": nonce.split(";")[0]},
        )
        assert done.status_code == 303
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("chat_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


async def test_a_login_form_without_its_csrf_token_is_refused(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-amy")
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        data = {"login": f"{site_key}-amy", "password": PASSWORD}
        no_form = await http.post("/console/login", data=data)  # no nonce cookie, no token
        assert no_form.status_code == 403 and "chat_session" not in str(no_form.headers)
        await http.get("/console/login")  # the nonce cookie, but the form's token is missing
        missing = await http.post("/console/login", data=data)
        forged = await http.post("/console/login", data={**data, "csrf": "x" * 43})
        for refused in (missing, forged):
            assert refused.status_code == 403
            assert "chat_session" not in str(refused.headers)


async def test_logout_needs_the_csrf_token_and_ends_the_session(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-amy")
    async with console_session(server, f"{site_key}-amy") as (http, csrf):
        refused = await http.post("/console/logout", data={})
        assert refused.status_code == 403
        assert (await http.get("/api/v1/me")).status_code == 200, "still signed in"
        page = await http.get("/console/logout")
        assert csrf in page.text
        done = await http.post("/console/logout", data={"csrf": csrf})
        assert done.status_code == 303
        assert (await http.get("/console")).status_code == 303


async def test_the_agent_socket_takes_the_session_from_the_cookie(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-amy")
    async with console_session(server, f"{site_key}-amy") as (http, _):
        cookie = http.cookies["chat_session"]
    headers = {"Cookie": f"chat_session={cookie}"}
    async with websockets.connect(f"{server.ws_url}/ws/v1/agent", additional_headers=headers) as ws:
        await ws.send('{"type": "hello"}')
        welcome = orjson.loads(await ws.recv())
    assert welcome["type"] == "welcome" and welcome["agent"]["id"] == f"{site_key}-amy"
    async with websockets.connect(f"{server.ws_url}/ws/v1/agent") as ws:
        await ws.send('{"type": "hello"}')
        refused = orjson.loads(await ws.recv())
    assert refused["code"] == "bad_token", "no token and no cookie: no session"


async def test_failed_logins_are_throttled_on_the_api_and_the_form(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-amy")
    await make_agent(redis, site, f"{site_key}-bob")
    login = f"{site_key}-amy"
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        for _ in range(4):
            wrong = await http.post("/api/v1/login", json={"login": login, "password": "nope"})
            assert wrong.status_code == 401
        ok = await http.post("/api/v1/login", json={"login": login, "password": PASSWORD})
        assert ok.status_code == 200, "four typos, then the right password: fine"
        for _ in range(5):
            await http.post("/api/v1/login", json={"login": login, "password": "nope"})
        blocked = await http.post("/api/v1/login", json={"login": login, "password": PASSWORD})
        assert blocked.status_code == 429 and blocked.json()["error"] == "too_many_attempts"
        assert 0 < int(blocked.headers["retry-after"]) <= 900
        form = await http.get("/console/login")
        csrf = _CSRF.search(form.text)
        assert csrf is not None
        page = await http.post(
            "/console/login", data={"login": login, "password": PASSWORD, "csrf": csrf.group(1)}
        )
        assert page.status_code == 429 and "chat_session" not in str(page.headers)
        other = await http.post(
            "/api/v1/login", json={"login": f"{site_key}-bob", "password": PASSWORD}
        )
        assert other.status_code == 200, "another agent at the same address is not locked out"
