"""The load generator against a Redis Cluster: a small relay run (`python -m load relay --url
... --redis-url redis+cluster://...`) through a server on the session's cluster, checking
correctness only (docs/performance.md holds the figures of full runs)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from load.stack import UNLIMITED_ADDRESS
from tests.conftest import scaled
from tests.integration.cluster.redis_topologies import ClusterUnderTest
from tests.integration.conftest import StartServer

ROOT = Path(__file__).resolve().parents[3]


async def test_relay_through_a_server_on_the_cluster_delivers_every_message_once(
    cluster: ClusterUnderTest, servers: StartServer, tmp_path: Path
) -> None:
    server = await servers(redis_url=cluster.url, **UNLIMITED_ADDRESS)
    out = tmp_path / "report.json"
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "load", "relay", "--url", server.ws_url,
        "--redis-url", cluster.url, "--shoppers", "20", "--rate", "40", "--duration", "3",
        "--echo-seconds", "0", "--drain-seconds", "3", "--max-seconds", "50",
        "--json", str(out),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(scaled(60)):
        output, _ = await run.communicate()
    assert out.exists(), f"no report (exit {run.returncode}):\n{output.decode()}"
    report = json.loads(out.read_text())
    assert report["correct"], f"{report['problems']}\n{output.decode()}"
    assert report["redis"] == {"topology": "cluster", "started_by_run": False}
    figures = report["figures"]
    assert figures["sent"] > 0
    assert figures["delivered"] == figures["sent"]
    assert figures["lost"] == figures["duplicated"] == figures["out_of_order"] == 0
    # Redis's cost was read from the cluster's nodes: sharded publishes, replicas at work.
    redis = report["cost"]["redis"]
    assert "spublish" in {row["command"] for row in redis["commands"]}
    assert redis["replica_cpu_seconds"] > 0


async def test_the_generator_starts_a_cluster_only_for_its_own_servers() -> None:
    run = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "load", "relay", "--redis-cluster", "--url", "ws://127.0.0.1:1",
        "--redis-url", "redis+cluster://127.0.0.1:2,127.0.0.1:3",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(scaled(30)):
        _, error = await run.communicate()
    assert run.returncode != 0
    assert "give the cluster as --redis-url redis+cluster://" in error.decode()
