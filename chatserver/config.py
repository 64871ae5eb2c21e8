"""One Settings object, built from flags and CHAT_* environment variables, validated once.

Each option is declared once in OPTIONS: its flag, its environment variable, its default and
its help text side by side. The CLI builds its flags from this table, so `--port` and
`CHAT_PORT` cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from chatserver.core.netpolicy import parse_allow


class ConfigError(ValueError):
    """A setting is invalid; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    type: type
    default: Any
    help: str
    cli: bool = True  # False: set by the program itself (e.g. `chatserver demo`), not a flag

    @property
    def envvar(self) -> str:
        return "CHAT_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    Option("host", str, "127.0.0.1", "Interface to listen on."),
    Option("port", int, 8000, "TCP port to listen on."),
    Option("workers", int, 1, "Number of server processes sharing the port."),
    Option("redis_url", str, "", "Redis URL (redis://, rediss://, unix://; a Redis Cluster: "
           "redis+cluster://HOST:PORT[,HOST:PORT]; Sentinel: redis+sentinel://HOST:PORT[,...]/"
           "MASTER; docs/scaling.md). Empty: start the embedded redis-server in --data-dir."),
    Option("redis_connections", int, 64, "Redis connections per process (callers wait for a "
           "free one); also the frames a process handles at once (others wait their turn)."),
    Option("redis_replicas_ack", int, 0, "Replicas that must confirm a message, note or "
           "assignment (Redis WAIT) before it is acked. 0: acked once the master has it."),
    Option("redis_replicas_timeout_ms", int, 1000, "How long a write waits for those "
           "replicas; past it the client is told 'unavailable' and resends."),
    Option("data_dir", str, "./chat-data", "Where the embedded Redis keeps its append-only file."),
    Option("appendfsync", str, "always", "Embedded Redis fsync policy: 'always' (no acked "
           "message is lost on a crash) or 'everysec' (faster; up to ~1 s may be lost)."),
    Option("secret", str, "", "HMAC secret for visitor tokens. Empty: one is generated once and "
           "kept in Redis, shared by all processes."),
    Option("public_url", str, "", "The URL agents open the console at (its origin is the only "
           "one allowed on /ws/v1/agent). Empty: the Host the request came to."),
    Option("grace_seconds", float, 60.0, "How long a disconnected agent keeps their chats."),
    Option("queue_hold_seconds", float, 120.0, "How long a shopper who left keeps their place "
           "in the queue before the conversation is marked abandoned."),
    Option("session_hours", float, 12.0, "How long an agent's login session lasts."),
    Option("rate_per_second", float, 20.0, "Frames a socket may send per second (sustained)."),
    Option("rate_burst", int, 60, "Frames a socket may send in a burst."),
    Option("send_queue", int, 512, "Frames queued for a socket before it counts as a slow "
           "reader and is closed (1013)."),
    Option("sweep_seconds", float, 1.0, "Period of the backstop sweeper (presence, grace, "
           "abandoned queue places, queue service)."),
    Option("log_level", str, "info", "Log level: debug, info, warning, error."),
    # --- the open internet (docs/security.md) ---
    Option("forwarded_allow_ips", str, "", "Comma-separated addresses or networks of trusted "
           "proxies whose X-Forwarded-For / X-Forwarded-Proto are believed ('*': any). Empty: "
           "trust none; the client address is the TCP peer."),
    Option("header_timeout", float, 10.0, "Seconds a client has to send a request's headers "
           "(also each later request on a kept-alive connection) before it is cut off."),
    Option("outbound_allow", str, "", "Comma-separated hosts or networks that outbound requests "
           "(order pulls) may reach although they are loopback, private or link-local."),
    Option("password_checks", int, 1, "Passwords checked (argon2) at once per process; more "
           "logins wait briefly, then get 429."),
    Option("sockets_per_address", int, 256, "Open sockets per client address per process "
           "(shoppers share carrier NAT: keep it generous); more are closed 1008."),
    Option("conversations_per_visitor", int, 10, "New conversations a visitor may start per hour."),
    Option("conversations_per_address", int, 60, "New conversations per client address per hour."),
    Option("kb_requests_per_minute", int, 120, "Public knowledge-base requests (article search, "
           "article, feedback, /help pages) per client address per minute; more get 429."),
    Option("visitor_rate_per_second", float, 2.0, "Messages a shopper may send per second, "
           "across all their sockets and reconnects (sustained)."),
    Option("visitor_rate_burst", int, 60, "Messages a shopper may send in a burst."),
    Option("max_entries", int, 1000, "Messages a conversation may hold; more are refused."),
    Option("retention_days", float, 90.0, "Days a closed or abandoned conversation is kept."),
    Option("anonymous_retention_days", float, 7.0, "Days an ended conversation that no agent "
           "answered and no store identified is kept."),
    Option("claim_max_hours", float, 24.0, "How far ahead a customer identity claim may expire."),
    # --- reports and metrics (docs/reports.md) ---
    Option("reports_keep_days", float, 731.0, "Days the report rollups (counts per hour) are "
           "kept: longer than conversations, for year-on-year figures."),
    Option("reopen_days", float, 3.0, "A resolved chat whose customer starts a new conversation "
           "within this many days counts as reopened (not resolved) in the resolution rate."),
    Option("metrics_token", str, "", "Bearer token that GET /metrics requires on the main port. "
           "Empty: /metrics there answers 404."),
    Option("metrics_address", str, "", "host:port of a separate listener serving only /metrics "
           "(no token: bind it to an address only operators reach, e.g. 127.0.0.1:9108)."),
    Option("allow_demo_passwords", bool, False, "Let `serve` start although agents still have "
           "the demo password (never do this on the internet)."),
    # --- mail (docs/email.md) ---
    Option("smtp_url", str, "", "SMTP server mail goes out through: smtp://user:pass@host:port "
           "(STARTTLS when offered) or smtps://... (TLS). Empty: no mail is sent or queued."),
    Option("mail_from", str, "", "The From address of mails (e.g. 'Shop <help@shop.example>'). "
           "Empty: chat@ the SMTP server's host."),
    Option("mail_claim_seconds", float, 60.0, "How long a mail a process read stays unsent "
           "before another process takes it over (the first one died)."),
    Option("mail_retry_max_seconds", float, 300.0, "Longest wait between two tries of a mail "
           "the SMTP server did not take (the wait doubles from 2 s up to this)."),
    Option("mail_max_tries", int, 10, "Tries of a mail before it goes to the dead-letter list."),
    Option("mail_reply_delay_seconds", float, 120.0, "How long after an agent's line the lines "
           "the shopper has not read in the widget are mailed to them (one mail for all)."),
    Option("mail_file_url_seconds", float, 604800.0, "How long the signed links to attachments "
           "in mails (transcripts, agents' replies) work: 7 days by default."),
    Option("mail_inbound_domain", str, "", "Domain of the signed reply addresses "
           "(reply+TOKEN@DOMAIN) in mails' Reply-To. Empty: shoppers cannot answer by mail."),
    Option("mail_inbound_secret", str, "", "Shared secret of POST /api/v1/mail/inbound (the "
           "password of its HTTP basic auth). Empty: the endpoint answers 404."),
    Option("mail_inbound_listen", str, "", "host:port of the built-in SMTP receiver for "
           "replies (point MX of the inbound domain at it). Empty: off."),
    Option("demo_mail_sink", str, "", "host:port of the local SMTP sink `chatserver demo` "
           "runs when no --smtp-url is given (its mail shows at /demo/mailbox; demo only)."),
    # --- attachments (docs/operations.md#attachments) ---
    Option("attachments_url", str, "", "Where uploaded files are kept: file:///path, "
           "s3://ACCESS:SECRET@host[:port]/bucket[/prefix][?secure=0&region=R], or 'off' (no "
           "uploads). Empty: DATA_DIR/attachments."),
    Option("max_upload_bytes", int, 10 * 1024 * 1024, "Largest file a shopper or agent may "
           "upload (413 too_large)."),
    Option("uploads_per_visitor", int, 20, "Files a shopper may upload per hour (429 "
           "rate_limited)."),
    Option("conversation_upload_bytes", int, 50 * 1024 * 1024, "Bytes of files a conversation "
           "may hold (409 conversation_full)."),
    Option("max_image_pixels", int, 50_000_000, "Most pixels an uploaded image may have (more: "
           "422 bad_file; decompression bombs)."),
    Option("attachment_url_seconds", float, 3600.0, "How long a signed file URL works (then "
           "410 expired; clients fetch fresh ones)."),
    Option("demo", bool, False, "Demo mode (set by `chatserver demo`).", cli=False),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    redis_url: str = ""
    redis_connections: int = 64
    redis_replicas_ack: int = 0
    redis_replicas_timeout_ms: int = 1000
    data_dir: str = "./chat-data"
    appendfsync: str = "always"
    secret: str = ""
    public_url: str = ""
    grace_seconds: float = 60.0
    queue_hold_seconds: float = 120.0
    session_hours: float = 12.0
    rate_per_second: float = 20.0
    rate_burst: int = 60
    send_queue: int = 512
    sweep_seconds: float = 1.0
    log_level: str = "info"
    forwarded_allow_ips: str = ""
    header_timeout: float = 10.0
    outbound_allow: str = ""
    password_checks: int = 1
    sockets_per_address: int = 256
    conversations_per_visitor: int = 10
    conversations_per_address: int = 60
    kb_requests_per_minute: int = 120
    visitor_rate_per_second: float = 2.0
    visitor_rate_burst: int = 60
    max_entries: int = 1000
    retention_days: float = 90.0
    anonymous_retention_days: float = 7.0
    claim_max_hours: float = 24.0
    reports_keep_days: float = 731.0
    reopen_days: float = 3.0
    metrics_token: str = ""
    metrics_address: str = ""
    allow_demo_passwords: bool = False
    smtp_url: str = ""
    mail_from: str = ""
    mail_claim_seconds: float = 60.0
    mail_retry_max_seconds: float = 300.0
    mail_max_tries: int = 10
    mail_reply_delay_seconds: float = 120.0
    mail_file_url_seconds: float = 604800.0
    mail_inbound_domain: str = ""
    mail_inbound_secret: str = ""
    mail_inbound_listen: str = ""
    demo_mail_sink: str = ""
    attachments_url: str = ""
    max_upload_bytes: int = 10 * 1024 * 1024
    uploads_per_visitor: int = 20
    conversation_upload_bytes: int = 50 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    attachment_url_seconds: float = 3600.0
    demo: bool = False

    def validated(self) -> Settings:
        """Return self if every setting is valid, else raise ConfigError naming it."""
        _require(1 <= self.port <= 65535, "port", self.port, "must be 1..65535")
        _require(1 <= self.workers <= 64, "workers", self.workers, "must be 1..64")
        _require(
            self.appendfsync in ("always", "everysec"),
            "appendfsync",
            self.appendfsync,
            "must be 'always' or 'everysec'",
        )
        if self.redis_url:
            scheme = urlparse(self.redis_url).scheme
            _require(
                scheme in ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster",
                           "redis+sentinel", "rediss+sentinel"),
                "redis_url",
                self.redis_url,
                "must start with redis://, rediss://, unix://, redis+cluster:// or "
                "redis+sentinel://",
            )  # fmt: skip
            _require(
                not scheme.endswith("+sentinel") or bool(urlparse(self.redis_url).path.strip("/")),
                "redis_url",
                self.redis_url,
                "a redis+sentinel:// URL names its master: redis+sentinel://HOST:PORT/MASTER",
            )
        _require(
            0 <= self.redis_replicas_ack <= 16,
            "redis_replicas_ack",
            self.redis_replicas_ack,
            "must be 0..16",
        )
        _require(
            self.redis_replicas_timeout_ms >= 1,
            "redis_replicas_timeout_ms",
            self.redis_replicas_timeout_ms,
            "must be >= 1",
        )
        for name in (
            "grace_seconds",
            "queue_hold_seconds",
            "session_hours",
            "rate_per_second",
            "sweep_seconds",
            "header_timeout",
            "visitor_rate_per_second",
            "retention_days",
            "anonymous_retention_days",
            "claim_max_hours",
            "reports_keep_days",
            "mail_claim_seconds",
            "attachment_url_seconds",
            "mail_retry_max_seconds",
            "mail_reply_delay_seconds",
            "mail_file_url_seconds",
            "mail_max_tries",
        ):
            _require(getattr(self, name) > 0, name, getattr(self, name), "must be > 0")
        _require(self.reopen_days >= 0, "reopen_days", self.reopen_days, "must be >= 0")
        _require(
            not self.metrics_token or len(self.metrics_token) >= 16,
            "metrics_token",
            "(hidden)",
            "must be at least 16 characters",
        )
        if self.metrics_address:
            _require(
                _host_port(self.metrics_address) is not None,
                "metrics_address",
                self.metrics_address,
                "must be host:port (e.g. 127.0.0.1:9108)",
            )
        _require(
            self.redis_connections >= 4, "redis_connections", self.redis_connections, "must be >= 4"
        )
        _require(self.rate_burst >= 1, "rate_burst", self.rate_burst, "must be >= 1")
        _require(self.send_queue >= 8, "send_queue", self.send_queue, "must be >= 8")
        for name in (
            "password_checks",
            "sockets_per_address",
            "conversations_per_visitor",
            "conversations_per_address",
            "kb_requests_per_minute",
            "visitor_rate_burst",
            "max_entries",
            "max_upload_bytes",
            "uploads_per_visitor",
            "conversation_upload_bytes",
            "max_image_pixels",
        ):
            _require(getattr(self, name) >= 1, name, getattr(self, name), "must be >= 1")
        _require(
            self.log_level in ("debug", "info", "warning", "error"),
            "log_level",
            self.log_level,
            "must be debug, info, warning or error",
        )
        try:
            parse_allow(self.outbound_allow)
        except ValueError as exc:
            _require(False, "outbound_allow", self.outbound_allow, str(exc))
        if self.smtp_url:
            smtp = urlparse(self.smtp_url)
            _require(
                smtp.scheme in ("smtp", "smtps") and bool(smtp.hostname),
                "smtp_url",
                smtp._replace(netloc=smtp.hostname or "").geturl(),  # never log the password
                "must be smtp://[user:pass@]host[:port] or smtps://...",
            )
        _require(
            not self.mail_from or "@" in self.mail_from, "mail_from", self.mail_from,
            "must be an email address",
        )  # fmt: skip
        for name in ("mail_inbound_listen", "demo_mail_sink"):
            _require(
                not getattr(self, name) or _host_port(getattr(self, name)) is not None,
                name, getattr(self, name), "must be host:port",
            )  # fmt: skip
        _require(
            not self.mail_inbound_secret or len(self.mail_inbound_secret) >= 16,
            "mail_inbound_secret", "(hidden)", "must be at least 16 characters",
        )  # fmt: skip
        _require(
            "@" not in self.mail_inbound_domain and " " not in self.mail_inbound_domain,
            "mail_inbound_domain", self.mail_inbound_domain, "must be a domain name",
        )  # fmt: skip
        _require(
            not _attachments_url_problem(self.attachments_url), "attachments_url",
            _without_password(self.attachments_url), _attachments_url_problem(self.attachments_url),
        )  # fmt: skip
        if self.public_url:
            _require(
                urlparse(self.public_url).scheme in ("http", "https"),
                "public_url",
                self.public_url,
                "must be an http:// or https:// URL",
            )
        return self

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()

    def to_env(self) -> dict[str, str]:
        """The CHAT_* variables that rebuild these settings (for worker processes)."""
        return {opt.envvar: str(getattr(self, opt.name)) for opt in OPTIONS}


