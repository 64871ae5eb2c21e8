"""Pulls from the store's HTTP endpoint: `GET <pull_url with {customer_id}>` with the site's
auth header, answered by `{"orders": [...]}` (or a bare list) in the push format.

A pull runs in the background with a hard time limit; its result (or its failure) is cached in
Redis. The chat never waits for it: the customer panel shows what the cache holds, with its
age, and asks again later.

Requests go through `chatserver.outbound`: never to internal addresses unless the operator
allows them. Agents see one message for every failure (UNREACHABLE), so the panel tells them
nothing about the network behind the server; the precise reason is logged and kept for the
site's admin (`GET .../order-source`, `last_pull_error`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import orjson

from chatserver import outbound
from chatserver.core.model import ValidationError
from chatserver.core.netpolicy import Allow
from chatserver.core.orders import Order, OrderSource, parse_order
from chatserver.store.orders import Orders

log = logging.getLogger(__name__)
MAX_RESPONSE = 2 * 1024 * 1024
FAILURE_PAUSE_MS = 15_000  # after a failed pull, the next one waits this long
UNREACHABLE = "the store's order service could not be reached"  # what agents see, always


class PullError(Exception):
    """The store's endpoint failed, was too slow, or answered something unusable; the message
    is precise (for logs and the site's admin)."""


async def fetch(source: OrderSource, customer_id: str, allow: Allow) -> list[Order]:
    """The customer's orders from the store, within `pull_timeout_seconds`, or PullError."""
    url = source.pull_url.replace("{customer_id}", quote(customer_id, safe=""))
    headers = {"Accept": "application/json"}
    if source.pull_auth_header:
        name, _, value = source.pull_auth_header.partition(":")
        headers[name.strip()] = value.strip()
    try:
        answer = await outbound.request(
            "GET", url, allow=allow, headers=headers, timeout=source.pull_timeout_seconds,
            max_bytes=MAX_RESPONSE,
        )  # fmt: skip
    except outbound.OutboundError as exc:
        raise PullError(str(exc)) from None
    if answer.status != 200:
        raise PullError(f"the store answered HTTP {answer.status}, not 200")
    return _orders_of(answer.body, customer_id)


def _orders_of(body: bytes, customer_id: str) -> list[Order]:
    """Valid orders of this customer from an answer; others are left out (a store's bug must
    never show someone else's orders)."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise PullError("the store's answer is not JSON") from None
    items = data.get("orders") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise PullError("the store's answer has no list of orders")
    orders = []
    for item in items:
        try:
            order = parse_order(item)
        except ValidationError as exc:
            log.warning("pulled order skipped: %s", exc)
            continue
        if order.customer_id == customer_id:
            orders.append(order)
    return orders


async def refresh(
    store: Orders,
    site: str,
    customer_id: str,
    source: OrderSource,
    now_ms: Callable[[], int],
    allow: Allow,
) -> None:
    """Pull and cache (the caller holds the pull claim); `now_ms` is the clock, `allow` the
    operator's allow-list."""
    try:
        orders = await fetch(source, customer_id, allow)
    except PullError as exc:
        log.warning("pulling orders of %s/%s failed: %s", site, customer_id, exc)
        now = now_ms()
        await store.cache_error(site, customer_id, UNREACHABLE, now)
        await store.note_pull_error(site, str(exc), now)
        await store.pause_pulls(site, customer_id, FAILURE_PAUSE_MS)
        return
    await store.cache(site, customer_id, orders, now_ms())
    await store.end_pull(site, customer_id)
