"""abuse: what an anonymous attacker costs the server (figures of docs/security.md).

Logins: --logins attempts for made-up logins, --parallel at once, each from its own loopback
address (127.0.x.y), so the per-address throttle spares the server nothing: the worst case.
Reported: the server's CPU seconds and peak memory over the attempts, how they were answered,
and /livez latency meanwhile. Conversations: --conversations anonymous conversations with
--messages messages of --chars characters each; Redis bytes per conversation (MEMORY USAGE
of every key it made), per message, and the bound a spammer reaches (the server's
CHAT_MAX_ENTRIES messages of the longest allowed text).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from argparse import ArgumentParser, Namespace
from typing import Any

import httpx

from chatserver.client import Client
from chatserver.core.frames import MAX_TEXT_CHARS
from chatserver.core.model import Site
from chatserver.store import keys, sites
from load.controller import Controller, window
from load.hist import Hist


def add_options(p: ArgumentParser) -> None:
    p.add_argument("--logins", type=int, default=100, help="attempts with made-up logins")
    p.add_argument("--parallel", type=int, default=40, help="attempts in flight at once")
    p.add_argument("--conversations", type=int, default=20)
    p.add_argument("--messages", type=int, default=10, help="messages per conversation")
    p.add_argument("--chars", type=int, default=100, help="characters per message")
    p.add_argument("--max-entries", type=int, default=1000,
                   help="the server's CHAT_MAX_ENTRIES, for the bound")  # fmt: skip


async def control(ctl: Controller, opts: Namespace) -> dict[str, Any]:
    base = ctl.stack.server_urls[0].replace("ws://", "http://", 1)
    logins = await _logins(ctl, base, opts.logins, opts.parallel)
    storage = await _conversations(ctl, opts)
    problems = [f"{n} answers {code}" for code, n in logins["answers"].items() if code >= "500"]
    return {"figures": {"logins": logins, "conversations": storage}, "targets": [],
            "problems": problems}  # fmt: skip


async def _logins(ctl: Controller, base: str, count: int, parallel: int) -> dict[str, Any]:
    answers: dict[str, int] = {}
    slots = asyncio.Semaphore(parallel)
    livez = Hist()

    async def attempt(i: int) -> None:
        address = f"127.0.{1 + i // 250}.{1 + i % 250}"
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with slots, httpx.AsyncClient(transport=transport, timeout=60) as http:
            made_up = {"login": f"nobody-{uuid.uuid4().hex}", "password": "x"}
            reply = await http.post(f"{base}/api/v1/login", json=made_up)
        answers[str(reply.status_code)] = answers.get(str(reply.status_code), 0) + 1

    async def probe(done: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            while not done.is_set():
                start = time.perf_counter()
                await http.get(f"{base}/livez")
                livez.add(time.perf_counter() - start)
                await asyncio.sleep(0.05)  # a probe's pace, not a synchronisation

    before = await ctl.snapshot()
    done = asyncio.Event()
    async with ctl.rss_sampler(0.05) as rss:
        prober = asyncio.create_task(probe(done))
        await asyncio.gather(*(attempt(i) for i in range(count)))
        done.set()
        await prober
    after = await ctl.snapshot()
    cost = window(before, after)
    return {
        "attempts": count,
        "answers": dict(sorted(answers.items())),
        "seconds": cost["seconds"],
        "server_cpu_seconds": cost["server"]["cpu_seconds"],
        "server_rss_mb_before": round(before.server_rss / 2**20, 1),
        "server_rss_mb_peak": round(max(r for _, r in rss) / 2**20, 1) if rss else None,
        "livez_ms": livez.summary_ms(),
    }


async def _conversations(ctl: Controller, opts: Namespace) -> dict[str, Any]:
    site = Site(f"abuse{ctl.run_id}"[:40].lower(), "Abuse", ("sales",))
    await sites.save_site(ctl.redis, site)
    url = f"{ctl.stack.server_urls[0]}/ws/v1/shopper?site={site.key}"
    sizes = [await _one(ctl, url, site.key, opts.messages, opts.chars)
             for _ in range(opts.conversations)]  # fmt: skip
    empty = [await _one(ctl, url, site.key, 1, opts.chars) for _ in range(3)]
    per_conversation = sum(sizes) / len(sizes)
    one_message = sum(empty) / len(empty)
    per_message = (per_conversation - one_message) / max(1, opts.messages - 1)
    per_long = per_message + (MAX_TEXT_CHARS - opts.chars) * 1.0  # text bytes, ASCII
    most = opts.max_entries
    return {
        "conversations": len(sizes),
        "messages_each": opts.messages,
        "chars_each": opts.chars,
        "bytes_per_conversation": round(per_conversation),
        "bytes_with_one_message": round(one_message),
        "bytes_per_message": round(per_message),
        "bound_bytes_per_conversation": round(one_message + most * per_long),
        "bound_assumes": f"{most} messages of {MAX_TEXT_CHARS} characters",
    }


async def _one(ctl: Controller, url: str, site: str, messages: int, chars: int) -> int:
    """One anonymous conversation with `messages` messages; the Redis bytes it holds."""
    client = Client(url)
    await client.connect()
    await client.send({"type": "hello"})
    welcome = await client.wait_for("welcome", 10)
    text = ("spam " * chars)[:chars]
    await client.send({"type": "start", "text": text, "client_msg_id": "m0"})
    conv = str((await client.wait_for("ack", 10, client_msg_id="m0"))["conversation_id"])
    for i in range(1, messages):
        await client.send({"type": "message", "conversation_id": conv,
                           "client_msg_id": f"m{i}", "text": text})  # fmt: skip
        await client.wait_for("ack", 10, client_msg_id=f"m{i}")
    await client.close()
    visitor = str(welcome["visitor_id"])
    made = [keys.conversation(site, conv), keys.transcript(conv), keys.client_ids(conv),
            keys.sender_rate(conv, f"shopper:{visitor}"), keys.visitor_convs(site, visitor),
            keys.visitor_starts(site, visitor, int(time.time() * 1000) // 3_600_000)]  # fmt: skip
    return sum([int(await ctl.redis.memory_usage(k, samples=0) or 0) for k in made])
