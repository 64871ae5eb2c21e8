"""Quick reply templates: variables filled from the conversation, missing ones named, and
nothing but variables allowed."""

from __future__ import annotations

import pytest

from chatserver.core.model import ValidationError
from chatserver.core.orders import parse_order
from chatserver.core.replies import (
    MAX_NESTING,
    QuickReply,
    check_template,
    context,
    render,
    variables,
)

ORDER = parse_order({
    "id": "o-9", "number": "DS-9", "customer_id": "c-1", "placed_at": "2025-04-28T14:12:00Z",
    "updated_at": 1, "status": "shipped", "carrier": "SF", "totals": {"total": "12.00"},
    "tracking_url": "https://t.example/9",
})  # fmt: skip


def _context(**customer: str) -> dict[str, object]:
    return context(customer=customer or None, latest_order=ORDER, agent_name="Alice",
                   site_name="Shop")  # fmt: skip


def test_variables_are_filled_from_customer_order_agent_and_site() -> None:
    text = "Hi {{ customer.name }}, {{ order.number }} ({{ order.date }}) via {{ order.carrier }}: "
    text += "{{ order.tracking_url }} — {{ agent.name }} of {{ site.name }}"
    rendered = render(text, _context(name="李娜"))
    assert rendered.missing == ()
    assert rendered.text == (
        "Hi 李娜, DS-9 (2025-04-28) via SF: https://t.example/9 — Alice of Shop"
    )


def test_missing_variables_are_named_and_nothing_is_rendered() -> None:
    values = context(customer=None, latest_order=None, agent_name="A", site_name="S")
    rendered = render("Dear {{ customer.name }}, order {{ order.number }}", values)
    assert rendered.text == ""
    assert rendered.missing == ("customer.name", "order.number")


def test_a_blank_value_counts_as_missing() -> None:
    no_tracking = parse_order({**ORDER.to_dict(), "tracking_url": "", "placed_at": 1,
                               "updated_at": 1, "items": []})  # fmt: skip
    values = context(customer={"name": "  "}, latest_order=no_tracking, agent_name="A",
                     site_name="S")  # fmt: skip
    assert render("{{ customer.name }} {{ order.tracking_url }}", values).missing == (
        "customer.name", "order.tracking_url",
    )  # fmt: skip


def test_default_supplies_a_missing_value() -> None:
    values = context(customer=None, latest_order=None, agent_name="A", site_name="S")
    rendered = render("Hello {{ customer.name | default('there') }}!", values)
    assert rendered == render("Hello there!", values)
    assert rendered.text == "Hello there!"


def test_filters_and_item_access_work() -> None:
    assert render("{{ order['number'] | lower }}", _context()).text == "ds-9"


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(10) %}x{% endfor %}",
        "{{ order.number.__class__ }}x{{ ''.__class__.__mro__ }}",
        "{{ lipsum() }}",
        "{{ 'x' * 1000000 }}",
        "{{ customer.name | attr('x') }}",
        "{% set x = 1 %}",
        "{{ order[customer.name] }}",
        "{{ unclosed",
        "",
        "x" * 4001,
    ],
)
def test_anything_but_variables_is_refused(template: str) -> None:
    with pytest.raises(ValidationError):
        check_template(template)


def test_private_names_are_refused_before_the_sandbox_sees_them() -> None:
    for template in ("{{ agent.__class__ }}", "{{ agent['__init__'] }}", "{{ order._x }}"):
        with pytest.raises(ValidationError, match="no such variable part"):
            render(template, _context())


def test_a_method_name_on_a_value_is_a_missing_variable_not_its_repr() -> None:
    assert render("{{ customer.items }}", _context(name="x")).missing == ("customer.items",)


def test_variables_lists_the_paths_a_template_uses() -> None:
    assert variables("{{ order.number }} {{ customer.name|default('x') }} {{ order.number }}") == [
        "order.number", "customer.name",
    ]  # fmt: skip


def test_a_quick_reply_is_checked_when_made() -> None:
    reply = QuickReply("r1", "shared", "track", "Tracking", "{{ order.tracking_url }}")
    assert reply.department == ""
    with pytest.raises(ValidationError, match="shortcut"):
        QuickReply("r1", "shared", "has space", "T", "x")
    with pytest.raises(ValidationError, match="owner"):
        QuickReply("r1", "personal", "mine", "T", "x")
    with pytest.raises(ValidationError, match="scope"):
        QuickReply("r1", "team", "mine", "T", "x")
    with pytest.raises(ValidationError):
        QuickReply("r1", "shared", "loop", "T", "{% for x in y %}{% endfor %}")


def test_brackets_nested_deeper_than_the_limit_are_refused_before_parsing() -> None:
    fine = "{{ " + "(" * (MAX_NESTING - 2) + "x" + ")" * (MAX_NESTING - 2) + " }}"
    check_template(fine)
    for deep in ("{{ " + "(" * 1900 + "x" + ")" * 1900 + " }}", "{{ " + "[" * 40 + " }}"):
        with pytest.raises(ValidationError, match="nest"):
            check_template(deep)
    check_template("Sorry :( we are closed (back at 9) [see {{ order.number }}]")
