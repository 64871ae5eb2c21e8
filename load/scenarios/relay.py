"""relay: S shoppers and A agents (capacity 3) writing to each other at a steady rate.

Figures: delivery latency each way from the scheduled send to receipt, messages delivered per
second and per server CPU-second, lost / duplicated / out-of-order counts, errors. With
`--rates 2000,4000,...` the rate steps up every `--step-seconds` and the report names the
highest rate sustained with p99 <= 50 ms. An echo pass at the same load gives the floor.
"""

from __future__ import annotations

from argparse import ArgumentParser, Namespace
from typing import Any

from load.controller import Controller
from load.report import Target
from load.scenarios import echo
from load.scenarios.chat import chat_control, chat_work, merge_counts, problems, step_figures
from load.workers import Link

SUSTAINED_P99_MS = 50.0


def add_options(p: ArgumentParser) -> None:
    p.add_argument("--shoppers", type=int, default=100, help="conversations (one per shopper)")
    p.add_argument("--agents", type=int, default=0, help="default: shoppers / 3, rounded up")
    p.add_argument(
        "--rate", type=float, default=200.0, help="messages per second, both directions together"
    )
    p.add_argument("--rates", default="", help="comma-separated rates to step through")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of traffic")
    p.add_argument("--step-seconds", type=float, default=10.0, help="seconds per --rates step")
    p.add_argument(
        "--echo-seconds",
        type=float,
        default=8.0,
        help="seconds of the echo pass at the same load (0: none)",
    )


async def control(ctl: Controller, opts: Namespace) -> dict[str, Any]:
    rates = [float(r) for r in opts.rates.split(",") if r] or [opts.rate]
    seconds = opts.step_seconds if len(rates) > 1 else opts.duration
    steps = [(i * seconds, rate) for i, rate in enumerate(rates)]
    # The floor first, on a quiet machine (after relay the server may still be busy).
    connections = opts.shoppers + (opts.agents or -(-opts.shoppers // 3))
    floor = None
    if opts.echo_seconds > 0:
        floor = await echo.measure(ctl, opts, connections, rates[0], opts.echo_seconds)
    run = await chat_control(ctl, opts, "relay", steps, seconds * len(rates))
    counts = merge_counts(run.results)
    per_step = [step_figures(run, i, rate, opts.lag_limit_ms) for i, rate in enumerate(rates)]
    figures, cost = per_step[0] if len(rates) == 1 else _stepped(per_step, opts)
    figures.update(
        shoppers=opts.shoppers,
        servers=len(ctl.stack.server_urls),
        cross_process=len(ctl.stack.server_urls) > 1,
        setup_seconds=round(max(s["setup_seconds"] for s in run.setup), 2),
        **counts,
    )
    if floor is not None:
        figures["echo_floor"] = floor["figures"]["latency_ms"]
        relay_p50 = figures.get("latency_ms", {}).get("both", {}).get("p50")
        echo_p50 = floor["figures"]["latency_ms"]["p50"]
        if relay_p50 is not None and echo_p50:
            figures["p50_vs_echo"] = round(relay_p50 / echo_p50, 2)
    return {
        "figures": figures,
        "cost": cost,
        "targets": _targets(figures, opts, rates),
        "problems": problems(counts),
    }


def _stepped(
    per_step: list[tuple[dict[str, Any], dict[str, Any]]], opts: Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    steps = []
    best = 0.0
    for figures, cost in per_step:
        p99 = figures["latency_ms"]["both"]["p99"]
        ok = p99 <= SUSTAINED_P99_MS and not cost["generator"]["bottleneck"]
        keep_up = figures["delivered_per_second"] >= 0.97 * figures["rate_scheduled"]
        sustained = ok and keep_up
        if sustained:
            best = max(best, figures["rate_scheduled"])
        steps.append(
            {
                **figures,
                "p99_ms": p99,
                "sustained": sustained,
                "server_cpu_percent": cost["server"]["cpu_percent"],
                "redis_cpu_seconds": cost["redis"]["cpu_seconds"],
                "generator_bottleneck": cost["generator"]["bottleneck"],
            }
        )
    for s in steps:
        del s["latency_ms"]
    top = per_step[-1][1]
    return {"steps": steps, "highest_sustained_rate": best}, top


def _targets(figures: dict[str, Any], opts: Namespace, rates: list[float]) -> list[dict[str, Any]]:
    servers = figures["servers"]
    at_scale = opts.shoppers >= 1000 and rates[0] >= 2000
    out = []
    if "latency_ms" in figures:
        lat = figures["latency_ms"]["both"]
        out.append(Target("relay 2,000 msg/s p99", 10.0, lat["p99"], "ms", at_scale))
        if "p50_vs_echo" in figures:
            out.append(Target("relay p50 / echo p50", 5.0, figures["p50_vs_echo"], "x", at_scale))
    if "highest_sustained_rate" in figures:
        per_process = figures["highest_sustained_rate"] / servers
        out.append(
            Target(
                "highest sustained rate (p99<=50ms) per process",
                5000.0,
                per_process,
                "msg/s",
                max(rates) >= 5000 * servers,
                lower_is_better=False,
            )
        )
    return [t.to_dict() for t in out]


async def work(spec: dict[str, Any], link: Link) -> None:
    await chat_work(spec, link)
