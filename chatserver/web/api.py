"""The REST API for stores and admins (`/api/v1/...`), described at /api/v1/openapi.json.

Callers authenticate with `Authorization: Bearer <session token>` from `POST /api/v1/login`,
or with the console's session cookie plus the `X-CSRF-Token` header on state-changing methods.
The store's push endpoint authenticates by an HMAC signature of its body instead.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.web import agents_api as agents
from chatserver.web import articles_api as articles
from chatserver.web import attachments_api as attachments
from chatserver.web import conversations_api as conversations
from chatserver.web import inbox_api as inbox
from chatserver.web import mail_api as mail
from chatserver.web import openapi
from chatserver.web import orders_api as orders
from chatserver.web import reports_api as reports
from chatserver.web import search_api as search
from chatserver.web.http import json


async def openapi_document(request: Request) -> Response:
    return json(openapi.document(routes))


_V1 = "/api/v1"
_CONV = f"{_V1}/conversations/{{conversation_id}}"
routes = [
    Route(f"{_V1}/openapi.json", openapi_document, methods=["GET"]),
    Route(f"{_V1}/me", agents.me, methods=["GET"]),
    Route(f"{_V1}/agents", agents.list_agents, methods=["GET"]),
    Route(f"{_V1}/agents", agents.create_agent, methods=["POST"]),
    Route(f"{_V1}/agents/{{login}}", agents.update_agent, methods=["PATCH"]),
    Route(f"{_V1}/agents/{{login}}", agents.delete_agent, methods=["DELETE"]),
    Route(f"{_V1}/sites", agents.list_sites, methods=["GET"]),
    Route(f"{_V1}/sites/{{site}}", agents.get_site, methods=["GET"]),
    Route(f"{_V1}/sites/{{site}}", agents.update_site, methods=["PATCH"]),
    Route(f"{_V1}/sites/{{site}}/push", orders.receive_push, methods=["POST"]),
    Route(f"{_V1}/sites/{{site}}/order-source", orders.get_source, methods=["GET"]),
    Route(f"{_V1}/sites/{{site}}/order-source", orders.put_source, methods=["PUT"]),
    Route(f"{_V1}/sites/{{site}}/push-secret", orders.rotate_push_secret, methods=["POST"]),
    Route(f"{_V1}/sites/{{site}}/customers/{{customer_id}}", orders.get_customer, methods=["GET"]),
    Route(f"{_V1}/quick-replies", agents.list_replies, methods=["GET"]),
    Route(f"{_V1}/quick-replies", agents.create_reply, methods=["POST"]),
    Route(f"{_V1}/quick-replies/{{reply_id}}", agents.update_reply, methods=["PUT"]),
    Route(f"{_V1}/quick-replies/{{reply_id}}", agents.delete_reply, methods=["DELETE"]),
    Route(f"{_V1}/conversations", conversations.list_conversations, methods=["GET"]),
    Route(_CONV, conversations.get_conversation, methods=["GET"]),
    Route(f"{_CONV}/transcript", conversations.get_transcript, methods=["GET"]),
    Route(f"{_CONV}/customer", conversations.get_customer_panel, methods=["GET"]),
    Route(f"{_CONV}/render", conversations.render_reply, methods=["POST"]),
    Route(f"{_V1}/overview", conversations.overview, methods=["GET"]),
    *inbox.routes(_V1),
    *reports.routes(_V1),
    *search.routes(_V1),
    *attachments.routes(_V1),
    *articles.routes(_V1),
    *mail.routes(_V1),
]
