"""REST for the knowledge base (docs/api.md, "Knowledge base"): the widget's public search,
article and feedback endpoints, the public page of an article (/help/{site}/{id}, the link
agents send), the console's article management with import, export and a live preview, agents'
read access to the published articles, and a site's invitation rules.

Search indexes live in each process (`Searcher`): built from Redis, and rebuilt when the
site's article version moves, which a process checks at most every CHECK_SECONDS. So an edit
made through any process is searchable everywhere within CHECK_SECONDS plus a rebuild.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from chatserver.core.kpis import DAY_MS
from chatserver.core.model import Role, Site, ValidationError
from chatserver.kb import model, render
from chatserver.kb.model import LANGS, Article
from chatserver.kb.search import Hit, Index
from chatserver.store.articles import Articles
from chatserver.web.agents_api import own_site
from chatserver.web.http import (
    MANAGERS,
    ApiError,
    Caller,
    PublicEndpoint,
    endpoint,
    field,
    hub,
    json,
    json_body,
    public,
)
from chatserver.web.login import client_address

CHECK_SECONDS = 0.25  # how stale a process's index may be before it asks Redis for the version
MAX_QUERY = 200
MAX_RESULTS = 10
MAX_QUESTION = 500
MAX_IMPORT_BYTES = 8 * 1024 * 1024
MAX_PREVIEW_BYTES = 8 * model.MAX_BODY  # JSON escapes of a body of MAX_BODY characters
_CORS = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}


# --- the per-process search indexes ---------------------------------------------------------
@dataclass(slots=True)
class _Built:
    version: int
    indexes: dict[str, Index]
    checked: float


class Searcher:
    """Each site's indexes (one per language) in this process, kept in step with Redis."""

    def __init__(self, articles: Articles) -> None:
        self._articles = articles
        self._sites: dict[str, _Built] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def search(self, site: str, lang: str, query: str, limit: int) -> list[Hit]:
        """The best published articles of `lang` for `query` (tokenising and ranking run in a
        thread: jieba and numpy hold the loop for no one)."""
        index = (await self.indexes(site))[lang]
        return await asyncio.to_thread(index.search, query, limit)

    async def indexes(self, site: str) -> dict[str, Index]:
        built = self._sites.get(site)
        if built is not None and time.monotonic() - built.checked < CHECK_SECONDS:
            return built.indexes
        async with self._locks.setdefault(site, asyncio.Lock()):
            built = self._sites.get(site)
            if built is not None and time.monotonic() - built.checked < CHECK_SECONDS:
                return built.indexes
            # The version is read before the articles: a change between the two reads only
            # makes the next check rebuild once more.
            version = await self._articles.version(site)
            if built is None or built.version != version:
                found = await self._articles.all(site)
                indexes = await asyncio.to_thread(build_indexes, found)
                built = _Built(version, indexes, 0.0)
            built.checked = time.monotonic()
            self._sites[site] = built
            return built.indexes

    def changed(self, site: str) -> None:
        """This process changed the site's articles: check the version on the next search."""
        built = self._sites.get(site)
        if built is not None:
            built.checked = 0.0


def build_indexes(articles: Sequence[Article]) -> dict[str, Index]:
    return {lang: Index(lang, articles) for lang in LANGS}


def start(app: Starlette) -> None:
    """At startup: the process's searcher (jieba and bm25s load with the first index it builds,
    in a thread: a process that serves no search never pays their second of CPU)."""
    app.state.kb_searcher = Searcher(app.state.gateway.hub.articles)


def _searcher(request: Request) -> Searcher:
    searcher: Searcher | None = getattr(request.app.state, "kb_searcher", None)
    if searcher is None:
        searcher = request.app.state.kb_searcher = Searcher(hub(request).articles)
    return searcher


def _store(request: Request) -> Articles:
    return hub(request).articles


# --- public: the widget ---------------------------------------------------------------------
def cors(handler: PublicEndpoint) -> PublicEndpoint:
    """A public endpoint every origin may call (errors too carry the CORS headers)."""
    wrapped = public(handler)

    async def run(request: Request) -> Response:
        response = await wrapped(request)
        response.headers.update(_CORS)
        return response

    return run


async def _public_site(request: Request) -> Site:
    """The site of the path, after counting the request against the address's limit."""
    h = hub(request)
    per_minute = h.settings.kb_requests_per_minute
    address = client_address(request.client)
    if not await h.count_kb_request(address):
        raise ApiError(429, "rate_limited",
                       f"more than {per_minute} requests a minute: wait a little")  # fmt: skip
    site = await h.site(request.path_params["site"])
    if site is None:
        raise ApiError(404, "not_found", "no such site")
    return site


