"""Three server processes behind HAProxy, configured by deploy/haproxy.cfg itself: one is
killed, its clients come back through the load balancer to the others and resume with
nothing lost or duplicated (tests/unit/test_deploy.py checks the deploy/ files)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from chatserver.client import ResumingClient
from chatserver.store import keys
from chatserver.store.embedded import free_port
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.world import login, make_agent, make_site

ROOT = Path(__file__).resolve().parents[3]
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin")
needs_haproxy = pytest.mark.skipif(
    HAPROXY is None, reason="haproxy is not installed (scripts/test.sh installs Debian's)"
)


def _spawn(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip


@contextlib.asynccontextmanager
async def _haproxy(backends: list[ServerProcess], workdir: Path) -> AsyncIterator[str]:
    """deploy/haproxy.cfg in front of `backends`; yields the balancer's ws:// base URL."""
    assert HAPROXY is not None
    port = free_port()
    env = {**os.environ, "LB_BIND": f"127.0.0.1:{port}"}
    env.update({f"CHAT{i + 1}": f"127.0.0.1:{s.port}" for i, s in enumerate(backends)})
    log_path = workdir / "haproxy.log"
    process = _spawn([HAPROXY, "-db", "-f", str(HAPROXY_CFG)], env, log_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as c:
            async with asyncio.timeout(scaled(15)):
                while True:  # every backend up in HAProxy's eyes: /readyz through it
                    with contextlib.suppress(httpx.TransportError):
                        if (await c.get("/readyz")).status_code == 200:
                            break
                    await asyncio.sleep(0.05)
        yield f"ws://127.0.0.1:{port}"
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)
        print(log_path.read_text(errors="replace")[-3000:])  # shown if the test fails


@needs_haproxy
async def test_killed_server_behind_haproxy_loses_and_duplicates_nothing(
    redis: Redis, site_key: str, servers: StartServer, tmp_path: Path
) -> None:
    backends = [await servers(CHAT_FORWARDED_ALLOW_IPS="127.0.0.1") for _ in range(3)]
    async with _haproxy(backends, tmp_path / "haproxy") as lb:
        site = await make_site(redis, site_key, departments=("sales",))
        agents = []
        for i in range(3):
            await make_agent(redis, site, f"{site_key}-ag{i}")
            token = await login(backends[i], f"{site_key}-ag{i}")
            agent = ResumingClient([f"{lb}/ws/v1/agent"], {"token": token})
            await agent.start()
            await agent.send({"type": "status", "status": "online"})
            agents.append(agent)
        shoppers = []
        for _ in range(6):
            shopper = ResumingClient([f"{lb}/ws/v1/shopper?site={site_key}"], {"site": site_key})
            await shopper.start()
            await shopper.send({"type": "start"})
            await shopper.until(lambda s=shopper: any(f.get("state") == "assigned"
                                                      for f in s.events), scaled(10))  # fmt: skip
            shoppers.append(shopper)
        conv_of = {id(s): next(iter(s.logs)) for s in shoppers}
        everyone = [*shoppers, *agents]
        for round_ in range(10):
            if round_ == 3:
                await backends[0].kill()
            for s in shoppers:
                await s.send_message(conv_of[id(s)], f"shopper {round_}")
            await asyncio.sleep(0.05)  # pacing of the traffic, not a synchronisation
        for client in everyone:
            await client.until(lambda c=client: not c.outbox, scaled(30))
        assert sum(c.reconnects for c in everyone) >= 1, "someone was on the killed server"
        for s in shoppers:
            conv = conv_of[id(s)]
            rows = await redis.xrange(keys.transcript(conv))
            stored = [i for i, f in rows if orjson.loads(f["e"])["kind"] == "message"]
            assert len(stored) == 10
            acked = {a["id"] for a in s.acks.values()}
            assert acked == set(stored)
            await s.until(lambda s=s, conv=conv: len(s.logs[conv].messages()) == 10, scaled(20))
            log = s.logs[conv]
            assert [f["id"] for f in log.messages()] == stored
            assert log.duplicates == 0 and log.out_of_order == 0
            holder = next(a for a in agents if conv in a.logs)
            await holder.until(lambda a=holder, conv=conv: len(a.logs[conv].messages()) == 10,
                               scaled(20))  # fmt: skip
            assert [f["id"] for f in holder.logs[conv].messages()] == stored
            assert holder.logs[conv].duplicates == 0
        for client in everyone:
            await client.stop()
