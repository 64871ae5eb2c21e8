"""The run's report: one dict, written as JSON (`--json FILE`) and printed as a table.

Targets say what was promised (docs/performance.md), what was measured, whether it was met
and by how much it was missed (`gap`, in the target's unit; `gap_ratio` = measured / target).
A target that does not apply at this run's scale (a smoke run) says so (`applies: false`).
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from typing import Any

import orjson

from load.hist import Hist
from load.loop import loop_name

CPU_BUSY = 90.0  # percent of one core: a generator process this busy is the bottleneck


@dataclass(frozen=True)
class Target:
    name: str
    target: float
    measured: float | None
    unit: str
    applies: bool
    lower_is_better: bool = True
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        met: bool | None = None
        gap = ratio = None
        if self.measured is not None:
            met = (
                self.measured <= self.target
                if self.lower_is_better
                else self.measured >= self.target
            )
            gap = round(self.measured - self.target, 3)
            ratio = round(self.measured / self.target, 3) if self.target else None
        return {
            "name": self.name,
            "target": self.target,
            "measured": self.measured,
            "unit": self.unit,
            "met": met,
            "gap": gap,
            "gap_ratio": ratio,
            "applies": self.applies,
            "why": self.why,
        }


def generator_check(cpu_percents: list[float], lag: Hist, lag_limit_ms: float) -> dict[str, Any]:
    """Whether the generator, not the server, limited the run: a worker process busy near
    100% of its core, or sends leaving later than `lag_limit_ms` after their schedule (p99)."""
    reasons = []
    busiest = max(cpu_percents, default=0.0)
    if busiest >= CPU_BUSY:
        reasons.append(f"a generator process used {busiest:.0f}% of a core")
    lag_ms = lag.summary_ms()
    if float(lag_ms["p99"]) > lag_limit_ms:
        reasons.append(f"send lag p99 {lag_ms['p99']} ms > {lag_limit_ms} ms")
    return {
        "bottleneck": bool(reasons),
        "reasons": reasons,
        "cpu_percent": cpu_percents,
        "send_lag_ms": lag_ms,
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loop": loop_name(),
        "platform": platform.platform(),
    }


def command_line() -> str:
    return "python -m load " + " ".join(sys.argv[1:])


def write_json(report: dict[str, Any], path: str) -> None:
    with open(path, "wb") as out:
        out.write(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))


# --- the table ---------------------------------------------------------------------------
_LATENCY_KEYS = ("p50", "p95", "p99", "max")


def render(report: dict[str, Any]) -> str:
    """The report as an indented two-column table."""
    lines = [f"== {report['scenario']}: {report['command']}"]
    for key in ("figures", "cost", "generator"):
        if report.get(key):
            lines.append(f"-- {key}")
            _rows(report[key], 1, lines)
    if report.get("targets"):
        lines.append("-- targets")
        for t in report["targets"]:
            verdict = "n/a" if t["measured"] is None else ("met" if t["met"] else "MISSED")
            scope = "" if t["applies"] else "  (not at this scale)"
            lines.append(
                f"  {t['name']:<46} {_num(t['measured']):>10} vs {_num(t['target'])}"
                f" {t['unit']:<8} {verdict}{scope}"
            )
    lines.append(
        f"-- correct: {report['correct']}"
        + ("" if report["correct"] else "  problems: " + "; ".join(report["problems"]))
    )
    return "\n".join(lines)


def _rows(value: Any, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    for name, item in value.items():
        if isinstance(item, dict) and all(k in item for k in _LATENCY_KEYS):
            cells = " / ".join(_num(item[k]) for k in _LATENCY_KEYS)
            lines.append(
                f"{pad}{name:<{48 - len(pad)}} {cells} ms (p50/p95/p99/max)"
                f"  n={item.get('count', '')}"
            )
        elif isinstance(item, dict):
            lines.append(f"{pad}{name}")
            _rows(item, depth + 1, lines)
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            lines.append(f"{pad}{name}")
            for row in item:
                lines.append(f"{pad}  " + "  ".join(f"{k}={_num(v)}" for k, v in row.items()))
        else:
            lines.append(f"{pad}{name:<{48 - len(pad)}} {_num(item)}")


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(_num(v) for v in value)
    return str(value)
