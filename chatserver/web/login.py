"""Agent sign-in, shared by `POST /api/v1/login` and the console's form.

Every attempt is counted (per address, per login+address) before its password is checked, and
only `password_checks` passwords are checked at once per process: a burst of attempts costs a
few hashes, not one each. An unknown login costs the same hash as a known one (no oracle).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.datastructures import Address

from chatserver.core.model import Agent
from chatserver.gateway.process import Gateway

CHECK_WAIT_SECONDS = 2.0  # how long an attempt waits for a free password check before 429


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a sign-in failed: HTTP status, error code, and seconds to wait (429)."""

    status: int
    code: str
    retry_after: int = 0

    @property
    def message(self) -> str:
        if self.code == "bad_credentials":
            return "wrong login or password"
        if self.code == "busy":
            return "too many sign-ins at once: retry in a moment"
        return f"too many attempts: retry in {self.retry_after} s"


async def sign_in(gateway: Gateway, login: str, password: str, address: str) -> Agent | Refused:
    """The agent whose password this is, or why not. Raises RedisError if storage is down."""
    hub = gateway.hub
    wait = await hub.logins.attempt(login, address, hub.now_ms())
    if wait:
        return Refused(429, "too_many_attempts", wait)
    try:
        async with asyncio.timeout(CHECK_WAIT_SECONDS):
            await gateway.password_slots.acquire()
    except TimeoutError:
        return Refused(429, "busy", 1)
    try:
        agent = await hub.verify_password(login, password)
    finally:
        gateway.password_slots.release()
    if agent is None:
        return Refused(401, "bad_credentials")
    await hub.logins.succeeded(login, address)
    return agent


def client_address(client: Address | None) -> str:
    """The client's address as uvicorn gives it (the trusted proxy's X-Forwarded-For, if any)."""
    return client.host if client else "unknown"
