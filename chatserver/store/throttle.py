"""Login throttling: failed logins counted per login, per client address, and per both, in
fixed windows; past a limit, logins are refused until the window ends (even with the right
password, so guessing gains nothing)."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from chatserver.store import keys

WINDOW_SECONDS = 15 * 60
# (scope, failures allowed per window). One agent's own typos lock only their address; a
# guesser spread over many addresses is stopped per login; an office behind one address is
# stopped only after many failures.
LIMITS = (("login_ip", 5), ("login", 20), ("ip", 100))


def _scopes(login: str, ip: str) -> dict[str, str]:
    # Hashed: a login string from the wire never becomes part of a key as is.
    name = hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]
    return {"login_ip": f"{name}|{ip}", "login": name, "ip": ip}


async def retry_after(redis: Redis, login: str, ip: str) -> int:
    """Seconds until this login may be tried again from `ip` (0: now)."""
    scopes = _scopes(login, ip)
    async with redis.pipeline(transaction=False) as pipe:
        for scope, _ in LIMITS:
            pipe.get(keys.login_failures(scope, scopes[scope]))
            pipe.ttl(keys.login_failures(scope, scopes[scope]))
        replies = await pipe.execute()
    wait = 0
    for i, (_, limit) in enumerate(LIMITS):
        count, ttl = replies[2 * i], replies[2 * i + 1]
        if count is not None and int(count) >= limit:
            wait = max(wait, int(ttl) if int(ttl) > 0 else 1)
    return wait


async def failed(redis: Redis, login: str, ip: str) -> None:
    """Count a failed login in every scope (a window starts with the first failure)."""
    scopes = _scopes(login, ip)
    async with redis.pipeline(transaction=True) as pipe:
        for scope, _ in LIMITS:
            key = keys.login_failures(scope, scopes[scope])
            pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
            pipe.incr(key)
        await pipe.execute()


async def succeeded(redis: Redis, login: str, ip: str) -> None:
    """A good login forgives this address's earlier typos for that login."""
    await redis.delete(keys.login_failures("login_ip", _scopes(login, ip)["login_ip"]))
