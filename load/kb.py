"""kb: FAQ search speed. Builds the search indexes of N generated articles (half English,
half Chinese, made of the demo articles' words) and times queries: the engine alone
(tokenise, BM25 scores, top 3, snippets) and through a thread as the server runs it.

Runs in this process, with no server or Redis: what it measures is the search itself; the
HTTP request around it costs what any small JSON endpoint costs (docs/performance.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

from chatserver.kb import tokenize
from chatserver.kb.model import Article
from chatserver.kb.search import Index
from load import report

DEMO = Path(__file__).resolve().parents[1] / "chatserver" / "kb" / "demo_articles.json"
QUESTIONS = ("how long is delivery", "can I return opened tea", "is shipping free",
             "where is my order", "how to store pu'er", "退货", "开封了还能退吗", "多久能到",
             "包邮吗", "普洱茶怎么保存", "可以用微信支付吗", "取消订单")  # fmt: skip
P95_TARGET_MS = 50.0  # a debounced as-you-type search must answer well within a keystroke pause


def add_parser(sub: Any) -> None:
    p = sub.add_parser("kb", help=(__doc__ or "").split("\n")[0], description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--articles", type=int, default=1000, help="articles, both languages")
    p.add_argument("--queries", type=int, default=2000, help="queries timed, both languages")
    p.add_argument("--seed", type=int, default=13, help="random seed (same seed, same corpus)")
    p.add_argument("--json", default="", metavar="FILE", help="write the report as JSON")


def main(opts: argparse.Namespace) -> None:
    if not 1 <= opts.articles <= 100_000 or not 1 <= opts.queries <= 1_000_000:
        raise SystemExit("--articles must be 1..100000 and --queries 1..1000000")
    result = asyncio.run(run(opts.articles, opts.queries, opts.seed))
    print(_table(result))
    if opts.json:
        report.write_json(result, opts.json)


async def run(n_articles: int, n_queries: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.perf_counter()
    await asyncio.to_thread(tokenize.warm_up)
    warm_up = time.perf_counter() - started
    articles = generate(n_articles, rng)
    indexes, build = {}, {}
    for lang in ("en", "zh-CN"):
        started = time.perf_counter()
        indexes[lang] = Index(lang, articles)
        build[lang] = round(time.perf_counter() - started, 3)
    queries = [_query(rng) for _ in range(n_queries)]
    engine = [_timed(indexes[lang], q) for lang, q in queries]
    threaded = [await _timed_in_thread(indexes[lang], q) for lang, q in queries]
    return {
        "scenario": "kb", "command": report.command_line(), "machine": report.machine(),
        "articles": n_articles, "queries": n_queries, "jieba_load_seconds": round(warm_up, 3),
        "build_seconds": build, "engine_ms": _summary(engine),
        "engine_ms_by_lang": {lang: _summary([t for (l_, _), t in zip(queries, engine,
                                                                      strict=True) if l_ == lang])
                              for lang in ("en", "zh-CN")},
        "in_thread_ms": _summary(threaded),
        "targets": [report.Target("search p95 (in thread)", P95_TARGET_MS,
                                  _summary(threaded)["p95"], "ms", True).to_dict()],
    }  # fmt: skip


def generate(n: int, rng: random.Random) -> list[Article]:
    """`n` published articles, alternately English and Chinese, of the demo articles' words."""
    demo = json.loads(DEMO.read_text("utf-8"))["articles"]
    words = {lang: [w for a in demo if a["lang"] == lang
                    for w in tokenize.tokens(a["title"] + " " + a["body"], lang)
                    if len(w) > 1 or lang == "en"]
             for lang in ("en", "zh-CN")}  # fmt: skip
    found = []
    for i in range(n):
        lang = ("en", "zh-CN")[i % 2]
        pool, joint = words[lang], (" " if lang == "en" else "")
        title = joint.join(rng.choices(pool, k=rng.randint(3, 7)))
        body = joint.join(rng.choices(pool, k=rng.randint(60, 250)))
        tags = tuple(rng.sample(pool, 2))
        found.append(Article(f"g{i}", lang, title, body, tags))
    return found


def _query(rng: random.Random) -> tuple[str, str]:
    question = rng.choice(QUESTIONS)
    return ("zh-CN" if any(ord(c) > 0x2E80 for c in question) else "en"), question


def _timed(index: Index, query: str) -> float:
    started = time.perf_counter()
    index.search(query, 3)
    return (time.perf_counter() - started) * 1000


async def _timed_in_thread(index: Index, query: str) -> float:
    started = time.perf_counter()
    await asyncio.to_thread(index.search, query, 3)
    return (time.perf_counter() - started) * 1000


def _summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)

    return {"count": len(ordered), "p50": at(0.5), "p95": at(0.95), "p99": at(0.99),
            "max": round(ordered[-1], 3)}  # fmt: skip


def _table(result: dict[str, Any]) -> str:
    lines = [f"kb search: {result['articles']} articles, {result['queries']} queries; "
             f"index build en {result['build_seconds']['en']} s, "
             f"zh-CN {result['build_seconds']['zh-CN']} s; jieba load "
             f"{result['jieba_load_seconds']} s"]  # fmt: skip
    rows = [("engine", result["engine_ms"]), ("engine en", result["engine_ms_by_lang"]["en"]),
            ("engine zh-CN", result["engine_ms_by_lang"]["zh-CN"]),
            ("in thread", result["in_thread_ms"])]  # fmt: skip
    lines.append(f"{'ms':<14}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}")
    for name, s in rows:
        lines.append(f"{name:<14}{s['p50']:>8}{s['p95']:>8}{s['p99']:>8}{s['max']:>8}")
    return "\n".join(lines)
