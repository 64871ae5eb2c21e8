"""Which addresses outbound requests may reach: every class that is not global unicast is
refused with its name, IPv6 forms of an IPv4 address are judged by it, and the operator's
allow-list lets networks and host names through."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Network, ip_address

import pytest

from chatserver.config import ConfigError, Settings
from chatserver.core.netpolicy import Allow, embedded_ipv4, parse_allow, refusal


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("169.254.0.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("100.64.0.1", "shared"),
        ("100.127.255.254", "shared"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "reserved"),  # documentation
        ("198.18.0.1", "reserved"),  # benchmarking
        ("2001:db8::1", "reserved"),  # documentation
        ("4000::1", "reserved"),  # outside 2000::/3
        ("100::1", "reserved"),  # discard-only
    ],
)
def test_every_address_that_is_not_global_unicast_is_refused_with_its_class(
    address: str, rule: str
) -> None:
    why = refusal(ip_address(address))
    assert why is not None and why.rule == rule
    assert str(why).startswith(f"{ip_address(address)} is a") and rule in str(why)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700::1111"]
)
def test_global_unicast_addresses_pass(address: str) -> None:
    assert refusal(ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "inner", "rule"),
    [
        ("::ffff:127.0.0.1", "127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "169.254.169.254", "link-local"),
        ("::127.0.0.1", "127.0.0.1", "loopback"),  # IPv4-compatible
        ("::10.0.0.1", "10.0.0.1", "private"),
        ("2002:7f00:1::", "127.0.0.1", "loopback"),  # 6to4
        ("2002:a9fe:a9fe::1", "169.254.169.254", "link-local"),
        ("64:ff9b::127.0.0.1", "127.0.0.1", "loopback"),  # NAT64
        ("64:ff9b::192.168.0.1", "192.168.0.1", "private"),
    ],
)
def test_ipv6_forms_of_an_ipv4_address_are_judged_by_it(
    address: str, inner: str, rule: str
) -> None:
    why = refusal(ip_address(address))
    assert why is not None
    assert (why.rule, why.embedded) == (rule, IPv4Address(inner))
    assert f"a form of {inner}" in str(why)


@pytest.mark.parametrize("address", ["::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::8.8.8.8"])
def test_ipv6_forms_of_a_public_ipv4_address_pass(address: str) -> None:
    assert refusal(ip_address(address)) is None


def test_only_ipv6_forms_embed_an_ipv4_address() -> None:
    assert embedded_ipv4(ip_address("127.0.0.1")) is None
    assert embedded_ipv4(ip_address("::1")) is None  # loopback, not IPv4-compatible 0.0.0.1
    assert embedded_ipv4(ip_address("2606:4700::1111")) is None


def test_an_allowed_network_lets_its_addresses_through_and_no_others() -> None:
    allow = parse_allow("127.0.0.1/32, 10.1.0.0/16, fd00::/8")
    assert refusal(ip_address("127.0.0.1"), allow) is None
    assert refusal(ip_address("10.1.200.3"), allow) is None
    assert refusal(ip_address("fd00::5"), allow) is None
    for other in ("127.0.0.2", "10.2.0.1", "fc00::1", "169.254.169.254"):
        assert refusal(ip_address(other), allow) is not None, other


def test_an_allowed_ipv4_network_covers_the_ipv6_forms_of_its_addresses() -> None:
    allow = parse_allow("127.0.0.1")
    assert refusal(ip_address("::ffff:127.0.0.1"), allow) is None
    assert refusal(ip_address("64:ff9b::127.0.0.1"), allow) is None
    assert refusal(ip_address("::ffff:127.0.0.2"), allow) is not None


def test_an_allowed_host_name_passes_whatever_its_case_or_trailing_dot() -> None:
    allow = parse_allow("Store.Internal.")
    assert allow.hosts == frozenset({"store.internal"})
    assert allow.allows_host("store.internal") and allow.allows_host("STORE.internal.")
    assert not allow.allows_host("evil.store.internal")
    assert not allow.allows_host("internal")


def test_the_setting_reads_addresses_networks_and_names() -> None:
    allow = parse_allow(" 127.0.0.1 ,, [::1], 192.168.0.0/16,store.internal ,")
    assert allow == Allow(
        (IPv4Network("127.0.0.1/32"), IPv6Network("::1/128"), IPv4Network("192.168.0.0/16")),
        frozenset({"store.internal"}),
    )
    assert parse_allow("") == Allow()


@pytest.mark.parametrize(
    "entry",
    [
        "10.0.0.1/8",  # host bits set
        "10.0.0.0/33",
        "2130706433",  # numeric forms must be written out
        "0x7f.1",
        "127.1",
        "999.1.1.1",
        "http://store.internal",
        "store.internal:8080",
        "*",
        "a b",
        "-store.internal",
        "bücher.example",
    ],
)
def test_a_bad_entry_is_a_value_error_naming_it(entry: str) -> None:
    with pytest.raises(ValueError, match="entry") as info:
        parse_allow(f"127.0.0.1,{entry}")
    assert repr(entry) in str(info.value)


def test_the_settings_refuse_a_bad_outbound_allow_naming_the_option() -> None:
    assert Settings(outbound_allow="127.0.0.1,store.internal").validated()
    with pytest.raises(ConfigError, match=r"CHAT_OUTBOUND_ALLOW.*'10\.0\.0\.1/8'"):
        Settings(outbound_allow="10.0.0.1/8").validated()
