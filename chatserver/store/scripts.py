"""The Lua scripts: read once from `lua/`, registered with Redis, called by name.

Site scripts get `lua/_lib.lua` prepended (shared helpers and the names of the 17 site keys).
redis-py's Script object re-loads a script after a Redis restart (NOSCRIPT), so a restarted
Redis needs nothing from us.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

_SITE_SCRIPTS = (
    "enqueue",
    "assign",
    "finish",
    "transfer",
    "requeue_agent",
    "agent_set",
    "presence",
    "sweep",
    "leave",
    "take",
    "first_reply",
)
_PLAIN_SCRIPTS = ("append", "login_attempt", "mail_enqueue", "mail_settle", "mail_promote")


def _source(name: str) -> str:
    return (resources.files("chatserver.store") / "lua" / f"{name}.lua").read_text("utf-8")


class Scripts:
    """The registered scripts of one Redis client, as attributes named after their files."""

    def __init__(self, redis: Redis, timed: Callable[[str, float], None] | None = None) -> None:
        """`timed(name, seconds)`, if given, is told how long each call took (metrics)."""
        self._timed = timed
        lib = _source("_lib")
        self._scripts: dict[str, AsyncScript] = {}
        for name in _SITE_SCRIPTS:
            self._scripts[name] = redis.register_script(lib + "\n" + _source(name))
        for name in _PLAIN_SCRIPTS:
            self._scripts[name] = redis.register_script(_source(name))

    async def call(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run script `name` with KEYS `keys` and ARGV `args`."""
        if self._timed is None:
            return await self._scripts[name](keys=keys, args=args)
        began = time.perf_counter()
        try:
            return await self._scripts[name](keys=keys, args=args)
        finally:
            self._timed(name, time.perf_counter() - began)
