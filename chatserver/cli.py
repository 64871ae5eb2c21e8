"""The `chatserver` command: serve, demo, agent, site, mail. Parsing only; the work is elsewhere."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import click
import wcwidth

from chatserver import config
from chatserver.config import OPTIONS, ConfigError, Settings
from chatserver.core.model import (
    MAX_CAPACITY,
    MIN_PASSWORD_CHARS,
    Agent,
    Role,
    Site,
    ValidationError,
    check_password,
)
from chatserver.store import clients, keys, sites
from chatserver.store.agents import Agents
from chatserver.store.clients import Redis, StorageError
from chatserver.store.scripts import Scripts

F = TypeVar("F", bound=Callable[..., Any])


def settings_options(func: F) -> F:
    """Add one flag per config option, each with its CHAT_* variable shown in --help."""
    for opt in reversed(OPTIONS):
        if not opt.cli:
            continue
        if opt.type is bool:
            flag = f"{opt.flag}/--no-{opt.flag[2:]}"
            func = click.option(
                flag, opt.name, default=None, envvar=opt.envvar, show_envvar=True,
                help=f"{opt.help} [default: {'on' if opt.default else 'off'}]",
            )(func)  # fmt: skip
            continue
        func = click.option(
            opt.flag, opt.name, type=opt.type, default=None, envvar=opt.envvar,
            show_envvar=True, help=f"{opt.help} [default: {opt.default!r}]",
        )(func)  # fmt: skip
    return func


def build_settings(values: dict[str, Any]) -> Settings:
    try:
        return config.from_env({}, **values)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def main() -> None:
    """Live chat for online stores: the WebSocket hub, widget and agent console."""


@main.command()
@settings_options
def serve(**values: Any) -> None:
    """Run the chat server (embedded Redis unless --redis-url / CHAT_REDIS_URL is set)."""
    from chatserver.web.server import redis_for

    settings = build_settings(values)
    _check_port(settings)
    with redis_for(settings) as ready:
        _check_redis(ready)
        _check_demo_passwords(ready)
        _start(ready)


@main.command()
@settings_options
@click.option("--seed/--no-seed", default=True, show_default=True,
              help="Create the demo site, agents and orders if they are missing.")  # fmt: skip
def demo(seed: bool, **values: Any) -> None:
    """Run the demo: embedded Redis, a demo store (/demo) with two departments and demo agents.

    Never on the internet: the demo store signs customer claims and its agents' password is
    published. `serve` has no demo store."""
    from chatserver import demo as demo_data
    from chatserver.mail import demo_sink
    from chatserver.web.server import redis_for

    # mail goes to a local SMTP sink shown at /demo/mailbox, unless --smtp-url is given
    settings = demo_sink.with_sink(build_settings({**values, "demo": True}))
    _check_port(settings)
    with redis_for(settings) as ready:
        _check_redis(ready)
        if not seed:
            _start(ready)
            return
        agents = _run(ready, lambda redis: demo_data.seed(redis))
        base = f"http://{ready.host}:{ready.port}"
        click.echo(f"\nDemo store site key: {demo_data.DEMO_SITE.key}   server: {base}")
        click.echo("Demo agents (password 'demo'):")
        for agent in agents:
            click.echo(f"  {_pad(agent.login, 8)} {_pad(agent.name, 16)} "
                       f"{_pad(', '.join(agent.departments), 24)} capacity {agent.capacity}  "
                       f"{agent.role.value}")  # fmt: skip
        click.echo(_redis_note(settings, ready) + "\n")
        _start(ready)


def _redis_note(asked: Settings, ready: Settings) -> str:
    """Where the data is and what Ctrl-C stops: the Redis this process started, the embedded
    Redis of a demo already running on the data directory, or an external Redis."""
    from chatserver.web.server import owns_embedded_redis

    if asked.redis_url:
        where = _without_password(ready.redis_url)
        return f"Data: the Redis at {where}.\nStop with Ctrl-C (that Redis keeps running)."
    if owns_embedded_redis(ready):
        return (f"Data (embedded Redis, append-only): {ready.data_path}\n"
                "Stop with Ctrl-C (the embedded Redis stops too; data is kept).")  # fmt: skip
    return (f"Data: the embedded Redis of the chatserver already running on {ready.data_path}\n"
            "Stop with Ctrl-C (that Redis keeps running: it stops with the process that "
            "started it).")  # fmt: skip


def _pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns: a Chinese character takes two."""
    columns = wcwidth.wcswidth(text)
    return text + " " * (width - (columns if columns >= 0 else len(text)))


