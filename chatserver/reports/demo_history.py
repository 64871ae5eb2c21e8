"""Made-up history for `chatserver demo`: four weeks of plausible chats of the demo store, so
that its reports page is not empty at first look. Only the demo calls this; the reports say
"demo data" wherever the site's rollups hold it (store.keys.kpi_demo).

The chats are simulated here and counted exactly as the routing scripts count real ones (the
same fields, core.kpis), hour by hour: arrivals follow a shop's day (quiet nights, a late
morning and an evening peak, busier weekends), waits and handle times are log-normal, most chats
end resolved or in a sale, and about half are rated.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from chatserver.core.kpis import DAY_MS, HOUR_MS, count_field, outcome_fact, seconds_of
from chatserver.core.model import Agent, Role, Site
from chatserver.store.clients import Redis
from chatserver.store.rollups import Counting, Rollups, Session

DAYS = 28
DEFAULT_KEEP_MS = Counting().keep_ms
# Conversations an hour (local = UTC for the demo site) by hour of the day.
HOURLY = (0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 1.0, 2.0, 3.5, 5.0, 5.5,
          4.5, 4.0, 4.0, 4.5, 4.0, 3.5, 3.5, 4.5, 6.0, 6.5, 4.0, 1.5)  # fmt: skip
WEEKDAY = (1.15, 1.0, 0.95, 1.0, 1.05, 1.3, 1.25)  # Monday .. Sunday
OUTCOMES = (("resolved", 0.70), ("sale", 0.15), ("not_resolved", 0.08), ("other", 0.05),
            ("spam", 0.02))  # fmt: skip
SHIFTS = ((8, 17), (12, 21), (17, 23))  # the demo's agents take turns: early, late, evening
DEFLECTIONS = 0.3  # shoppers an FAQ article answered, per conversation started (about 23%)


@dataclass
class _Tally:
    counts: Counter[tuple[str, int]] = field(default_factory=Counter)

    def count(self, at: int, name: str, dept: str, agent: str = "", by: int = 1) -> None:
        day = at - at % DAY_MS
        self.counts[(count_field(at, name, dept), day)] += by
        if agent:
            self.counts[(count_field(at, name, dept, agent), day)] += by

    def time(self, at: int, name: str, dept: str, agent: str, ms: int) -> None:
        day, seconds = at - at % DAY_MS, seconds_of(ms)
        self.counts[(f"{count_field(at, name, dept)}|{seconds}", day)] += 1
        self.counts[(f"{count_field(at, name, dept, agent)}|{seconds}", day)] += 1


async def seed(
    redis: Redis, site: Site, agents: Sequence[Agent], now_ms: int, keep_ms: int
) -> bool:
    """Write the history of the `DAYS` days before today, once. Returns False if the site's
    rollups were seeded already."""
    rollups = Rollups(redis)
    if await rollups.is_demo(site.key):
        return False
    today = now_ms - now_ms % DAY_MS
    tally, sessions = simulate(site, agents, today - DAYS * DAY_MS, today, random.Random(7))
    await rollups.add_counts(site.key, ((f, d, n) for (f, d), n in tally.counts.items()), keep_ms)
    await rollups.add_sessions(site.key, sessions)
    await rollups.mark_demo(site.key)
    return True


def simulate(
    site: Site, agents: Sequence[Agent], start: int, end: int, rng: random.Random
) -> tuple[_Tally, list[Session]]:
    """The counts and the agents' time online of made-up days [start, end) (ms, UTC days)."""
    tally = _Tally()
    # A generator of their own: the chats' draws from `rng` stay what they were.
    answered_by_articles = random.Random(start)
    staff = [a for a in agents if a.role is not Role.ADMIN]
    sessions = _shifts(staff, start, end)
    for hour in range(start, end, HOUR_MS):
        weekday = (hour // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
        rate = HOURLY[(hour % DAY_MS) // HOUR_MS] * WEEKDAY[weekday]
        for _ in range(_poisson(rng, rate)):
            at = hour + rng.randrange(HOUR_MS)
            dept = rng.choice(site.departments[:1] * 3 + site.departments[1:] * 2)
            serving = [a.login for a in staff if dept in a.departments]
            on_duty = [s.agent for s in sessions if s.start <= at < s.end and s.agent in serving]
            _conversation(tally, rng, at, dept, on_duty, serving, end)
        for _ in range(_poisson(answered_by_articles, rate * DEFLECTIONS)):
            at = hour + answered_by_articles.randrange(HOUR_MS)
            tally.count(at, "deflected", answered_by_articles.choice(site.departments))
    return tally, sessions


def _conversation(
    tally: _Tally, rng: random.Random, at: int, dept: str, on_duty: list[str],
    serving: list[str], end: int,
) -> None:  # fmt: skip
    tally.count(at, "created", dept)
    if not on_duty:  # nobody there: most leave a message, the others give up
        if rng.random() < 0.85 and serving:
            _left_message(tally, rng, at, dept, serving[0], end)
        else:
            tally.count(at + 60_000, "abandoned", dept)
        return
    busy = len(on_duty) == 1
    if rng.random() < (0.09 if busy else 0.04):
        tally.count(at + int(rng.uniform(30, 400) * 1000), "abandoned", dept)
        return
    agent = rng.choice(on_duty)
    assign_ms = int(_lognormal(rng, 25 if busy else 8, 0.9) * 1000)
    reply_ms = assign_ms + int(_lognormal(rng, 35 if busy else 25, 0.7) * 1000)
    handle_ms = int(_lognormal(rng, 420, 0.6) * 1000)
    assigned, closed = at + assign_ms, at + assign_ms + handle_ms
    tally.count(assigned, "assigned", dept, agent)
    tally.time(assigned, "assign_wait", dept, agent, assign_ms)
    tally.time(at + reply_ms, "reply_wait", dept, agent, reply_ms)
    transfers = 1 if rng.random() < 0.05 else 0
    if transfers:
        tally.count(at + reply_ms + 60_000, "transfers", dept, agent)
    outcome = rng.choices([o for o, _ in OUTCOMES], weights=[w for _, w in OUTCOMES])[0]
    tally.count(closed, "closed", dept, agent)
    tally.count(closed, outcome_fact(outcome), dept, agent)
    tally.time(closed, "handle", dept, agent, handle_ms)
    if transfers:
        tally.count(closed, "xfers", dept, agent, transfers)
    if outcome in ("resolved", "sale") and rng.random() < 0.04:
        tally.count(closed, "reopened", dept, agent)
    if rng.random() < 0.55:
        slow = reply_ms > 120_000
        good = rng.random() < (0.7 if slow else 0.9 if outcome != "not_resolved" else 0.4)
        tally.count(closed, "good" if good else "bad", dept, agent)


def _left_message(
    tally: _Tally, rng: random.Random, at: int, dept: str, agent: str, end: int
) -> None:
    tally.count(at + 30_000, "left", dept)
    # Answered the next morning, more or less (unless that is still to come).
    reply_ms = int(_lognormal(rng, 9 * 3600, 0.5) * 1000)
    replied = at + reply_ms
    if replied + 300_000 >= end:
        return
    tally.time(replied, "left_reply", dept, agent, reply_ms - 30_000)
    tally.count(replied, "assigned", dept, agent)
    tally.count(replied + 300_000, "closed", dept, agent)
    tally.count(replied + 300_000, outcome_fact("resolved"), dept, agent)
    tally.time(replied + 300_000, "handle", dept, agent, 300_000)


def _shifts(staff: Sequence[Agent], start: int, end: int) -> list[Session]:
    found = []
    for day in range(start, end, DAY_MS):
        for i, agent in enumerate(staff):
            weekday = (day // DAY_MS + 3) % 7
            if (weekday + i) % 7 == 6:  # each has a day off a week, not the same one
                continue
            begin, finish = SHIFTS[i % len(SHIFTS)]
            found.append(Session(agent.login, day + begin * HOUR_MS, day + finish * HOUR_MS))
    return found


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)