@cors
async def public_search(request: Request) -> Response:
    """`?q=` (1-200 characters) `&lang=en|zh-CN&limit=1..10` (3): published articles, best
    first, each with a snippet of its text around the words asked for."""
    site, params = await _public_site(request), request.query_params
    query = (params.get("q") or "").strip()
    if not 1 <= len(query) <= MAX_QUERY:
        raise ApiError(422, "invalid_field", f"q must be 1 to {MAX_QUERY} characters")
    lang = _lang(params.get("lang") or "en")
    limit = _int_param(params.get("limit") or "3", "limit", 1, MAX_RESULTS)
    hits = await _searcher(request).search(site.key, lang, query, limit)
    return json({"articles": [
        {"id": h.article.id, "title": h.article.title, "snippet": h.snippet,
         "department": h.article.department} for h in hits]})  # fmt: skip


@cors
async def public_article(request: Request) -> Response:
    """A published article, rendered (drafts are 404 here)."""
    site = await _public_site(request)
    article = await _store(request).get(site.key, request.path_params["article_id"])
    if article is None or not article.published:
        raise ApiError(404, "not_found", "no such article")
    return json({"article": {
        "id": article.id, "lang": article.lang, "title": article.title,
        "html": render.to_html(article.body), "tags": list(article.tags),
        "department": article.department}})  # fmt: skip


@cors
async def public_feedback(request: Request) -> Response:
    """`{"helpful": bool, "question": str?, "visitor_id": str?}`: whether the article answered
    the shopper's question; helpful counts a deflection in the site's report rollups."""
    site = await _public_site(request)
    body = await json_body(request, 4096)
    helpful = field(body, "helpful", bool)
    if len(field(body, "question", str, "")) > MAX_QUESTION:
        raise ApiError(422, "invalid_field", f"question is longer than {MAX_QUESTION} characters")
    if len(field(body, "visitor_id", str, "")) > model.MAX_URL:
        raise ApiError(422, "invalid_field", "visitor_id is too long")
    h, store = hub(request), _store(request)
    article = await store.get(site.key, request.path_params["article_id"])
    if article is None or not article.published:
        raise ApiError(404, "not_found", "no such article")
    if helpful:
        keep_ms = int(h.settings.reports_keep_days * DAY_MS)
        await store.count_deflection(site.key, article.department or "", h.now_ms(), keep_ms)
    return Response(status_code=204)


async def preflight(request: Request) -> Response:
    """CORS preflight of the feedback POST (a JSON body is not a "simple" request)."""
    return Response(
        status_code=204,
        headers={
            **_CORS,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )


# --- public: an article's page (the link an agent sends) -----------------------------------
_TEMPLATES = Path(__file__).parent / "templates"
_PAGE_STYLE = (
    "body{margin:0;font:16px/1.6 system-ui,-apple-system,'PingFang SC','Microsoft YaHei',"
    "sans-serif;color:#1f2328;background:#fff}header{border-bottom:1px solid #d0d7de;"
    "padding:.75rem 1rem}header p{margin:0;font-weight:600}main{max-width:44rem;"
    "margin:0 auto;padding:1rem}h1{font-size:1.6rem;line-height:1.3}img{max-width:100%}"
    "pre{overflow:auto;background:#f6f8fa;padding:.75rem}table{border-collapse:collapse}"
    "td,th{border:1px solid #d0d7de;padding:.25rem .5rem}a{color:#0b57d0}"
    "@media (prefers-color-scheme:dark){body{color:#e6edf3;background:#0d1117}"
    "pre{background:#161b22}a{color:#79b8ff}}"
)
# No script at all; only the page's own style (by its hash) and images over https.
_STYLE_HASH = base64.b64encode(hashlib.sha256(_PAGE_STYLE.encode()).digest()).decode()
PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; "
    "img-src https: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)  # fmt: skip
_PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache",
}  # fmt: skip
_NOT_FOUND = {"en": "This article is not available.", "zh-CN": "这篇文章不存在或未发布。"}


@functools.cache
def _pages() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined)  # fmt: skip


def _page(lang: str, title: str, html: str, site_name: str, status: int = 200) -> Response:
    page = (
        _pages()
        .get_template("help/article.html")
        .render(lang=lang, title=title, html=html, site_name=site_name, style=_PAGE_STYLE)
    )
    return HTMLResponse(page, status_code=status, headers=_PAGE_HEADERS)


