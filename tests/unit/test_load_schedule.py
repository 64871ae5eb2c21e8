"""The load generator's open-loop schedule: each rate step sends at its own rate from its
start (the ramp judged a step by what it delivered in its window: a step that began at the
previous rate under-counted it and never counted as sustained)."""

from __future__ import annotations

import heapq
import random

from load.traffic import next_due

SECOND = 1_000_000_000


def _sends_per_step(streams: int, rates: list[float], step_seconds: int) -> list[int]:
    starts = [i * step_seconds * SECOND for i in range(len(rates))]
    periods = [int(streams / rate * SECOND) for rate in rates]
    end = len(rates) * step_seconds * SECOND
    rng = random.Random(7)
    heap = [(int(rng.random() * periods[0]), i) for i in range(streams)]
    heapq.heapify(heap)
    counts = [0] * len(rates)
    while heap:
        due, i = heapq.heappop(heap)
        if due >= end:
            continue
        counts[due // (step_seconds * SECOND)] += 1
        heapq.heappush(heap, (next_due(due, starts, periods), i))
    return counts


def test_every_step_sends_at_its_rate_from_its_start() -> None:
    rates = [1000.0, 1500.0, 2000.0, 3000.0, 4000.0]
    counts = _sends_per_step(2000, rates, 8)
    for rate, count in zip(rates, counts, strict=True):
        assert abs(count - rate * 8) <= rate * 8 * 0.01, (rate, count)


def test_a_step_down_slows_down_at_its_start() -> None:
    counts = _sends_per_step(500, [2000.0, 500.0], 4)
    assert abs(counts[0] - 8000) <= 80 and abs(counts[1] - 2000) <= 20, counts


def test_within_a_step_the_period_is_kept() -> None:
    starts, periods = [0, 10 * SECOND], [SECOND, SECOND // 2]
    assert next_due(3 * SECOND, starts, periods) == 4 * SECOND
    # 9.6 s + 1 s crosses 10 s by 0.6 s of the old period: 0.3 s of the new one
    assert next_due(9_600_000_000, starts, periods) == 10_300_000_000
