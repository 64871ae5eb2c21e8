"""Pushes from the store's backend: customers and orders, signed like a webhook.

The store sends `POST /api/v1/sites/{site}/push` with a JSON body and the header
`X-Chat-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the site's push secret>`.
Every record is checked before any is stored; each one is kept once per `updated_at`, so a
push can be retried or arrive out of order without harm.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from chatserver.core.model import ValidationError
from chatserver.core.orders import Customer, Order, parse_customer, parse_order
from chatserver.store.customers import Customers
from chatserver.store.orders import Orders

SIGNATURE_HEADER = "x-chat-signature"
MAX_BODY = 4 * 1024 * 1024
MAX_RECORDS = 1000


@dataclass
class PushResult:
    """How many records were stored, were not newer than what is stored, or were refused."""

    stored: int = 0
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"stored": self.stored, "unchanged": self.unchanged, "conflicts": self.conflicts}


def sign(secret: str, body: bytes) -> str:
    """The signature header value a store sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether `header` signs exactly these bytes with `secret` (no secret: nothing verifies)."""
    if not secret or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().lower().encode())


def parse_batch(payload: Any) -> tuple[list[Customer], list[Order]]:
    """The customers and orders of a push body, or ValidationError naming the first bad one."""
    if not isinstance(payload, dict):
        raise ValidationError("the body must be an object with 'customers' and/or 'orders'")
    raw_customers, raw_orders = payload.get("customers") or [], payload.get("orders") or []
    if not isinstance(raw_customers, list) or not isinstance(raw_orders, list):
        raise ValidationError("'customers' and 'orders' must be lists")
    if len(raw_customers) + len(raw_orders) > MAX_RECORDS:
        raise ValidationError(f"at most {MAX_RECORDS} records per push")
    customers = [_parse(parse_customer, c, f"customers[{i}]") for i, c in enumerate(raw_customers)]
    orders = [_parse(parse_order, o, f"orders[{i}]") for i, o in enumerate(raw_orders)]
    return customers, orders


def _parse(parser: Any, value: Any, where: str) -> Any:
    try:
        return parser(value)
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}") from None


async def apply(
    customers_store: Customers,
    orders_store: Orders,
    site: str,
    customers: list[Customer],
    orders: list[Order],
) -> tuple[PushResult, PushResult]:
    """Store a checked batch; returns the results for customers and for orders."""
    people, sold = PushResult(), PushResult()
    for customer in customers:
        _count(people, await customers_store.put(site, customer), customer.id)
    for order in orders:
        _count(sold, await orders_store.put(site, order), order.id)
    return people, sold


def _count(result: PushResult, outcome: str, record_id: str) -> None:
    if outcome == "stored":
        result.stored += 1
    elif outcome == "unchanged":
        result.unchanged += 1
    else:
        result.conflicts.append(record_id)
