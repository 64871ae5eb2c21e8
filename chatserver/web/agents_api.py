"""REST: the caller, agents (admins manage them; supervisors set capacity limits), sites, and
quick replies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from chatserver.core.model import (
    MAX_CAPACITY,
    Agent,
    Role,
    Site,
    ValidationError,
    check_password,
)
from chatserver.core.replies import QuickReply
from chatserver.hub import Hub
from chatserver.store.replies import QuickReplies
from chatserver.web.http import MANAGERS, ApiError, Caller, endpoint, field, hub, json, json_body


async def agent_json(h: Hub, agent: Agent) -> dict[str, Any]:
    state = await h.agent_state(agent)
    return {
        "id": agent.login, "name": agent.name, "role": agent.role.value,
        "departments": list(agent.departments), "status": state.status.value,
        "load": state.load, "capacity": state.agent.capacity,
        "max_capacity": agent.max_capacity, "connected": state.connections > 0,
    }  # fmt: skip


def site_json(site: Site) -> dict[str, Any]:
    """A site without its secrets (only whether they are set)."""
    return {"key": site.key, "name": site.name, "departments": list(site.departments),
            "allowed_origins": list(site.allowed_origins),
            "identity_secret_set": bool(site.identity_secret)}  # fmt: skip


# --- the caller -----------------------------------------------------------------------------
@endpoint()
async def me(request: Request, caller: Caller) -> Response:
    h = hub(request)
    site = await h.site(caller.agent.site)
    return json({"agent": await agent_json(h, caller.agent),
                 "site": site_json(site) if site else None})  # fmt: skip


# --- agents ---------------------------------------------------------------------------------
@endpoint()
async def list_agents(request: Request, caller: Caller) -> Response:
    """Every agent of the caller's site with their live state (the transfer dialog needs it)."""
    h = hub(request)
    return json(
        {"agents": [await agent_json(h, a) for a in await h.site_agents(caller.agent.site)]}
    )


@endpoint(roles=(Role.ADMIN,))
async def create_agent(request: Request, caller: Caller) -> Response:
    h, body = hub(request), await json_body(request)
    login = field(body, "id", str)
    password = check_password(field(body, "password", str))
    if await h.agent(login) is not None:
        raise ApiError(409, "exists", f"agent {login!r} exists")
    limit = field(body, "max_capacity", int, MAX_CAPACITY)
    agent = Agent(
        login, field(body, "name", str), caller.agent.site,
        await _departments(h, caller, field(body, "departments", list)),
        field(body, "capacity", int, limit), limit, _role(field(body, "role", str, "agent")),
    )  # fmt: skip
    await h.save_agent(agent, password)
    return json(await agent_json(h, agent), 201)


@endpoint(roles=MANAGERS)
async def update_agent(request: Request, caller: Caller) -> Response:
    """Admins change anything; supervisors only the capacity limit (`max_capacity`). A new
    password or role ends the agent's sessions (and closes their sockets)."""
    h, body = hub(request), await json_body(request)
    current = await _agent_of_site(h, caller, request.path_params["login"])
    if not caller.admin and set(body) - {"max_capacity"}:
        raise ApiError(403, "forbidden", "supervisors may only set max_capacity")
    password = field(body, "password", str, None)
    if password is not None:
        check_password(password)
    limit = field(body, "max_capacity", int, current.max_capacity)
    departments = body.get("departments")
    updated = Agent(
        current.login, field(body, "name", str, current.name), current.site,
        await _departments(h, caller, departments) if departments is not None
        else current.departments,
        min(field(body, "capacity", int, current.capacity), limit), limit,
        _role(field(body, "role", str, current.role.value)),
    )  # fmt: skip
    await h.save_agent(updated, password)
    await h.set_capacity(updated, updated.capacity)  # serves the queue if it rose
    return json(await agent_json(h, updated))


@endpoint(roles=(Role.ADMIN,))
async def delete_agent(request: Request, caller: Caller) -> Response:
    h = hub(request)
    agent = await _agent_of_site(h, caller, request.path_params["login"])
    if agent.login == caller.agent.login:
        raise ApiError(409, "conflict", "you cannot remove yourself")
    try:
        await h.remove_agent(agent.login)
    except ValidationError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return Response(status_code=204)


async def _agent_of_site(h: Hub, caller: Caller, login: str) -> Agent:
    agent = await h.agent(login)
    if agent is None or agent.site != caller.agent.site:
        raise ApiError(404, "not_found", f"no agent {login[:64]!r}")
    return agent


async def _departments(h: Hub, caller: Caller, value: Any) -> tuple[str, ...]:
    site = await h.site(caller.agent.site)
    if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
        raise ApiError(422, "invalid_field", "departments must be a list of strings")
    unknown = set(value) - set(site.departments if site else ())
    if unknown:
        raise ApiError(422, "invalid_field", f"no department {', '.join(sorted(unknown))}")
    return tuple(value)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ApiError(422, "invalid_field", "role must be agent, supervisor or admin") from None


