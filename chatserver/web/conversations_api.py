"""REST: conversations and transcripts (read), the customer panel, quick reply rendering, and
the supervisor's overview."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from chatserver import outbound
from chatserver.core import frames, outgoing, replies
from chatserver.core.model import Conversation
from chatserver.core.orders import Customer
from chatserver.core.routing import estimate_wait_seconds
from chatserver.hub import Hub
from chatserver.orders.view import OrdersView, orders_for
from chatserver.store.customers import Customers
from chatserver.web import agents_api
from chatserver.web.http import (
    MANAGERS,
    ApiError,
    Caller,
    endpoint,
    field,
    gateway,
    hub,
    json,
    json_body,
)

MAX_PAGE = 100
MAX_ENTRIES = 1000


# --- access ---------------------------------------------------------------------------------
async def load(request: Request, caller: Caller, conversation_id: str) -> Conversation:
    """The conversation if the caller may read it: supervisors and admins every one of their
    site; agents theirs (now or last), and the past ones of the customers they serve now."""
    h = hub(request)
    conv = await h.conversation(caller.agent.site, conversation_id)
    if conv is None:
        raise ApiError(404, "not_found", "no such conversation")
    if caller.manager or conv.agent == caller.agent.login:
        return conv
    if conv.customer and conv.customer in await _customers_served(h, caller):
        return conv
    raise ApiError(403, "forbidden", "not your conversation")


async def _customers_served(h: Hub, caller: Caller) -> set[str]:
    state = await h.agent_state(caller.agent)
    convs = [await h.conversation(caller.agent.site, c) for c in state.chats]
    return {c.customer for c in convs if c is not None and c.customer}


async def summary(h: Hub, conv: Conversation) -> dict[str, Any]:
    """A conversation as the API shows it (agents' view: logins and the visitor id)."""
    agent = {"id": conv.agent, "name": await h.agent_name(conv.agent)} if conv.agent else None
    return {
        "conversation_id": conv.id, "state": conv.state.value, "department": conv.department,
        "epoch": conv.epoch, "agent": agent, "visitor_id": conv.visitor,
        "customer": conv.customer or None, "created": conv.created_ms,
        "assigned": conv.assigned_ms or None, "first_reply": conv.first_reply_ms or None,
        "closed": conv.closed_ms or None, "outcome": conv.outcome or None,
    }  # fmt: skip


# --- conversations --------------------------------------------------------------------------
@endpoint()
async def list_conversations(request: Request, caller: Caller) -> Response:
    """Without a filter, the caller's chats; `customer=`, `visitor=` or `state=` (queued,
    assigned) for supervisors and admins (and `customer=` for an agent serving them)."""
    h, site, params = hub(request), caller.agent.site, request.query_params
    limit = _limit(params.get("limit") or "50")
    if customer := params.get("customer"):
        if not caller.manager and customer not in await _customers_served(h, caller):
            raise ApiError(403, "forbidden", "not a customer you serve now")
        ids = await h.customers.conversations(site, customer, limit)
    elif visitor := params.get("visitor"):
        _require_manager(caller)
        ids = [c.id for c in await h.recent(site, visitor, limit)]
    elif state := params.get("state"):
        _require_manager(caller)
        ids = await _in_state(h, site, state)
    else:
        ids = list((await h.agent_state(caller.agent)).chats)
    convs = [await h.conversation(site, i) for i in ids[:limit]]
    return json({"conversations": [await summary(h, c) for c in convs if c is not None]})


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise ApiError(422, "invalid_field", f"limit must be 1..{MAX_PAGE}")
    return int(value)


async def _in_state(h: Hub, site: str, state: str) -> list[str]:
    if state == "queued":
        found = await h.site(site)
        depts = found.departments if found else ()
        return [c for d in depts for c in await h.queued(site, d)]
    if state == "assigned":
        return [c for a in await h.site_agents(site) for c in await h.agent_chats(site, a.login)]
    raise ApiError(422, "invalid_field", "state must be queued or assigned")


def _require_manager(caller: Caller) -> None:
    if not caller.manager:
        raise ApiError(403, "forbidden", "supervisors and admins only")


@endpoint()
async def get_conversation(request: Request, caller: Caller) -> Response:
    h = hub(request)
    conv = await load(request, caller, request.path_params["conversation_id"])
    data = await summary(h, conv)
    data.update(await h.details(conv.site, conv.id))
    data["contact"] = _contact(conv)
    data["articles_read"] = outgoing.articles_read(conv)
    return json(data)


@endpoint()
async def get_transcript(request: Request, caller: Caller) -> Response:
    """Every entry (messages, events, internal notes) after `after`, oldest first."""
    h = hub(request)
    conv = await load(request, caller, request.path_params["conversation_id"])
    after = request.query_params.get("after") or "0-0"
    if not frames.is_stream_id(after):
        raise ApiError(422, "invalid_field", "after must be a message id")
    entries = await h.entries(conv.id, after, MAX_ENTRIES)
    files = gateway(request).files  # attachments get freshly signed URLs
    items = [files.present(conv.id, frames.entry_frame(conv.id, e.id, e.data)) for e in entries]
    more = len(entries) == MAX_ENTRIES
    return json({"conversation": await summary(h, conv), "entries": items,
                 "next_after": entries[-1].id if more else None})  # fmt: skip


# --- the customer panel ---------------------------------------------------------------------
@endpoint()
async def get_customer_panel(request: Request, caller: Caller) -> Response:
    """Who the customer is (verified or not), where they are, their orders and their earlier
    conversations. Only a verified customer id is linked to orders and conversations."""
    h = hub(request)
    conv = await load(request, caller, request.path_params["conversation_id"])
    now = h.now_ms()
    panel: dict[str, Any] = {
        "conversation_id": conv.id, "visitor_id": conv.visitor, "contact": _contact(conv),
        "context": {"page": _json_field(conv, "page"), "cart": _json_field(conv, "cart")},
        "claim": None, "customer": None, "orders": None, "conversations": [],
    }  # fmt: skip
    claimed = conv.extra.get("claimed_customer", "")
    if claimed and claimed != conv.customer:
        panel["claim"] = {"id": claimed, "verified": False}
    if conv.customer:
        customers = h.customers
        await h.link_customer(conv)
        profile = await customers.get(conv.site, conv.customer)
        panel["customer"] = _customer_json(conv.customer, profile)
        panel["orders"] = (await _orders(request, conv)).to_dict(now)
        panel["conversations"] = await _history(h, conv, customers)
    return json(panel)


def _customer_json(customer_id: str, profile: Customer | None) -> dict[str, Any]:
    data = profile.to_dict() if profile else {"id": customer_id}
    data.pop("updated_ms", None)
    return {**data, "verified": True, "known": profile is not None}


async def _orders(request: Request, conv: Conversation) -> OrdersView:
    h = hub(request)
    spawn = request.app.state.gateway.spawn
    allow = outbound.allow_of(h.settings)
    return await orders_for(h.orders, conv.site, conv.customer, h.now_ms, spawn, allow)


async def _history(h: Hub, conv: Conversation, customers: Customers) -> list[dict[str, Any]]:
    ids = await customers.conversations(conv.site, conv.customer, 21)
    past = [await h.conversation(conv.site, i) for i in ids if i != conv.id]
    result = []
    for c in past[:20]:
        if c is not None:
            item = await summary(h, c)
            item["rating"] = (await h.details(c.site, c.id))["rating"]
            result.append(item)
    return result


def _contact(conv: Conversation) -> dict[str, str]:
    return {k: conv.extra[k] for k in ("name", "email") if conv.extra.get(k)}


def _json_field(conv: Conversation, name: str) -> Any:
    raw = conv.extra.get(name)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


# --- quick replies, rendered for a conversation ---------------------------------------------
@endpoint()
async def render_reply(request: Request, caller: Caller) -> Response:
    """`{"quick_reply_id": ID}` or `{"template": TEXT}` filled for this conversation:
    200 `{"text"}`, or 422 `{"error": "missing_variables", "missing": [...]}`."""
    h = hub(request)
    conv = await load(request, caller, request.path_params["conversation_id"])
    body = await json_body(request)
    template = field(body, "template", str, "")
    if reply_id := field(body, "quick_reply_id", str, ""):
        usable = {r.id: r for r in await h.quick_replies.for_agent(caller.agent)}
        if reply_id not in usable:
            raise ApiError(404, "not_found", "no such quick reply")
        template = usable[reply_id].text
    if not template:
        raise ApiError(422, "missing_field", "give quick_reply_id or template")
    rendered = replies.render(template, await _reply_context(request, caller, conv))
    if rendered.missing:
        raise ApiError(422, "missing_variables", "this conversation lacks some values",
                       missing=list(rendered.missing))  # fmt: skip
    return json({"text": rendered.text})


async def _reply_context(request: Request, caller: Caller, conv: Conversation) -> dict[str, Any]:
    h = hub(request)
    site = await h.site(conv.site)
    contact = _contact(conv)
    customer: dict[str, str] | None = dict(contact) or None
    latest = None
    if conv.customer:
        profile = await h.customers.get(conv.site, conv.customer)
        known = {k: v for k, v in (profile.to_dict() if profile else {}).items() if v}
        known.pop("updated_ms", None)
        customer = {**contact, **known, "id": conv.customer, "verified": "yes"}
        orders = (await _orders(request, conv)).orders
        latest = orders[0] if orders else None
    site_name = site.name if site else ""
    return replies.context(
        customer=customer, latest_order=latest, agent_name=caller.agent.name, site_name=site_name
    )


# --- the supervisor's overview --------------------------------------------------------------
@endpoint(roles=MANAGERS)
async def overview(request: Request, caller: Caller) -> Response:
    """Per department: queue length, the oldest wait, free and total slots and the wait a new
    arrival can expect; and every agent's status and load."""
    h, site_key = hub(request), caller.agent.site
    site = await h.site(site_key)
    now = h.now_ms()
    departments = []
    for dept in site.departments if site else ():
        snap = await h.queue(site_key, dept)
        head = await h.conversation(site_key, snap.queued[0]) if snap.queued else None
        eta = estimate_wait_seconds(len(snap.queued) + 1, snap.free_slots, snap.total_slots,
                                    snap.avg_handle_seconds or 180.0)  # fmt: skip
        departments.append({
            "department": dept, "queued": len(snap.queued),
            "oldest_wait_seconds": (now - head.created_ms) // 1000 if head else None,
            "free_slots": snap.free_slots, "total_slots": snap.total_slots,
            "eta_seconds": eta, "avg_handle_seconds": snap.avg_handle_seconds,
        })  # fmt: skip
    agents = [await agents_api.agent_json(h, a) for a in await h.site_agents(site_key)]
    return json({"departments": departments, "agents": agents, "now": now})
