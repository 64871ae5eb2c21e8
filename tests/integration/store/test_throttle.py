"""The login throttle's arithmetic against a real Redis, with the clock in the test's hands."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from chatserver.store import throttle
from chatserver.store.scripts import Scripts
from chatserver.store.throttle import LoginThrottle

NOW = 1_700_000_000_000


def _address() -> str:
    return f"192.0.2.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"  # one per test


async def test_five_free_tries_then_delays_double_up_to_their_cap(redis: Redis) -> None:
    logins, address = LoginThrottle(redis, Scripts(redis)), _address()
    assert [await logins.attempt("ann", address, NOW) for _ in range(5)] == [0] * 5
    assert await logins.attempt("ann", address, NOW) == 1  # the fifth try armed 1 s
    now, waits = NOW, []
    for _ in range(12):
        now += 1000 * 2 ** len(waits)  # wait out the delay armed by the last try
        assert await logins.attempt("ann", address, now) == 0
        waits.append(await logins.attempt("ann", address, now))
    assert waits[:5] == [2, 4, 8, 16, 32]
    assert max(waits) == throttle.LOGIN_LONGEST_DELAY_MS // 1000


async def test_another_login_from_the_address_and_the_login_elsewhere_go_on(
    redis: Redis,
) -> None:
    logins, address = LoginThrottle(redis, Scripts(redis)), _address()
    for _ in range(5):
        await logins.attempt("ann", address, NOW)
    assert await logins.attempt("ann", address, NOW) > 0
    assert await logins.attempt("bob", address, NOW) == 0
    assert await logins.attempt("ann", _address(), NOW) == 0


async def test_an_address_gets_thirty_free_tries_over_all_logins(redis: Redis) -> None:
    logins, address = LoginThrottle(redis, Scripts(redis)), _address()
    tries = [await logins.attempt(f"user{i}", address, NOW) for i in range(31)]
    assert tries[:30] == [0] * 30 and tries[30] == 1


async def test_a_right_password_starts_the_login_over_and_is_not_counted(redis: Redis) -> None:
    logins, address = LoginThrottle(redis, Scripts(redis)), _address()
    for _ in range(4):
        await logins.attempt("ann", address, NOW)
    await logins.succeeded("ann", address)
    assert [await logins.attempt("ann", address, NOW) for _ in range(5)] == [0] * 5
    for i in range(21):  # 4 + 5 + 21 tries, one of them good: 29 count against the address
        await logins.attempt(f"other{i}", address, NOW)
    assert await logins.attempt("zed", address, NOW) == 0  # the 30th: still free
    assert await logins.attempt("zoe", address, NOW) > 0
