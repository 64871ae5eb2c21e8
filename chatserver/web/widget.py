"""The storefront widget over HTTP: its two scripts, each site's public widget settings, and
the demo store that embeds it exactly as a store would.

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
from urllib.parse import urlencode

import jinja2
import orjson
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from chatserver.core import tokens
from chatserver.core.model import Site

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
LOADER_MAX_AGE = 300
CONFIG_MAX_AGE = 60
DEMO_LANGS = {"en": "en", "zh": "zh-CN"}
DEMO_SITE = "demo"
# Customers of the demo orders (chatserver/orders/demo_store.json): agents see their orders.
DEMO_CUSTOMERS = {
    "en": {"id": "c-1001", "name": "Emma Wilson", "email": "emma.wilson@example.com"},
    "zh": {"id": "c-1002", "name": "李娜", "email": "li.na@example.cn"},
}
_DEMO_PAGES = ("home", "product", "cart")
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
    except RedisError:
        return JSONResponse({"error": "unavailable"}, 503, headers=_CORS)
    if site is None:
        return JSONResponse({"error": "not_found", "message": "no such site"}, 404, headers=_CORS)
    now = int(time.time() * 1000)
    headers = {**_CORS, "Cache-Control": f"public, max-age={CONFIG_MAX_AGE}"}
    return JSONResponse(public_config(site, now), headers=headers)


def public_config(site: Site, now_ms: int) -> dict[str, Any]:
    w = site.widget
    return {
        "site": {"key": site.key, "name": site.name, "departments": list(site.departments)},
        "language": w.language, "color": w.color, "position": w.position, "texts": w.texts,
        "prechat": list(w.prechat), "timezone": w.timezone, "hours": w.hours,
        "reply_hours": w.reply_hours, "open": w.is_open(now_ms),
        "next_open": w.next_open_ms(now_ms),
    }  # fmt: skip


# --- the demo store -----------------------------------------------------------------------
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
)


@functools.cache
def _catalogue() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((TEMPLATES / "demo" / "store.json").read_bytes())
    return data


async def demo_home_redirect(request: Request) -> Response:
    """/demo?lang=zh -> /demo/zh; without lang, the browser's language decides."""
    lang = request.query_params.get("lang", "")
    if lang not in DEMO_LANGS:
        accept = request.headers.get("accept-language", "").lower()
        lang = "zh" if accept.startswith("zh") else "en"
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    return RedirectResponse(f"/demo/{lang}" + (f"?{urlencode(query)}" if query else ""), 302)


async def demo_page(request: Request) -> Response:
    lang = request.path_params["lang"]
    sku = request.path_params.get("sku", "")
    page = "product" if sku else request.path_params.get("page", "home")
    catalogue = _catalogue()
    products = catalogue["products"]
    product = next((p for p in products if p["sku"] == sku), None)
    if lang not in DEMO_LANGS or page not in _DEMO_PAGES or (sku and product is None):
        return HTMLResponse("not found", 404)
    site_key = request.query_params.get("site", DEMO_SITE)
    query = f"?{urlencode({'site': site_key})}" if site_key != DEMO_SITE else ""
    context = {
        "lang": lang, "html_lang": DEMO_LANGS[lang], "page": page, "product": product,
        "products": products, "t": catalogue["ui"][lang], "site_key": site_key, "query": query,
        "widget_src": f"{str(request.base_url).rstrip('/')}/widget.js",
        "other_lang": "zh" if lang == "en" else "en",
        "path_suffix": f"/product/{sku}" if sku else ("/cart" if page == "cart" else ""),
        "customer": await _demo_customer(request, site_key, lang),
        "signed_out": request.query_params.get("signed_out") == "1",
    }  # fmt: skip
    html = _env.get_template(f"demo/{page}.html").render(context)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def _demo_customer(request: Request, site_key: str, lang: str) -> dict[str, Any] | None:
    """What the store's backend renders for a signed-in customer: their identity claim,
    signed with the site's identity secret (docs/widget.md, "Identity")."""
    customer = DEMO_CUSTOMERS[lang]
    if request.cookies.get("demo_customer") != customer["id"]:
        return None
    site = await request.app.state.gateway.hub.site(site_key)
    if site is None or not site.identity_secret:
        return None
    expires = int(time.time()) + 600
    signature = tokens.sign_customer(site.identity_secret, customer["id"], expires)
    return {**customer, "expires": expires, "signature": signature}


async def demo_sign(request: Request) -> Response:
    """/demo/{lang}/signin and /signout: what a store's login does, for the demo."""
    lang = request.path_params["lang"] if request.path_params["lang"] in DEMO_LANGS else "en"
    action = request.path_params["action"]
    query = dict(request.query_params)
    if action == "signout":
        query["signed_out"] = "1"
    response = RedirectResponse(f"/demo/{lang}?{urlencode(query)}".rstrip("?"), 303)
    if action == "signin":
        customer = DEMO_CUSTOMERS[lang]["id"]
        response.set_cookie("demo_customer", customer, httponly=True, samesite="lax")
    elif action == "signout":
        response.delete_cookie("demo_customer")
    else:
        return HTMLResponse("not found", 404)
    return response


routes = [
    Route("/widget.js", loader),
    Route("/widget/chat.js", chat_ui),
    Route("/api/v1/sites/{key}/widget-config", widget_config),
    Route("/demo", demo_home_redirect),
    Route("/demo/{lang}", demo_page),
    Route("/demo/{lang}/product/{sku}", demo_page),
    Route("/demo/{lang}/{action:str}", demo_sign, methods=["POST"]),
    Route("/demo/{lang}/{page:str}", demo_page),
]