def _check_port(settings: Settings) -> None:
    from chatserver.web.server import port_problem

    problem = port_problem(settings.host, settings.port)
    if problem:
        raise click.ClickException(f"{problem} (choose another with --port / CHAT_PORT)")


def _check_demo_passwords(settings: Settings) -> None:
    """`serve` does not start while agents still have the demo's published password."""

    async def logins(redis: Redis) -> list[str]:
        return sorted(str(m) for m in await redis.smembers(keys.DEMO_PASSWORDS))

    left = _run(settings, logins)
    if left and not settings.allow_demo_passwords:
        raise click.ClickException(
            f"agents {', '.join(left)} still have the demo password: give each a new one "
            "('chatserver agent set LOGIN --password ...') or remove them; "
            "--allow-demo-passwords starts anyway (never on the internet)"
        )


def _start(settings: Settings) -> None:
    from chatserver.web.server import serve as run_server

    run_server(settings)


def _check_redis(settings: Settings) -> None:
    async def ping(redis: Redis) -> None:
        await redis.ping()

    _run(settings, ping)


T = TypeVar("T")


def _run(settings: Settings, work: Callable[[Redis], Awaitable[T]]) -> T:
    """Run `work` with a Redis client; a Redis that cannot be reached is a clear error."""

    async def go() -> T:
        redis = clients.plain_client(settings.redis_url)
        try:
            return await work(redis)
        finally:
            await redis.aclose()

    try:
        return asyncio.run(go())
    except (StorageError, OSError) as exc:
        where = _without_password(settings.redis_url)
        raise click.ClickException(f"cannot use Redis at {where}: {exc}") from None
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from None


def _without_password(url: str) -> str:
    """The URL as it may be printed: a password in it (the embedded Redis has one) hidden."""
    parsed = urlsplit(url)
    if not parsed.password:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return urlunsplit(parsed._replace(netloc=netloc))


def _with_store(values: dict[str, Any], work: Callable[[Redis], Awaitable[T]]) -> T:
    from chatserver.web.server import redis_for

    settings = build_settings({k: v for k, v in values.items() if k in ("redis_url", "data_dir")})
    with redis_for(settings) as ready:
        return _run(ready, work)


store_options = [
    click.option("--redis-url", envvar="CHAT_REDIS_URL", default=None, show_envvar=True,
                 help="Redis URL (default: the embedded Redis of --data-dir)."),
    click.option("--data-dir", envvar="CHAT_DATA_DIR", default=None, show_envvar=True,
                 help="Data directory of the embedded Redis [default: ./chat-data]."),
]  # fmt: skip


def with_store_options(func: F) -> F:
    for option in reversed(store_options):
        func = option(func)
    return func


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


# --- agents --------------------------------------------------------------------------------
@main.group()
def agent() -> None:
    """Manage agents: add, list, set, remove."""


@agent.command("add")
@click.argument("login")
@click.option("--name", required=True, help="Display name shown to shoppers.")
@click.option("--site", "site_key", required=True, help="Site key the agent works for.")
@click.option("--departments", required=True, help="Comma-separated departments.")
@click.option("--capacity", type=int, default=MAX_CAPACITY, show_default=True,
              help="Chats at once, 1-3.")  # fmt: skip
@click.option("--max-capacity", type=int, default=MAX_CAPACITY, show_default=True,
              help="The most the agent may set themselves, 1-3.")  # fmt: skip
@click.option("--role", type=click.Choice([r.value for r in Role]), default="agent",
              show_default=True)  # fmt: skip
