"""Building blocks for end-to-end tests: a site, agents, and logged-in protocol clients."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.core.model import Agent, Role, Site
from chatserver.store import sites
from chatserver.store.agents import Agents
from chatserver.store.scripts import Scripts
from tests.conftest import scaled
from tests.integration.servers import ServerProcess

PASSWORD = "correct horse"


async def make_site(
    redis: Redis, key: str, departments: tuple[str, ...] = ("sales", "support"),
    origins: tuple[str, ...] = (),
) -> Site:  # fmt: skip
    site = Site(key, f"Shop {key}", departments, origins, identity_secret="s3cret")
    await sites.save_site(redis, site)
    return site


async def make_agent(
    redis: Redis, site: Site, login: str, departments: tuple[str, ...] | None = None,
    capacity: int = 3, role: Role = Role.AGENT,
) -> Agent:  # fmt: skip
    agent = Agent(login, login.title(), site.key, departments or site.departments, capacity,
                  role=role)  # fmt: skip
    await Agents(redis, Scripts(redis)).save(agent, PASSWORD)
    return agent


async def login(server: ServerProcess, agent: str) -> str:
    async with httpx.AsyncClient(base_url=server.base_url, trust_env=False) as http:
        response = await http.post("/api/v1/login", json={"login": agent, "password": PASSWORD})
    response.raise_for_status()
    return str(response.json()["token"])


async def agent_client(server: ServerProcess, agent: str, online: bool = True) -> Client:
    """An agent's socket after welcome (and, if `online`, after going online)."""
    client = Client(f"{server.ws_url}/ws/v1/agent")
    await client.connect()
    await client.send({"type": "hello", "token": await login(server, agent)})
    await client.wait_for("welcome", scaled(10))
    if online:
        await client.send({"type": "status", "status": "online"})
        await client.wait_for("agent", scaled(10), status="online")
    return client


async def shopper_client(
    server: ServerProcess, site: Site, token: str | None = None, binary: bool = False,
    address: str | None = None,
) -> tuple[Client, dict[str, object]]:  # fmt: skip
    """A shopper's socket after welcome (from loopback `address`, if given)."""
    client = Client(
        f"{server.ws_url}/ws/v1/shopper?site={site.key}", binary=binary, local_address=address
    )
    await client.connect()
    hello: dict[str, object] = {"type": "hello"}
    if token:
        hello["token"] = token
    await client.send(hello)
    return client, await client.wait_for("welcome", scaled(10))


async def start_chat(client: Client, text: str, cmid: str = "first") -> str:
    """Start a conversation with a first message; returns its id once acked."""
    await client.send({"type": "start", "text": text, "client_msg_id": cmid})
    ack = await client.wait_for("ack", scaled(10), client_msg_id=cmid)
    return str(ack["conversation_id"])
