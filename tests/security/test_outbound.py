"""Server-side request forgery through the order pull: a site admin sets the URL the server
fetches. Internal addresses, in every notation, are refused when the URL is set (422) and
again when the server connects (a name may resolve elsewhere by then); the operator's
CHAT_OUTBOUND_ALLOW lets chosen ones through. Agents see one message for every failure, the
site's admin the precise reason.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from chatserver import outbound
from chatserver.core.model import Role
from chatserver.core.netpolicy import parse_allow
from chatserver.orders.pull import UNREACHABLE
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import api_client, customer_chat, order
from tests.integration.web.store_endpoint import store_endpoint
from tests.integration.world import agent_client, make_agent, make_site

ORDERS_PATH = "/customers/{customer_id}/orders"
# Each base URL leads to the test's store endpoint on loopback (or to the metadata service).
INTERNAL = [
    ("http://127.0.0.1:{port}", "127.0.0.1 is a loopback address"),
    ("http://2130706433:{port}", "2130706433 resolves to 127.0.0.1, a loopback address"),
    ("http://0x7f.1:{port}", "0x7f.1 resolves to 127.0.0.1, a loopback address"),
    ("http://[::1]:{port}", "::1 is a loopback address"),
    ("http://localhost:{port}", "localhost resolves to 127.0.0.1, a loopback address"),
    ("http://169.254.169.254", "169.254.169.254 is a link-local address"),
]


async def until(check: Callable[[], Awaitable[Any]], timeout: float) -> Any:
    """Ask `check` until it returns something true (a background pull sends no event)."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):  # noqa: ASYNC110 (nothing to await but time)
            await asyncio.sleep(0.05)
        return result


async def _admin(redis: Redis, site_key: str, server: ServerProcess) -> httpx.AsyncClient:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    return await api_client(server, f"{site_key}-boss")


async def _set_pull_url(api: httpx.AsyncClient, site_key: str, url: str) -> httpx.Response:
    return await api.put(f"/api/v1/sites/{site_key}/order-source", json={"pull_url": url})


async def _pulled(api: httpx.AsyncClient, site_key: str, customer: str) -> dict[str, Any]:
    """The customer's orders once a pull has ended (fresh, or unavailable)."""

    async def done() -> dict[str, Any] | None:
        response = await api.get(f"/api/v1/sites/{site_key}/customers/{customer}")
        view: dict[str, Any] = response.json()["orders"]
        return view if view["state"] in ("fresh", "unavailable") else None

    result: dict[str, Any] = await until(done, scaled(10))
    return result