@click.option("--password", envvar="CHAT_AGENT_PASSWORD", default=None,
              help=f"Password, at least {MIN_PASSWORD_CHARS} characters (default: prompt; or "
                   "CHAT_AGENT_PASSWORD).")  # fmt: skip
@with_store_options
def agent_add(
    login: str, name: str, site_key: str, departments: str, capacity: int, max_capacity: int,
    role: str, password: str | None, **store: Any,
) -> None:  # fmt: skip
    """Add an agent."""
    password = _new_password(password) if password else _prompt_password()
    try:
        new = Agent(login, name, site_key, _csv(departments), capacity, max_capacity, Role(role))
    except ValidationError as exc:
        raise click.BadParameter(str(exc)) from None

    async def work(redis: Redis) -> None:
        site = await sites.load_site(redis, site_key)
        if site is None:
            raise ValidationError(f"no site {site_key!r}: add it with 'chatserver site add'")
        unknown = set(new.departments) - set(site.departments)
        if unknown:
            raise ValidationError(f"site {site_key!r} has no department {', '.join(unknown)}")
        store_ = Agents(redis, Scripts(redis))
        if await store_.get(login) is not None:
            raise ValidationError(f"agent {login!r} exists: use 'chatserver agent set'")
        await store_.save(new, password)

    _with_store(store, work)
    click.echo(f"added {login}")


