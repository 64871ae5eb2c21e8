"""REST: attachments of a conversation (docs/api.md#attachments). Upload a file, read one or
all with fresh signed URLs.

Shoppers call with their visitor token (`Authorization: Bearer VISITOR_TOKEN`, from the
storefront: CORS for the site's allowed origins); agents with their session token or the
console's cookie (+ X-CSRF-Token on the upload).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.attachments.service import Files, Refusal, Uploader
from chatserver.attachments.upload import Upload, UploadError, receive
from chatserver.core import tokens
from chatserver.core.frames import MAX_ID_CHARS
from chatserver.core.model import Conversation
from chatserver.web import conversations_api
from chatserver.web.http import (
    ApiError,
    PublicEndpoint,
    authenticate,
    gateway,
    hub,
    json,
    public,
)

SLACK_BYTES = 64 * 1024  # the multipart envelope around the file, at most
PREFLIGHT_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Access:
    """Who calls about which conversation."""

    conv: Conversation
    who: Uploader


def files(request: Request) -> Files:
    return gateway(request).files


# --- endpoints ------------------------------------------------------------------------------
async def upload(request: Request) -> Response:
    """multipart/form-data with `client_msg_id` and one `file`: 201 {attachment}, or 200 with
    the same attachment for a retry of the same sender and client_msg_id.

    A body declared larger than the limit is refused unread; a refusal of a body within it
    reads the rest first (discarded: a client still sending would not see the answer)."""
    limit = files(request).settings.max_upload_bytes
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit + SLACK_BYTES:
        raise ApiError(413, "too_large", f"the file is larger than {limit} bytes")
    stream = request.stream()
    try:
        return await _upload(request, stream, limit)
    except ApiError:
        if declared:
            async for _ in stream:  # at most SLACK_BYTES past the limit: see above
                pass
        raise


async def _upload(request: Request, stream: AsyncIterator[bytes], limit: int) -> Response:
    access = await _access(request, write=True)
    body = await _receive(request, stream, limit)
    try:
        cmid = body.fields.get("client_msg_id", "")
        if not 0 < len(cmid) <= MAX_ID_CHARS:
            raise ApiError(422, "invalid_field", "client_msg_id must be 1-64 characters")
        if body.file is None or body.filename is None:
            raise ApiError(422, "missing_field", "field 'file' is required")
        found = await files(request).existing(access.who, cmid)
        if found is not None:
            return _answer(access, request, found.entry(), 200)
        if not access.conv.open:
            raise ApiError(409, "conversation_closed", "the conversation is closed")
        att, new = await files(request).take(access.who, cmid, body.filename, body.file)
    except Refusal as exc:
        raise ApiError(exc.status, exc.code, exc.message, **exc.extra) from None
    finally:
        body.close()
    return _answer(access, request, att.entry(), 201 if new else 200)


async def get_one(request: Request) -> Response:
    """{attachment} with fresh URLs (a client whose URLs expired asks here)."""
    access = await _access(request, write=False)
    att = await hub(request).attachments.get(access.conv.id, request.path_params["attachment_id"])
    if att is None:
        raise ApiError(404, "not_found", "no such attachment")
    return _answer(access, request, att.entry(), 200)


async def list_all(request: Request) -> Response:
    """{attachments: [...]}: every file of the conversation, oldest first."""
    access = await _access(request, write=False)
    found = await hub(request).attachments.of_conversation(access.conv.id)
    listed = [files(request).view(access.conv.id, a.entry()) for a in found]
    return json({"attachments": listed})


async def preflight(request: Request) -> Response:
    """CORS preflight (the widget sends Authorization): any origin may ask; the request itself
    is refused (403) unless its origin is one of the site's."""
    origin = request.headers.get("origin", "")
    headers = {
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, X-CSRF-Token",
        "Access-Control-Max-Age": str(PREFLIGHT_SECONDS), "Vary": "Origin",
    }  # fmt: skip
    if origin.startswith(("http://", "https://")):
        headers["Access-Control-Allow-Origin"] = origin
    return Response(status_code=204, headers=headers)


