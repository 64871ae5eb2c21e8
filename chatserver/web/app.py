"""The Starlette application: health, the agent login API, and the WebSocket endpoints."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from chatserver import config
from chatserver.config import Settings
from chatserver.gateway.agent import AgentConnection
from chatserver.gateway.process import Gateway
from chatserver.gateway.shopper import ShopperConnection
from chatserver.hub import Hub, clock_from_env
from chatserver.reports import metrics
from chatserver.reports.sampler import Sampler
from chatserver.store import clients
from chatserver.store.clients import StorageError
from chatserver.web import (
    api,
    articles_api,
    auth,
    console,
    demo_store,
    files,
    reports_api,
    widget,
)

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app. Without `settings`, they come from the CHAT_* environment variables (this
    is how uvicorn's worker processes build it)."""
    settings = settings or config.from_env()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = clients.command_client(settings.redis_url, settings.redis_connections)
        bus_redis = clients.bus_client(settings.redis_url)
        gateway = Gateway(Hub(redis, settings, clock_from_env()), settings, bus_redis)
        app.state.gateway = gateway
        await gateway.start()
        app.state.sampler = Sampler(gateway.hub, gateway.bus)
        articles_api.start(app)
        settle_gc()
        try:
            async with app.state.sampler.running():
                yield
        finally:
            await gateway.stop()
            await gateway.hub.scripts.aclose()  # the per-node clients of waited writes
            await redis.aclose()
            await bus_redis.aclose()
            metrics.process_exited(os.getpid())

    routes = [
        Route("/livez", livez),
        Route("/readyz", readyz),
        Route("/metrics", reports_api.metrics_endpoint),
        *auth.routes,
        *widget.routes,
        *console.routes,
        *api.routes,
        *files.routes,  # attachments, by signed URL
        *articles_api.page_routes(),  # /help/{site}/{article}: an article's public page
        # The demo store signs customer claims: it exists under `chatserver demo` only.
        *(demo_store.routes if settings.demo else []),
    ]
    app = ChatApp(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    return app


class ChatApp(Starlette):
    """Starlette, except that the chat sockets go straight to their endpoint.

    Starlette's middleware, router and exception wrappers add nine coroutine frames (and their
    closures) to every socket for as long as it is open, which they do nothing with: the two
    endpoints accept, close and handle their own errors. Skipping them saves memory and CPU
    per socket (with the gateway's own savings: 38.4 -> 23.6 KB per idle socket, 240 -> 596
    handshakes a second; docs/performance.md). Any other WebSocket path (a 403 close) and all
    HTTP go through Starlette as before."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            endpoint = SOCKETS.get(scope["path"])
            if endpoint is not None:
                scope["app"] = self
                await endpoint(WebSocket(scope, receive, send))
                return
        await super().__call__(scope, receive, send)


# Python's collector runs a full pass (every tracked object: ~100 per open socket) whenever the
# objects that survived earlier passes grew by a quarter: with 10,000 sockets a pass stalled the
# loop for 1-2.5 s, several times a minute during a reconnect storm. A full pass is now
# considered after 100 middle-generation passes instead of 10 (about 770,000 more objects than
# freed), which bounds the garbage cycles left waiting to about that many. Measured in
# docs/performance.md (storm): the 20% drop went from 1,930 of 2,000 back within 15 s to all
# 2,000 back, 99% within 12.6 s.
GC_THRESHOLDS = (700, 10, 100)


def settle_gc() -> None:
    """Once started: what was made at start-up (modules, the app) lives as long as the process,
    so it is moved out of the collector's passes (gc.freeze); then the thresholds above."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def livez(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """200 when this process can serve: Redis answers, the event bus is subscribed, and the
    process is not shutting down."""
    gateway: Gateway = request.app.state.gateway
    problems = []
    if gateway.draining:
        problems.append("shutting down")
    try:
        await gateway.hub.ping()
    except (StorageError, OSError) as exc:
        problems.append(f"redis: {exc}")
    if not gateway.bus.up:
        problems.append("event bus not connected")
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok"})


async def shopper_socket(ws: WebSocket) -> None:
    gateway: Gateway = ws.app.state.gateway  # typed: mypy checks it provides the Services
    await ShopperConnection(gateway, ws).run()


async def agent_socket(ws: WebSocket) -> None:
    gateway: Gateway = ws.app.state.gateway
    await AgentConnection(gateway, ws).run()


SOCKETS = {"/ws/v1/shopper": shopper_socket, "/ws/v1/agent": agent_socket}
