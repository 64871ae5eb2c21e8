"""Sessions belong to one version of one account: a new password or role, or removing the
agent, ends them; a name, departments or capacity do not. And the demo-password marker."""

from __future__ import annotations

import dataclasses

import orjson

from chatserver.core.model import Role
from chatserver.store import keys, sessions
from chatserver.store.sessions import Session
from tests.integration.store.conftest import PASSWORD, Shop, ShopFactory

TTL = 60


async def _valid(shop: Shop, token: str) -> bool:
    found = await sessions.session_agent(shop.store.redis, token)
    if found is None:
        return False
    session, agent = found
    checked = await sessions.still_valid(shop.store.redis, [(session, agent.site)])
    return checked == [True]


async def _version(shop: Shop, name: str) -> str:
    agent = await shop.store.agents.get(shop.login(name))
    assert agent is not None
    return agent.version


async def test_a_session_names_its_agent_and_the_account_version(shop: Shop) -> None:
    login = shop.login("ann")
    agent = await shop.store.agents.verify_password(login, PASSWORD)
    assert agent is not None and agent.version
    token = await sessions.create_session(shop.store.redis, login, TTL, agent.version)
    found = await sessions.session_agent(shop.store.redis, token)
    assert found is not None
    session, same = found
    assert (session.login, session.version, same.login) == (login, agent.version, login)
    stored = await shop.store.redis.get(keys.session(session.digest))
    assert token not in str(stored) and await shop.store.redis.ttl(keys.session(session.digest)) > 0
    assert await sessions.session_agent(shop.store.redis, token + "x") is None
    assert await sessions.session_agent(shop.store.redis, "") is None
    assert await sessions.session_agent(shop.store.redis, "x" * 201) is None


async def test_a_new_password_or_role_ends_every_session_and_nothing_else_does(
    shop: Shop,
) -> None:
    ann = shop.agents["ann"]
    token = await sessions.create_session(shop.store.redis, ann.login, TTL)
    first = await _version(shop, "ann")
    await shop.store.agents.save(dataclasses.replace(ann, name="Ann B.", departments=("support",)))
    await shop.store.agents.set_capacity(ann, 1, now_ms=shop.now)
    assert await _version(shop, "ann") == first and await _valid(shop, token)

    saved = await shop.store.agents.save(ann, password="another password")
    assert saved.version != first and saved.version == await _version(shop, "ann")
    assert not await _valid(shop, token)

    token = await sessions.create_session(shop.store.redis, ann.login, TTL)
    assert await _valid(shop, token)
    await shop.store.agents.save(dataclasses.replace(ann, role=Role.SUPERVISOR))
    assert not await _valid(shop, token), "a new role: log in again"


async def test_a_session_made_for_an_old_version_is_refused_at_once(shop: Shop) -> None:
    """The version comes with the password that was checked: a change in between wins."""
    login = shop.login("ann")
    checked = await shop.store.agents.verify_password(login, PASSWORD)
    assert checked is not None
    await shop.store.agents.save(shop.agents["ann"], password="changed meanwhile")
    token = await sessions.create_session(shop.store.redis, login, TTL, checked.version)
    assert not await _valid(shop, token)


async def test_a_login_removed_and_created_again_elsewhere_has_none_of_its_old_sessions(
    shop: Shop, shop_factory: ShopFactory, site_key: str
) -> None:
    ann = shop.agents["ann"]
    token = await sessions.create_session(shop.store.redis, ann.login, TTL)
    assert await shop.store.agents.remove(ann.login)
    assert not await _valid(shop, token)
    elsewhere = dataclasses.replace(ann, site=f"{site_key}-b")
    await shop.store.agents.save(elsewhere, password=PASSWORD)
    assert await sessions.session_agent(shop.store.redis, token) is None


async def test_still_valid_checks_many_sessions_in_one_go(shop: Shop) -> None:
    redis = shop.store.redis
    tokens = [await sessions.create_session(redis, shop.login(n), TTL) for n in ("ann", "bob")]
    found = [await sessions.session_agent(redis, t) for t in tokens]
    checks = [(f[0], f[1].site) for f in found if f is not None]
    await sessions.end_session(redis, tokens[0])
    assert await sessions.still_valid(redis, checks) == [False, True]
    assert await sessions.still_valid(redis, []) == []
    wrong_site = [(checks[1][0], "elsewhere")]
    assert await sessions.still_valid(redis, wrong_site) == [False]


async def test_ending_a_session_tells_the_agents_sockets(shop: Shop) -> None:
    redis = shop.store.redis
    token = await sessions.create_session(redis, shop.login("ann"), TTL)
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.site_channel(shop.key))
        await pubsub.get_message(timeout=1)  # the subscribe confirmation
        assert await sessions.end_session(redis, token) == shop.login("ann")
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    assert message is not None
    assert orjson.loads(message["data"]) == {"t": "revoked", "agent": shop.login("ann")}
    assert await sessions.end_session(redis, token) is None
    assert await sessions.session_agent(redis, token) is None


async def test_sessions_made_before_account_versions_last_until_the_first_change(
    shop: Shop,
) -> None:
    """A session holding the login alone, of an agent saved before versions existed."""
    redis, ann = shop.store.redis, shop.agents["ann"]
    profile = orjson.loads(await redis.hget(keys.agents(shop.key), ann.login))
    del profile["version"]
    await redis.hset(keys.agents(shop.key), ann.login, orjson.dumps(profile))
    token = "an-old-token"
    session = Session(sessions._digest(token), ann.login, "")
    await redis.set(keys.session(session.digest), ann.login, ex=TTL)
    assert await _valid(shop, token)
    await shop.store.agents.save(ann, password="a brand new one")
    assert not await _valid(shop, token)


async def test_the_demo_password_marker_goes_with_a_new_password_or_the_agent(
    shop: Shop,
) -> None:
    redis, agents = shop.store.redis, shop.store.agents
    ann, bob = shop.agents["ann"], shop.agents["bob"]
    try:
        for agent in (ann, bob):
            await agents.mark_demo_password(agent.login)
        await agents.save(dataclasses.replace(ann, name="Ann B."))
        assert await redis.sismember(keys.DEMO_PASSWORDS, ann.login), "still the demo password"
        await agents.save(ann, password="not the demo one")
        assert not await redis.sismember(keys.DEMO_PASSWORDS, ann.login)
        assert await agents.remove(bob.login)
        assert not await redis.sismember(keys.DEMO_PASSWORDS, bob.login)
    finally:  # servers of other tests share this Redis: `serve` refuses while the set has any
        await redis.srem(keys.DEMO_PASSWORDS, ann.login, bob.login)
