"""Login throttling per client address and per login+address, counted before the password is
checked (lua/login_attempt.lua), with delays that double past a few free tries.

There is no lock of a login from every address: that would let anyone lock a team out. A
guesser spread over many addresses is slowed per address; the password rule (at least
MIN_PASSWORD characters) keeps guessing hopeless at that pace.
"""

from __future__ import annotations

import hashlib
import math

from redis.asyncio import Redis

from chatserver.store import keys
from chatserver.store.scripts import Scripts

LOGIN_FREE_TRIES = 5  # per login from one address
ADDRESS_FREE_TRIES = 30  # per address, every login together (an office shares one)
FIRST_DELAY_MS = 1_000
LOGIN_LONGEST_DELAY_MS = 15 * 60 * 1000
ADDRESS_LONGEST_DELAY_MS = 60 * 1000
QUIET_MS = 15 * 60 * 1000  # counts start over after this long without an attempt


class LoginThrottle:
    def __init__(self, redis: Redis, scripts: Scripts) -> None:
        self._redis = redis
        self._scripts = scripts

    async def attempt(self, login: str, address: str, now_ms: int) -> int:
        """Count an attempt; 0 if its password may be checked now, else seconds to wait."""
        args = [now_ms, LOGIN_FREE_TRIES, ADDRESS_FREE_TRIES, FIRST_DELAY_MS,
                LOGIN_LONGEST_DELAY_MS, ADDRESS_LONGEST_DELAY_MS, QUIET_MS]  # fmt: skip
        go, wait_ms = await self._scripts.call("login_attempt", _keys(login, address), args)
        return 0 if int(go) else max(1, math.ceil(int(wait_ms) / 1000))

    async def succeeded(self, login: str, address: str) -> None:
        """A right password: this login's tries from this address start over, and the attempt
        does not count against the address (an office's good logins never slow it down)."""
        login_key, address_key = _keys(login, address)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(login_key)
            pipe.hincrby(address_key, "tries", -1)
            await pipe.execute()


def _keys(login: str, address: str) -> list[str]:
    # Hashed: a login string from the wire never becomes part of a key as is.
    name = hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]
    return [keys.login_attempts(address, name), keys.address_attempts(address)]