@public
async def help_page(request: Request) -> Response:
    """`/help/{site}/{article_id}`: a published article as a page of its own (the link an
    agent sends from a chat), in the article's language, without any script. Drafts and
    unknown articles are 404; the requests count against the address's limit (429)."""
    try:
        site = await _public_site(request)
        article = await _store(request).get(site.key, request.path_params["article_id"])
    except ApiError as exc:
        lang = "zh-CN" if request.headers.get("accept-language", "")[:2] == "zh" else "en"
        return _page(lang, exc.message if exc.status == 429 else _NOT_FOUND[lang], "", "",
                     exc.status)  # fmt: skip
    if article is None or not article.published:
        return _page("en", _NOT_FOUND["en"], f"<p lang=\"zh-CN\">{_NOT_FOUND['zh-CN']}</p>",
                     site.name, 404)  # fmt: skip
    html = await asyncio.to_thread(render.to_html, article.body)
    return _page(article.lang, article.title, html, site.name)


# --- the console: articles ------------------------------------------------------------------
def article_json(article: Article, pages: str) -> dict[str, Any]:
    """An article for the console: its fields, its rendering and, once published, the URL of
    its public page (`pages`: the URL of the site's help pages; null for a draft)."""
    url = f"{pages}/{article.id}" if article.published else None
    return {**article.to_dict(), "html": render.to_html(article.body), "url": url}


def help_pages(request: Request, site: str) -> str:
    """The URL the site's article pages are under: on the server's `public_url`, else on the
    host the request came to (what the console was opened at)."""
    base = hub(request).settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/help/{site}"


@endpoint()
async def list_articles(request: Request, caller: Caller) -> Response:
    """`?lang=`, `?status=`, `?q=` (every word in the title, body or tags), newest first.
    Supervisors and admins see drafts too; agents only the published articles (the console's
    picker: an authenticated read, not the widget's search limited per address)."""
    params = request.query_params
    lang, status = params.get("lang") or None, params.get("status") or None
    if lang is not None:
        _lang(lang)
    if status is not None and status not in model.STATUSES:
        raise ApiError(422, "invalid_field", "status must be published or draft")
    words = (params.get("q") or "").casefold().split()
    if len(" ".join(words)) > MAX_QUERY:
        raise ApiError(422, "invalid_field", f"q must be at most {MAX_QUERY} characters")
    found = [
        a for a in await _store(request).all(caller.agent.site)
        if (lang is None or a.lang == lang) and (status is None or a.status == status)
        and (caller.manager or a.published) and _matches(a, words)
    ]  # fmt: skip
    pages = help_pages(request, caller.agent.site)
    return json({"articles": [article_json(a, pages) for a in found]})


def _matches(article: Article, words: Sequence[str]) -> bool:
    text = f"{article.title}\n{article.body}\n{' '.join(article.tags)}".casefold()
    return all(w in text for w in words)


@endpoint(roles=MANAGERS)
async def preview_article(request: Request, caller: Caller) -> Response:
    """`{"body": markdown}` -> `{"html"}`: the sanitised rendering, as shoppers will see it
    (the editor's live preview; nothing is stored)."""
    body = field(await json_body(request, MAX_PREVIEW_BYTES), "body", str)
    if len(body) > model.MAX_BODY:
        raise ApiError(422, "invalid_field", f"body is longer than {model.MAX_BODY} characters")
    return json({"html": await asyncio.to_thread(render.to_html, body)})


@endpoint(roles=MANAGERS)
async def create_article(request: Request, caller: Caller) -> Response:
    """A new article; its `id` is made up unless given (409 if taken)."""
    body, site = await json_body(request), await _own(request, caller)
    article_id = body.get("id") or uuid.uuid4().hex[:16]
    article = model.parse_article(body, article_id, hub(request).now_ms(), site.departments)
    store = _store(request)
    if await store.exist(site.key, [article.id]):
        raise ApiError(409, "conflict", "an article with this id exists")
    if await store.count(site.key) >= model.MAX_ARTICLES:
        raise ApiError(409, "too_many", f"a site keeps at most {model.MAX_ARTICLES} articles")
    await _save(request, site.key, [article])
    return json(article_json(article, help_pages(request, site.key)), 201)


@endpoint()
async def get_article(request: Request, caller: Caller) -> Response:
    """An article (agents: a published one only; a draft is 404 to them)."""
    article = await _existing(request, caller)
    if not (caller.manager or article.published):
        raise ApiError(404, "not_found", "no such article")
    return json(article_json(article, help_pages(request, caller.agent.site)))


@endpoint(roles=MANAGERS)
async def put_article(request: Request, caller: Caller) -> Response:
    """Replace an article (every field; `id` stays)."""
    current, body = await _existing(request, caller), await json_body(request)
    site = await _own(request, caller)
    article = model.parse_article(body, current.id, hub(request).now_ms(), site.departments)
    await _save(request, site.key, [article])
    return json(article_json(article, help_pages(request, site.key)))


