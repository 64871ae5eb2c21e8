"""Service KPIs: the facts the rollups count, and the figures computed from them.

The Lua scripts count facts where the state changes, into one hash per site and UTC day
(`store.keys.kpi_day`), one field per (UTC hour, fact, department, agent):

* a count: ``HH|fact|DEPT|`` (the department's) and ``HH|fact|DEPT|LOGIN`` (its agent's);
* a duration: the same names with ``|SECONDS`` appended, counting how many times the duration
  (rounded to the whole second) was that long: an exact histogram, so medians and p90s over
  any range are exact to the second.

Everything here is plain Python: parsing those fields, adding them up by hour, day, department
or agent, and turning the sums into the figures of docs/reports.md, judged against targets.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# A closed chat counts as resolved with one of these outcomes (unless the customer comes back
# within the reopen window); spam is left out of the resolution rate altogether.
RESOLVED_OUTCOMES = frozenset({"resolved", "sale"})
EXCLUDED_OUTCOMES = frozenset({"spam"})
NO_OUTCOME = "none"


class Fact(StrEnum):
    """What the scripts count (docs/reports.md says when each is counted and where)."""

    CREATED = "created"  # a conversation started (live chat or left message)
    ASSIGNED = "assigned"  # an agent got a conversation (queue, inbox or transfer)
    ABANDONED = "abandoned"  # ended while queued, before any agent
    LEFT = "left"  # the shopper left a message (out of the live queue)
    LEFT_CLOSED = "left_closed"  # a left message closed before any agent took it
    CLOSED = "closed"  # a served conversation ended (an agent had it)
    REOPENED = "reopened"  # a resolved chat whose customer came back within the window
    TRANSFERS = "transfers"  # a transfer made (by the agent it came from)
    TRANSFERRED = "xfers"  # at close: how many transfers the conversation had
    REQUEUED = "requeued"  # handed back to the queue (agent offline, grace over)
    GOOD = "good"  # rated good (counted in the hour the chat closed)
    BAD = "bad"  # rated bad
    DEFLECTED = "deflected"  # a shopper said an FAQ article answered them (no chat needed)


class Duration(StrEnum):
    """The durations the scripts record as histograms of whole seconds."""

    ASSIGN_WAIT = "assign_wait"  # created -> first agent (live chats)
    REPLY_WAIT = "reply_wait"  # created -> first agent reply (live chats)
    HANDLE = "handle"  # first agent -> closed (served chats)
    LEFT_REPLY = "left_reply"  # message left -> first agent reply


OUTCOME_PREFIX = "o:"  # closed served chats by outcome: 'o:resolved', 'o:none'...


def outcome_fact(outcome: str) -> str:
    """The count name of a closed chat's outcome ('o:none' when it has none)."""
    return OUTCOME_PREFIX + (outcome or NO_OUTCOME)


def count_field(hour_ms: int, name: str, department: str, agent: str = "") -> str:
    """The hash field of a count (the scripts build the same names in lua/_lib.lua)."""
    return f"{(hour_ms // HOUR_MS) % 24:02d}|{name}|{department}|{agent}"


def seconds_of(ms: int) -> int:
    """A duration in whole seconds, as the histograms hold it (rounded half up, never < 0)."""
    return max(0, ms + 500) // 1000


# --- reading the rollups ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Cell:
    """One field of a day's hash: at hour `hour_ms`, `name` of `department` (and `agent`, or
    '' for the department's own count) was `n`; `seconds` is set for a duration's bucket."""

    hour_ms: int
    name: str
    department: str
    agent: str
    n: int
    seconds: int | None = None


def parse_day(day_ms: int, fields: dict[str, str]) -> Iterator[Cell]:
    """The cells of the hash of the UTC day starting at `day_ms` (unknown shapes skipped)."""
    for name, value in fields.items():
        parts = name.split("|")
        if len(parts) not in (4, 5) or not parts[0].isdigit():
            continue
        seconds = None
        if len(parts) == 5:
            if not parts[4].isdigit():
                continue
            seconds = int(parts[4])
        n = int(value)
        if n:
            hour = day_ms + int(parts[0]) * HOUR_MS
            yield Cell(hour, parts[1], parts[2], parts[3], n, seconds)


