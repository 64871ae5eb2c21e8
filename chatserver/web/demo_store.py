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
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from chatserver.core import tokens
from chatserver.mail import inbound
from chatserver.mail.inbound import parse

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


# --- the demo's mailbox: what the local SMTP sink received, and replies to it -------------
async def mailbox(request: Request) -> Response:
    """/demo/mailbox: the mails the demo sent (newest first), each with a reply form when it
    has a reply address."""
    gateway = request.app.state.gateway
    raws = await gateway.hub.mailbox.newest()
    context = {
        "mails": [_mail_view(raw) for raw in raws],
        "sink": gateway.settings.demo_mail_sink,
        "result": request.query_params.get("result", ""),
    }
    html = _env.get_template("demo/mailbox.html").render(context)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def mailbox_reply(request: Request) -> Response:
    """POST /demo/mailbox/reply: the shopper's reply to a mail, written as a mail client
    would (the new text above the quoted mail), entering through the same path as a mail
    from the SMTP receiver or a provider's inbound route."""
    gateway = request.app.state.gateway
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        return HTMLResponse("forbidden", 403)
    form = parse_qs((await request.body())[: 64 * 1024].decode("utf-8", "replace"))
    wanted, text = form.get("message_id", [""])[0], form.get("text", [""])[0].strip()
    raws = await gateway.hub.mailbox.newest()
    original = next((m for m in map(parse, raws) if str(m.get("Message-ID", "")) == wanted), None)
    if original is None or not original.get("Reply-To") or not text:
        return RedirectResponse("/demo/mailbox?result=nothing_to_send", 303)
    reply = _reply_to(original, text)
    outcome = await inbound.receive(
        gateway.hub, gateway.secret, gateway.settings.mail_inbound_domain, reply.as_bytes(),
        envelope_from=parseaddr(str(original["To"]))[1],
        envelope_to=[parseaddr(str(original["Reply-To"]))[1]],
    )  # fmt: skip
    result = outcome.status + (f":{outcome.reason}" if outcome.reason else "")
    return RedirectResponse(f"/demo/mailbox?{urlencode({'result': result})}", 303)


def _reply_to(original: EmailMessage, text: str) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = str(original["To"])
    reply["To"] = str(original["Reply-To"])
    reply["Subject"] = f"Re: {original['Subject']}"
    reply["Date"] = formatdate()
    reply["Message-ID"] = make_msgid(domain="mailbox.demo.invalid")
    reply["In-Reply-To"] = str(original["Message-ID"])
    reply["References"] = str(original["Message-ID"])
    quoted = "\n".join(f"> {line}" for line in _text_of(original).splitlines())
    reply.set_content(f"{text}\n\nOn {original['Date']}, {original['From']} wrote:\n{quoted}\n")
    return reply


def _mail_view(raw: bytes) -> dict[str, str]:
    msg = parse(raw)
    return {k: str(msg.get(h, "") or "") for k, h in (
        ("id", "Message-ID"), ("from", "From"), ("to", "To"), ("subject", "Subject"),
        ("date", "Date"), ("reply_to", "Reply-To"))} | {"text": _text_of(msg)}  # fmt: skip


def _text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    return str(part.get_content()) if part is not None else ""


routes = [
    Route("/demo/mailbox", mailbox),
    Route("/demo/mailbox/reply", mailbox_reply, methods=["POST"]),
    Route("/demo", demo_home_redirect),
    Route("/demo/{lang}", demo_page),
    Route("/demo/{lang}/product/{sku}", demo_page),
    Route("/demo/{lang}/{action:str}", demo_sign, methods=["POST"]),
    Route("/demo/{lang}/{page:str}", demo_page),
]
