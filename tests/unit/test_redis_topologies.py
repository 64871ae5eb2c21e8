"""Redis topologies without a Redis: URL parsing, the scripts' sharded form, and the key
layout that lets every script and transaction run on Redis Cluster (one slot each)."""

from __future__ import annotations

import inspect
import re

import pytest
from redis.crc import key_slot

from chatserver.config import ConfigError, Settings
from chatserver.store import keys
from chatserver.store.clients import parse_url
from chatserver.store.scripts import _PLAIN_SCRIPTS, _SITE_SCRIPTS, _source, sharded


def test_cluster_url_lists_its_seed_nodes_and_credentials() -> None:
    topology = parse_url("redis+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2,[::1]:7002")
    assert topology.kind == "cluster"
    assert topology.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 6379), ("::1", 7002))
    assert (topology.username, topology.password, topology.tls) == ("app", "s@cret", False)
    assert parse_url("rediss+cluster://h:1").tls


def test_sentinel_url_names_the_master_and_database() -> None:
    topology = parse_url("redis+sentinel://:pw@s1:26380,s2/chat/2?sentinel_password=x")
    assert topology.kind == "sentinel"
    assert topology.nodes == (("s1", 26380), ("s2", 26379))
    assert (topology.master, topology.db, topology.password) == ("chat", 2, "pw")
    assert topology.sentinel_password == "x"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis+sentinel://s1:26379", "master's name"),
        ("redis+sentinel://s1:26379/chat/x", "not a number"),
        ("redis+cluster://h:port", "not a number"),
        ("redis+cluster:///", "at least one host"),
        ("redis+cluster://h:1/3", "database 0 only"),
    ],
)
def test_malformed_topology_urls_say_what_is_wrong(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_url(url)


def test_plain_urls_are_passed_on_as_they_are() -> None:
    for url in ("redis://h:1/0", "rediss://h", "unix:///run/redis.sock"):
        assert parse_url(url).kind == "single"


def test_settings_accept_topology_urls_and_check_the_replica_wait() -> None:
    Settings(redis_url="redis+cluster://h:1").validated()
    Settings(redis_url="redis+sentinel://h:1/chat", redis_replicas_ack=1).validated()
    with pytest.raises(ConfigError, match="names its master"):
        Settings(redis_url="redis+sentinel://h:1").validated()
    with pytest.raises(ConfigError, match=r"CHAT_REDIS_REPLICAS_ACK = -1: must be 0\.\.16"):
        Settings(redis_replicas_ack=-1).validated()


@pytest.mark.parametrize("name", _SITE_SCRIPTS + _PLAIN_SCRIPTS)
def test_every_publish_of_a_script_becomes_spublish_on_a_cluster(name: str) -> None:
    source = (_source("_lib") + "\n" if name in _SITE_SCRIPTS else "") + _source(name)
    converted = sharded(source)
    assert "'PUBLISH'" not in converted and '"PUBLISH"' not in converted
    assert converted.count("SPUBLISH") == len(re.findall(r"""['"]PUBLISH['"]""", source))


_SAMPLE = {"site": "shop1", "conversation_id": "c1", "address": "10.1.2.3", "login_hash": "ab",
           "department": "sales", "visitor": "v1", "hour": 7, "customer_key": "k", "day_ms": 0,
           "customer_id": "u1", "order_id": "o1", "key": "m1", "channel": "x", "login": "l",
           "sender": "s", "token_hash": "t", "process": "p", "tag": "s"}  # fmt: skip


def _tag(key: str) -> str:
    found = re.search(r"\{([^}]*)\}", key)
    return found.group(1) if found else ""


def test_every_key_of_one_hash_tag_lives_in_one_slot() -> None:
    """What makes each script and MULTI of one site, one conversation, one address or the
    mail outbox run on Redis Cluster: their keys (and the sharded channels) share a slot."""
    by_tag: dict[str, set[int]] = {}
    built = 0
    for name, function in inspect.getmembers(keys, inspect.isfunction):
        if name.startswith("_") or name in ("site_of_channel", "conversation_of_channel"):
            continue
        params = inspect.signature(function).parameters
        if not params or any(p not in _SAMPLE for p in params):
            continue
        value = function(**{p: _SAMPLE[p] for p in params})
        for key in value if isinstance(value, list) else [value]:
            tag = _tag(key)
            if tag:
                by_tag.setdefault(tag, set()).add(key_slot(key.encode()))
                built += 1
    assert built > 40
    assert {"s:shop1", "c:c1", "a:10.1.2.3", "mail"} <= set(by_tag)
    assert all(len(slots) == 1 for slots in by_tag.values()), by_tag
    assert len({key_slot(k.encode()) for k in keys.site_keys("shop1")}) == 1
