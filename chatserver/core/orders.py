"""Customers and orders as the store sends them (push or pull), validated into plain values.

Sans I/O: `parse_order` and `parse_customer` turn the JSON a store sends into dataclasses or
raise `ValidationError` naming the field; `OrderSource` says where a site's orders come from.
Amounts stay decimal strings (never floats); times are integers, ms since the epoch.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

from chatserver.core.model import ValidationError

MAX_ID = 128
MAX_SHORT = 64
MAX_TEXT = 300
MAX_ITEMS = 200
TOTAL_FIELDS = ("subtotal", "shipping", "tax", "discount", "total")
_AMOUNT = re.compile(r"^-?\d{1,15}(\.\d{1,4})?$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}: ?[\x20-\x7e]{1,1000}$")


@dataclass(frozen=True, slots=True)
class OrderItem:
    name: str
    quantity: int
    price: str = ""  # unit price, a decimal string
    sku: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    """One order of a customer, as the agent console shows it."""

    id: str
    number: str
    customer_id: str
    placed_ms: int
    updated_ms: int
    status: str
    currency: str = ""
    items: tuple[OrderItem, ...] = ()
    totals: dict[str, str] = field(default_factory=dict, hash=False)
    payment_status: str = ""
    shipping_status: str = ""
    carrier: str = ""
    tracking_number: str = ""
    tracking_url: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["items"] = [asdict(i) for i in self.items]
        return data


@dataclass(frozen=True, slots=True)
class Customer:
    """What the store tells us about a customer (contact details for the agent)."""

    id: str
    updated_ms: int
    name: str = ""
    email: str = ""
    phone: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class OrderSource:
    """Where a site's orders come from. Pushed orders always count; with a `pull_url` (a
    template with `{customer_id}`), the store's endpoint is asked too and cached."""

    push_secret: str = ""
    pull_url: str = ""
    pull_auth_header: str = ""  # 'Name: value', sent with every pull
    pull_ttl_seconds: int = 300
    pull_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.pull_url:
            url = urlparse(self.pull_url)
            if url.scheme not in ("http", "https") or not url.netloc:
                raise ValidationError("pull_url must be an http:// or https:// URL")
            if "{customer_id}" not in self.pull_url:
                raise ValidationError("pull_url must contain {customer_id}")
        if self.pull_auth_header and not _HEADER.fullmatch(self.pull_auth_header):
            raise ValidationError("pull_auth_header must look like 'Name: value'")
        if not 1 <= self.pull_ttl_seconds <= 7 * 24 * 3600:
            raise ValidationError("pull_ttl_seconds must be 1..604800")
        if not 0.1 <= self.pull_timeout_seconds <= 60:
            raise ValidationError("pull_timeout_seconds must be 0.1..60")


def parse_order(data: Any) -> Order:
    """An order from the store's JSON, or ValidationError naming the bad field."""
    data = _object(data, "order")
    return Order(
        id=_text(data, "id", MAX_ID, required=True),
        number=_text(data, "number", MAX_SHORT, required=True),
        customer_id=_text(data, "customer_id", MAX_ID, required=True),
        placed_ms=_time(data, "placed_at"),
        updated_ms=_time(data, "updated_at"),
        status=_text(data, "status", MAX_SHORT, required=True),
        currency=_text(data, "currency", 8),
        items=tuple(_item(i, n) for n, i in enumerate(_list(data, "items", MAX_ITEMS))),
        totals=_totals(data.get("totals")),
        payment_status=_text(data, "payment_status", MAX_SHORT),
        shipping_status=_text(data, "shipping_status", MAX_SHORT),
        carrier=_text(data, "carrier", MAX_SHORT),
        tracking_number=_text(data, "tracking_number", MAX_SHORT),
        tracking_url=_url(data, "tracking_url"),
    )


def parse_customer(data: Any) -> Customer:
    """A customer from the store's JSON, or ValidationError naming the bad field."""
    data = _object(data, "customer")
    return Customer(
        id=_text(data, "id", MAX_ID, required=True),
        updated_ms=_time(data, "updated_at"),
        name=_text(data, "name", MAX_TEXT),
        email=_text(data, "email", MAX_TEXT),
        phone=_text(data, "phone", MAX_SHORT),
    )


def order_from_dict(data: dict[str, Any]) -> Order:
    """An order as `Order.to_dict` wrote it (from storage: already validated)."""
    items = tuple(OrderItem(**i) for i in data.get("items", ()))
    return Order(**{**data, "items": items})


def newest_first(orders: list[Order]) -> list[Order]:
    """Orders by placing time, newest first (ties: the higher id first, a stable order)."""
    return sorted(orders, key=lambda o: (o.placed_ms, o.id), reverse=True)


def merge(*sources: list[Order]) -> list[Order]:
    """One list from several sources (pushed, pulled): one order per id, the newest update."""
    best: dict[str, Order] = {}
    for orders in sources:
        for order in orders:
            known = best.get(order.id)
            if known is None or order.updated_ms > known.updated_ms:
                best[order.id] = order
    return newest_first(list(best.values()))


# --- field checks ---------------------------------------------------------------------------
def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be an object")
    return value


def _text(data: dict[str, Any], name: str, limit: int, required: bool = False) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ValidationError(f"{name} is required")
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and name in ("id", "number"):
        value = str(value)  # stores often number their orders with integers
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string")
    if len(value) > limit:
        raise ValidationError(f"{name} is longer than {limit} characters")
    return value


def _time(data: dict[str, Any], name: str) -> int:
    """An ISO 8601 time (UTC if it names no offset) or integer ms, as ms."""
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return int(parsed.timestamp() * 1000)
    raise ValidationError(f"{name} must be an ISO 8601 time or integer milliseconds")


def _amount(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(f"{name} must be a decimal amount")
    text = value if isinstance(value, str) else str(value)
    try:
        Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{name} must be a decimal amount") from None
    if not _AMOUNT.fullmatch(text):
        raise ValidationError(f"{name} must be a decimal amount like 12.50")
    return text


def _list(data: dict[str, Any], name: str, limit: int) -> list[Any]:
    value = data.get(name) or []
    if not isinstance(value, list):
        raise ValidationError(f"{name} must be a list")
    if len(value) > limit:
        raise ValidationError(f"{name} has more than {limit} entries")
    return value


def _item(value: Any, index: int) -> OrderItem:
    data = _object(value, f"items[{index}]")
    quantity = data.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity < 10**6:
        raise ValidationError(f"items[{index}].quantity must be a positive integer")
    price = data.get("price")
    return OrderItem(
        name=_text(data, "name", MAX_TEXT, required=True),
        quantity=quantity,
        price="" if price is None else _amount(price, f"items[{index}].price"),
        sku=_text(data, "sku", MAX_SHORT),
    )


def _totals(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    data = _object(value, "totals")
    return {k: _amount(data[k], f"totals.{k}") for k in TOTAL_FIELDS if data.get(k) is not None}


def _url(data: dict[str, Any], name: str) -> str:
    """An http(s) link or '' (a javascript: URL must never become a link in the console)."""
    value = _text(data, name, 2000)
    if value and urlparse(value).scheme not in ("http", "https"):
        raise ValidationError(f"{name} must be an http:// or https:// URL")
    return value
