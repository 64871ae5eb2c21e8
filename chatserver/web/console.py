"""The agent console's pages: login, logout, the console and the supervisor's view.

The pages, scripts and styles live in the top-level `agent_console/` folder, shipped in the
wheel as the data-only package `agent_console` (see pyproject.toml); `assets()` finds it in an
installed wheel, an editable install, or a plain source checkout.

Sign-in is a form (CSRF-protected, throttled like `POST /api/v1/login`) that puts the session
token in an HttpOnly, SameSite=Lax cookie (Secure behind TLS). The console's socket and its
REST calls use that cookie; its state-changing REST calls add the session's CSRF token.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from chatserver.core.model import Agent, Role
from chatserver.store.clients import StorageError
from chatserver.web import security
from chatserver.web.http import ApiError, body_bytes, gateway, hub, session_agent
from chatserver.web.login import Refused, client_address, sign_in

MAX_FORM = 16 * 1024
LOGIN_NONCE_SECONDS = 3600
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' data:; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'")  # fmt: skip


@functools.cache
def assets() -> Path:
    """The agent_console folder: the installed package, else the source checkout's."""
    spec = importlib.util.find_spec("agent_console")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parents[2] / "agent_console"


@functools.cache
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(assets() / "templates"),
        autoescape=select_autoescape(default=True),
    )


@functools.cache
def strings() -> dict[str, dict[str, str]]:
    """The console's texts in every language (one file, read by these pages and the scripts)."""
    return dict(orjson.loads((assets() / "static" / "strings.json").read_bytes()))


# --- pages ----------------------------------------------------------------------------------
async def login_page(request: Request) -> Response:
    if await _current_agent(request) is not None:
        return RedirectResponse("/console", status_code=303)
    return _login_form(request, "", 200)


async def login_submit(request: Request) -> Response:
    form = await _form(request)
    nonce = request.cookies.get(security.LOGIN_COOKIE, "")
    expected = security.csrf_for_login(gateway(request).secret, nonce) if nonce else ""
    if not expected or not security.same(expected, form.get("csrf")):
        return _login_form(request, "error_csrf", 403)
    login, password = form.get("login", "")[:200], form.get("password", "")[:1000]
    h = hub(request)
    try:
        agent = await sign_in(gateway(request), login, password, client_address(request.client))
        if isinstance(agent, Refused):
            error = "error_credentials" if agent.status == 401 else "error_throttled"
            response = _login_form(request, error, agent.status)
            if agent.retry_after:
                response.headers["retry-after"] = str(agent.retry_after)
            return response
        token, ttl = await h.create_session(agent)
    except StorageError:
        return _login_form(request, "error_unavailable", 503)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(security.SESSION_COOKIE, token, max_age=ttl, path="/",
                        secure=_tls(request), httponly=True, samesite="lax")  # fmt: skip
    response.delete_cookie(security.LOGIN_COOKIE, path="/console")
    return response


async def logout_page(request: Request) -> Response:
    token = request.cookies.get(security.SESSION_COOKIE, "")
    if await _current_agent(request) is None:
        return RedirectResponse("/console/login", status_code=303)
    return _page(request, "logout.html", {"csrf": _session_csrf(request, token)})


async def logout_submit(request: Request) -> Response:
    token = request.cookies.get(security.SESSION_COOKIE, "")
    form = await _form(request)
    if not token or not security.same(_session_csrf(request, token), form.get("csrf")):
        return _page(request, "logout.html", {"csrf": "", "error": "error_csrf"}, 403)
    try:
        await hub(request).end_session(token)
    except StorageError:
        return _page(request, "logout.html", {"csrf": "", "error": "error_unavailable"}, 503)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response


async def console_page(request: Request) -> Response:
    agent = await _current_agent(request)
    if agent is None:
        return RedirectResponse("/console/login", status_code=303)
    return _app_page(request, agent, "console.html")


async def supervisor_page(request: Request) -> Response:
    agent = await _current_agent(request)
    if agent is None:
        return RedirectResponse("/console/login", status_code=303)
    if agent.role not in (Role.SUPERVISOR, Role.ADMIN):
        return _page(request, "forbidden.html", {}, 403)
    return _app_page(request, agent, "supervisor.html")


