"""The OpenAPI 3.1 description of the REST API (served at /api/v1/openapi.json).

Written by hand next to the handlers; a test checks that every route is described and that
nothing described is missing from the routes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Route

from chatserver.core.model import MIN_PASSWORD_CHARS

_S: dict[str, Any] = {"type": "string"}
_PASSWORD: dict[str, Any] = {"type": "string", "minLength": MIN_PASSWORD_CHARS}
_I: dict[str, Any] = {"type": "integer"}
_B: dict[str, Any] = {"type": "boolean"}
_MS: dict[str, Any] = {"type": ["integer", "null"], "description": "ms since the Unix epoch"}
_AMOUNT: dict[str, Any] = {
    "type": "string",
    "pattern": r"^-?\d{1,15}(\.\d{1,4})?$",
    "description": "a decimal amount; JSON numbers are accepted too",
}
_TIME: dict[str, Any] = {"oneOf": [{"type": "string", "format": "date-time"}, _I],
                         "description": "ISO 8601 (UTC if no offset) or integer ms"}  # fmt: skip


def _obj(required: Sequence[str] = (), **props: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


SCHEMAS: dict[str, Any] = {
    "Error": _obj(["error", "message"], error=_S, message=_S,
                  missing=_list(_S) | {"description": "missing_variables only"}),
    "Agent": _obj(
        ["id", "name", "role"], id=_S, name=_S,
        role={"enum": ["agent", "supervisor", "admin"]}, departments=_list(_S),
        status={"enum": ["online", "away", "offline"]}, load=_I,
        capacity=_I | {"minimum": 1, "maximum": 3}, max_capacity=_I | {"minimum": 1, "maximum": 3},
        connected=_B,
    ),
    "NewAgent": _obj(
        ["id", "name", "password", "departments"], id=_S, name=_S, password=_PASSWORD,
        departments=_list(_S), role={"enum": ["agent", "supervisor", "admin"]},
        capacity=_I, max_capacity=_I,
    ),
    "AgentChange": _obj(
        name=_S, password=_PASSWORD, departments=_list(_S),
        role={"enum": ["agent", "supervisor", "admin"]}, capacity=_I,
        max_capacity=_I | {"description": "the only field supervisors may set"},
    ),
    "Site": _obj(["key", "name", "departments"], key=_S, name=_S, departments=_list(_S),
                 allowed_origins=_list(_S), identity_secret_set=_B),
    "SiteChange": _obj(name=_S, allowed_origins=_list(_S), identity_secret=_S),
    "QuickReply": _obj(
        ["id", "scope", "shortcut", "title", "text"], id=_S,
        scope={"enum": ["shared", "personal"]}, shortcut=_S, title=_S,
        text=_S | {"description": "may use {{ customer.name }}, {{ order.number }}..."},
        department=_nullable(_S), owner=_nullable(_S), updated=_I,
    ),
    "QuickReplyInput": _obj(["shortcut", "title", "text"], scope={"enum": ["shared", "personal"]},
                            shortcut=_S, title=_S, text=_S, department=_S),
    "Conversation": _obj(
        ["conversation_id", "state", "department"], conversation_id=_S,
        state={"enum": ["queued", "assigned", "left", "closed", "abandoned"]}, department=_S,
        epoch=_I,
        agent=_nullable(_obj(id=_S, name=_S)), visitor_id=_S, customer=_nullable(_S),
        created=_MS, assigned=_MS, first_reply=_MS, closed=_MS, outcome=_nullable(_S),
        articles_read=_list(_obj(id=_S, title=_S))
        | {"description": "GET /conversations/{id} only: FAQ articles read before asking"},
    ),
    "LeftMessage": _obj(
        ["conversation_id", "department", "left"], conversation_id=_S, department=_S,
        name=_nullable(_S), email=_nullable(_S), customer=_nullable(_S),
        text=_nullable(_S) | {"description": "the shopper's first message (200 chars)"},
        left=_MS, created=_MS,
    ),
    "Entry": _obj(["type", "id", "ts"], type={"enum": ["message", "note", "event"]}, id=_S,
                  ts=_I, conversation_id=_S, text=_S, event=_S,
                  attachment=_ref("Attachment") | {"description": "messages with a file"},
                  **{"from": _obj(role=_S, id=_S, name=_S)}),
    "Attachment": _obj(
        ["id", "name", "type", "size", "url", "expires"], id=_S, name=_S,
        type={"enum": ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf",
                       "text/plain"]},
        size=_I, width=_nullable(_I), height=_nullable(_I),
        url=_S | {"description": "signed path /files/...; works until `expires`"},
        thumb_url=_nullable(_S) | {"description": "images only"}, expires=_MS),
    "Upload": _obj(["client_msg_id", "file"], client_msg_id=_S | {"maxLength": 64},
                   file={"type": "string", "format": "binary"}),
    "OrderItem": _obj(["name", "quantity"], name=_S, quantity=_I, price=_AMOUNT, sku=_S),
    "Order": _obj(
        ["id", "number", "customer_id", "placed_at", "updated_at", "status"], id=_S, number=_S,
        customer_id=_S, placed_at=_TIME, updated_at=_TIME, status=_S, currency=_S,
        items=_list(_ref("OrderItem")),
        totals=_obj(subtotal=_AMOUNT, shipping=_AMOUNT, tax=_AMOUNT, discount=_AMOUNT,
                    total=_AMOUNT),
        payment_status=_S, shipping_status=_S, carrier=_S, tracking_number=_S,
        tracking_url=_S | {"format": "uri", "description": "http(s) only"},
    ),
    "StoredOrder": _obj(
        ["id", "number", "placed_ms", "updated_ms", "status"], id=_S, number=_S, customer_id=_S,
        placed_ms=_I, updated_ms=_I, status=_S, currency=_S, items=_list(_ref("OrderItem")),
        totals=_obj(), payment_status=_S, shipping_status=_S, carrier=_S,
        tracking_number=_S, tracking_url=_S,
    ),
    "Customer": _obj(["id", "updated_at"], id=_S, name=_S, email=_S, phone=_S,
                     updated_at=_TIME),
    "Push": _obj(customers=_list(_ref("Customer")), orders=_list(_ref("Order"))),
    "PushResult": _obj(customers=_obj(stored=_I, unchanged=_I, conflicts=_list(_S)),
                       orders=_obj(stored=_I, unchanged=_I, conflicts=_list(_S))),
    "OrderSource": _obj(push_secret_set=_B, pull_url=_nullable(_S), pull_auth_header_set=_B,
                        pull_ttl_seconds=_I, pull_timeout_seconds={"type": "number"},
                        last_pull_error=_nullable(_obj(message=_S, at=_I))),
    "OrderSourceInput": _obj(
        pull_url=_nullable(_S | {"description": "with {customer_id}; null turns pulls off"}),
        pull_auth_header=_S | {"description": "'Name: value'; absent keeps the current one"},
        pull_ttl_seconds=_I, pull_timeout_seconds={"type": "number"},
    ),
    "Orders": _obj(
        ["state", "orders"],
        state={"enum": ["none", "fresh", "stale", "loading", "unavailable"]},
        source={"enum": ["push", "pull"]}, as_of=_MS, age_seconds=_nullable(_I),
        refreshing=_B, error=_nullable(_S), orders=_list(_ref("StoredOrder")),
    ),
    "SearchResult": {"allOf": [_ref("Conversation"), _obj(
        ["matched"], name=_nullable(_S), email=_nullable(_S), tags=_list(_S),
        matched={"enum": ["customer", "name", "email", "tag", "visitor", "message"],
                 "description": "or 'order NUMBER'"},
        excerpt=_S | {"description": "message hits: the text around the match"})]},
    "Waiting": _obj(["conversation_id", "position", "waiting_seconds"], conversation_id=_S,
                    position=_I, waiting_seconds=_I, name=_nullable(_S), customer=_nullable(_S),
                    text=_nullable(_S)),
    "Tags": _obj(["tags"], tags=_list(_S), suggested=_list(_S)),
    "CustomerPanel": _obj(
        conversation_id=_S, visitor_id=_S, contact=_obj(name=_S, email=_S),
        context=_obj(page=_nullable(_obj()), cart=_nullable(_obj())),
        claim=_nullable(_obj(id=_S, verified=_B)),
        customer=_nullable(_obj(id=_S, name=_S, email=_S, phone=_S, verified=_B, known=_B)),
        orders=_nullable(_ref("Orders")), conversations=_list(_ref("Conversation")),
    ),
}  # fmt: skip


_N: dict[str, Any] = {"type": ["number", "null"]}
_FIGURES = (
    "wait_median", "wait_p90", "assign_median", "assign_p90", "abandonment_rate",
    "handle_median", "handle_mean", "csat", "response_rate", "resolution_rate", "sale_rate",
    "transfers_per_chat", "left_reply_median", "chats_per_agent_hour",
    "enquiries_per_agent_hour", "deflection_rate",
)  # fmt: skip
_COUNTS = (
    "conversations", "assigned", "abandoned", "left", "closed", "answered", "rated", "good",
    "resolved", "reopened", "sales", "transfers", "left_answered", "deflected",
)  # fmt: skip
_FIGURE_PROPS: dict[str, Any] = {
    **{name: _N for name in _FIGURES},
    **{name: _I for name in _COUNTS},
    "agent_hours": {"type": "number"},
}
_STATUS = {"enum": ["green", "amber", "red", "none"]}
_PERIOD: dict[str, Any] = {"from": _S | {"format": "date"}, "to": _S | {"format": "date"}}
SCHEMAS.update({
    "Figures": _obj(**_FIGURE_PROPS, status=_obj(wait_median=_STATUS, csat=_STATUS,
                                                 resolution_rate=_STATUS)),
    "Targets": _obj(wait_seconds=_I | {"minimum": 1}, csat_percent=_I | {"maximum": 100},
                    resolution_percent=_I | {"maximum": 100},
                    timezone=_S | {"description": "IANA time zone, e.g. Asia/Shanghai"}),
    "Report": _obj(
        site=_S, timezone=_S, department=_nullable(_S), demo_data=_B, now=_I,
        targets=_ref("Targets"), summary=_ref("Figures"),
        **_PERIOD,
        days=_list(_obj(day=_S, **_FIGURE_PROPS)),
        hours=_list(_obj(hour=_I, **_FIGURE_PROPS)),
        waits=_list(_obj(from_seconds=_I, to_seconds=_nullable(_I), first_reply=_I,
                         assignment=_I)),
        agents=_list(_obj(agent=_S, name=_S, **_FIGURE_PROPS)),
        departments=_list(_obj(department=_S, **_FIGURE_PROPS)),
    ),
})  # fmt: skip


_LANG: dict[str, Any] = {"enum": ["en", "zh-CN"]}
_ARTICLE_IN: dict[str, Any] = {
    "id": _S | {"pattern": "^[A-Za-z0-9_-]{1,64}$", "description": "made up when absent"},
    "lang": _LANG, "title": _S | {"minLength": 1, "maxLength": 200},
    "body": _S | {"minLength": 1, "maxLength": 20000, "description": "Markdown"},
    "tags": _list(_S) | {"maxItems": 10}, "department": _nullable(_S),
    "status": {"enum": ["published", "draft"]},
}  # fmt: skip
SCHEMAS.update({
    "ArticleInput": _obj(["lang", "title", "body"], **_ARTICLE_IN),
    "Article": _obj(["id", "lang", "title", "body", "status", "updated_at"], **_ARTICLE_IN,
                    updated_at=_I, html=_S | {"description": "the sanitised rendering"},
                    url=_nullable(_S) | {"description": "its public page, /help/{site}/{id} "
                                         "(null for a draft)"}),
    "Articles": _obj(["articles"], articles=_list(_ref("Article"))),
    "ArticleHit": _obj(["id", "title", "snippet"], id=_S, title=_S, snippet=_S,
                       department=_nullable(_S)),
    "PublicArticle": _obj(["id", "lang", "title", "html"], id=_S, lang=_LANG, title=_S,
                          html=_S, tags=_list(_S), department=_nullable(_S)),
    "Feedback": _obj(["helpful"], helpful=_B, question=_S | {"maxLength": 500},
                     visitor_id=_S),
    "InvitationRule": _obj(
        ["messages"], id=_S, enabled=_B,
        url=_nullable(_S) | {"description": "glob on location.pathname, e.g. /demo/*/cart"},
        seconds_on_page=_nullable(_I), min_cart_value=_N, min_cart_items=_nullable(_I),
        returning=_nullable(_B), min_pages=_nullable(_I), exit_intent=_B,
        business_hours=_B, needs_room=_B,
        messages={"type": "object", "properties": {"en": _S, "zh-CN": _S}},
        per_days=_I | {"minimum": 1, "default": 1},
    ),
    "Invitations": _obj(["invitations"], invitations=_list(_ref("InvitationRule"))),
})  # fmt: skip


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    media = schema.get("x-media", "application/json")  # the upload is multipart/form-data
    schema = {k: v for k, v in schema.items() if k != "x-media"}
    return {"required": True, "content": {media: {"schema": schema}}}


def _ok(schema: dict[str, Any] | None, status: str = "200") -> dict[str, Any]:
    error = {"description": "see the error code",
             "content": {"application/json": {"schema": _ref("Error")}}}  # fmt: skip
    responses: dict[str, Any] = {
        status: {"description": "OK"} if schema is None
        else {"description": "OK", "content": {"application/json": {"schema": schema}}},
        "4XX": error, "503": error,
    }  # fmt: skip
    return responses


# (method, path) -> (summary, tag, request schema or None, response schema or None, status)
_OPS: dict[tuple[str, str], tuple[str, str, Any, Any, str]] = {
    ("get", "/api/v1/openapi.json"): ("This document", "meta", None, {"type": "object"}, "200"),
    ("get", "/api/v1/me"): ("The caller and their site", "agents", None,
                            _obj(agent=_ref("Agent"), site=_ref("Site")), "200"),
    ("get", "/api/v1/agents"): ("The agents of the caller's site, with live state", "agents",
                                None, _obj(agents=_list(_ref("Agent"))), "200"),
    ("post", "/api/v1/agents"): ("Add an agent (admin)", "agents", _ref("NewAgent"),
                                 _ref("Agent"), "201"),
    ("patch", "/api/v1/agents/{login}"): ("Change an agent (admin; supervisors: max_capacity)",
                                          "agents", _ref("AgentChange"), _ref("Agent"), "200"),
    ("delete", "/api/v1/agents/{login}"): ("Remove an agent with no chat (admin)", "agents",
                                           None, None, "204"),
    ("get", "/api/v1/sites"): ("The caller's site", "sites", None,
                               _obj(sites=_list(_ref("Site"))), "200"),
    ("get", "/api/v1/sites/{site}"): ("A site (the caller's)", "sites", None, _ref("Site"), "200"),
    ("patch", "/api/v1/sites/{site}"): ("Change name, origins, identity secret (admin)",
                                        "sites", _ref("SiteChange"), _ref("Site"), "200"),
    ("post", "/api/v1/sites/{site}/push"): (
        "Push customers and orders (store backend; X-Chat-Signature: sha256=HMAC of the raw "
        "body with the push secret; no session)", "orders", _ref("Push"), _ref("PushResult"),
        "200"),
    ("get", "/api/v1/sites/{site}/order-source"): ("Where orders come from (admin)", "orders",
                                                   None, _ref("OrderSource"), "200"),
    ("put", "/api/v1/sites/{site}/order-source"): ("Set the pull endpoint (admin)", "orders",
                                                   _ref("OrderSourceInput"),
                                                   _ref("OrderSource"), "200"),
    ("post", "/api/v1/sites/{site}/push-secret"): ("Rotate the push secret (admin)", "orders",
                                                   None, _obj(push_secret=_S), "200"),
    ("get", "/api/v1/sites/{site}/customers/{customer_id}"): (
        "A customer: profile, orders, conversation ids (supervisor, admin)", "orders", None,
        _obj(customer=_nullable(_ref("Customer")), orders=_ref("Orders"),
             conversations=_list(_S)), "200"),
    ("get", "/api/v1/quick-replies"): ("Quick replies the caller may use (?all=1: admins see "
                                       "every shared one)", "quick replies", None,
                                       _obj(quick_replies=_list(_ref("QuickReply"))), "200"),
    ("post", "/api/v1/quick-replies"): ("Add a personal (or, admins, shared) quick reply",
                                        "quick replies", _ref("QuickReplyInput"),
                                        _ref("QuickReply"), "201"),
    ("put", "/api/v1/quick-replies/{reply_id}"): ("Change a quick reply (its owner; shared: "
                                                  "admins)", "quick replies",
                                                  _ref("QuickReplyInput"), _ref("QuickReply"),
                                                  "200"),
    ("delete", "/api/v1/quick-replies/{reply_id}"): ("Remove a quick reply", "quick replies",
                                                     None, None, "204"),
    ("get", "/api/v1/conversations"): (
        "The caller's chats; or ?customer=, ?visitor=, ?state=queued|assigned (supervisors, "
        "admins; agents: customers they serve)", "conversations", None,
        _obj(conversations=_list(_ref("Conversation"))), "200"),
    ("get", "/api/v1/conversations/{conversation_id}"): (
        "A conversation, with read positions, rating and contact", "conversations", None,
        _ref("Conversation"), "200"),
    ("get", "/api/v1/conversations/{conversation_id}/transcript"): (
        "Its transcript (messages, events, internal notes); ?after= pages on",
        "conversations", None,
        _obj(conversation=_ref("Conversation"), entries=_list(_ref("Entry")),
             next_after=_nullable(_S)), "200"),
    ("get", "/api/v1/conversations/{conversation_id}/customer"): (
        "The customer panel: who, where, orders, earlier conversations (verified only)",
        "conversations", None, _ref("CustomerPanel"), "200"),
    ("post", "/api/v1/conversations/{conversation_id}/render"): (
        "Fill a quick reply for this conversation (422 missing_variables names what lacks)",
        "conversations", _obj(quick_reply_id=_S, template=_S), _obj(text=_S), "200"),
    ("post", "/api/v1/conversations/{conversation_id}/attachments"): (
        "Upload a file (visitor token, agent session or console cookie + CSRF): 201, or 200 "
        "for a retry with the same client_msg_id. 413 too_large, 415 unsupported_type, 422 "
        "bad_file, 429 rate_limited, 409 conversation_full | conversation_closed. Then send "
        "the socket `message` frame with its id", "attachments",
        _ref("Upload") | {"x-media": "multipart/form-data"},
        _obj(attachment=_ref("Attachment")), "201"),
    ("get", "/api/v1/conversations/{conversation_id}/attachments"): (
        "Every file of the conversation, oldest first, with fresh signed URLs",
        "attachments", None, _obj(attachments=_list(_ref("Attachment"))), "200"),
    ("options", "/api/v1/conversations/{conversation_id}/attachments"): (
        "CORS preflight (the widget's calls)", "attachments", None, None, "204"),
    ("get", "/api/v1/conversations/{conversation_id}/attachments/{attachment_id}"): (
        "One file with fresh signed URLs (when the ones a client holds expired)",
        "attachments", None, _obj(attachment=_ref("Attachment")), "200"),
    ("options", "/api/v1/conversations/{conversation_id}/attachments/{attachment_id}"): (
        "CORS preflight (the widget's calls)", "attachments", None, None, "204"),
    ("get", "/api/v1/overview"): (
        "Queues and agents of the site (supervisor, admin)", "supervision", None,
        _obj(departments=_list(_obj(department=_S, queued=_I,
                                    oldest_wait_seconds=_nullable(_I), free_slots=_I,
                                    total_slots=_I, eta_seconds=_nullable(_I))),
             agents=_list(_ref("Agent")), now=_I), "200"),
    ("get", "/api/v1/inbox"): (
        "Messages left while nobody could answer, oldest first: the caller's departments "
        "(supervisors, admins: all); ?limit= 1-100", "inbox", None,
        _obj(messages=_list(_ref("LeftMessage"))), "200"),
    ("get", "/api/v1/search"): (
        "Search conversations, newest first, among the site's newest 300: ?q= (2-100 chars) "
        "in the customer id, name, email, order numbers, tags and message text; ?limit= 1-50. "
        "Only those the caller may open", "search", None,
        _obj(results=_list(_ref("SearchResult")), scanned=_I), "200"),
    ("get", "/api/v1/queue"): (
        "Who waits in the caller's departments (supervisors, admins: all), in serving order",
        "search", None,
        _obj(departments=_list(_obj(department=_S, waiting=_list(_ref("Waiting")))), now=_I),
        "200"),
    ("get", "/api/v1/conversations/{conversation_id}/tags"): (
        "Its tags, and the site's most used ones", "search", None, _ref("Tags"), "200"),
    ("put", "/api/v1/conversations/{conversation_id}/tags"): (
        "Replace its tags (at most 10; 1-32 letters, digits, _ or -; stored lowercase)",
        "search", _obj(["tags"], tags=_list(_S)), _ref("Tags"), "200"),
    ("get", "/api/v1/conversations/{conversation_id}/reply-previews"): (
        "The caller's quick replies filled for it (preview null: missing variables)",
        "search", None,
        _obj(previews=_list(_obj(id=_S, preview=_nullable(_S), missing=_list(_S)))), "200"),
    ("get", "/api/v1/reports"): (
        "Service report of the caller's site (supervisor, admin): ?from=, ?to= local dates "
        "(YYYY-MM-DD, default the last 7 days), ?department=, ?tz= (IANA zone; default the "
        "site's). Figures as defined in docs/reports.md", "reports", None, _ref("Report"),
        "200"),
    ("get", "/api/v1/reports/{table}.csv"): (
        "One table of the report as CSV (table: summary, days, hours, waits, agents, "
        "departments; same parameters)", "reports", None, {"type": "string"}, "200"),
    ("get", "/api/v1/reports/live"): (
        "Today's and the last 7 days' KPIs against the targets (supervisor, admin)", "reports",
        None, _obj(today=_ref("Figures"), last_7_days=_ref("Figures"),
                   targets=_ref("Targets"), timezone=_S, now=_I), "200"),
    ("get", "/api/v1/reports/targets"): ("The site's service targets and report time zone",
                                         "reports", None, _ref("Targets"), "200"),
    ("put", "/api/v1/reports/targets"): ("Set targets and time zone (admin)", "reports",
                                         _ref("Targets"), _ref("Targets"), "200"),
    ("post", "/api/v1/inbox/{conversation_id}/take"): (
        "Take a left message as one of your chats (409 no_room: no free slot; 409 "
        "not_available: offline or not connected; 404: taken or closed)", "inbox", None,
        _ref("Conversation"), "200"),
    ("get", "/api/v1/sites/{site}/articles/search"): (
        "Search the site's published articles (public, for the widget; rate-limited per "
        "address, 429 rate_limited): ?q= (1-200 chars), ?lang=en|zh-CN, ?limit= 1-10 (3)",
        "knowledge base", None, _obj(articles=_list(_ref("ArticleHit"))), "200"),
    ("get", "/api/v1/sites/{site}/articles/{article_id}"): (
        "A published article, rendered (public, rate-limited)", "knowledge base", None,
        _obj(article=_ref("PublicArticle")), "200"),
    ("post", "/api/v1/sites/{site}/articles/{article_id}/feedback"): (
        "Did the article answer the question? helpful=true counts a deflection (public, "
        "rate-limited)", "knowledge base", _ref("Feedback"), None, "204"),
    ("options", "/api/v1/sites/{site}/articles/{article_id}/feedback"): (
        "CORS preflight of the feedback POST", "knowledge base", None, None, "204"),
    ("get", "/api/v1/articles"): (
        "The site's articles, newest first: ?lang=, ?status=, ?q= (every word in title, body "
        "or tags). Supervisors and admins see drafts too; agents the published ones only",
        "knowledge base", None, _ref("Articles"), "200"),
    ("post", "/api/v1/articles/preview"): (
        "Render Markdown as an article would be shown, sanitised; nothing is stored "
        "(supervisor, admin; body at most 20,000 characters)", "knowledge base",
        _obj(["body"], body=_S | {"maxLength": 20000}), _obj(["html"], html=_S), "200"),
    ("post", "/api/v1/articles"): ("Add an article (supervisor, admin; 409 if the id is taken)",
                                   "knowledge base", _ref("ArticleInput"), _ref("Article"),
                                   "201"),
    ("get", "/api/v1/articles/export"): ("Every article, as import takes them (supervisor, "
                                         "admin)", "knowledge base", None, _ref("Articles"),
                                         "200"),
    ("post", "/api/v1/articles/import"): (
        "Create or replace articles by id, all or none (supervisor, admin)", "knowledge base",
        _obj(["articles"], articles=_list(_ref("ArticleInput"))), _obj(imported=_I), "200"),
    ("get", "/api/v1/articles/{article_id}"): ("An article (agents: a published one only, "
                                               "404 for a draft)", "knowledge base", None,
                                               _ref("Article"), "200"),
    ("put", "/api/v1/articles/{article_id}"): ("Replace an article (supervisor, admin)",
                                               "knowledge base", _ref("ArticleInput"),
                                               _ref("Article"), "200"),
    ("delete", "/api/v1/articles/{article_id}"): ("Remove an article (supervisor, admin)",
                                                  "knowledge base", None, None, "204"),
    ("get", "/api/v1/sites/{site}/invitations"): ("The site's invitation rules (supervisor, "
                                                  "admin)", "knowledge base", None,
                                                  _ref("Invitations"), "200"),
    ("put", "/api/v1/sites/{site}/invitations"): ("Replace the invitation rules (admin)",
                                                  "knowledge base", _ref("Invitations"),
                                                  _ref("Invitations"), "200"),
    ("post", "/api/v1/mail/inbound"): (
        "A shopper's reply by mail, as a provider's inbound route posts it: the raw MIME "
        "message as the body (message/rfc822), or multipart/form-data with it in body-mime "
        "(Mailgun) or email (SendGrid). HTTP basic auth, password --mail-inbound-secret; 404 "
        "when inbound mail is not configured; 503: retry (docs/email.md)", "mail", None,
        _obj(status=_S, reason=_nullable(_S)), "200"),
    ("get", "/api/v1/sites/{site}/mail"): (
        "The site's optional mails (supervisor, admin); enabled: the server has an SMTP server",
        "mail", None, _ref("SiteMail"), "200"),
    ("put", "/api/v1/sites/{site}/mail"): (
        "Set the site's optional mails (admin; 409 mail_not_configured without an SMTP "
        "server): out_of_hours_notice '' (none), 'department' or email addresses",
        "mail", {"type": "object", "properties": {"transcript_on_close": _B,
                                                  "out_of_hours_notice": _S, "from": _S}},
        _ref("SiteMail"), "200"),
    ("get", "/api/v1/mail/unsubscribe/{token}"): (
        "The List-Unsubscribe link of a mail: an HTML page asking to confirm (docs/email.md)",
        "mail", None, None, "200"),
    ("post", "/api/v1/mail/unsubscribe/{token}"): (
        "One-click unsubscribe (RFC 8058): no more agents' replies or transcript on close by "
        "mail in the token's conversation; an HTML page; 404 for a forged token",
        "mail", None, None, "200"),
}  # fmt: skip

SCHEMAS["SiteMail"] = _obj(  # docs/email.md
    ["enabled", "transcript_on_close", "out_of_hours_notice", "from"], enabled=_B,
    transcript_on_close=_B, out_of_hours_notice=_S, **{"from": _S})  # fmt: skip

_PUBLIC = {
    ("post", "/api/v1/sites/{site}/push"), ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/sites/{site}/articles/search"),
    ("get", "/api/v1/sites/{site}/articles/{article_id}"),
    ("post", "/api/v1/sites/{site}/articles/{article_id}/feedback"),
    ("options", "/api/v1/sites/{site}/articles/{article_id}/feedback"),
    ("options", "/api/v1/conversations/{conversation_id}/attachments"),
    ("options", "/api/v1/conversations/{conversation_id}/attachments/{attachment_id}"),
    ("post", "/api/v1/mail/inbound"),  # basic auth with the inbound secret, not a session
    ("get", "/api/v1/mail/unsubscribe/{token}"), ("post", "/api/v1/mail/unsubscribe/{token}"),
}  # fmt: skip


def operations() -> set[tuple[str, str]]:
    """(method, path) of every operation described."""
    return set(_OPS)


def document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of `routes` (every one must be described above)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            key = (method.lower(), route.path)
            summary, tag, request, response, status = _OPS[key]
            op: dict[str, Any] = {"summary": summary, "tags": [tag],
                                  "responses": _ok(response, status)}  # fmt: skip
            params = [p.strip("{}") for p in route.path.split("/") if p.startswith("{")]
            if params:
                op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": _S}
                                    for p in params]  # fmt: skip
            if request is not None:
                op["requestBody"] = _body(request)
            if key in _PUBLIC:
                op["security"] = []
            paths.setdefault(route.path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chatserver REST API",
            "version": "1",
            "description": "Sites, agents, quick replies, customers and orders, "
            "conversations and transcripts. See docs/api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "session": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "token from POST /api/v1/login",
                },
                "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "chat_session",
                    "description": "the console's session; unsafe methods also need "
                    "the X-CSRF-Token header",
                },
            },
        },
        "security": [{"session": []}, {"cookie": []}],
    }
