"""The command line: parse, bound, run one scenario, print the table, write the JSON."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import time
from types import ModuleType
from typing import Any

from chatserver.store.clients import plain_client
from load import kb, report
from load.controller import Controller
from load.hist import Hist
from load.procstat import parse_cpus, pin
from load.scenarios import NAMES
from load.stack import Stack, external_stack, start_stack
from load.wire import check_loopback
from load.workers import raise_fd_limit

MAX_CONNECTIONS = 25_000  # shoppers + agents + idle connections of one run
MAX_RATE = 50_000.0  # messages per second
MAX_SECONDS = 900.0  # a run stops by itself after this long, whatever it is doing


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m load", description=__doc__)
    sub = top.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
    for name in NAMES:
        module = scenario(name)
        p = sub.add_parser(
            name,
            help=(module.__doc__ or "").split("\n")[0].replace("%", "%%"),
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_options(p)
        _common(p)
    kb.add_parser(sub)  # in-process (no server, no Redis): FAQ search speed
    return top


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run")
    g.add_argument(
        "--url",
        default="",
        help="a running server (ws://127.0.0.1:PORT); "
        "default: start a throwaway Redis and server(s)",
    )
    g.add_argument(
        "--redis-url",
        default="",
        help="the Redis of --url (to seed and measure): redis://, redis+cluster://h:p,h:p, "
        "redis+sentinel://h:p/MASTER",
    )
    g.add_argument(
        "--redis-cluster",
        action="store_true",
        help="start a throwaway Redis Cluster (3 masters, 3 replicas; Debian's redis-server "
        ">= 7) instead of one Redis",
    )
    g.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        help="pid of the --url server (CPU, memory); default: the port's owner",
    )
    g.add_argument(
        "--servers",
        type=int,
        default=1,
        help="server processes to start (relay: shoppers on the first, agents on the last)",
    )
    g.add_argument("--processes", type=int, default=1, help="generator worker processes")
    g.add_argument("--server-cpu", default="", help="CPU list for server(s), e.g. 0")
    g.add_argument("--redis-cpu", default="", help="CPU list for Redis (default: --server-cpu)")
    g.add_argument("--load-cpu", default="", help="CPU list for the generator, e.g. 1")
    g.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="CHAT_X=VALUE",
        help="setting for the started servers (repeat)",
    )
    g.add_argument(
        "--appendfsync",
        default="everysec",
        choices=("always", "everysec"),
        help="the started Redis's fsync policy",
    )
    g.add_argument("--binary", action="store_true", help="msgpack frames (chat.v1.msgpack)")
    g.add_argument(
        "--drain-seconds",
        type=float,
        default=5.0,
        help="after sending stops, how long to wait for the last deliveries",
    )
    g.add_argument("--connect-slots", type=int, default=200, help="handshakes in flight at once")
    g.add_argument(
        "--lag-limit-ms",
        type=float,
        default=5.0,
        help="send lag p99 above this marks the generator as the bottleneck",
    )
    g.add_argument("--max-seconds", type=float, default=300.0, help="hard limit on the run")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--json", default="", metavar="FILE", help="write the report as JSON")


def scenario(name: str) -> ModuleType:
    return importlib.import_module(f"load.scenarios.{name}")


def check_bounds(opts: argparse.Namespace) -> None:
    """Refuse runs that are not local or not bounded."""
    for url in (opts.url, opts.redis_url):
        if url:
            check_loopback(url)
    if opts.url and not opts.redis_url:
        raise SystemExit("--url needs --redis-url (the run seeds its own site and agents)")
    if opts.redis_cluster and opts.url:
        raise SystemExit(
            "--redis-cluster starts a cluster for the servers the run starts; "
            "with --url, give the cluster as --redis-url redis+cluster://..."
        )
    count = sum(getattr(opts, k, 0) or 0 for k in ("shoppers", "agents", "connections"))
    if count > MAX_CONNECTIONS:
        raise SystemExit(f"{count} connections: the limit is {MAX_CONNECTIONS}")
    rates = [getattr(opts, "rate", 0.0)] + [
        float(r) for r in getattr(opts, "rates", "").split(",") if r
    ]
    if max(rates) > MAX_RATE:
        raise SystemExit(f"rate {max(rates)}: the limit is {MAX_RATE}")
    opts.max_seconds = min(opts.max_seconds, MAX_SECONDS)
    if not 1 <= opts.processes <= 16 or not 1 <= opts.servers <= 8:
        raise SystemExit("--processes must be 1..16 and --servers 1..8")


async def execute(opts: argparse.Namespace) -> dict[str, Any]:
    stack = await _stack(opts)
    redis = plain_client(stack.redis_url)  # a Cluster or Sentinel URL too
    ctl = Controller(opts, stack, redis)
    started = time.monotonic()
    try:
        async with asyncio.timeout(opts.max_seconds):
            parts = await scenario(opts.scenario).control(ctl, opts)
    finally:
        if ctl.workers is not None:
            ctl.workers.close()
        await redis.aclose()
        stack.close()
    issues = parts.pop("problems")
    parts["generator"] = _generator(parts.get("cost", {}), opts.lag_limit_ms)
    return {
        "scenario": opts.scenario,
        "command": report.command_line(),
        "machine": report.machine(),
        "run_seconds": round(time.monotonic() - started, 1),
        "redis": {"topology": topology(stack.redis_url), "started_by_run": not opts.url},
        **parts,
        "correct": not issues,
        "problems": issues,
        "options": {
            k: v
            for k, v in vars(opts).items()
            if k not in ("server_cpus", "load_cpus", "redis_cpus")
        },
    }


def _generator(cost: dict[str, Any], lag_limit_ms: float) -> dict[str, Any]:
    """The generator's verdict over the run's windows: a bottleneck in any window counts."""
    found: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        for key, value in node.items():
            if key == "generator" and isinstance(value, dict):
                found.append(value)
            elif key == "generator_cpu_percent":
                found.append(report.generator_check(value, Hist(), lag_limit_ms))
            elif isinstance(value, dict):
                walk(value)

    walk(cost)
    reasons = sorted({r for g in found for r in g["reasons"]})
    cpu = max((c for g in found for c in g["cpu_percent"]), default=0.0)
    lags = [g["send_lag_ms"] for g in found if g["send_lag_ms"]["count"]]
    return {
        "bottleneck": bool(reasons),
        "reasons": reasons,
        "cpu_percent_max": cpu,
        "send_lag_ms": lags[-1] if lags else None,
    }


async def _stack(opts: argparse.Namespace) -> Stack:
    if opts.url:
        return external_stack(opts.url, opts.redis_url, opts.server_pid)
    env = dict(item.split("=", 1) for item in opts.server_env)
    return await start_stack(opts.servers, opts.server_cpus, opts.redis_cpus, env, opts.appendfsync,
                             redis_cluster=opts.redis_cluster)  # fmt: skip


def topology(redis_url: str) -> str:
    """'cluster', 'sentinel' or 'single', from the URL's scheme (chatserver reads it so)."""
    scheme = redis_url.partition("://")[0]
    return next((t for t in ("cluster", "sentinel") if scheme.endswith("+" + t)), "single")


def main(argv: list[str] | None = None) -> None:
    opts = parser().parse_args(argv)
    if opts.scenario == "kb":
        return kb.main(opts)
    check_bounds(opts)
    opts.server_cpus = parse_cpus(opts.server_cpu) if opts.server_cpu else None
    opts.load_cpus = parse_cpus(opts.load_cpu) if opts.load_cpu else None
    opts.redis_cpus = parse_cpus(opts.redis_cpu) if opts.redis_cpu else opts.server_cpus
    pin(0, opts.load_cpus)
    raise_fd_limit()
    from load.loop import run

    result = run(execute(opts))
    print(report.render(result))
    if opts.json:
        report.write_json(result, opts.json)
    sys.exit(0 if result["correct"] else 1)