# --- sites ----------------------------------------------------------------------------------
@endpoint()
async def list_sites(request: Request, caller: Caller) -> Response:
    site = await hub(request).site(caller.agent.site)
    return json({"sites": [site_json(site)] if site else []})


@endpoint()
async def get_site(request: Request, caller: Caller) -> Response:
    return json(site_json(await own_site(request, caller)))


@endpoint(roles=(Role.ADMIN,))
async def update_site(request: Request, caller: Caller) -> Response:
    """Name, allowed origins and identity secret (departments: with the CLI)."""
    site, body = await own_site(request, caller), await json_body(request)
    origins = field(body, "allowed_origins", list, list(site.allowed_origins))
    if not all(isinstance(o, str) and o.startswith(("http://", "https://")) for o in origins):
        raise ApiError(422, "invalid_field", "allowed_origins must be http(s) origins")
    updated = replace(
        site, name=field(body, "name", str, site.name),
        allowed_origins=tuple(o.rstrip("/") for o in origins),
        identity_secret=field(body, "identity_secret", str, site.identity_secret),
    )  # fmt: skip
    await hub(request).save_site(updated)
    return json(site_json(updated))


async def own_site(request: Request, caller: Caller) -> Site:
    """The site of the path, which must be the caller's (404 for any other)."""
    key = request.path_params["site"]
    site = await hub(request).site(key) if key == caller.agent.site else None
    if site is None:
        raise ApiError(404, "not_found", "no such site")
    return site


# --- quick replies --------------------------------------------------------------------------
def reply_json(reply: QuickReply) -> dict[str, Any]:
    return {"id": reply.id, "scope": reply.scope, "shortcut": reply.shortcut,
            "title": reply.title, "text": reply.text, "department": reply.department or None,
            "owner": reply.owner or None, "updated": reply.updated_ms}  # fmt: skip


@endpoint()
async def list_replies(request: Request, caller: Caller) -> Response:
    """The replies the caller may use (admins with `?all=1`: every shared one too)."""
    store = hub(request).quick_replies
    found = await store.for_agent(caller.agent)
    if caller.admin and request.query_params.get("all") == "1":
        mine = {r.id for r in found}
        found += [r for r in await store.all(caller.agent.site)
                  if r.scope == "shared" and r.id not in mine]  # fmt: skip
    return json({"quick_replies": [reply_json(r) for r in found]})


@endpoint()
async def create_reply(request: Request, caller: Caller) -> Response:
    reply = _reply_from(await json_body(request), caller, "")
    saved = await hub(request).quick_replies.save(caller.agent.site, reply, hub(request).now_ms())
    return json(reply_json(saved), 201)


@endpoint()
async def update_reply(request: Request, caller: Caller) -> Response:
    store = hub(request).quick_replies
    current = await _editable_reply(store, caller, request.path_params["reply_id"])
    reply = _reply_from(await json_body(request), caller, current.id, current)
    saved = await store.save(caller.agent.site, reply, hub(request).now_ms())
    return json(reply_json(saved))


@endpoint()
async def delete_reply(request: Request, caller: Caller) -> Response:
    store = hub(request).quick_replies
    reply = await _editable_reply(store, caller, request.path_params["reply_id"])
    await store.remove(caller.agent.site, reply.id)
    return Response(status_code=204)


def _reply_from(
    body: dict[str, Any], caller: Caller, reply_id: str, current: QuickReply | None = None
) -> QuickReply:
    scope = current.scope if current else field(body, "scope", str, "personal")
    if scope == "shared" and not caller.admin:
        raise ApiError(403, "forbidden", "only admins manage shared quick replies")
    department = field(body, "department", str, current.department if current else "")
    if scope == "personal":
        department = ""
    return QuickReply(
        id=reply_id, scope=scope,
        shortcut=field(body, "shortcut", str, current.shortcut if current else ...),
        title=field(body, "title", str, current.title if current else ...),
        text=field(body, "text", str, current.text if current else ...),
        department=department,
        owner=(current.owner if current else caller.agent.login) if scope == "personal" else "",
    )  # fmt: skip


async def _editable_reply(store: QuickReplies, caller: Caller, reply_id: str) -> QuickReply:
    reply = await store.get(caller.agent.site, reply_id)
    if reply is None or (reply.scope == "personal" and reply.owner != caller.agent.login):
        raise ApiError(404, "not_found", "no such quick reply")
    if reply.scope == "shared" and not caller.admin:
        raise ApiError(403, "forbidden", "only admins manage shared quick replies")
    return reply
