"""Reports of a site for a period: read the rollups and the agents' time online, build the
tables (reports.tables), judge the figures against the site's targets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatserver.core.kpis import Targets
from chatserver.core.model import Agent, Site
from chatserver.reports.tables import Inputs, Period, build, summary, tally_of
from chatserver.store.rollups import Rollups

MAX_DAYS = 366
LIVE_DAYS = 7


class PeriodError(ValueError):
    """A period or time zone a caller asked for is not valid; the message says why."""


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(f"unknown time zone {name[:64]!r}") from None


def period_of(first: str | None, last: str | None, zone: ZoneInfo, now_ms: int) -> Period:
    """The local days `first`..`last` (ISO dates; by default the last 7 days up to today)."""
    today = datetime.fromtimestamp(now_ms / 1000, zone).date()
    try:
        end = date.fromisoformat(last) if last else today
        start = date.fromisoformat(first) if first else end - timedelta(LIVE_DAYS - 1)
    except ValueError:
        raise PeriodError("from and to must be dates (YYYY-MM-DD)") from None
    if start > end:
        raise PeriodError("from must not be after to")
    if (end - start).days >= MAX_DAYS:
        raise PeriodError(f"a report covers at most {MAX_DAYS} days")
    return Period.of(start, end, zone)


@dataclass(frozen=True, slots=True)
class Reports:
    rollups: Rollups
    site_agents: Callable[[str], Awaitable[list[Agent]]]  # Hub.site_agents

    async def report(
        self, site: Site, period: Period, now_ms: int, department: str | None = None
    ) -> dict[str, Any]:
        """Every table of `site` for `period` (within `department`, if given)."""
        targets = await self.rollups.targets(site.key)
        inputs = await self._inputs(site, period, now_ms, department)
        tables = build(inputs, period, targets)
        names = {a.login: a.name for a in await self.site_agents(site.key)}
        tables["agents"] = [{"agent": r["agent"], "name": names.get(r["agent"], r["agent"]),
                             **r} for r in tables["agents"]]  # fmt: skip
        return {
            **_head(site, period, targets, department, now_ms),
            "demo_data": await self.rollups.is_demo(site.key),
            **tables,
        }

    async def live(self, site: Site, now_ms: int) -> dict[str, Any]:
        """Today's figures and the last 7 days' (today included) against the targets."""
        targets = await self.rollups.targets(site.key)
        zone = zone_of(targets.timezone)
        week = period_of(None, None, zone, now_ms)
        today = Period.of(week.last, week.last, zone)
        inputs = await self._inputs(site, week, now_ms, None)
        today_inputs = Inputs(
            [c for c in inputs.cells if c.hour_ms >= today.start],
            inputs.sessions, inputs.departments_of, inputs.site_departments,
        )  # fmt: skip
        return {
            **_head(site, week, targets, None, now_ms),
            "today": summary(tally_of(today_inputs, today), targets),
            "last_7_days": summary(tally_of(inputs, week), targets),
        }

    async def _inputs(
        self, site: Site, period: Period, now_ms: int, department: str | None
    ) -> Inputs:
        end = min(period.end, now_ms)
        cells = await self.rollups.cells(site.key, period.start, period.end)
        sessions = await self.rollups.sessions(site.key, period.start, end, now_ms)
        departments_of = {a.login: a.departments for a in await self.site_agents(site.key)}
        return Inputs(cells, sessions, departments_of, site.departments, department)


def _head(
    site: Site, period: Period, targets: Targets, department: str | None, now_ms: int
) -> dict[str, Any]:
    return {
        "site": site.key,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "timezone": targets.timezone,
        "department": department,
        "targets": {"wait_seconds": targets.wait_seconds, "csat_percent": targets.csat_percent,
                    "resolution_percent": targets.resolution_percent},
        "now": now_ms,
    }  # fmt: skip