def from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from CHAT_* variables (and explicit overrides), validated."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for opt in OPTIONS:
        if opt.envvar in env:
            values[opt.name] = convert(opt, env[opt.envvar])
    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(Settings(), **values).validated()


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def convert(opt: Option, raw: str) -> Any:
    if opt.type is bool:
        if raw.strip().lower() not in _TRUE + _FALSE:
            raise ConfigError(f"{opt.envvar}={raw!r}: must be true or false")
        return raw.strip().lower() in _TRUE
    try:
        return opt.type(raw)
    except ValueError:
        raise ConfigError(
            f"{opt.envvar}={raw!r}: must be {'a number' if opt.type is not str else 'text'}"
        ) from None


def _host_port(value: str) -> tuple[str, int] | None:
    """(host, port) of 'host:port' or '[v6]:port', or None."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return host, int(port)


def host_port(value: str) -> tuple[str, int]:
    """(host, port) of a validated 'host:port' setting."""
    found = _host_port(value)
    if found is None:
        raise ConfigError(f"{value!r} is not host:port")
    return found


def _attachments_url_problem(url: str) -> str:
    from chatserver.attachments.storage import check_url  # (no import cycle at module load)

    return check_url(url)


def _without_password(url: str) -> str:
    parsed = urlparse(url)
    return parsed._replace(netloc=parsed.hostname or "").geturl() if parsed.password else url


def _require(ok: bool, name: str, value: object, rule: str) -> None:
    if not ok:
        opt = next(o for o in OPTIONS if o.name == name)
        raise ConfigError(f"{opt.flag} / {opt.envvar} = {value!r}: {rule}")


assert [(f.name, f.default) for f in fields(Settings)] == [(o.name, o.default) for o in OPTIONS]
