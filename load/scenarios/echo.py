"""echo: the same client against a bare `websockets` echo server: the floor.

C connections each send at an equal share of the rate; every frame comes straight back, and
its latency counts from the scheduled send time exactly as in relay.
"""

from __future__ import annotations

import asyncio
import random
from argparse import ArgumentParser, Namespace
from typing import Any

from load.controller import Controller, window
from load.hist import merged
from load.peers import World
from load.report import generator_check
from load.traffic import Ledger, Step, drain, open_loop
from load.wire import Frame, WsConn, open_ws
from load.workers import Link


def add_options(p: ArgumentParser) -> None:
    p.add_argument("--connections", type=int, default=100)
    p.add_argument("--rate", type=float, default=200.0, help="messages per second in total")
    p.add_argument("--duration", type=float, default=10.0)


async def control(ctl: Controller, opts: Namespace) -> dict[str, Any]:
    result = await measure(ctl, opts, opts.connections, opts.rate, opts.duration)
    return {**result, "targets": [], "problems": _problems(result["figures"])}


async def measure(
    ctl: Controller, opts: Namespace, connections: int, rate: float, seconds: float
) -> dict[str, Any]:
    """Start the echo server, run the load against it, stop it; figures and cost."""
    cpus = ctl.opts.server_cpus
    server = await ctl.stack.start_echo(cpus)
    assert server.popen is not None
    saved = ctl.stack.root_pids
    ctl.stack.root_pids = [server.popen.pid]
    n = opts.processes
    try:
        specs = [
            {
                "url": server.ws,
                "connections": c,
                "rate": rate / n,
                "duration": seconds,
                "drain": opts.drain_seconds,
            }
            for c in [connections // n + (i < connections % n) for i in range(n)]
        ]
        workers = ctl.start_workers("echo", specs)
        await workers.gather("ready", ctl.remaining())
        t0 = ctl.go()
        before = await ctl.snapshot_at(t0)
        after = await ctl.snapshot_at(t0 + seconds)
        results = await workers.gather("result", ctl.remaining())
        workers.close()
    finally:
        ctl.stack.root_pids = saved
        ctl.stack.stop_echo()
    lat = merged([d for r in results for d in r["hists"].values()])
    cost = window(before, after)
    cost["generator"] = generator_check(
        cost.pop("generator_cpu_percent"),
        merged([r["send_lag"] for r in results]),
        opts.lag_limit_ms,
    )
    figures = {
        "connections": connections,
        "rate_scheduled": rate,
        "delivered_per_second": round(lat.count / cost["seconds"], 1),
        "latency_ms": lat.summary_ms(),
        "sent": sum(r["sent"] for r in results),
        "lost": sum(r["lost"] for r in results),
        "duplicated": sum(r["duplicated"] for r in results),
        "out_of_order": sum(r["out_of_order"] for r in results),
    }
    server_cpu = cost["server"]["cpu_seconds"]
    figures["delivered_per_server_cpu_second"] = (
        round(lat.count / server_cpu, 1) if server_cpu else None
    )
    return {"figures": figures, "cost": cost}


def _problems(figures: dict[str, Any]) -> list[str]:
    return [f"{figures[k]} {k}" for k in ("lost", "duplicated", "out_of_order") if figures[k]]


class EchoEnd:
    """One echo connection: it is both the sender and the receiver of its stream."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.conn: WsConn | None = None

    def send_message(self, conv_id: str, cmid: str, text: str) -> None:
        assert self.conn is not None
        self.conn.send(
            {"type": "message", "conversation_id": conv_id, "client_msg_id": cmid, "text": text}
        )

    def on_frame(self, frame: Frame) -> None:
        self.ledger.receive(self, frame)  # type: ignore[arg-type]

    def on_close(self, code: int) -> None:
        pass


async def work(spec: dict[str, Any], link: Link) -> None:
    rng = random.Random(spec["seed"])
    ledger = Ledger(rng)
    world = World(spec["binary"], spec["connect_slots"], spec["seed"])
    ends = [EchoEnd(ledger) for _ in range(spec["connections"])]

    async def connect(end: EchoEnd) -> None:
        async with world.slots:
            end.conn = await open_ws(spec["url"], end.on_frame, end.on_close, spec["binary"])

    await asyncio.gather(*(connect(end) for end in ends))
    for end in ends:
        ledger.add_stream(end, end, "echo", 0)  # type: ignore[arg-type]
    link.send("ready", {})
    t0 = float(await link.recv("go"))
    t0_ns = int(t0 * 1e9)
    await open_loop(ledger, [Step(t0_ns, spec["rate"])], t0_ns + int(spec["duration"] * 1e9))
    await drain(ledger, spec["drain"])
    for end in ends:
        assert end.conn is not None
        end.conn.close()
    result = ledger.results()
    link.send("result", result)
