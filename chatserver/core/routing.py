"""Routing rules as pure functions: queue order, agent choice and the wait estimate.

The Lua scripts in `chatserver/store/lua/` apply the same rules atomically in Redis; these
functions state them in Python so that the ETA can be computed anywhere and tests can check the
scripts against a model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from chatserver.core.model import MAX_PRIORITY

# A queue score packs (priority band, sequence) into one float that Redis orders exactly:
# band * BAND + seq, with seq in (0, BAND). New arrivals take seq from a counter that counts up
# from MIDDLE; conversations put back "at the front" take seq from one that counts down from it.
BAND = 10**12
MIDDLE = BAND // 2

# An agent's availability score: least loaded first, then the one idle longest (the smallest
# "last assigned" time in ms). LOAD_WEIGHT exceeds any ms timestamp until the year 2286.
LOAD_WEIGHT = 10**13

DEFAULT_HANDLE_SECONDS = 180.0
HANDLE_EWMA_ALPHA = 0.2


def queue_score(priority: int, seq: int) -> int:
    """The sorted-set score of a queued conversation: higher priority first, then `seq`."""
    return (MAX_PRIORITY - priority) * BAND + seq


def agent_score(load: int, idle_since_ms: int) -> int:
    """The availability score of an agent with free capacity (lower is chosen first)."""
    return load * LOAD_WEIGHT + idle_since_ms


@dataclass(frozen=True, slots=True)
class AgentSlot:
    """What the agent choice needs to know about one agent."""

    login: str
    departments: tuple[str, ...]
    load: int
    capacity: int
    available: bool  # online, connected (not in grace) and not away
    idle_since_ms: int

    @property
    def has_room(self) -> bool:
        return self.available and self.load < self.capacity


def choose_agent(
    agents: Iterable[AgentSlot],
    department: str,
    previous: str | None = None,
    exclude: str | None = None,
) -> str | None:
    """Who gets a conversation of `department`: the previous agent if they have room, else the
    least loaded, then the one idle longest, then by login (a total order). None if nobody.
    `exclude` is the agent who transferred it to the department: never them."""
    eligible = [
        a for a in agents if a.has_room and department in a.departments and a.login != exclude
    ]
    for agent in eligible:
        if agent.login == previous:
            return agent.login
    if not eligible:
        return None
    best = min(eligible, key=lambda a: (agent_score(a.load, a.idle_since_ms), a.login))
    return best.login


def estimate_wait_seconds(
    position: int, free_slots: int, total_slots: int, avg_handle_seconds: float
) -> int | None:
    """Estimated wait of the conversation at 1-based `position` in its department's queue.

    ``free_slots`` is the room agents of the department have now (they will take the first
    ``free_slots`` conversations at once); beyond that, each of the ``total_slots`` chat slots of
    the online agents frees on average every ``avg_handle_seconds``, so the queue advances by
    ``total_slots / avg_handle_seconds`` conversations a second:

        eta = 0                                              if position <= free_slots
        eta = ceil((position - free_slots) * H / total_slots)  otherwise

    None when no agent of the department is online: nobody can tell.
    """
    if total_slots <= 0:
        return None
    waiting_ahead = position - free_slots
    if waiting_ahead <= 0:
        return 0
    return math.ceil(waiting_ahead * avg_handle_seconds / total_slots)


def next_handle_average(previous: float | None, handle_seconds: float) -> float:
    """Rolling (exponentially weighted) average of handle times, alpha = HANDLE_EWMA_ALPHA."""
    if previous is None:
        return handle_seconds
    return previous + HANDLE_EWMA_ALPHA * (handle_seconds - previous)
