"""Which addresses outbound requests (order pulls, later webhooks) may reach.

Sans I/O: `refusal` judges one resolved address against an `Allow` list and says why it is
refused (or None); `parse_allow` reads the `outbound_allow` setting. Only global unicast
addresses pass: loopback, private, link-local, shared, multicast, reserved, unspecified and
broadcast ones are refused, and an IPv6 address that embeds an IPv4 one (IPv4-mapped,
IPv4-compatible, 6to4, NAT64) is judged by that IPv4 address, which is where it leads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# Named classes, first match wins (broadcast before the reserved 240/4 that holds it).
_IPV4: tuple[tuple[str, IPv4Network], ...] = tuple(
    (rule, IPv4Network(net))
    for rule, net in (
        ("unspecified", "0.0.0.0/8"),
        ("loopback", "127.0.0.0/8"),
        ("private", "10.0.0.0/8"),
        ("private", "172.16.0.0/12"),
        ("private", "192.168.0.0/16"),
        ("shared", "100.64.0.0/10"),
        ("link-local", "169.254.0.0/16"),  # holds the cloud metadata service 169.254.169.254
        ("multicast", "224.0.0.0/4"),
        ("broadcast", "255.255.255.255/32"),
        ("reserved", "240.0.0.0/4"),
    )
)
_IPV6: tuple[tuple[str, IPv6Network], ...] = tuple(
    (rule, IPv6Network(net))
    for rule, net in (
        ("unspecified", "::/128"),
        ("loopback", "::1/128"),
        ("private", "fc00::/7"),  # unique local
        ("private", "fec0::/10"),  # site-local (deprecated)
        ("link-local", "fe80::/10"),
        ("multicast", "ff00::/8"),
    )
)
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_COMPATIBLE = IPv6Network("::/96")  # ::a.b.c.d (deprecated IPv4-compatible)
_SIX_TO_FOUR = IPv6Network("2002::/16")
_NAT64 = IPv6Network("64:ff9b::/96")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an address is refused: `rule` is loopback, private, link-local, shared, multicast,
    reserved, unspecified or broadcast; `network` the range that matched (None when the
    address is outside every public range without a name of its own); `embedded` the IPv4
    address inside an IPv6 one, when that is what was judged."""

    address: IPAddress
    rule: str
    network: IPNetwork | None = None
    embedded: IPv4Address | None = None

    @property
    def what(self) -> str:
        """The class, as in 'a loopback address (127.0.0.0/8)'."""
        where = f" ({self.network})" if self.network is not None else ""
        kind = f"{'an' if self.rule[0] in 'aeiou' else 'a'} {self.rule} address{where}"
        return kind if self.embedded is None else f"a form of {self.embedded}, {kind}"

    def __str__(self) -> str:
        return f"{self.address} is {self.what}"


@dataclass(frozen=True, slots=True)
class Allow:
    """What the operator lets through although the rules refuse it: addresses in `networks`,
    and hosts named in `hosts` (lower case, no trailing dot) whatever they resolve to."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    def allows_host(self, host: str) -> bool:
        """Whether `host` (a name as it appears in a URL) is allowed by name."""
        return normalize_host(host) in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        """Whether `address`, or the IPv4 address it embeds, is in an allowed network."""
        candidates = [address, embedded_ipv4(address)]
        return any(
            a is not None and a.version == n.version and a in n
            for a in candidates
            for n in self.networks
        )


NOTHING = Allow()


def refusal(address: IPAddress, allow: Allow = NOTHING) -> Refusal | None:
    """Why `address` may not be reached (None: it may). Allowed networks pass first; an
    IPv6 address embedding an IPv4 one is judged by the IPv4 address."""
    if allow.allows_address(address):
        return None
    inner = embedded_ipv4(address)
    if inner is not None:
        judged = _classify(inner)
        return None if judged is None else Refusal(address, judged[0], judged[1], inner)
    judged = _classify(address)
    return None if judged is None else Refusal(address, judged[0], judged[1])


def embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 one leads to (IPv4-mapped, IPv4-compatible, 6to4, NAT64)."""
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):  # not :: nor ::1
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse_allow(text: str) -> Allow:
    """The `outbound_allow` setting: comma-separated addresses, networks (`10.1.0.0/16`,
    `[::1]`, `fd00::/8`) and host names. A bad entry is a ValueError naming it."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        network = _network(entry)
        if network is not None:
            networks.append(network)
        elif _is_host_name(entry):
            hosts.add(normalize_host(entry))
        else:
            raise ValueError(f"entry {entry!r} is not an address, a network or a host name")
    return Allow(tuple(networks), frozenset(hosts))


def normalize_host(host: str) -> str:
    """A host name as compared: lower case, without the trailing dot of a rooted name."""
    return host.lower().rstrip(".")


# --- helpers --------------------------------------------------------------------------------
def _classify(address: IPAddress) -> tuple[str, IPNetwork | None] | None:
    table: tuple[tuple[str, IPNetwork], ...] = _IPV4 if address.version == 4 else _IPV6
    for rule, network in table:
        if address in network:
            return rule, network
    outside = isinstance(address, IPv6Address) and address not in _GLOBAL_UNICAST_V6
    # Documentation, benchmarking, protocol assignments, Teredo...: no public host lives there.
    if outside or address.is_reserved or not address.is_global:
        return "reserved", None
    return None


def _network(entry: str) -> IPNetwork | None:
    """The network an entry names, None if it names none; ValueError if it tries and fails
    (host bits set, a bad prefix)."""
    text = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
    try:
        return ip_network(text)
    except ValueError as exc:
        if "/" in text or ":" in text or _looks_numeric(text):
            raise ValueError(f"entry {entry!r} is not an address or a network: {exc}") from None
        return None


def _looks_numeric(text: str) -> bool:
    """A dotted name whose last label is a number is an address (such as `127.1`), not a
    host name: it must be written out in full."""
    return text.rstrip(".").rsplit(".", 1)[-1].isdigit()


def _is_host_name(entry: str) -> bool:
    name = entry.rstrip(".")
    if not name or len(name) > 253 or not name.isascii():
        return False
    return all(_LABEL.fullmatch(label) for label in name.lower().split("."))
