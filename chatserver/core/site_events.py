"""The site channel's vocabulary: the routing events the Lua scripts (and a few store calls)
publish on `keys.site_channel(SITE)`, as one typed value.

The scripts publish JSON objects `{"t": KIND, "conv": ..., "agent": ..., "from": ...,
"dept": ...}` (cjson in `store/lua/*.lua`, orjson in `store/conversations.py` and
`store/agents.py`); everything in Python reads them through `parse` and the constants here,
so a kind or field name is written once on each side.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    QUEUE = "queue"  # a department's queue changed (dept)
    ASSIGNED = "assigned"  # conv went to agent (routing or a take from the inbox)
    TRANSFERRED = "transferred"  # conv moved from `from` to agent, or to dept's queue
    REQUEUED = "requeued"  # conv went back to its queue from `from` (offline, grace over)
    CLOSED = "closed"  # conv ended (agent: who had it, '' if queued)
    ABANDONED = "abandoned"  # a queued conv nobody held
    LEFT = "left"  # conv became a left message (out of the queue, into the inbox)
    AGENT = "agent"  # an agent's status or capacity changed
    UPDATED = "updated"  # conv's metadata changed (no routing change)
    REVOKED = "revoked"  # an agent's sessions ended (password, role, removal, logout)
    SITE = "site"  # the site's settings changed (store/sites.py save_site)
    OTHER = "other"  # anything this version does not know (ignored)


# What a shopper's tab reacts to about its own conversations.
ROUTING = frozenset({Kind.ASSIGNED, Kind.TRANSFERRED, Kind.REQUEUED, Kind.CLOSED,
                     Kind.ABANDONED, Kind.LEFT})  # fmt: skip
ENDED = frozenset({Kind.CLOSED, Kind.ABANDONED})


@dataclass(frozen=True, slots=True)
class SiteEvent:
    """One event of a site: its kind and the conversation, agents and department it names."""

    kind: Kind
    conv: str = ""
    agent: str = ""  # the agent it goes to (or concerns)
    from_agent: str = ""  # the agent it comes from (transfer, requeue)
    dept: str = ""

    def agents(self) -> tuple[str, ...]:
        """The agents it names (either side), without blanks."""
        return tuple(a for a in (self.agent, self.from_agent) if a)


def parse(payload: dict[str, Any]) -> SiteEvent:
    """The event of a decoded site-channel message (unknown kinds become OTHER)."""
    try:
        kind = Kind(str(payload.get("t")))
    except ValueError:
        kind = Kind.OTHER
    return SiteEvent(
        kind,
        _text(payload.get("conv")),
        _text(payload.get("agent")),
        _text(payload.get("from")),
        _text(payload.get("dept")),
    )


def encode(event: SiteEvent) -> dict[str, str]:
    """The JSON object of an event published from Python (the scripts build theirs in Lua)."""
    fields = {"t": event.kind.value, "conv": event.conv, "agent": event.agent,
              "from": event.from_agent, "dept": event.dept}  # fmt: skip
    return {k: v for k, v in fields.items() if v}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
