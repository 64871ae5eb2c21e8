"""REST: the store's pushes (signed, no session) and where a site's orders come from."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response

from chatserver import outbound
from chatserver.core.model import Role
from chatserver.core.orders import OrderSource
from chatserver.demo import PUBLISHED_SECRETS
from chatserver.orders import push
from chatserver.orders.view import orders_for
from chatserver.web.agents_api import own_site
from chatserver.web.http import (
    MANAGERS,
    ApiError,
    Caller,
    body_bytes,
    endpoint,
    field,
    hub,
    json,
    json_body,
    public,
)

log = logging.getLogger(__name__)


@public
async def receive_push(request: Request) -> Response:
    """Customers and orders from the store's backend. The signature is checked on the raw
    bytes before anything is parsed; a bad one stores nothing (401)."""
    h = hub(request)
    site = await h.site(request.path_params["site"])
    raw = await body_bytes(request, push.MAX_BODY)
    store = h.orders
    secret = (await store.source(site.key)).push_secret if site else ""
    if secret in PUBLISHED_SECRETS and not h.settings.demo:
        secret = ""  # the demo's push secret is in our source: it counts only in the demo
    if not push.verify(secret, raw, request.headers.get(push.SIGNATURE_HEADER, "")):
        raise ApiError(401, "bad_signature", "X-Chat-Signature does not sign this body")
    assert site is not None  # no site, no secret: nothing verifies
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_json", "the body must be JSON") from None
    customers, orders = push.parse_batch(payload)
    people, sold = await push.apply(h.customers, store, site.key, customers, orders)
    return json({"customers": people.to_dict(), "orders": sold.to_dict()})


def source_json(source: OrderSource, last_error: tuple[str, int] | None = None) -> dict[str, Any]:
    """Where orders come from, without the secrets (only whether they are set), and why the
    last pull failed (precise: admins only; agents see a generic message)."""
    failed = {"message": last_error[0], "at": last_error[1]} if last_error else None
    return {"push_secret_set": bool(source.push_secret), "pull_url": source.pull_url or None,
            "pull_auth_header_set": bool(source.pull_auth_header),
            "pull_ttl_seconds": source.pull_ttl_seconds,
            "pull_timeout_seconds": source.pull_timeout_seconds,
            "last_pull_error": failed}  # fmt: skip


@endpoint(roles=(Role.ADMIN,))
async def get_source(request: Request, caller: Caller) -> Response:
    site = await own_site(request, caller)
    store = hub(request).orders
    return json(source_json(await store.source(site.key), await store.last_pull_error(site.key)))


@endpoint(roles=(Role.ADMIN,))
async def put_source(request: Request, caller: Caller) -> Response:
    """Set the pull endpoint (`pull_url: null` turns pulling off). An absent
    `pull_auth_header` keeps the one set. A host that is, or resolves to, an internal address
    is refused (422) unless the operator allows it."""
    site, body = await own_site(request, caller), await json_body(request)
    store = hub(request).orders
    current = await store.source(site.key)
    updated = replace(
        current,
        pull_url=field(body, "pull_url", str, ""),
        pull_auth_header=field(body, "pull_auth_header", str, current.pull_auth_header),
        pull_ttl_seconds=field(body, "pull_ttl_seconds", int, current.pull_ttl_seconds),
        pull_timeout_seconds=field(body, "pull_timeout_seconds", float,
                                   current.pull_timeout_seconds),
    )  # fmt: skip
    if updated.pull_url:
        await _check_reachable(request, updated.pull_url)
    await store.save_source(site.key, updated)
    await store.clear_pull_error(site.key)
    return json(source_json(updated))


async def _check_reachable(request: Request, url: str) -> None:
    """422 if the pull URL leads to an address outbound requests may not reach. A host that
    does not resolve now passes: it may be set up later, and every pull checks again."""
    if "{" in urlsplit(url).netloc:
        raise ApiError(422, "invalid_field", "pull_url: {customer_id} belongs in the path")
    try:
        await outbound.check_url(url, outbound.allow_of(hub(request).settings))
    except outbound.Refused as exc:
        message = f"pull_url: {exc}; requests to stores may reach public addresses only; "
        raise ApiError(422, "invalid_field", message + exc.hint) from None
    except outbound.OutboundError as exc:
        log.info("pull_url accepted unchecked: %s", exc)


@endpoint(roles=(Role.ADMIN,))
async def rotate_push_secret(request: Request, caller: Caller) -> Response:
    """A new push secret (shown once); the old one stops working at once."""
    site = await own_site(request, caller)
    store = hub(request).orders
    secret = secrets.token_urlsafe(32)
    await store.save_source(site.key, replace(await store.source(site.key), push_secret=secret))
    return json({"push_secret": secret})


@endpoint(roles=MANAGERS)
async def get_customer(request: Request, caller: Caller) -> Response:
    """A customer of the site: what the store pushed, their orders, their conversations."""
    h = hub(request)
    site = await own_site(request, caller)
    customer_id = request.path_params["customer_id"]
    customers = h.customers
    profile = await customers.get(site.key, customer_id)
    spawn = request.app.state.gateway.spawn
    allow = outbound.allow_of(h.settings)
    view = await orders_for(h.orders, site.key, customer_id, h.now_ms, spawn, allow)
    return json({
        "customer": profile.to_dict() if profile else None,
        "orders": view.to_dict(h.now_ms()),
        "conversations": await customers.conversations(site.key, customer_id),
    })  # fmt: skip
