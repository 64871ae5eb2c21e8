"""The domain values refuse what breaks a rule, with a message that says which rule."""

from __future__ import annotations

import pytest

from chatserver.core.model import (
    Agent,
    Conversation,
    ConversationState,
    Site,
    ValidationError,
    check_capacity,
    check_login,
    check_outcome,
    check_password,
    check_priority,
    check_slug,
)


@pytest.mark.parametrize("value", [1, 2, 3])
def test_capacity_from_one_to_three_is_accepted(value: int) -> None:
    assert check_capacity(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "capacity must be between 1 and 3, got 0"),
        (4, "capacity must be between 1 and 3, got 4"),
        (-1, "capacity must be between 1 and 3, got -1"),
        ("2", "capacity must be a whole number, got '2'"),
        (True, "capacity must be a whole number, got True"),
        (2.0, "capacity must be a whole number, got 2.0"),
        (None, "capacity must be a whole number, got None"),
    ],
)
def test_capacity_outside_one_to_three_or_not_an_int_is_refused_with_clear_message(
    value: object, message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        check_capacity(value)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_capacity_above_the_supervisor_limit_is_refused() -> None:
    assert check_capacity(2, limit=2) == 2
    with pytest.raises(ValidationError, match="between 1 and 2, got 3"):
        check_capacity(3, limit=2)


def test_capacity_limit_above_three_still_caps_at_three() -> None:
    with pytest.raises(ValidationError, match="between 1 and 3, got 4"):
        check_capacity(4, limit=10)


def test_agent_capacity_must_fit_within_their_max_capacity() -> None:
    agent = Agent("ann", "Ann", "shop", ("sales",), capacity=1, max_capacity=1)
    assert (agent.capacity, agent.max_capacity) == (1, 1)
    with pytest.raises(ValidationError, match="between 1 and 1, got 2"):
        Agent("ann", "Ann", "shop", ("sales",), capacity=2, max_capacity=1)
    with pytest.raises(ValidationError, match="got 4"):
        Agent("ann", "Ann", "shop", ("sales",), capacity=3, max_capacity=4)


def test_agent_needs_a_department_and_a_name() -> None:
    with pytest.raises(ValidationError, match="at least one department"):
        Agent("ann", "Ann", "shop", ())
    with pytest.raises(ValidationError, match="needs a name"):
        Agent("ann", "  ", "shop", ("sales",))


@pytest.mark.parametrize("slug", ["a", "shop-1", "pre_sales", "0abc", "a" * 40])
def test_valid_slugs_are_accepted(slug: str) -> None:
    assert check_slug(slug, "department") == slug


@pytest.mark.parametrize(
    "slug",
    ["", "Shop", "-shop", "_shop", "a b", "a" * 41, "shop/1", "shop\n", "\nshop", "é", 7],
)
def test_invalid_slugs_are_refused_naming_what_they_are(slug: object) -> None:
    with pytest.raises(ValidationError, match=r"^department must be 1-40 lowercase"):
        check_slug(slug, "department")  # type: ignore[arg-type]


@pytest.mark.parametrize("login", ["ann", "Ann.Smith@shop", "a-1_b", "x" * 64])
def test_valid_logins_are_accepted(login: str) -> None:
    assert check_login(login) == login


@pytest.mark.parametrize("login", ["", ".ann", "ann smith", "ann\tx", "ann\n", "x" * 65])
def test_invalid_logins_are_refused(login: str) -> None:
    with pytest.raises(ValidationError, match=r"^login must be"):
        check_login(login)


def test_site_needs_departments_and_the_first_is_the_default() -> None:
    site = Site("shop", "Shop", ("sales", "support"))
    assert site.default_department == "sales"
    with pytest.raises(ValidationError, match="at least one department"):
        Site("shop", "Shop", ())
    with pytest.raises(ValidationError, match=r"^site key"):
        Site("Shop", "Shop", ("sales",))


@pytest.mark.parametrize("value", [0, 5, 9])
def test_priority_zero_to_nine_is_accepted(value: int) -> None:
    assert check_priority(value) == value


@pytest.mark.parametrize("value", [-1, 10, True, "1", 1.0])
def test_priority_outside_range_or_not_an_int_is_refused(value: object) -> None:
    with pytest.raises(ValidationError, match=r"priority must be 0\.\.9"):
        check_priority(value)  # type: ignore[arg-type]


def test_outcome_must_be_a_known_one() -> None:
    assert check_outcome("resolved") == "resolved"
    with pytest.raises(ValidationError, match="outcome must be one of resolved"):
        check_outcome("happy")


@pytest.mark.parametrize(
    ("state", "is_open"),
    [
        (ConversationState.QUEUED, True),
        (ConversationState.ASSIGNED, True),
        (ConversationState.LEFT, True),  # a message left for the agents, in the inbox
        (ConversationState.CLOSED, False),
        (ConversationState.ABANDONED, False),
    ],
)
def test_conversation_is_open_while_queued_assigned_or_left(
    state: ConversationState, is_open: bool
) -> None:
    assert Conversation("c1", "shop", "sales", "v1", state).open is is_open


@pytest.mark.parametrize(
    "password", ["x" * 10, "correct horse", "密码密码密码密码密码密", " " * 3 + "a" * 7]
)
def test_new_passwords_of_ten_characters_or_more_are_accepted(password: str) -> None:
    assert check_password(password) == password


@pytest.mark.parametrize(
    "password", ["", "x", "demo", "x" * 9, "密码密码密码密码密", None, 1234567890]
)
def test_short_or_non_text_passwords_are_refused_naming_the_rule(password: object) -> None:
    with pytest.raises(ValidationError, match=r"^password must be at least 10 characters long$"):
        check_password(password)  # type: ignore[arg-type]


def test_the_account_version_is_not_part_of_an_agents_value() -> None:
    one = Agent("ann", "Ann", "shop", ("sales",), version="v1")
    assert one == Agent("ann", "Ann", "shop", ("sales",), version="v2")
    assert one.version == "v1" and Agent("ann", "Ann", "shop", ("sales",)).version == ""
