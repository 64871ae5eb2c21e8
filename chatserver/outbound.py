"""HTTP requests this server makes to other servers (order pulls; later webhooks), kept away
from internal addresses (server-side request forgery).

Each connection resolves its host once (getaddrinfo, which also reads `2130706433` and
`0x7f.1`), is refused if ANY address found is refused by `chatserver.core.netpolicy`, and
connects to a checked address itself: no second lookup exists that a rebinding DNS server could
answer differently. The check sits in an httpcore network backend, under the connection pool,
so it holds for every connection a request opens; TLS still verifies (and sends SNI for) the
host name, which httpcore hands to `start_tls` separately. No proxy from the environment, no
redirect followed, a hard deadline and a size limit.

Failures are `OutboundError`s whose message is precise (which rule, which address, what the
server answered): for logs and the site's admin, not for agents.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpcore
import httpx

from chatserver import config
from chatserver.config import Settings
from chatserver.core.netpolicy import Allow, IPAddress, Refusal, parse_allow, refusal

ALLOW_OPTION = next(o for o in config.OPTIONS if o.name == "outbound_allow")
_FAILURES = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
)


class OutboundError(Exception):
    """An outbound request failed; the message says precisely why."""


class Refused(OutboundError):
    """The host is, or resolves to, an address the policy refuses."""

    def __init__(self, host: str, why: Refusal) -> None:
        literal = host.strip("[]") == str(why.address)
        super().__init__(str(why) if literal else f"{host} resolves to {why.address}, {why.what}")
        self.host, self.refusal = host, why

    @property
    def hint(self) -> str:
        """How the server's operator lets this host through."""
        try:
            entry = self.host if parse_allow(self.host).hosts else str(self.refusal.address)
        except ValueError:  # a numeric form such as 2130706433: name the address it means
            entry = str(self.refusal.address)
        option = f"{ALLOW_OPTION.flag} / {ALLOW_OPTION.envvar}"
        return f"the server's operator can allow it with {option} (e.g. {entry})"


@dataclass(frozen=True, slots=True)
class Answer:
    """A 2xx answer, read in full."""

    status: int
    body: bytes


def allow_of(settings: Settings) -> Allow:
    """The allow-list of these settings (validated settings parse)."""
    return _parsed(settings.outbound_allow)


async def request(
    method: str,
    url: str,
    *,
    allow: Allow,
    timeout: float,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    """Send one request and read a 2xx answer of at most `max_bytes`, all within `timeout`
    seconds; any other outcome is an OutboundError (a `Refused` one for a refused host)."""
    target = _target(url)
    try:
        async with asyncio.timeout(timeout):
            return await _send(method, target, allow, timeout, max_bytes, headers, body)
    except (TimeoutError, httpcore.TimeoutException):
        raise OutboundError(f"no answer from {_host(target)} within {timeout:g} s") from None
    except _FAILURES as exc:
        raise OutboundError(f"{_host(target)}: {type(exc).__name__}: {exc}") from None


async def check_url(url: str, allow: Allow, timeout: float = 5.0) -> None:
    """Refused if the URL's host is, or now resolves to, a refused address (what a request
    would find at this moment; the request checks again when it connects)."""
    target = _target(url)
    try:
        async with asyncio.timeout(timeout):
            await checked_addresses(_host(target), target.port or 0, allow)
    except TimeoutError:
        raise OutboundError(f"resolving {_host(target)} took over {timeout:g} s") from None


async def checked_addresses(host: str, port: int, allow: Allow) -> list[IPAddress]:
    """The addresses `host` resolves to (one lookup), or Refused if any is refused. A host the
    operator allows by name passes whatever it resolves to."""
    addresses = await resolve(host, port)
    if allow.allows_host(host):
        return addresses
    for address in addresses:
        why = refusal(address, allow)
        if why is not None:
            raise Refused(host, why)
    return addresses


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of `host` (an IP literal in any notation getaddrinfo reads, or a name)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundError(f"{host} does not resolve: {exc}") from None
    found = [ipaddress.ip_address(info[4][0]) for info in infos]
    return list(dict.fromkeys(found))  # once each, in the resolver's order


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the check: resolve once, refuse, connect to the IP."""

    def __init__(self, allow: Allow) -> None:
        self._allow = allow
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception = OutboundError(f"{host} has no address")
        for address in await checked_addresses(host, port, self._allow):
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )  # fmt: skip
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # the next address may answer
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundError("outbound requests use TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# --- helpers --------------------------------------------------------------------------------
async def _send(
    method: str,
    target: httpcore.URL,
    allow: Allow,
    timeout: float,
    max_bytes: int,
    headers: Mapping[str, str] | None,
    body: bytes | None,
) -> Answer:
    pool = httpcore.AsyncConnectionPool(
        ssl_context=_ssl_context(), network_backend=GuardedBackend(allow), retries=0
    )
    phases = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    async with (
        pool,
        pool.stream(
            method, target, headers=list((headers or {}).items()), content=body,
            extensions={"timeout": phases},
        ) as response,
    ):  # fmt: skip
        if not 200 <= response.status < 300:
            raise OutboundError(f"{_host(target)} answered HTTP {response.status}")
        data = bytearray()
        async for chunk in response.aiter_stream():
            data += chunk
            if len(data) > max_bytes:
                raise OutboundError(f"{_host(target)} answered over {max_bytes} bytes")
        return Answer(response.status, bytes(data))


def _target(url: str) -> httpcore.URL:
    """The URL as httpcore takes it, parsed the way httpx parses (IDNA host names, ports)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise OutboundError(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise OutboundError("only http:// and https:// URLs with a host")
    return httpcore.URL(
        scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
    )


def _host(target: httpcore.URL) -> str:
    host = target.host.decode("ascii")
    return f"[{host}]" if ":" in host else host


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> Allow:
    return parse_allow(text)
