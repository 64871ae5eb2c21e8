"""Agent login over REST: POST /api/v1/login gives a session token for /ws/v1/agent."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.store.clients import StorageError
from chatserver.web.login import Refused, client_address, sign_in

MAX_BODY = 16 * 1024


async def login(request: Request) -> Response:
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    name, password = body.get("login"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        return _error(400, "invalid_field", "login and password are required strings")
    gateway = request.app.state.gateway
    hub = gateway.hub
    try:
        agent = await sign_in(gateway, name, password, client_address(request.client))
        if isinstance(agent, Refused):
            response = _error(agent.status, agent.code, agent.message)
            if agent.retry_after:
                response.headers["retry-after"] = str(agent.retry_after)
            return response
        token, ttl = await hub.create_session(agent)
    except StorageError:
        return _error(503, "unavailable", "storage unavailable, retry")
    return JSONResponse({"token": token, "expires_in": ttl,
                         "agent": {"id": agent.login, "name": agent.name, "site": agent.site,
                                   "role": agent.role.value}})  # fmt: skip


async def logout(request: Request) -> Response:
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if token:
        try:
            await request.app.state.gateway.hub.end_session(token)
        except StorageError:
            return _error(503, "unavailable", "storage unavailable, retry")
    return Response(status_code=204)


async def _json_body(request: Request) -> dict[str, Any] | Response:
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return _error(413, "too_large", "request body too large")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            return _error(413, "too_large", "request body too large")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _error(400, "bad_json", "the body must be a JSON object")
    return body if isinstance(body, dict) else _error(400, "bad_json", "the body must be an object")


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status)


routes = [
    Route("/api/v1/login", login, methods=["POST"]),
    Route("/api/v1/logout", logout, methods=["POST"]),
]
