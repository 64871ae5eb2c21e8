"""The routing rules as pure functions: agent choice, queue order and the wait estimate."""

from __future__ import annotations

import pytest

from chatserver.core.routing import (
    BAND,
    LOAD_WEIGHT,
    MIDDLE,
    AgentSlot,
    agent_score,
    choose_agent,
    estimate_wait_seconds,
    next_handle_average,
    queue_score,
)


def slot(
    login: str,
    load: int = 0,
    capacity: int = 3,
    *,
    idle: int = 1_000,
    available: bool = True,
    departments: tuple[str, ...] = ("sales",),
) -> AgentSlot:
    return AgentSlot(login, departments, load, capacity, available, idle)


def test_previous_agent_is_preferred_when_they_have_room() -> None:
    agents = [slot("ann", load=0, idle=1), slot("bob", load=2, idle=5)]
    assert choose_agent(agents, "sales", previous="bob") == "bob"


def test_previous_agent_at_capacity_gives_way_to_least_loaded() -> None:
    agents = [slot("ann", load=1), slot("bob", load=2, capacity=2), slot("cid", load=0)]
    assert choose_agent(agents, "sales", previous="bob") == "cid"


def test_previous_agent_away_or_of_another_department_is_not_preferred() -> None:
    away = [slot("ann", load=2), slot("bob", available=False)]
    assert choose_agent(away, "sales", previous="bob") == "ann"
    other = [slot("ann", load=2), slot("bob", departments=("support",))]
    assert choose_agent(other, "sales", previous="bob") == "ann"


def test_least_loaded_agent_is_chosen_before_the_idle_longest() -> None:
    agents = [slot("ann", load=1, idle=1), slot("bob", load=0, idle=9_999)]
    assert choose_agent(agents, "sales") == "bob"


def test_among_equally_loaded_the_agent_idle_longest_is_chosen() -> None:
    agents = [slot("ann", load=1, idle=500), slot("bob", load=1, idle=100)]
    assert choose_agent(agents, "sales") == "bob"


def test_full_tie_is_broken_by_login() -> None:
    agents = [slot("cid"), slot("ann"), slot("bob")]
    assert choose_agent(agents, "sales") == "ann"


def test_nobody_is_chosen_when_no_agent_of_the_department_has_room() -> None:
    agents = [
        slot("ann", load=3),
        slot("bob", available=False),
        slot("cid", departments=("support",)),
    ]
    assert choose_agent(agents, "sales") is None
    assert choose_agent([], "sales") is None


def test_agent_score_orders_load_before_any_idle_time() -> None:
    year_2200_ms = 7_258_118_400_000
    assert agent_score(0, year_2200_ms) < agent_score(1, 0)
    assert agent_score(2, 5) == 2 * LOAD_WEIGHT + 5


def test_queue_score_puts_higher_priority_first() -> None:
    assert queue_score(2, MIDDLE + 1_000) < queue_score(1, MIDDLE + 1)
    assert queue_score(1, MIDDLE + 1_000) < queue_score(0, 1)


def test_queue_score_keeps_arrival_order_within_a_priority() -> None:
    scores = [queue_score(1, MIDDLE + seq) for seq in (1, 2, 3)]
    assert scores == sorted(scores)
    assert len(set(scores)) == 3


def test_queue_score_front_seq_precedes_every_back_seq_of_the_same_priority() -> None:
    front = queue_score(0, MIDDLE - 1)
    back = queue_score(0, MIDDLE + 1)
    assert front < back
    # ... but never jumps a higher priority band.
    assert queue_score(1, MIDDLE + 10**9) < queue_score(0, 1)


def test_queue_scores_are_exact_as_redis_doubles() -> None:
    top = queue_score(0, BAND - 1)
    assert float(top) == top
    assert float(top - 1) != float(top)


@pytest.mark.parametrize(
    ("position", "free", "total", "handle", "expected"),
    [
        (1, 1, 3, 180.0, 0),  # a free slot takes it at once
        (2, 2, 3, 180.0, 0),
        (3, 2, 3, 180.0, 60),  # one ahead of the free slots: 180 s / 3 slots
        (1, 0, 3, 180.0, 60),
        (4, 0, 3, 180.0, 240),
        (1, 0, 2, 100.0, 50),
        (1, 0, 3, 100.0, 34),  # rounded up, never down
        (5, 5, 5, 180.0, 0),
    ],
)
def test_wait_estimate_follows_the_documented_formula(
    position: int, free: int, total: int, handle: float, expected: int
) -> None:
    assert estimate_wait_seconds(position, free, total, handle) == expected


def test_wait_estimate_is_unknown_without_any_agent_online() -> None:
    assert estimate_wait_seconds(1, 0, 0, 180.0) is None


def test_wait_estimate_grows_with_position() -> None:
    waits = [estimate_wait_seconds(p, 1, 4, 120.0) for p in range(1, 10)]
    assert waits == sorted(waits)
    assert waits[0] == 0
    assert waits[-1] == 240


def test_handle_average_starts_at_the_first_value_then_moves_by_alpha() -> None:
    assert next_handle_average(None, 100.0) == 100.0
    assert next_handle_average(100.0, 200.0) == pytest.approx(120.0)
    assert next_handle_average(100.0, 100.0) == 100.0


def test_agent_who_transferred_to_a_department_is_never_chosen_from_it() -> None:
    agents = [
        AgentSlot("ann", ("sales",), 0, 3, True, 100),
        AgentSlot("bob", ("sales",), 2, 3, True, 50),
    ]
    assert choose_agent(agents, "sales", previous="ann", exclude="ann") == "bob"
    assert choose_agent(agents[:1], "sales", exclude="ann") is None
