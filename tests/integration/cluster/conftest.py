"""Fixtures of the multi-machine tests: a real Redis Cluster and a Sentinel-watched master for
the session (Debian's redis-server >= 7), and chatserver processes pointed at them.

They run in CI; `CHAT_TEST_SKIP_CLUSTER=1` skips them locally (they start 6 to 12 Redis
processes). Without a redis-server >= 7 on the machine they are skipped with the reason
(scripts/test.sh installs Debian's)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from chatserver.store import clients
from load import topologies
from tests.conftest import scaled
from tests.integration.cluster.redis_topologies import (
    ClusterUnderTest,
    SentinelUnderTest,
    redis_major,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = ""
    if os.environ.get("CHAT_TEST_SKIP_CLUSTER", "") not in ("", "0"):
        reason = "CHAT_TEST_SKIP_CLUSTER is set"
    elif redis_major() < 7:
        reason = "needs Debian's redis-server >= 7 (scripts/test.sh installs it)"
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.slow)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
async def redis_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ClusterUnderTest]:
    cluster = await ClusterUnderTest.create(
        tmp_path_factory.mktemp("cluster"),
        start_timeout=scaled(topologies.START_TIMEOUT),
        healthy_timeout=scaled(topologies.HEALTHY_TIMEOUT),
    )
    yield cluster
    await cluster.stop()


@pytest.fixture(scope="session")
async def redis_sentinel(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[SentinelUnderTest]:
    topology = await SentinelUnderTest.create(tmp_path_factory.mktemp("sentinel"))
    yield topology
    await topology.stop()


@pytest.fixture
async def cluster(redis_cluster: ClusterUnderTest) -> AsyncIterator[ClusterUnderTest]:
    """The session's cluster, healthy again before the test (a test before may have killed a
    master: it rejoins as a replica)."""
    await redis_cluster.wait_healthy()
    yield redis_cluster


@pytest.fixture
async def cluster_redis(cluster: ClusterUnderTest) -> AsyncIterator[Redis]:
    """The test's own cluster client (what the servers use, as `chatserver` builds it)."""
    client = clients.plain_client(cluster.url)
    yield client
    await client.aclose()
