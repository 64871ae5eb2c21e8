"""Orders and customers as stores send them: what is accepted, what is refused, and how."""

from __future__ import annotations

from typing import Any

import pytest

from chatserver.core.model import ValidationError
from chatserver.core.orders import (
    Order,
    OrderSource,
    merge,
    order_from_dict,
    parse_customer,
    parse_order,
)


def _order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "o-1", "number": "1001", "customer_id": "c-1",
        "placed_at": "2025-04-28T14:12:00Z", "updated_at": "2025-04-30T08:00:00+02:00",
        "status": "shipped", "currency": "EUR",
        "items": [{"name": "Sweater", "quantity": 2, "price": "19.90", "sku": "SW-1"}],
        "totals": {"subtotal": "39.80", "shipping": 4.5, "total": "44.30"},
        "payment_status": "paid", "shipping_status": "in_transit",
        "tracking_url": "https://track.example/1",
    }  # fmt: skip
    order.update(changes)
    return order


def test_an_order_is_parsed_with_times_in_ms_and_amounts_as_decimal_strings() -> None:
    order = parse_order(_order())
    assert order.placed_ms == 1745849520000
    assert order.updated_ms == 1745992800000  # +02:00 taken into account
    assert order.totals == {"subtotal": "39.80", "shipping": "4.5", "total": "44.30"}
    assert order.items[0].quantity == 2 and order.items[0].price == "19.90"


def test_integer_ids_numbers_and_ms_times_are_accepted() -> None:
    order = parse_order(_order(id=42, number=1001, placed_at=1_700_000_000_000))
    assert (order.id, order.number, order.placed_ms) == ("42", "1001", 1_700_000_000_000)


def test_a_time_without_offset_is_utc() -> None:
    assert parse_order(_order(placed_at="2025-01-01T00:00:00")).placed_ms == 1735689600000


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": ""}, "id is required"),
        ({"number": None}, "number is required"),
        ({"placed_at": "yesterday"}, "placed_at must be"),
        ({"updated_at": True}, "updated_at must be"),
        ({"status": 3}, "status must be a string"),
        ({"items": [{"name": "x", "quantity": 0}]}, "items[0].quantity"),
        ({"items": [{"name": "x", "quantity": True}]}, "items[0].quantity"),
        ({"items": [{"quantity": 1}]}, "name is required"),
        ({"totals": {"total": "12,50"}}, "totals.total"),
        ({"totals": {"total": "NaN"}}, "totals.total"),
        ({"tracking_url": "javascript:alert(1)"}, "tracking_url must be an http"),
        ({"tracking_url": "data:text/html,<b>x</b>"}, "tracking_url must be an http"),
        ({"number": "9" * 65}, "longer than 64"),
        ({"items": {"name": "x"}}, "items must be a list"),
    ],
)
def test_a_bad_field_is_refused_with_its_name(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_order(_order(**changes))


def test_an_order_survives_storage_as_a_dict() -> None:
    order = parse_order(_order())
    assert order_from_dict(order.to_dict()) == order


def test_merge_keeps_one_order_per_id_with_the_newest_update_and_sorts_newest_first() -> None:
    old = parse_order(_order(id="a", status="paid", updated_at=1000, placed_at=10))
    new = parse_order(_order(id="a", status="shipped", updated_at=2000, placed_at=10))
    later = parse_order(_order(id="b", placed_at=20, updated_at=1))
    merged = merge([old, later], [new])
    assert [(o.id, o.status) for o in merged] == [("b", "shipped"), ("a", "shipped")]
    assert merge([new], [old])[0].status == "shipped"


def test_a_customer_needs_an_id_and_an_update_time() -> None:
    customer = parse_customer({"id": "c-1", "name": "李娜", "updated_at": 5})
    assert (customer.name, customer.updated_ms) == ("李娜", 5)
    with pytest.raises(ValidationError, match="updated_at"):
        parse_customer({"id": "c-1"})
    with pytest.raises(ValidationError, match="customer must be an object"):
        parse_customer(["c-1"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pull_url": "ftp://shop/{customer_id}"}, "http"),
        ({"pull_url": "https://shop/orders"}, "customer_id"),
        ({"pull_url": "https://shop/{customer_id}", "pull_auth_header": "no colon"}, "Name: value"),
        ({"pull_ttl_seconds": 0}, "pull_ttl_seconds"),
        ({"pull_timeout_seconds": 120.0}, "pull_timeout_seconds"),
    ],
)
def test_an_order_source_is_checked(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OrderSource(**changes)


def test_an_order_source_with_a_template_and_a_header_is_valid() -> None:
    source = OrderSource(
        pull_url="https://shop.example/api/customers/{customer_id}/orders",
        pull_auth_header="Authorization: Bearer abc",
    )
    assert source.pull_ttl_seconds == 300


def test_orders_compare_by_value() -> None:
    assert parse_order(_order()) == parse_order(_order())
    assert isinstance(parse_order(_order()), Order)