def _answer(access: Access, request: Request, entry: dict[str, object], status: int) -> Response:
    return json({"attachment": files(request).view(access.conv.id, dict(entry))}, status)


def cors(handler: PublicEndpoint) -> PublicEndpoint:
    """Answers readable by the calling page: a success only reaches an origin `_access` let
    through (the site's, or the console's); an error reaches any (it tells nothing but why)."""
    wrapped = public(handler)

    async def run(request: Request) -> Response:
        response = await wrapped(request)
        origin = request.headers.get("origin", "")
        if origin.startswith(("http://", "https://")):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    return run


async def _receive(request: Request, stream: AsyncIterator[bytes], limit: int) -> Upload:
    try:
        return await receive(request.headers.get("content-type", ""), stream, limit)
    except UploadError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


# --- who may ----------------------------------------------------------------------------------
async def _access(request: Request, write: bool) -> Access:
    """The conversation and the caller, if they may read it (or write to it), else ApiError."""
    if not files(request).enabled:
        raise ApiError(404, "not_found", "attachments are disabled on this server")
    conv_id = request.path_params["conversation_id"]
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    site = _visitor_token_site(token)
    if site:
        return await _shopper(request, token, site, conv_id)
    caller = await authenticate(request)
    if write:
        conv = await hub(request).conversation(caller.agent.site, conv_id)
        if conv is None:
            raise ApiError(404, "not_found", "no such conversation")
        if conv.agent != caller.agent.login and not caller.manager:
            raise ApiError(403, "forbidden", "not your conversation")
    else:
        conv = await conversations_api.load(request, caller, conv_id)
    origin = request.headers.get("origin", "")
    if origin and not gateway(request).console_origin_allowed(origin, request.headers):
        raise ApiError(403, "forbidden", "origin not allowed")
    return Access(conv, Uploader(conv.site, conv.id, f"agent:{caller.agent.login}"))


async def _shopper(request: Request, token: str, site_key: str, conv_id: str) -> Access:
    h = hub(request)
    visitor = tokens.verify_visitor(gateway(request).secret, token, site_key, h.now_ms() // 1000)
    site = await h.site(site_key)
    if visitor is None or site is None:
        raise ApiError(401, "not_authenticated", "visitor token is invalid or expired")
    origin = request.headers.get("origin", "")
    if origin and not gateway(request).origin_allowed(origin, site, request.headers):
        raise ApiError(403, "forbidden", "origin not allowed")
    conv = await h.conversation(site.key, conv_id)
    if conv is None:
        raise ApiError(404, "not_found", "no such conversation")
    if conv.visitor != visitor:
        raise ApiError(403, "forbidden", "not your conversation")
    return Access(conv, Uploader(site.key, conv.id, f"shopper:{visitor}", visitor))


def _visitor_token_site(token: str) -> str:
    """The site a visitor token names ('' if it is not one: then it is an agent session).
    Only a hint: the token is verified against that site's secret afterwards."""
    body, dot, _ = token.partition(".")
    if not dot:
        return ""
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error):
        return ""
    parts = payload.decode(errors="replace").split("|")
    return parts[1] if len(parts) == 4 and parts[0] == "v1" else ""


def routes(v1: str) -> list[Route]:
    base = f"{v1}/conversations/{{conversation_id}}/attachments"
    return [
        Route(base, cors(upload), methods=["POST"]),
        Route(base, cors(list_all), methods=["GET"]),
        Route(base, preflight, methods=["OPTIONS"]),
        Route(f"{base}/{{attachment_id}}", cors(get_one), methods=["GET"]),
        Route(f"{base}/{{attachment_id}}", preflight, methods=["OPTIONS"]),
    ]
