"""The storefront widget over HTTP: its two scripts and each site's public widget settings.

The scripts are built from widget/ by `npm run build` into static/ (committed, so serving them
needs no node). /widget.js is the loader every store page fetches (cached for minutes, since
its URL never changes); /widget/chat.js?v=HASH is the chat UI it imports on interaction
(cached for a year: a new build has a new hash). Both allow any origin: stores embed them.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.core.model import AgentStatus, Site
from chatserver.hub import Hub
from chatserver.store.clients import StorageError

STATIC = Path(__file__).parent / "static"
LOADER_MAX_AGE = 300
CONFIG_MAX_AGE = 60
FIGURES_MAX_AGE = 30
TEAM_SHOWN = 3
_figures: dict[str, tuple[int, dict[str, Any]]] = {}  # site -> (ms computed, live figures)
_CORS = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}


@functools.cache
def _asset(name: str) -> tuple[bytes, bytes, str]:
    """A built file: (bytes, gzipped bytes, content hash as the build computes it)."""
    data = (STATIC / name).read_bytes()
    return data, gzip.compress(data, 9, mtime=0), hashlib.sha256(data).hexdigest()[:12]


def _script(request: Request, name: str, cache: str) -> Response:
    try:
        data, zipped, _ = _asset(name)
    except FileNotFoundError:
        return Response("widget not built: run npm run build", 404, media_type="text/plain")
    headers = {**_CORS, "Cache-Control": cache, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        data, headers["Content-Encoding"] = zipped, "gzip"
    return Response(data, headers=headers, media_type="text/javascript; charset=utf-8")


async def loader(request: Request) -> Response:
    return _script(request, "widget.js", f"public, max-age={LOADER_MAX_AGE}")


async def chat_ui(request: Request) -> Response:
    try:
        current = _asset("widget/chat.js")[2]
    except FileNotFoundError:
        current = ""
    fresh = request.query_params.get("v") == current
    return _script(request, "widget/chat.js", "public, max-age=31536000, immutable" if fresh
                   else "no-cache")  # fmt: skip


async def widget_config(request: Request) -> Response:
    """GET /api/v1/sites/{key}/widget-config: what a store's widget shows before it connects
    (public: no secret in it; cacheable for a minute)."""
    try:
        site = await request.app.state.gateway.hub.site(request.path_params["key"])
    except StorageError:
        return JSONResponse({"error": "unavailable"}, 503, headers=_CORS)
    if site is None:
        return JSONResponse({"error": "not_found", "message": "no such site"}, 404, headers=_CORS)
    now = int(time.time() * 1000)
    headers = {**_CORS, "Cache-Control": f"public, max-age={CONFIG_MAX_AGE}"}
    try:
        live = await _live_figures(request.app.state.gateway.hub, site.key, now)
    except StorageError:
        live = {"reply_seconds": None, "team": [], "room": False}  # the widget works without
    try:
        service = await _self_service(request.app.state.gateway.hub, site.key)
    except StorageError:
        service = {"invitations": [], "articles": False}
    files = request.app.state.gateway.files.public_config()  # attachments: null when off
    mail = request.app.state.gateway.hub.outbox is not None  # docs/email.md: SMTP configured
    return JSONResponse({**public_config(site, now), **live, **service, "attachments": files,
                         "mail": mail}, headers=headers)  # fmt: skip


async def _self_service(hub: Hub, site: str) -> dict[str, Any]:
    """The site's enabled invitation rules and whether it has published FAQ articles."""
    articles = hub.articles
    rules = [r for r in await articles.invitations(site) if r.get("enabled")]
    return {"invitations": rules, "articles": await articles.has_published(site)}


async def _live_figures(hub: Hub, site: str, now_ms: int) -> dict[str, Any]:
    """What "usually replies in ..." and the team's avatars show: the median first-reply wait
    of the site's recent chats, and the first names of up to TEAM_SHOWN agents online now.
    Computed at most once per FIGURES_MAX_AGE per site and process (every page view of every
    shopper asks)."""
    cached = _figures.get(site)
    if cached and now_ms - cached[0] < FIGURES_MAX_AGE * 1000:
        return cached[1]
    team, room = [], False
    for agent in await hub.site_agents(site):
        state = await hub.agent_state(agent)
        if state.status is AgentStatus.ONLINE and state.connections > 0:
            team.append({"name": agent.name.split()[0]})
            room = room or state.load < state.agent.capacity  # a free slot: `needs_room` rules
    figures = {
        "reply_seconds": await hub.index.reply_seconds(site, now_ms),
        "team": team[:TEAM_SHOWN],
        "room": room,
    }
    _figures[site] = (now_ms, figures)
    return figures


def public_config(site: Site, now_ms: int) -> dict[str, Any]:
    w = site.widget
    return {
        "site": {"key": site.key, "name": site.name, "departments": list(site.departments)},
        "language": w.language, "color": w.color, "position": w.position, "texts": w.texts,
        "prechat": list(w.prechat), "timezone": w.timezone, "hours": w.hours,
        "reply_hours": w.reply_hours, "open": w.is_open(now_ms),
        "next_open": w.next_open_ms(now_ms),
    }  # fmt: skip


routes = [
    Route("/widget.js", loader),
    Route("/widget/chat.js", chat_ui),
    Route("/api/v1/sites/{key}/widget-config", widget_config),
]
