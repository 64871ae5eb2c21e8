"""What the REST endpoints share: who is calling (session token by header or cookie, with the
CSRF rule for cookies), JSON bodies, and errors as `{"error": CODE, "message": TEXT}`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chatserver.core.model import Agent, Role, ValidationError
from chatserver.gateway.process import Gateway
from chatserver.hub import Hub
from chatserver.store.clients import StorageError
from chatserver.web import security

log = logging.getLogger(__name__)
MAX_JSON_BODY = 64 * 1024
MANAGERS = (Role.SUPERVISOR, Role.ADMIN)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated agent and how they proved it."""

    agent: Agent
    token: str
    via_cookie: bool

    @property
    def manager(self) -> bool:
        return self.agent.role in MANAGERS

    @property
    def admin(self) -> bool:
        return self.agent.role is Role.ADMIN


def gateway(request: Request) -> Gateway:
    value: Gateway = request.app.state.gateway
    return value


def hub(request: Request) -> Hub:
    return gateway(request).hub


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


def json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


async def session_agent(request: Request, token: str) -> Agent | None:
    """The agent of a valid session: it exists, with the account version the session was
    made for (a password or role change, or removing the agent, ends its sessions)."""
    found = await hub(request).session_agent(token)
    return None if found is None else found[1]


async def authenticate(request: Request) -> Caller:
    """The caller, from `Authorization: Bearer TOKEN` or the console's session cookie. With
    the cookie, a state-changing method also needs the session's CSRF token."""
    header = request.headers.get("authorization", "")
    via_cookie = not header.lower().startswith("bearer ")
    token = request.cookies.get(security.SESSION_COOKIE, "") if via_cookie else header[7:].strip()
    agent = await session_agent(request, token) if token else None
    if agent is None:
        raise ApiError(401, "not_authenticated", "log in first (session token or cookie)")
    if via_cookie and request.method not in security.SAFE_METHODS:
        expected = security.csrf_for_session(gateway(request).secret, token)
        if not security.same(expected, request.headers.get(security.CSRF_HEADER)):
            raise ApiError(403, "csrf", "missing or wrong X-CSRF-Token header")
    return Caller(agent, token, via_cookie)


Endpoint = Callable[[Request, Caller], Awaitable[Response]]
PublicEndpoint = Callable[[Request], Awaitable[Response]]


def endpoint(roles: Collection[Role] = ()) -> Callable[[Endpoint], PublicEndpoint]:
    """Wrap a handler: authenticate, check the role, turn errors into JSON."""

    def wrap(handler: Endpoint) -> PublicEndpoint:
        async def authenticated(request: Request) -> Response:
            caller = await authenticate(request)
            if roles and caller.agent.role not in roles:
                raise ApiError(403, "forbidden", "your role may not do this")
            return await handler(request, caller)

        return public(functools.wraps(handler)(authenticated))

    return wrap


def public(handler: PublicEndpoint) -> PublicEndpoint:
    """Wrap a handler that authenticates by itself: turn errors into JSON."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return error(exc.status, exc.code, exc.message, **exc.extra)
        except ValidationError as exc:
            return error(422, "invalid_field", str(exc))
        except (StorageError, OSError) as exc:
            log.warning("storage unavailable: %s", exc)
            return error(503, "unavailable", "storage unavailable, retry")

    return run


async def body_bytes(request: Request, limit: int = MAX_JSON_BODY) -> bytes:
    if int(request.headers.get("content-length") or 0) > limit:
        raise ApiError(413, "too_large", f"request body over {limit} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise ApiError(413, "too_large", f"request body over {limit} bytes")
    return raw


async def json_body(request: Request, limit: int = MAX_JSON_BODY) -> dict[str, Any]:
    """The request's JSON object, or ApiError 400/413."""
    try:
        body = orjson.loads(await body_bytes(request, limit))
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_json", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return body


def field(body: dict[str, Any], name: str, kind: type, default: Any = ...) -> Any:
    """A field of a JSON body of type `kind` (or `default` when absent), else 422."""
    if name not in body or body[name] is None:
        if default is ...:
            raise ApiError(422, "missing_field", f"field {name!r} is required")
        return default
    value = body[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if (kind in (int, float) and isinstance(value, bool)) or not isinstance(value, kind):
        raise ApiError(422, "invalid_field", f"field {name!r} must be a {kind.__name__}")
    return value
