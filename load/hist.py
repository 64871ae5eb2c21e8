"""Latency histograms that merge across processes: log buckets 1% wide, from 1 µs up.

Quantiles are within 1% of the exact value (the bucket's upper edge is reported), the maximum
and the mean are exact. Workers ship histograms to the controller as plain dicts.
"""

from __future__ import annotations

import math
from typing import Any

_GROWTH = math.log(1.01)
_FLOOR_US = 1.0


class Hist:
    """Counts of durations (seconds) by 1%-wide bucket."""

    __slots__ = ("buckets", "count", "max", "total")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        us = seconds * 1e6
        index = int(math.log(us / _FLOOR_US) / _GROWTH) if us > _FLOOR_US else 0
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def merge(self, other: Hist) -> Hist:
        for index, n in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + n
        self.count += other.count
        self.total += other.total
        self.max = max(self.max, other.max)
        return self

    def quantile(self, q: float) -> float:
        """The q-quantile in seconds (0 when empty)."""
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return min(self.max, _FLOOR_US * math.exp((index + 1) * _GROWTH) / 1e6)
        return self.max

    def summary_ms(self) -> dict[str, float | int]:
        """count, p50, p95, p99, max and mean, in milliseconds."""
        ms = 1000.0
        return {
            "count": self.count,
            "p50": round(self.quantile(0.50) * ms, 3),
            "p95": round(self.quantile(0.95) * ms, 3),
            "p99": round(self.quantile(0.99) * ms, 3),
            "max": round(self.max * ms, 3),
            "mean": round(self.total / self.count * ms, 3) if self.count else 0.0,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"b": self.buckets, "n": self.count, "t": self.total, "m": self.max}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hist:
        hist = cls()
        hist.buckets = {int(k): int(v) for k, v in data["b"].items()}
        hist.count, hist.total, hist.max = int(data["n"]), float(data["t"]), float(data["m"])
        return hist


def merged(dicts: list[dict[str, Any]]) -> Hist:
    """One histogram from the dict form of several."""
    out = Hist()
    for data in dicts:
        out.merge(Hist.from_dict(data))
    return out
