"""The domain: sites, agents, conversations and their states, as plain values.

Nothing here does I/O. The store layer turns these into Redis hashes and back; the rules that
move a conversation between states live in the Lua scripts (atomic) and in `routing.py` (the
pure-Python statement of the same rules, used by tests and by the ETA).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from chatserver.core.widget_settings import WidgetSettings

MIN_CAPACITY = 1
MAX_CAPACITY = 3
MAX_PRIORITY = 9
MIN_PASSWORD_CHARS = 10

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class ValidationError(ValueError):
    """A value from outside (CLI, REST, frame) breaks a rule of the domain."""


class ConversationState(StrEnum):
    """queued -> assigned -> closed; queued -> abandoned; queued -> left (a message left for
    the agents: out of the live queue, in the department's inbox) -> assigned (an agent took
    it) or closed."""

    QUEUED = "queued"
    ASSIGNED = "assigned"
    LEFT = "left"
    CLOSED = "closed"
    ABANDONED = "abandoned"


_OPEN = (ConversationState.QUEUED, ConversationState.ASSIGNED, ConversationState.LEFT)


class AgentStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


OUTCOMES = ("resolved", "not_resolved", "sale", "spam", "transferred_out", "other")


@dataclass(frozen=True, slots=True)
class Site:
    """One storefront: its public key, departments, allowed origins and widget settings."""

    key: str
    name: str
    departments: tuple[str, ...]
    allowed_origins: tuple[str, ...] = ()
    identity_secret: str = ""
    widget: WidgetSettings = field(default_factory=WidgetSettings, hash=False)

    def __post_init__(self) -> None:
        check_slug(self.key, "site key")
        if not self.departments:
            raise ValidationError("a site needs at least one department")
        for dept in self.departments:
            check_slug(dept, "department")

    @property
    def default_department(self) -> str:
        return self.departments[0]


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent's profile (not their live state: that lives in Redis).

    `version` is a random id the store gives the account when it is created and whenever its
    password or role changes: a session is made for one version and ends with it. It is not
    part of the agent's value (two agents equal in every other field compare equal).
    """

    login: str
    name: str
    site: str
    departments: tuple[str, ...]
    capacity: int = MAX_CAPACITY
    max_capacity: int = MAX_CAPACITY
    role: Role = Role.AGENT
    version: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        check_login(self.login)
        check_slug(self.site, "site key")
        if not self.departments:
            raise ValidationError("an agent needs at least one department")
        for dept in self.departments:
            check_slug(dept, "department")
        check_capacity(self.max_capacity)
        check_capacity(self.capacity, self.max_capacity)
        if not self.name.strip():
            raise ValidationError("an agent needs a name")


@dataclass(slots=True)
class Conversation:
    """A conversation's metadata as stored in its Redis hash."""

    id: str
    site: str
    department: str
    visitor: str
    state: ConversationState
    priority: int = 0
    customer: str = ""
    agent: str = ""
    epoch: int = 1
    created_ms: int = 0
    assigned_ms: int = 0
    first_reply_ms: int = 0
    closed_ms: int = 0
    outcome: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.state in _OPEN


def check_capacity(value: int, limit: int = MAX_CAPACITY) -> int:
    """Return `value` if it is a valid chat capacity within `limit`, else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"capacity must be a whole number, got {value!r}")
    if not MIN_CAPACITY <= value <= min(limit, MAX_CAPACITY):
        raise ValidationError(
            f"capacity must be between {MIN_CAPACITY} and {min(limit, MAX_CAPACITY)}, got {value}"
        )
    return value


def check_priority(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PRIORITY:
        raise ValidationError(f"priority must be 0..{MAX_PRIORITY}, got {value!r}")
    return value


def check_slug(value: str, what: str) -> str:
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ValidationError(
            f"{what} must be 1-40 lowercase letters, digits, '-' or '_', got {value!r}"
        )
    return value


def check_login(value: str) -> str:
    if not isinstance(value, str) or not _LOGIN.fullmatch(value):
        raise ValidationError(f"login must be 1-64 letters, digits or _.@-, got {value!r}")
    return value


def check_password(value: str) -> str:
    """Return `value` if it may become an agent's new password, else raise (at least
    MIN_PASSWORD_CHARS characters). Applied where passwords are chosen (REST, CLI), not to
    stored ones."""
    if not isinstance(value, str) or len(value) < MIN_PASSWORD_CHARS:
        raise ValidationError(f"password must be at least {MIN_PASSWORD_CHARS} characters long")
    return value


def check_outcome(value: str) -> str:
    if value not in OUTCOMES:
        raise ValidationError(f"outcome must be one of {', '.join(OUTCOMES)}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class FirstMessage:
    """A conversation's opening message, stored with it before an agent is given the chat."""

    sender: dict[str, str]  # {"role": "shopper", "id": visitor}
    client_msg_id: str
    text: str
    via: str = ""  # 'email': written by mail
