"""The Starlette application: health, the agent login API, and the WebSocket endpoints."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError, RedisError, TimeoutError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from chatserver import config
from chatserver.config import Settings
from chatserver.gateway.agent import AgentConnection
from chatserver.gateway.process import Gateway
from chatserver.gateway.shopper import ShopperConnection
from chatserver.hub import Hub
from chatserver.web import api, auth, console, demo_store, widget

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
        # A bounded pool that makes callers wait for a free connection (the default pool
        # fails at once when a burst of sockets all need Redis together).
        # Retries cover pooled connections left stale by a Redis restart; every write is safe
        # to repeat (messages are deduplicated, scripts check the state they change).
        pool = BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=settings.redis_connections, timeout=10,
            decode_responses=True, health_check_interval=10, socket_connect_timeout=2,
            socket_timeout=5, retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            retry_on_error=[ConnectionError, TimeoutError],
        )  # fmt: skip
        redis = Redis(connection_pool=pool)
        # No retries on the bus: a reconnect hidden inside redis-py would skip what was
        # published meanwhile; the bus must see every drop to catch its sockets up.
        bus_redis = Redis.from_url(
            settings.redis_url, decode_responses=True, socket_connect_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )  # fmt: skip
        gateway = Gateway(Hub(redis, settings), settings, bus_redis)
        app.state.gateway = gateway
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()
            await redis.aclose()
            await bus_redis.aclose()

    routes = [
        Route("/livez", livez),
        Route("/readyz", readyz),
        WebSocketRoute("/ws/v1/shopper", shopper_socket),
        WebSocketRoute("/ws/v1/agent", agent_socket),
        *auth.routes,
        *widget.routes,
        *console.routes,
        *api.routes,
        # The demo store signs customer claims: it exists under `chatserver demo` only.
        *(demo_store.routes if settings.demo else []),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    return app


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
        await gateway.hub.redis.ping()
    except (RedisError, OSError) as exc:
        problems.append(f"redis: {exc}")
    if not gateway.bus.up:
        problems.append("event bus not connected")
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok"})


async def shopper_socket(ws: WebSocket) -> None:
    await ShopperConnection(ws.app.state.gateway, ws).run()


async def agent_socket(ws: WebSocket) -> None:
    await AgentConnection(ws.app.state.gateway, ws).run()