@endpoint(roles=MANAGERS)
async def delete_article(request: Request, caller: Caller) -> Response:
    site = caller.agent.site
    if not await _store(request).remove(site, request.path_params["article_id"]):
        raise ApiError(404, "not_found", "no such article")
    _searcher(request).changed(site)
    return Response(status_code=204)


@endpoint(roles=MANAGERS)
async def export_articles(request: Request, caller: Caller) -> Response:
    """Every article of the site, as POST /articles/import takes them back."""
    found = await _store(request).all(caller.agent.site)
    return json({"articles": [a.to_dict() for a in found]})


@endpoint(roles=MANAGERS)
async def import_articles(request: Request, caller: Caller) -> Response:
    """`{"articles": [...]}` as exported: each created or replaced by id (made up when
    absent). All are checked first; one invalid article refuses the whole import (422 says
    which)."""
    site = await _own(request, caller)
    body = await json_body(request, MAX_IMPORT_BYTES)
    items = field(body, "articles", list)
    now, articles = hub(request).now_ms(), []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ApiError(422, "invalid_field", f"article {n}: must be an object")
        try:
            articles.append(model.parse_article(
                item, item.get("id") or uuid.uuid4().hex[:16], now, site.departments))  # fmt: skip
        except ValidationError as exc:
            raise ApiError(422, "invalid_field", f"article {n}: {exc}") from None
    store = _store(request)
    ids = {a.id for a in articles}
    if len(ids) != len(articles):
        raise ApiError(422, "invalid_field", "article ids must be unique")
    known = set(await store.exist(site.key, list(ids)))
    if await store.count(site.key) + len(ids - known) > model.MAX_ARTICLES:
        raise ApiError(409, "too_many", f"a site keeps at most {model.MAX_ARTICLES} articles")
    await _save(request, site.key, articles)
    return json({"imported": len(articles)})


async def _own(request: Request, caller: Caller) -> Site:
    site = await hub(request).site(caller.agent.site)
    if site is None:
        raise ApiError(404, "not_found", "no such site")
    return site


async def _existing(request: Request, caller: Caller) -> Article:
    found = await _store(request).get(caller.agent.site, request.path_params["article_id"])
    if found is None:
        raise ApiError(404, "not_found", "no such article")
    return found


async def _save(request: Request, site: str, articles: list[Article]) -> None:
    await _store(request).save(site, articles)
    _searcher(request).changed(site)


# --- the console: invitation rules ----------------------------------------------------------
@endpoint(roles=MANAGERS)
async def get_invitations(request: Request, caller: Caller) -> Response:
    site = await own_site(request, caller)
    return json({"invitations": await _store(request).invitations(site.key)})


@endpoint(roles=(Role.ADMIN,))
async def put_invitations(request: Request, caller: Caller) -> Response:
    """`{"invitations": [RULE...]}` replaces the site's rules (admin)."""
    site = await own_site(request, caller)
    rules = model.parse_rules(field(await json_body(request), "invitations", list))
    await _store(request).set_invitations(site.key, rules)
    return json({"invitations": rules})


# --- helpers --------------------------------------------------------------------------------
def _lang(value: str) -> str:
    if value not in LANGS:
        raise ApiError(422, "invalid_field", f"lang must be one of {', '.join(LANGS)}")
    return value


def _int_param(value: str, name: str, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise ApiError(422, "invalid_field", f"{name} must be {low}..{high}")
    return int(value)


def page_routes() -> list[Route]:
    """The public article pages (outside /api/v1; app.py mounts them)."""
    return [Route("/help/{site}/{article_id}", help_page, methods=["GET"])]


def routes(v1: str) -> list[Route]:
    public_site, article = f"{v1}/sites/{{site}}/articles", f"{v1}/articles/{{article_id}}"
    return [
        Route(f"{public_site}/search", public_search, methods=["GET"]),
        Route(f"{public_site}/{{article_id}}", public_article, methods=["GET"]),
        Route(f"{public_site}/{{article_id}}/feedback", public_feedback, methods=["POST"]),
        Route(f"{public_site}/{{article_id}}/feedback", preflight, methods=["OPTIONS"]),
        Route(f"{v1}/articles", list_articles, methods=["GET"]),
        Route(f"{v1}/articles", create_article, methods=["POST"]),
        Route(f"{v1}/articles/export", export_articles, methods=["GET"]),
        Route(f"{v1}/articles/import", import_articles, methods=["POST"]),
        Route(f"{v1}/articles/preview", preview_article, methods=["POST"]),
        Route(article, get_article, methods=["GET"]),
        Route(article, put_article, methods=["PUT"]),
        Route(article, delete_article, methods=["DELETE"]),
        Route(f"{v1}/sites/{{site}}/invitations", get_invitations, methods=["GET"]),
        Route(f"{v1}/sites/{{site}}/invitations", put_invitations, methods=["PUT"]),
    ]
