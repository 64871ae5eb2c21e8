"""REST for the console's finding and sorting: conversation search, tags, the live queue of the
caller's departments, and quick-reply previews filled for a conversation.

Search is a bounded scan, not an index: it reads the site's newest SCAN conversations (their
metadata in one pipeline, the customers' names and orders, and up to TEXT_ENTRIES transcript
entries each) and stops at `limit` hits. docs/console.md says how that scales.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.core import replies
from chatserver.core.model import Conversation
from chatserver.hub import Hub
from chatserver.web import conversations_api
from chatserver.web.http import ApiError, Caller, endpoint, field, hub, json, json_body

SCAN = 300  # newest conversations a search reads
TEXT_ENTRIES = 300  # transcript entries read per conversation
MAX_RESULTS = 50
MAX_TAGS = 10
_TAG = re.compile(r"^[\w][\w\-]{0,31}$")
_META = ("id", "customer", "visitor", "agent", "x:name", "x:email", "tags", "created_ms")


# --- search ---------------------------------------------------------------------------------
@endpoint()
async def search(request: Request, caller: Caller) -> Response:
    """`?q=` (2-100 characters) over past and current conversations: the customer id, the
    name and email given in the widget or pushed by the store, an order number, a tag, and
    the text of the messages. Newest first; only conversations the caller may open."""
    h, site = hub(request), caller.agent.site
    query = (request.query_params.get("q") or "").strip().casefold()
    if not 2 <= len(query) <= 100:
        raise ApiError(422, "invalid_field", "q must be 2 to 100 characters")
    limit = _limit(request.query_params.get("limit") or "20")
    ids = await h.index.recent(site, SCAN)
    rows = await h.index.fields_of(site, ids, _META)
    served = await _customers_served(h, caller)
    allowed = [r for r in rows if r and _may_open(caller, r, served)]
    owners = await _customers_matching(h, site, {r["customer"] for r in allowed
                                                 if r.get("customer")}, query)  # fmt: skip
    results = []
    for row in allowed:
        hit = _meta_hit(row, query, owners) or await _text_hit(h, row["id"], query)
        if hit is None:
            continue
        conv = await h.conversation(site, row["id"])
        if conv is not None:
            results.append({**await _result(h, conv, row.get("tags", "")), **hit})
        if len(results) == limit:
            break
    return json({"results": results, "scanned": len(ids)})


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_RESULTS:
        raise ApiError(422, "invalid_field", f"limit must be 1..{MAX_RESULTS}")
    return int(value)


async def _customers_served(h: Hub, caller: Caller) -> set[str]:
    if caller.manager:
        return set()
    state = await h.agent_state(caller.agent)
    rows = await h.index.fields_of(caller.agent.site, list(state.chats), ("customer",))
    return {r["customer"] for r in rows if r.get("customer")}


def _may_open(caller: Caller, row: dict[str, str], served: set[str]) -> bool:
    """The rule of GET /conversations/{id}: managers all; agents theirs and those of the
    customers they serve now."""
    if caller.manager or row.get("agent") == caller.agent.login:
        return True
    return bool(row.get("customer")) and row["customer"] in served


async def _customers_matching(h: Hub, site: str, customers: set[str], query: str) -> dict[str, str]:
    """Verified customers whose pushed name or email, or one of whose order numbers, matches:
    customer id -> what matched ('name', 'email' or 'order <number>')."""
    found: dict[str, str] = {}
    for customer in customers:
        profile = await h.customers.get(site, customer)
        if profile is not None and query in (profile.name or "").casefold():
            found[customer] = "name"
        elif profile is not None and query in (profile.email or "").casefold():
            found[customer] = "email"
        elif any(ch.isdigit() for ch in query):
            for order in await h.orders.of_customer(site, customer, 20):
                if query in order.number.casefold():
                    found[customer] = f"order {order.number}"
                    break
    return found


def _meta_hit(row: dict[str, str], query: str, owners: dict[str, str]) -> dict[str, str] | None:
    customer = row.get("customer", "")
    if customer and customer in owners:
        return {"matched": owners[customer]}
    for name, label in (("customer", "customer"), ("x:name", "name"), ("x:email", "email"),
                        ("tags", "tag"), ("visitor", "visitor")):  # fmt: skip
        if query in row.get(name, "").casefold():
            return {"matched": label}
    return None


async def _text_hit(h: Hub, conversation_id: str, query: str) -> dict[str, str] | None:
    for entry in await h.entries(conversation_id, "0-0", TEXT_ENTRIES):
        text = str(entry.data.get("text") or "")
        if entry.data.get("kind") == "message" and query in text.casefold():
            return {"matched": "message", "excerpt": _excerpt(text, query)}
    return None


def _excerpt(text: str, query: str, around: int = 40) -> str:
    at = text.casefold().find(query)
    start, end = max(0, at - around), min(len(text), at + len(query) + around)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


async def _result(h: Hub, conv: Conversation, tags: str) -> dict[str, Any]:
    return {
        **await conversations_api.summary(h, conv),
        "name": conv.extra.get("name") or None, "email": conv.extra.get("email") or None,
        "tags": _split(tags),
    }  # fmt: skip


def _split(raw: str) -> list[str]:
    return [t for t in raw.split(",") if t]


# --- tags -----------------------------------------------------------------------------------
@endpoint()
async def get_tags(request: Request, caller: Caller) -> Response:
    h = hub(request)
    conv = await conversations_api.load(request, caller, request.path_params["conversation_id"])
    rows = await h.index.fields_of(conv.site, [conv.id], ("tags",))
    return json({"tags": _split(rows[0].get("tags", "")),
                 "suggested": await h.index.popular_tags(conv.site, 20)})  # fmt: skip


@endpoint()
async def put_tags(request: Request, caller: Caller) -> Response:
    """`{"tags": [...]}` replaces the conversation's tags: at most MAX_TAGS, each 1-32 letters,
    digits, `_` or `-` (kept lowercase)."""
    h = hub(request)
    conv = await conversations_api.load(request, caller, request.path_params["conversation_id"])
    tags = clean_tags(field(await json_body(request), "tags", list))
    if not await h.index.set_tags(conv.site, conv.id, tags):
        raise ApiError(404, "not_found", "no such conversation")
    suggested = await h.index.popular_tags(conv.site, 20)
    return json({"tags": list(tags), "suggested": suggested})


def clean_tags(raw: list[Any]) -> tuple[str, ...]:
    """Tags as stored: stripped, lowercase, each once, in the given order."""
    tags: list[str] = []
    for item in raw:
        tag = str(item).strip().casefold() if isinstance(item, str) else ""
        if not _TAG.match(tag):
            raise ApiError(422, "invalid_field", "a tag is 1-32 letters, digits, _ or -")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ApiError(422, "invalid_field", f"at most {MAX_TAGS} tags")
    return tuple(tags)


# --- the queue ------------------------------------------------------------------------------
@endpoint()
async def queue(request: Request, caller: Caller) -> Response:
    """Who waits in the caller's departments (supervisors, admins: every department), in the
    order they will be served: position, since when, who, and their first message."""
    h, site_key, now = hub(request), caller.agent.site, hub(request).now_ms()
    site = await h.site(site_key)
    departments = site.departments if site else ()
    if not caller.manager:
        departments = tuple(d for d in departments if d in caller.agent.departments)
    result = []
    for dept in departments:
        waiting = []
        for position, conv_id in enumerate(await h.queued(site_key, dept), 1):
            conv = await h.conversation(site_key, conv_id)
            if conv is None:
                continue
            waiting.append({
                "conversation_id": conv.id, "position": position,
                "waiting_seconds": max(0, (now - conv.created_ms) // 1000),
                "name": conv.extra.get("name") or None, "customer": conv.customer or None,
                "text": await _first_message(h, conv.id),
            })  # fmt: skip
        result.append({"department": dept, "waiting": waiting})
    return json({"departments": result, "now": now})


async def _first_message(h: Hub, conversation_id: str) -> str | None:
    for entry in await h.entries(conversation_id, "0-0", 10):
        if entry.data.get("kind") == "message":
            return str(entry.data.get("text") or "")[:200]
    return None


# --- quick-reply previews -------------------------------------------------------------------
@endpoint()
async def reply_previews(request: Request, caller: Caller) -> Response:
    """Every quick reply the caller may use, filled for this conversation: `preview` is the
    text as it would be inserted, or null with the variables this conversation lacks."""
    h = hub(request)
    conv = await conversations_api.load(request, caller, request.path_params["conversation_id"])
    # The values POST .../render fills in, computed the same way (one place).
    values = await conversations_api._reply_context(request, caller, conv)
    previews = []
    for reply in await h.quick_replies.for_agent(caller.agent):
        rendered = replies.render(reply.text, values)
        previews.append({"id": reply.id, "preview": None if rendered.missing else rendered.text,
                         "missing": list(rendered.missing)})  # fmt: skip
    return json({"previews": previews})


def routes(v1: str) -> list[Route]:
    conv = f"{v1}/conversations/{{conversation_id}}"
    return [
        Route(f"{v1}/search", search, methods=["GET"]),
        Route(f"{v1}/queue", queue, methods=["GET"]),
        Route(f"{conv}/tags", get_tags, methods=["GET"]),
        Route(f"{conv}/tags", put_tags, methods=["PUT"]),
        Route(f"{conv}/reply-previews", reply_previews, methods=["GET"]),
    ]