async def reports_page(request: Request) -> Response:
    """The reports page (supervisors, admins): its data comes from /api/v1/reports."""
    agent = await _current_agent(request)
    if agent is None:
        return RedirectResponse("/console/login", status_code=303)
    if agent.role not in (Role.SUPERVISOR, Role.ADMIN):
        return _page(request, "forbidden.html", {}, 403)
    return _app_page(request, agent, "reports.html")


async def articles_page(request: Request) -> Response:
    """The knowledge base (supervisors, admins): its data comes from /api/v1/articles."""
    return await _managers_page(request, "articles.html", (Role.SUPERVISOR, Role.ADMIN))


async def invitations_page(request: Request) -> Response:
    """The proactive invitation rules (admins): /api/v1/sites/{site}/invitations."""
    return await _managers_page(request, "invitations.html", (Role.ADMIN,))


async def _managers_page(request: Request, template: str, roles: tuple[Role, ...]) -> Response:
    agent = await _current_agent(request)
    if agent is None:
        return RedirectResponse("/console/login", status_code=303)
    if agent.role not in roles:
        return _page(request, "forbidden.html", {}, 403)
    return _app_page(request, agent, template)


# --- helpers --------------------------------------------------------------------------------
def _app_page(request: Request, agent: Agent, template: str) -> Response:
    token = request.cookies.get(security.SESSION_COOKIE, "")
    lang = _language(request)
    boot = {
        "agent": {"id": agent.login, "name": agent.name, "role": agent.role.value},
        "csrf": _session_csrf(request, token),
        "lang": lang,
        "strings": strings()[lang],
    }
    return _page(request, template, {"boot": boot, "agent": agent})


def _login_form(request: Request, error: str, status: int) -> Response:
    nonce = request.cookies.get(security.LOGIN_COOKIE) or security.new_nonce()
    csrf = security.csrf_for_login(gateway(request).secret, nonce)
    response = _page(request, "login.html", {"csrf": csrf, "error": error}, status)
    response.set_cookie(security.LOGIN_COOKIE, nonce, max_age=LOGIN_NONCE_SECONDS,
                        path="/console", secure=_tls(request), httponly=True,
                        samesite="strict")  # fmt: skip
    return response


def _page(request: Request, template: str, values: dict[str, Any], status: int = 200) -> Response:
    lang = _language(request)
    text = strings()[lang]
    html = _templates().get_template(template).render(lang=lang, t=text, **values)
    response = HTMLResponse(html, status_code=status)
    response.headers.update({
        "content-security-policy": _CSP, "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin", "cache-control": "no-store",
    })  # fmt: skip
    if request.query_params.get("lang") == lang:
        response.set_cookie(security.LANG_COOKIE, lang, max_age=365 * 86400, path="/",
                            samesite="lax", secure=_tls(request))  # fmt: skip
    return response


def _language(request: Request) -> str:
    return security.pick_language(
        request.query_params.get("lang"),
        request.cookies.get(security.LANG_COOKIE),
        request.headers.get("accept-language", ""),
    )


async def _current_agent(request: Request) -> Agent | None:
    token = request.cookies.get(security.SESSION_COOKIE, "")
    try:
        return await session_agent(request, token) if token else None
    except StorageError:
        return None


def _session_csrf(request: Request, token: str) -> str:
    return security.csrf_for_session(gateway(request).secret, token) if token else ""


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (first value of each)."""
    try:
        raw = await body_bytes(request, MAX_FORM)
    except ApiError:
        return {}
    fields = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


def _tls(request: Request) -> bool:
    """Whether the browser talks to us over TLS (directly, via a trusted proxy's
    X-Forwarded-Proto, or as the configured public URL says): then cookies are Secure."""
    public = hub(request).settings.public_url
    return request.url.scheme == "https" or public.startswith("https://")


routes = [
    Route("/console/login", login_page, methods=["GET"]),
    Route("/console/login", login_submit, methods=["POST"]),
    Route("/console/logout", logout_page, methods=["GET"]),
    Route("/console/logout", logout_submit, methods=["POST"]),
    Route("/console", console_page, methods=["GET"]),
    Route("/console/supervisor", supervisor_page, methods=["GET"]),
    Route("/console/reports", reports_page, methods=["GET"]),
    Route("/console/articles", articles_page, methods=["GET"]),
    Route("/console/invitations", invitations_page, methods=["GET"]),
    Mount("/console/static", StaticFiles(directory=assets() / "static"), name="console-static"),
]
