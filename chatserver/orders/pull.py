"""Pulls from the store's HTTP endpoint: `GET <pull_url with {customer_id}>` with the site's
auth header, answered by `{"orders": [...]}` (or a bare list) in the push format.

A pull runs in the background with a hard time limit; its result (or its failure) is cached in
Redis. The chat never waits for it: the customer panel shows what the cache holds, with its
age, and asks again later.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from chatserver.core.model import ValidationError
from chatserver.core.orders import Order, OrderSource, parse_order
from chatserver.store.orders import Orders

log = logging.getLogger(__name__)
MAX_RESPONSE = 2 * 1024 * 1024
FAILURE_PAUSE_MS = 15_000  # after a failed pull, the next one waits this long


class PullError(Exception):
    """The store's endpoint failed, was too slow, or answered something unusable."""


async def fetch(source: OrderSource, customer_id: str) -> list[Order]:
    """The customer's orders from the store, within `pull_timeout_seconds`, or PullError."""
    url = source.pull_url.replace("{customer_id}", quote(customer_id, safe=""))
    headers = {"Accept": "application/json"}
    if source.pull_auth_header:
        name, _, value = source.pull_auth_header.partition(":")
        headers[name.strip()] = value.strip()
    try:
        async with asyncio.timeout(source.pull_timeout_seconds):
            body = await _get(url, headers, source.pull_timeout_seconds)
    except TimeoutError:
        raise PullError(f"no answer within {source.pull_timeout_seconds:g} s") from None
    except httpx.HTTPError as exc:
        raise PullError(f"request failed: {type(exc).__name__}") from None
    return _orders_of(body, customer_id)


async def _get(url: str, headers: dict[str, str], timeout: float) -> bytes:
    async with (
        httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False) as http,
        http.stream("GET", url, headers=headers) as response,
    ):
        if response.status_code != 200:
            raise PullError(f"the store answered {response.status_code}")
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_RESPONSE:
                raise PullError("the store's answer is too large")
        return body


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
    store: Orders, site: str, customer_id: str, source: OrderSource, now_ms: Any
) -> None:
    """Pull and cache (the caller holds the pull claim); `now_ms` is the clock."""
    try:
        orders = await fetch(source, customer_id)
    except PullError as exc:
        log.warning("pulling orders of %s/%s failed: %s", site, customer_id, exc)
        await store.cache_error(site, customer_id, str(exc), now_ms())
        await store.pause_pulls(site, customer_id, FAILURE_PAUSE_MS)
        return
    await store.cache(site, customer_id, orders, now_ms())
    await store.end_pull(site, customer_id)