@agent.command("list")
@click.option("--site", "site_key", default=None, help="Only this site.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@with_store_options
def agent_list(site_key: str | None, as_json: bool, **store: Any) -> None:
    """List agents with their live status and load."""

    async def work(redis: Redis) -> list[dict[str, Any]]:
        store_ = Agents(redis, Scripts(redis))
        keys_ = [site_key] if site_key else [s.key for s in await sites.list_sites(redis)]
        rows = []
        for key in keys_:
            for a in await store_.of_site(key):
                st = await store_.state(a)
                rows.append({"login": a.login, "name": a.name, "site": key,
                             "departments": list(a.departments), "role": a.role.value,
                             "capacity": st.agent.capacity, "max_capacity": a.max_capacity,
                             "status": st.status.value, "load": st.load})  # fmt: skip
        return rows

    import orjson

    for row in _with_store(store, work):
        if as_json:
            click.echo(orjson.dumps(row).decode())
        else:
            click.echo(f"{row['login']:<12} {row['name']:<18} {row['site']:<10} "
                       f"{','.join(row['departments']):<24} {row['role']:<10} "
                       f"cap {row['capacity']}/{row['max_capacity']}  {row['status']:<7} "
                       f"load {row['load']}")  # fmt: skip


@agent.command("set")
@click.argument("login")
@click.option("--name", default=None)
@click.option("--departments", default=None, help="Comma-separated departments.")
@click.option("--capacity", type=int, default=None, help="Chats at once, 1-3.")
@click.option("--max-capacity", type=int, default=None, help="Upper limit for the agent, 1-3.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=None)
@click.option("--password", default=None,
              help=f"A new password, at least {MIN_PASSWORD_CHARS} characters (ends the agent's "
                   "sessions, as a new role does).")  # fmt: skip
@with_store_options
def agent_set(login: str, name: str | None, departments: str | None, capacity: int | None,
              max_capacity: int | None, role: str | None, password: str | None,
              **store: Any) -> None:  # fmt: skip
    """Change an agent's name, departments, capacity, role or password."""
    if password is not None:
        _new_password(password)

    async def work(redis: Redis) -> None:
        store_ = Agents(redis, Scripts(redis))
        current = await store_.get(login)
        if current is None:
            raise ValidationError(f"no agent {login!r}")
        limit = max_capacity or current.max_capacity
        updated = Agent(
            login, name or current.name, current.site,
            _csv(departments) or current.departments,
            capacity if capacity is not None else min(current.capacity, limit),
            limit, Role(role) if role else current.role,
        )  # fmt: skip
        await store_.save(updated, password)

    _with_store(store, work)
    click.echo(f"updated {login}")


@agent.command("remove")
@click.argument("login")
@with_store_options
def agent_remove(login: str, **store: Any) -> None:
    """Remove an agent (who holds no chat)."""

    async def work(redis: Redis) -> bool:
        return await Agents(redis, Scripts(redis)).remove(login)

    if not _with_store(store, work):
        raise click.ClickException(f"no agent {login!r}")
    click.echo(f"removed {login}")


# --- sites ---------------------------------------------------------------------------------
@main.group()
def site() -> None:
    """Manage sites (storefronts): add, list."""


@site.command("add")
@click.argument("key")
@click.option("--name", required=True)
@click.option("--departments", required=True, help="Comma-separated, the first is the default.")
@click.option("--origin", "origins", multiple=True, help="Allowed origin (repeat).")
@click.option("--identity-secret", default="", help="Secret the store signs customer ids with.")
@with_store_options
def site_add(key: str, name: str, departments: str, origins: tuple[str, ...],
             identity_secret: str, **store: Any) -> None:  # fmt: skip
    """Add or replace a site."""
    try:
        new = Site(key, name, _csv(departments), tuple(o.rstrip("/") for o in origins),
                   identity_secret)  # fmt: skip
    except ValidationError as exc:
        raise click.BadParameter(str(exc)) from None
    _with_store(store, lambda redis: sites.save_site(redis, new))
    click.echo(f"saved site {key}")


@site.command("list")
@with_store_options
def site_list(**store: Any) -> None:
    """List sites."""
    for s in _with_store(store, sites.list_sites):
        origins = ", ".join(s.allowed_origins) or "any origin"
        click.echo(f"{s.key:<12} {s.name:<20} {','.join(s.departments):<30} {origins}")


# --- mail (docs/email.md) -------------------------------------------------------------------
@main.group()
def mail() -> None:
    """The mail outbox: its dead letters."""


@mail.command("dead-letters")
@click.option("--retry", "retry_key", default=None, metavar="KEY", help="Queue this mail again.")
@click.option("--retry-all", is_flag=True, help="Queue every dead mail again.")
@click.option("--drop", "drop_key", default=None, metavar="KEY", help="Forget this mail.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@with_store_options
def mail_dead_letters(
    retry_key: str | None, retry_all: bool, drop_key: str | None, as_json: bool, **store: Any
) -> None:
    """List the mails given up on (KEY = Message-ID's left part), or retry or drop them."""
    import orjson

    from chatserver.mail import admin
    from chatserver.store.outbox import Outbox

    if sum((retry_key is not None, retry_all, drop_key is not None)) > 1:
        raise click.UsageError("give one of --retry, --retry-all, --drop")
    if retry_key is None and not retry_all and drop_key is None:
        rows = _with_store(store, lambda r: admin.dead_letters(Outbox(r, Scripts(r), "cli")))
        for row in rows:
            click.echo(orjson.dumps(row).decode() if as_json else
                       f"{row['key']:<50} {row['to']:<30} {row['template']:<12} "
                       f"tries {row['tries']}")  # fmt: skip
        if not rows and not as_json:
            click.echo("no dead letters")
        return
    key = None if retry_all else retry_key or drop_key
    done = _with_store(store, lambda r: admin.revive(Outbox(r, Scripts(r), "cli"), key,
                                                     drop=drop_key is not None))  # fmt: skip
    if key is not None and not done:
        raise click.ClickException(f"no dead letter {key!r}")
    verb = "dropped" if drop_key is not None else "queued again"
    for done_key in done:
        click.echo(f"{verb} {done_key}")
    if not done:
        click.echo("no dead letters")


def _prompt_password() -> str:
    if not sys.stdin.isatty():
        raise click.UsageError("give --password or CHAT_AGENT_PASSWORD (no terminal to ask)")
    first = getpass.getpass(f"Password (at least {MIN_PASSWORD_CHARS} characters): ")
    if not first or first != getpass.getpass("Again: "):
        raise click.UsageError("passwords are empty or differ")
    return _new_password(first)


def _new_password(value: str) -> str:
    """A password an agent may be given (core.model.check_password), else a usage error."""
    try:
        return check_password(value)
    except ValidationError as exc:
        raise click.BadParameter(str(exc), param_hint="'--password'") from None