@dataclass(slots=True)
class Tally:
    """Sums of counts and duration histograms, plus agent time online (ms)."""

    counts: Counter[str] = field(default_factory=Counter)
    durations: dict[str, Counter[int]] = field(default_factory=dict)
    online_ms: int = 0

    def add(self, cell: Cell) -> None:
        if cell.seconds is None:
            self.counts[cell.name] += cell.n
        else:
            self.durations.setdefault(cell.name, Counter())[cell.seconds] += cell.n

    def merge(self, other: Tally) -> None:
        self.counts.update(other.counts)
        for name, hist in other.durations.items():
            self.durations.setdefault(name, Counter()).update(hist)
        self.online_ms += other.online_ms

    def count(self, name: str) -> int:
        return self.counts.get(name, 0)

    def histogram(self, name: Duration) -> Counter[int]:
        return self.durations.get(name, Counter())


# --- percentiles ------------------------------------------------------------------------------
def median(hist: Counter[int]) -> float | None:
    """The median of a histogram of whole seconds: the middle value, or the mean of the two
    middle values for an even count. None when empty."""
    n = sum(hist.values())
    if n == 0:
        return None
    if n % 2:
        return float(_nth(hist, (n + 1) // 2))
    return (_nth(hist, n // 2) + _nth(hist, n // 2 + 1)) / 2


def percentile(hist: Counter[int], p: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least p% of them at or below."""
    n = sum(hist.values())
    if n == 0:
        return None
    return float(_nth(hist, max(1, math.ceil(p / 100 * n))))


def mean(hist: Counter[int]) -> float | None:
    n = sum(hist.values())
    return sum(s * c for s, c in hist.items()) / n if n else None


def _nth(hist: Counter[int], rank: int) -> int:
    """The rank-th smallest value (1-based)."""
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return value
    raise ValueError(f"rank {rank} beyond {seen} values")


def ratio(part: int, whole: int | float) -> float | None:
    return part / whole if whole else None


# --- the figures -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Figures:
    """The KPIs of one tally (docs/reports.md defines each). Durations in seconds, rates as
    fractions 0..1; None where there is nothing to measure."""

    conversations: int
    assigned: int
    abandoned: int
    left: int
    closed: int
    answered: int
    wait_median: float | None
    wait_p90: float | None
    assign_median: float | None
    assign_p90: float | None
    abandonment_rate: float | None
    handle_median: float | None
    handle_mean: float | None
    rated: int
    good: int
    csat: float | None
    response_rate: float | None
    resolved: int
    reopened: int
    resolution_rate: float | None
    sales: int
    sale_rate: float | None
    transfers: int
    transfers_per_chat: float | None
    left_answered: int
    left_reply_median: float | None
    agent_hours: float
    chats_per_agent_hour: float | None
    enquiries_per_agent_hour: float | None
    deflected: int
    deflection_rate: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {name: getattr(self, name) for name in self.__slots__}


def figures(t: Tally, per_agent: bool = False) -> Figures:
    """The KPIs of a tally. For an agent's own tally (`per_agent`), enquiries are the chats
    they were given; for a site or department, the conversations that started."""
    wait, assign = t.histogram(Duration.REPLY_WAIT), t.histogram(Duration.ASSIGN_WAIT)
    handle, left_reply = t.histogram(Duration.HANDLE), t.histogram(Duration.LEFT_REPLY)
    closed, good, bad = t.count(Fact.CLOSED), t.count(Fact.GOOD), t.count(Fact.BAD)
    resolved = sum(t.count(outcome_fact(o)) for o in RESOLVED_OUTCOMES)
    reopened = t.count(Fact.REOPENED)
    excluded = sum(t.count(outcome_fact(o)) for o in EXCLUDED_OUTCOMES)
    first_assigned = sum(assign.values())
    hours = t.online_ms / HOUR_MS
    enquiries = t.count(Fact.ASSIGNED) if per_agent else t.count(Fact.CREATED)
    deflected = t.count(Fact.DEFLECTED)
    return Figures(
        conversations=t.count(Fact.CREATED),
        assigned=t.count(Fact.ASSIGNED),
        abandoned=t.count(Fact.ABANDONED),
        left=t.count(Fact.LEFT),
        closed=closed,
        answered=sum(wait.values()),
        wait_median=median(wait),
        wait_p90=percentile(wait, 90),
        assign_median=median(assign),
        assign_p90=percentile(assign, 90),
        abandonment_rate=ratio(t.count(Fact.ABANDONED), t.count(Fact.ABANDONED) + first_assigned),
        handle_median=median(handle),
        handle_mean=mean(handle),
        rated=good + bad,
        good=good,
        csat=ratio(good, good + bad),
        response_rate=ratio(good + bad, closed),
        resolved=resolved,
        reopened=reopened,
        resolution_rate=ratio(resolved - reopened, closed - excluded),
        sales=t.count(outcome_fact("sale")),
        sale_rate=ratio(t.count(outcome_fact("sale")), closed),
        transfers=t.count(Fact.TRANSFERS),
        transfers_per_chat=ratio(t.count(Fact.TRANSFERRED), closed),
        left_answered=sum(left_reply.values()),
        left_reply_median=median(left_reply),
        agent_hours=round(hours, 4),
        chats_per_agent_hour=ratio(closed, hours),
        enquiries_per_agent_hour=ratio(enquiries, hours),
        deflected=deflected,
        # Of the shoppers' requests (an article that answered, or a conversation started),
        # the share the articles answered; not an agent's figure.
        deflection_rate=None if per_agent else ratio(deflected, deflected + t.count(Fact.CREATED)),
    )


# --- targets ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Targets:
    """A site's service targets (the seed's defaults) and the time zone its days are in."""

    wait_seconds: int = 120
    csat_percent: int = 85
    resolution_percent: int = 90
    timezone: str = "UTC"

    def check(self) -> Targets:
        """Self if every target is in range, else ValueError naming it."""
        if not 1 <= self.wait_seconds <= 86_400:
            raise ValueError("wait_seconds must be 1..86400")
        for name in ("csat_percent", "resolution_percent"):
            if not 1 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} must be 1..100")
        return self


class Status(StrEnum):
    GREEN = "green"  # meets the target
    AMBER = "amber"  # misses it by a little (docs/reports.md: the bands)
    RED = "red"  # misses it
    NONE = "none"  # nothing measured yet


AMBER_WAIT = 1.25  # a median wait up to 25% over its target is amber
AMBER_POINTS = 5.0  # a rate up to 5 points under its target is amber


def wait_status(seconds: float | None, target: int) -> Status:
    if seconds is None:
        return Status.NONE
    if seconds <= target:
        return Status.GREEN
    return Status.AMBER if seconds <= target * AMBER_WAIT else Status.RED


def rate_status(rate: float | None, target_percent: int) -> Status:
    if rate is None:
        return Status.NONE
    percent = rate * 100
    if percent >= target_percent:
        return Status.GREEN
    return Status.AMBER if percent >= target_percent - AMBER_POINTS else Status.RED


def judged(f: Figures, targets: Targets) -> dict[str, Status]:
    """Each targeted KPI of `f` against `targets`."""
    return {
        "wait_median": wait_status(f.wait_median, targets.wait_seconds),
        "csat": rate_status(f.csat, targets.csat_percent),
        "resolution_rate": rate_status(f.resolution_rate, targets.resolution_percent),
    }


# --- agents' time online ------------------------------------------------------------------------
def overlap_ms(start: int, end: int, lo: int, hi: int) -> int:
    """How much of [start, end) falls within [lo, hi)."""
    return max(0, min(end, hi) - max(start, lo))


def spread_over_hours(start: int, end: int) -> Iterable[tuple[int, int]]:
    """(hour start ms, ms within that hour) of the interval [start, end)."""
    hour = start - start % HOUR_MS
    while hour < end:
        part = overlap_ms(start, end, hour, hour + HOUR_MS)
        if part:
            yield hour, part
        hour += HOUR_MS