async def test_a_pull_url_on_an_internal_address_is_refused_in_every_notation(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    async with store_endpoint() as store, await _admin(redis, site_key, server) as api:
        for base, reason in INTERNAL:
            url = base.format(port=store.port) + ORDERS_PATH
            response = await _set_pull_url(api, site_key, url)
            assert response.status_code == 422, (url, response.text)
            body = response.json()
            assert body["error"] == "invalid_field"
            assert body["message"].startswith(f"pull_url: {reason}"), body["message"]
            assert "--outbound-allow / CHAT_OUTBOUND_ALLOW" in body["message"]
        source = (await api.get(f"/api/v1/sites/{site_key}/order-source")).json()
        assert source["pull_url"] is None, "nothing was stored"
        panel = (await api.get(f"/api/v1/sites/{site_key}/customers/c-1")).json()
        assert panel["orders"]["state"] == "none", "so nothing is pulled"
        await asyncio.sleep(0.2)
        assert store.requests == [], "the internal server never saw a request"


async def test_only_http_and_https_urls_are_accepted(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    async with await _admin(redis, site_key, server) as api:
        for url in ("file:///etc/passwd?{customer_id}", "gopher://store.example/{customer_id}",
                    "http://{customer_id}.store.example/orders"):  # fmt: skip
            response = await _set_pull_url(api, site_key, url)
            assert response.status_code == 422 and response.json()["error"] == "invalid_field"


async def test_the_operator_allows_an_internal_store_and_the_pull_returns_its_orders(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(CHAT_OUTBOUND_ALLOW="127.0.0.1")
    async with store_endpoint() as store, await _admin(redis, site_key, server) as api:
        store.orders["c-1"] = [order("c-1", "A-1", placed=1000)]
        response = await _set_pull_url(api, site_key, store.url_template)
        assert response.status_code == 200, response.text
        view = await _pulled(api, site_key, "c-1")
        assert view["state"] == "fresh" and [o["number"] for o in view["orders"]] == ["A-1"]
        assert len(store.requests) == 1
        # Exactly what was allowed: ::1 is not 127.0.0.1.
        ipv6 = await _set_pull_url(api, site_key, f"http://[::1]:{store.port}{ORDERS_PATH}")
        assert ipv6.status_code == 422 and "::1 is a loopback address" in ipv6.text


async def test_a_name_that_resolves_to_loopback_when_pulled_is_refused_then(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    """Set while the operator allowed the name; the allowance is gone when the pull runs (as
    a DNS answer can change between the check and the pull)."""
    permissive = await servers(CHAT_OUTBOUND_ALLOW="localhost")
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    await make_agent(redis, site, f"{site_key}-ann", role=Role.AGENT)
    async with store_endpoint() as store:
        store.orders["c-1"] = [order("c-1", "A-1", placed=1000)]
        url = f"http://localhost:{store.port}{ORDERS_PATH}"
        async with await api_client(permissive, f"{site_key}-boss") as api:
            assert (await _set_pull_url(api, site_key, url)).status_code == 200
        await permissive.stop()

        server = await servers()
        agent = await agent_client(server, f"{site_key}-ann")
        shopper, conv = await customer_chat(server, site, "c-1", "where is my order?")
        async with await api_client(server, f"{site_key}-ann") as agent_api:

            async def unavailable() -> dict[str, Any] | None:
                panel = await agent_api.get(f"/api/v1/conversations/{conv}/customer")
                if panel.status_code != 200:  # not assigned to her yet
                    return None
                view: dict[str, Any] = panel.json()["orders"]
                return view if view["state"] == "unavailable" else None

            view = await until(unavailable, scaled(10))
        assert view["error"] == UNREACHABLE, "the agent learns nothing about the address"
        async with await api_client(server, f"{site_key}-boss") as api:
            source = (await api.get(f"/api/v1/sites/{site_key}/order-source")).json()
        message = source["last_pull_error"]["message"]
        assert "localhost resolves to 127.0.0.1, a loopback address" in message
        assert store.requests == [], "the loopback server never saw a request"
        assert "localhost resolves to 127.0.0.1" in server.log_tail(), "logged as a warning"
        await shopper.close()
        await agent.close()


async def test_agents_see_one_message_whatever_failed_and_the_admin_sees_each_reason(
    redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(CHAT_OUTBOUND_ALLOW="127.0.0.1")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    closed_port = closed.getsockname()[1]
    async with store_endpoint() as store, await _admin(redis, site_key, server) as api:
        store.mode = "fail"
        cases = [
            (store.url_template, "c-500", ("HTTP 500",)),
            (f"http://127.0.0.1:{closed_port}{ORDERS_PATH}", "c-refused", ("ConnectError",)),
            # A resolver without network access may time out instead of saying "no such name".
            (f"http://no-such-store.invalid{ORDERS_PATH}", "c-dns", ("does not resolve", "within")),
        ]
        for url, customer, reasons in cases:
            assert (await _set_pull_url(api, site_key, url)).status_code == 200
            view = await _pulled(api, site_key, customer)
            assert (view["state"], view["error"]) == ("unavailable", UNREACHABLE)
            source = (await api.get(f"/api/v1/sites/{site_key}/order-source")).json()
            message = source["last_pull_error"]["message"]
            assert any(reason in message for reason in reasons), (reasons, message)
    closed.close()


# --- the guard itself, in this process -------------------------------------------------------
async def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebinding DNS server answers the check with an allowed address and any later lookup
    with another: there is no later lookup."""
    lookups = _fake_dns(monkeypatch, "rebind.test", ["127.0.0.1"], ["10.255.255.1"])
    async with store_endpoint() as store:
        store.orders["c-1"] = [order("c-1", "A-1", placed=1000)]
        url = f"http://rebind.test:{store.port}/customers/c-1/orders"
        answer = await outbound.request(
            "GET", url, allow=parse_allow("127.0.0.1"), timeout=scaled(5), max_bytes=10_000
        )
        assert answer.status == 200 and b"A-1" in answer.body
        assert lookups == ["rebind.test"]
        assert store.requests[0][1]["host"] == f"rebind.test:{store.port}", "Host keeps the name"


async def test_a_name_with_any_refused_address_is_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lookups = _fake_dns(monkeypatch, "mixed.test", ["8.8.8.8", "127.0.0.1"])
    async with store_endpoint() as store:
        with pytest.raises(outbound.Refused, match=r"mixed\.test resolves to 127\.0\.0\.1"):
            await outbound.request(
                "GET", f"http://mixed.test:{store.port}/", allow=parse_allow(""),
                timeout=scaled(5), max_bytes=10_000,
            )  # fmt: skip
        assert lookups == ["mixed.test"] and store.requests == []


async def test_a_redirect_is_not_followed() -> None:
    async with store_endpoint() as store:
        store.mode = "redirect"
        with pytest.raises(outbound.OutboundError, match="HTTP 302"):
            await outbound.request(
                "GET", store.url_template.replace("{customer_id}", "c-1"),
                allow=parse_allow("127.0.0.1"), timeout=scaled(5), max_bytes=10_000,
            )  # fmt: skip
        assert len(store.requests) == 1


def _fake_dns(monkeypatch: pytest.MonkeyPatch, name: str, *answers: list[str]) -> list[str]:
    """Make this loop's resolver answer lookups of `name` with `answers` in turn (the last one
    ever after: a rebinding DNS server); other hosts resolve as usual. Returns the list of
    lookups of `name` made."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    lookups: list[str] = []

    async def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != name:
            return await real(host, port, *args, **kwargs)
        addresses = answers[min(len(lookups), len(answers) - 1)]
        lookups.append(host)
        return [_info(address, int(port)) for address in addresses]

    monkeypatch.setattr(loop, "getaddrinfo", fake)
    return lookups


def _info(address: str, port: int) -> tuple[Any, ...]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
