"""The demo store: a storefront that embeds the widget exactly as a store would, with a
pretend sign-in that signs a customer identity claim.

Served only by `chatserver demo` (Settings.demo): under `serve` these routes do not exist
(404), because the sign-in signs claims with a site's identity secret. Claims are signed only
for the demo's own site; the pages may show the widget of another site (`?site=KEY`, for
trying a site's widget settings), but never signed in.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from chatserver.core import tokens

TEMPLATES = Path(__file__).parent / "templates"
DEMO_LANGS = {"en": "en", "zh": "zh-CN"}
DEMO_SITE = "demo"
# Customers of the demo orders (chatserver/orders/demo_store.json): agents see their orders.
DEMO_CUSTOMERS = {
    "en": {"id": "c-1001", "name": "Emma Wilson", "email": "emma.wilson@example.com"},
    "zh": {"id": "c-1002", "name": "李娜", "email": "li.na@example.cn"},
}
_DEMO_PAGES = ("home", "product", "cart")
CLAIM_SECONDS = 600

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
    if site_key != DEMO_SITE or request.cookies.get("demo_customer") != customer["id"]:
        return None
    site = await request.app.state.gateway.hub.site(site_key)
    if site is None or not site.identity_secret:
        return None
    expires = int(time.time()) + CLAIM_SECONDS
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
    Route("/demo", demo_home_redirect),
    Route("/demo/{lang}", demo_page),
    Route("/demo/{lang}/product/{sku}", demo_page),
    Route("/demo/{lang}/{action:str}", demo_sign, methods=["POST"]),
    Route("/demo/{lang}/{page:str}", demo_page),
]
