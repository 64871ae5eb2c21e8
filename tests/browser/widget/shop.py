"""Helpers for the widget's browser tests: a store (a site on a real server), the widget in a
page (its shadow root), the agent's side (a protocol client), and the server's transcript."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from playwright.async_api import Locator, Page
from redis.asyncio import Redis

from chatserver.client import Client
from chatserver.core.model import Site
from chatserver.core.widget_settings import WidgetSettings
from chatserver.store import keys, sites
from tests.conftest import scaled
from tests.integration.servers import ServerProcess
from tests.integration.world import agent_client, make_agent

WAIT_MS = scaled(15_000)  # Playwright waits (ms): generous for 2 slow cores


@dataclass
class Shop:
    """A site served by a real chatserver process; its demo storefront embeds the widget."""

    server: ServerProcess
    site: Site
    redis: Redis

    def url(self, path: str = "/demo/en") -> str:
        return f"{self.server.base_url}{path}?site={self.site.key}"

    async def agent(
        self, departments: tuple[str, ...] | None = None, online: bool = True
    ) -> Client:
        login = f"a{uuid.uuid4().hex[:10]}"
        await make_agent(self.redis, self.site, login, departments)
        return await agent_client(self.server, login, online)

    async def conversation(self, conversation_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(keys.conversation(self.site.key, conversation_id))
        return {str(k): str(v) for k, v in raw.items()}

    async def messages(self, conversation_id: str) -> list[tuple[str, str]]:
        """The messages of a conversation as the server holds them: (id, text), in order."""
        rows = await self.redis.xrange(keys.transcript(conversation_id))
        entries = [(str(i), orjson.loads(f["e"])) for i, f in rows]
        return [(i, e["text"]) for i, e in entries if e.get("kind") == "message"]


async def make_shop(
    server: ServerProcess, redis: Redis, key: str, widget: WidgetSettings | None = None,
    departments: tuple[str, ...] = ("sales", "support"), origins: tuple[str, ...] = (),
) -> Shop:  # fmt: skip
    site = Site(key, f"Shop {key}", departments, origins, identity_secret="s3cret",
                widget=widget or WidgetSettings())  # fmt: skip
    await sites.save_site(redis, site)
    return Shop(server, site, redis)


def widget(page: Page) -> Locator:
    """The widget's host element (Playwright's CSS locators pierce its open shadow root)."""
    return page.locator("chat-widget")


def launcher(page: Page) -> Locator:
    return page.locator("chat-widget .l")


def panel(page: Page) -> Locator:
    return page.locator("chat-widget .p")


async def open_chat(page: Page) -> None:
    await launcher(page).click()
    await page.locator("chat-widget .p:not([hidden])").wait_for()


async def write(page: Page, text: str) -> None:
    """Type a message in the composer and press Enter."""
    box = page.locator("chat-widget .c textarea")
    await box.fill(text)
    await box.press("Enter")


async def transcript(page: Page) -> list[tuple[str, str]]:
    """The messages the widget shows with a server id: (id, text), in display order."""
    rows: list[list[str]] = await page.evaluate(
        """() => [...document.querySelector('chat-widget').shadowRoot
                    .querySelectorAll('.m[data-id]')]
                 .map(li => [li.dataset.id, li.querySelector('.t').textContent])"""
    )
    return [(r[0], r[1]) for r in rows]


async def wait_message(page: Page, text: str) -> Locator:
    """The message bubble (with a server id) showing exactly `text`, once it is there."""
    bubble = page.locator("chat-widget .m[data-id] .t", has_text=text).filter(has_text=text)
    await bubble.first.wait_for()
    return bubble.first


def conversation_id(frame: dict[str, Any]) -> str:
    return str(frame["conversation_id"])


STORE_ORIGIN = "http://shop.localhost"  # a store's own origin: the widget is cross-origin
SNIPPET = (
    "window.ChatWidget = window.ChatWidget || function () "
    "{ (ChatWidget.q = ChatWidget.q || []).push(arguments); };"
)


async def serve_store_page(page: Page, body: str, head: str = "") -> str:
    """Serve a store's page at STORE_ORIGIN from inside the browser (the store's own HTML; the
    widget and its socket come from the real chatserver). Returns its URL."""
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Store</title>'
            f"{head}</head><body>{body}</body></html>")  # fmt: skip

    async def fulfill(route: Any) -> None:
        if route.request.resource_type == "document":
            await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        else:
            await route.fulfill(status=404, body="")

    await page.route(f"{STORE_ORIGIN}/**", fulfill)
    # The store "is" on the public internet and chatserver on loopback here: Chromium asks
    # the user before such a page reaches a local address (a real deployment never does).
    await page.context.grant_permissions(["local-network-access"], origin=STORE_ORIGIN)
    return f"{STORE_ORIGIN}/"


def embed(shop: Shop, site_key: str | None = None) -> str:
    """The one tag a store adds."""
    key = site_key or shop.site.key
    return f'<script async src="{shop.server.base_url}/widget.js" data-site="{key}"></script>'
