"""REST: the offline inbox, the messages shoppers left while nobody could answer. They wait out
of the live queue until an agent of their department (or a supervisor, an admin) takes one."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.core.model import Conversation, ConversationState
from chatserver.hub import Hub
from chatserver.web.conversations_api import summary
from chatserver.web.http import ApiError, Caller, endpoint, hub, json

MAX_PAGE = 100
PREVIEW_CHARS = 200
_PREVIEW_ENTRIES = 10  # the first message is among the first entries (created, contact...)
_REFUSALS = {
    "not_in_inbox": (404, "not_found", "not in the inbox (taken by someone, or closed)"),
    "wrong_department": (403, "forbidden", "not a department of yours"),
    "unavailable": (409, "not_available", "be online or away, with the console open"),
    "no_room": (409, "no_room", "no free slot: close a chat or raise your capacity"),
}


def routes(prefix: str) -> list[Route]:
    """The inbox's routes under `prefix` (/api/v1), gathered with the others in web.api."""
    return [
        Route(f"{prefix}/inbox", list_inbox, methods=["GET"]),
        Route(f"{prefix}/inbox/{{conversation_id}}/take", take, methods=["POST"]),
    ]


@endpoint()
async def list_inbox(request: Request, caller: Caller) -> Response:
    """The messages left in the caller's departments (supervisors, admins: every department),
    oldest first, at most `limit` (1-100, default 50)."""
    h, site_key = hub(request), caller.agent.site
    limit = _limit(request.query_params.get("limit") or "50")
    departments: tuple[str, ...] = caller.agent.departments
    if caller.manager:
        site = await h.site(site_key)
        departments = site.departments if site else ()
    waiting = [
        (left_ms, conv_id)
        for dept in departments
        for conv_id, left_ms in await h.inbox(site_key, dept, limit)
    ]
    items = []
    for left_ms, conv_id in sorted(waiting)[:limit]:
        conv = await h.conversation(site_key, conv_id)
        if conv is not None:
            items.append(await _item(h, conv, left_ms))
    return json({"messages": items})


@endpoint()
async def take(request: Request, caller: Caller) -> Response:
    """Take a left message: it becomes the caller's chat, as if routed to them (409 `no_room`
    when they have no free slot; 404 when it is no longer in the inbox)."""
    h = hub(request)
    conversation_id = request.path_params["conversation_id"]
    conv = await h.conversation(caller.agent.site, conversation_id)
    if conv is None or conv.state is not ConversationState.LEFT:
        raise ApiError(*_REFUSALS["not_in_inbox"])
    if not caller.manager and conv.department not in caller.agent.departments:
        raise ApiError(*_REFUSALS["wrong_department"])
    status = await h.take_left(caller.agent, conversation_id)
    if status != "taken":
        raise ApiError(*_REFUSALS[status])
    taken = await h.conversation(caller.agent.site, conversation_id)
    return json(await summary(h, taken or conv))


async def _item(h: Hub, conv: Conversation, left_ms: int) -> dict[str, Any]:
    return {
        "conversation_id": conv.id, "department": conv.department,
        "name": conv.extra.get("name") or None, "email": conv.extra.get("email") or None,
        "customer": conv.customer or None, "text": await _first_message(h, conv.id),
        "left": left_ms, "created": conv.created_ms,
    }  # fmt: skip


async def _first_message(h: Hub, conversation_id: str) -> str | None:
    """The shopper's first message (its start), if it is among the first entries."""
    for entry in await h.entries(conversation_id, "0-0", _PREVIEW_ENTRIES):
        sender = entry.data.get("from") or {}
        if entry.data.get("kind") == "message" and sender.get("role") == "shopper":
            return str(entry.data.get("text", ""))[:PREVIEW_CHARS]
    return None


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise ApiError(422, "invalid_field", f"limit must be 1..{MAX_PAGE}")
    return int(value)
