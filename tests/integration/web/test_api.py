"""The REST API for admins and stores: described by OpenAPI, role-checked, and CSRF-checked
when it rides on the console's cookie."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from chatserver.core.model import Role
from chatserver.web import api, openapi
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import api_client
from tests.integration.web.test_login import console_session
from tests.integration.world import PASSWORD, make_agent, make_site


def test_every_route_is_described_and_every_description_is_a_route() -> None:
    routed = {(m.lower(), r.path) for r in api.routes for m in (r.methods or ()) if m != "HEAD"}  # type: ignore[attr-defined]
    assert routed == openapi.operations()


async def test_the_openapi_document_is_served_without_login(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        response = await http.get("/api/v1/openapi.json")
    doc = response.json()
    assert response.status_code == 200 and doc["openapi"].startswith("3.1")
    assert doc["paths"]["/api/v1/sites/{site}/push"]["post"]["security"] == []
    refs = {v for v in str(doc).split("'") if v.startswith("#/components/schemas/")}
    assert {r.rsplit("/", 1)[1] for r in refs} <= set(doc["components"]["schemas"])


async def test_without_a_session_the_api_answers_401(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        assert (await http.get("/api/v1/me")).status_code == 401
        bad = await http.get("/api/v1/agents", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.json()["error"] == "not_authenticated"


async def test_admins_manage_agents_supervisors_only_limits_and_agents_neither(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    await make_agent(redis, site, f"{site_key}-sup", role=Role.SUPERVISOR)
    await make_agent(redis, site, f"{site_key}-amy")
    new = {
        "id": f"{site_key}-ben",
        "name": "Ben",
        "password": PASSWORD,
        "departments": ["sales"],
        "max_capacity": 2,
    }
    async with await api_client(server, f"{site_key}-amy") as amy:
        assert (await amy.post("/api/v1/agents", json=new)).status_code == 403
        limit = await amy.patch(f"/api/v1/agents/{site_key}-amy", json={"max_capacity": 1})
        assert limit.status_code == 403
        listed = (await amy.get("/api/v1/agents")).json()["agents"]
        assert {a["id"] for a in listed} == {
            f"{site_key}-boss",
            f"{site_key}-sup",
            f"{site_key}-amy",
        }
    async with await api_client(server, f"{site_key}-boss") as boss:
        created = await boss.post("/api/v1/agents", json=new)
        assert created.status_code == 201, created.text
        assert created.json()["max_capacity"] == 2 and created.json()["capacity"] == 2
        assert (await boss.post("/api/v1/agents", json=new)).status_code == 409
        wrong = await boss.post("/api/v1/agents", json={**new, "id": "x", "departments": ["nope"]})
        assert wrong.status_code == 422
    async with await api_client(server, f"{site_key}-ben") as ben:
        assert (await ben.get("/api/v1/me")).json()["agent"]["name"] == "Ben"
    async with await api_client(server, f"{site_key}-sup") as sup:
        lowered = await sup.patch(f"/api/v1/agents/{site_key}-ben", json={"max_capacity": 1})
        assert lowered.status_code == 200, lowered.text
        assert (lowered.json()["max_capacity"], lowered.json()["capacity"]) == (1, 1)
        renamed = await sup.patch(f"/api/v1/agents/{site_key}-ben", json={"name": "B"})
        assert renamed.status_code == 403
        assert (await sup.delete(f"/api/v1/agents/{site_key}-ben")).status_code == 403
    async with await api_client(server, f"{site_key}-boss") as boss:
        assert (await boss.delete(f"/api/v1/agents/{site_key}-ben")).status_code == 204
        assert (await boss.patch("/api/v1/agents/ghost", json={"name": "G"})).status_code == 404


async def test_a_site_is_shown_to_its_own_agents_only_and_never_with_its_secrets(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    other = await make_site(redis, f"{site_key}x")
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    async with await api_client(server, f"{site_key}-boss") as boss:
        mine = await boss.get(f"/api/v1/sites/{site_key}")
        assert mine.json()["identity_secret_set"] is True
        assert site.identity_secret not in mine.text
        assert (await boss.get(f"/api/v1/sites/{other.key}")).status_code == 404
        changed = await boss.patch(
            f"/api/v1/sites/{site_key}",
            json={"name": "Shop 2", "allowed_origins": ["https://a.example/"]},
        )
        assert changed.json()["allowed_origins"] == ["https://a.example"]
        rotated = (await boss.post(f"/api/v1/sites/{site_key}/push-secret")).json()
        assert len(rotated["push_secret"]) > 30
        source = (await boss.get(f"/api/v1/sites/{site_key}/order-source")).json()
        assert source["push_secret_set"] is True and rotated["push_secret"] not in str(source)


async def test_quick_replies_personal_ones_are_their_owners_and_shared_ones_admins(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-boss", role=Role.ADMIN)
    await make_agent(redis, site, f"{site_key}-amy", departments=("sales",))
    await make_agent(redis, site, f"{site_key}-bo", departments=("support",))
    reply = {"shortcut": "hi", "title": "Hi", "text": "Hi {{ customer.name }}"}
    async with await api_client(server, f"{site_key}-amy") as amy:
        mine = await amy.post("/api/v1/quick-replies", json=reply)
        assert mine.status_code == 201 and mine.json()["scope"] == "personal"
        shared = await amy.post("/api/v1/quick-replies", json={**reply, "scope": "shared"})
        assert shared.status_code == 403
        loop = await amy.post("/api/v1/quick-replies", json={**reply, "text": "{% for x in y %}"})
        assert loop.status_code == 422
    async with await api_client(server, f"{site_key}-boss") as boss:
        for dept in ("sales", "support"):
            made = await boss.post(
                "/api/v1/quick-replies",
                json={**reply, "scope": "shared", "shortcut": dept, "department": dept},
            )
            assert made.status_code == 201, made.text
    async with await api_client(server, f"{site_key}-bo") as bo:
        seen = [
            r["shortcut"] for r in (await bo.get("/api/v1/quick-replies")).json()["quick_replies"]
        ]
        assert seen == ["support"]
        gone = await bo.delete(f"/api/v1/quick-replies/{mine.json()['id']}")
        assert gone.status_code == 404
    async with await api_client(server, f"{site_key}-amy") as amy:
        seen = [
            r["shortcut"] for r in (await amy.get("/api/v1/quick-replies")).json()["quick_replies"]
        ]
        assert seen == ["hi", "sales"]
        edited = await amy.put(
            f"/api/v1/quick-replies/{mine.json()['id']}", json={"title": "Hello"}
        )
        assert edited.json()["title"] == "Hello" and edited.json()["text"] == reply["text"]
        assert (await amy.delete(f"/api/v1/quick-replies/{mine.json()['id']}")).status_code == 204


async def test_a_state_changing_request_on_the_console_cookie_needs_the_csrf_token(
    redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key)
    await make_agent(redis, site, f"{site_key}-amy")
    reply = {"shortcut": "hi", "title": "Hi", "text": "Hello"}
    async with console_session(server, f"{site_key}-amy") as (http, csrf):
        assert (await http.get("/api/v1/me")).status_code == 200  # reading needs no token
        refused = await http.post("/api/v1/quick-replies", json=reply)
        assert refused.status_code == 403 and refused.json()["error"] == "csrf"
        forged = await http.post(
            "/api/v1/quick-replies", json=reply, headers={"X-CSRF-Token": csrf[:-2] + "xx"}
        )
        assert forged.status_code == 403
        listed = (await http.get("/api/v1/quick-replies")).json()["quick_replies"]
        assert listed == [], "nothing was stored by the refused requests"
        accepted = await http.post(
            "/api/v1/quick-replies", json=reply, headers={"X-CSRF-Token": csrf}
        )
        assert accepted.status_code == 201
