"""`python -m load kb` measures search over generated articles in both languages."""

from __future__ import annotations

from load import kb


async def test_the_benchmark_times_queries_over_generated_articles() -> None:
    result = await kb.run(40, 30, seed=1)
    assert result["articles"] == 40 and result["engine_ms"]["count"] == 30
    assert 0 < result["engine_ms"]["p50"] <= result["engine_ms"]["p95"]
    assert set(result["engine_ms_by_lang"]) == {"en", "zh-CN"}
    assert result["targets"][0]["measured"] == result["in_thread_ms"]["p95"]


def test_generated_articles_alternate_languages_and_are_published() -> None:
    import random

    found = kb.generate(4, random.Random(1))
    assert [a.lang for a in found] == ["en", "zh-CN", "en", "zh-CN"]
    assert all(a.published and a.title and a.body for a in found)
