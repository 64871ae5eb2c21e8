"""The report's tables, from the rollups' cells and the agents' time online (plain Python).

Cells are counted per UTC hour; a report is asked for in local days of a time zone. Each hour
belongs to the local day and hour its start falls in (exact for zones whole hours off UTC,
which is nearly all of them; docs/reports.md says what happens in the others).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from chatserver.core.kpis import (
    Cell,
    Duration,
    Figures,
    Tally,
    Targets,
    figures,
    judged,
    spread_over_hours,
)
from chatserver.store.rollups import Session

K = TypeVar("K", bound=Hashable)

# Bins of the wait distribution (seconds): [lo, hi); the last is open.
WAIT_BINS = (0, 15, 30, 60, 120, 180, 300, 600)


@dataclass(frozen=True, slots=True)
class Period:
    """Local days `first`..`last` (inclusive) in `zone`, as UTC ms [start, end)."""

    first: date
    last: date
    zone: ZoneInfo
    start: int
    end: int

    @classmethod
    def of(cls, first: date, last: date, zone: ZoneInfo) -> Period:
        return cls(first, last, zone, _midnight(first, zone), _midnight(last + timedelta(1), zone))

    def days(self) -> list[date]:
        return [self.first + timedelta(i) for i in range((self.last - self.first).days + 1)]

    def local(self, ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, self.zone)


def _midnight(day: date, zone: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a report is built from: the cells of the period, the stretches online, and which
    departments each agent serves (their time online counts for each)."""

    cells: list[Cell]
    sessions: list[Session]
    departments_of: Mapping[str, tuple[str, ...]]
    site_departments: tuple[str, ...] = ()
    department: str | None = None  # the filter, if any

    def site_cells(self) -> Iterable[Cell]:
        """The departments' own counts (not their agents'), within the filter."""
        return (c for c in self.cells if not c.agent and self._kept(c.department))

    def agent_cells(self) -> Iterable[Cell]:
        return (c for c in self.cells if c.agent and self._kept(c.department))

    def serves(self, agent: str, department: str | None) -> bool:
        return department is None or department in self.departments_of.get(agent, ())

    def _kept(self, department: str) -> bool:
        return self.department is None or department == self.department


def build(inputs: Inputs, period: Period, targets: Targets) -> dict[str, Any]:
    """Every table of the report, as JSON-ready values."""
    total = tally_of(inputs, period)
    return {
        "summary": summary(total, targets),
        "days": _days(inputs, period),
        "hours": _hours(inputs, period),
        "waits": _waits(total),
        "agents": _agents(inputs, period),
        "departments": _departments(inputs, period),
    }


def summary(total: Tally, targets: Targets) -> dict[str, Any]:
    """The figures of a tally with the status of each targeted one."""
    found = figures(total)
    status = {k: v.value for k, v in judged(found, targets).items()}
    return {**_row(found), "status": status}


def tally_of(inputs: Inputs, period: Period) -> Tally:
    """The whole period's tally within the department filter."""
    site = _tallies(inputs.site_cells(), lambda c: "all")
    _add_online(site, inputs, period, _in_filter(inputs, lambda s, hour: "all"))
    return site.get("all", Tally())


# --- the tables ---------------------------------------------------------------------------------
def _days(inputs: Inputs, period: Period) -> list[dict[str, Any]]:
    def day_of(ms: int) -> date:
        return period.local(ms).date()

    by_day = _tallies(inputs.site_cells(), lambda c: day_of(c.hour_ms))
    _add_online(by_day, inputs, period, _in_filter(inputs, lambda s, hour: day_of(hour)))
    return [{"day": d.isoformat(), **_row(figures(by_day.get(d, Tally())))} for d in period.days()]


def _hours(inputs: Inputs, period: Period) -> list[dict[str, Any]]:
    def hour_of(ms: int) -> int:
        return period.local(ms).hour

    by_hour = _tallies(inputs.site_cells(), lambda c: hour_of(c.hour_ms))
    _add_online(by_hour, inputs, period, _in_filter(inputs, lambda s, hour: hour_of(hour)))
    return [{"hour": h, **_row(figures(by_hour.get(h, Tally())))} for h in range(24)]


def _agents(inputs: Inputs, period: Period) -> list[dict[str, Any]]:
    by_agent = _tallies(inputs.agent_cells(), lambda c: c.agent)
    _add_online(by_agent, inputs, period, _in_filter(inputs, lambda s, hour: s.agent))
    return [{"agent": a, **_row(figures(by_agent[a], per_agent=True))} for a in sorted(by_agent)]


def _departments(inputs: Inputs, period: Period) -> list[dict[str, Any]]:
    by_dept = _tallies(inputs.site_cells(), lambda c: c.department)
    shown = [inputs.department] if inputs.department else list(inputs.site_departments)
    shown += sorted(set(by_dept) - set(shown))  # a department since removed, with history
    shown = [d for d in shown if d]  # '': answers by articles of no department (site total only)
    for dept in shown:

        def serving(s: Session, hour: int, d: str = dept) -> str | None:
            return d if inputs.serves(s.agent, d) else None

        _add_online(by_dept, inputs, period, serving)
    return [{"department": d, **_row(figures(by_dept.get(d, Tally())))} for d in shown]


def _waits(t: Tally) -> list[dict[str, Any]]:
    reply, assign = t.histogram(Duration.REPLY_WAIT), t.histogram(Duration.ASSIGN_WAIT)
    rows = []
    for i, lo in enumerate(WAIT_BINS):
        hi = WAIT_BINS[i + 1] if i + 1 < len(WAIT_BINS) else None

        def inside(s: int, lo: int = lo, hi: int | None = hi) -> bool:
            return s >= lo and (hi is None or s < hi)

        rows.append({
            "from_seconds": lo, "to_seconds": hi,
            "first_reply": sum(n for s, n in reply.items() if inside(s)),
            "assignment": sum(n for s, n in assign.items() if inside(s)),
        })  # fmt: skip
    return rows


# --- helpers ------------------------------------------------------------------------------------
def _tallies(cells: Iterable[Cell], key: Callable[[Cell], K]) -> dict[K, Tally]:
    found: dict[K, Tally] = {}
    for cell in cells:
        found.setdefault(key(cell), Tally()).add(cell)
    return found


def _add_online(
    into: dict[Any, Tally],
    inputs: Inputs,
    period: Period,
    key: Callable[[Session, int], Any],
) -> None:
    """Add each stretch online, hour by hour, to the tally `key` names (None: to none)."""
    for s in inputs.sessions:
        start, end = max(s.start, period.start), min(s.end, period.end)
        for hour, ms in spread_over_hours(start, end):
            k = key(s, hour)
            if k is not None:
                into.setdefault(k, Tally()).online_ms += ms


def _in_filter(inputs: Inputs, key: Callable[[Session, int], Any]) -> Callable[[Session, int], Any]:
    """`key`, for the stretches of agents who serve the filtered department (all without one)."""

    def keyed(s: Session, hour: int) -> Any:
        return key(s, hour) if inputs.serves(s.agent, inputs.department) else None

    return keyed


def _row(f: Figures) -> dict[str, Any]:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in f.as_dict().items()}
