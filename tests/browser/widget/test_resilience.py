"""The network drops while both sides write: a server process is killed under the shopper's
socket and the agent's. Once the widget is back, both transcripts equal the server's."""

from __future__ import annotations

import contextlib

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver.client import ResumingClient
from tests.browser.widget.shop import make_shop, open_chat, transcript, wait_message, write
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.world import login, make_agent


async def test_after_a_server_is_killed_both_transcripts_equal_the_servers(
    store_page: Page, servers: StartServer, redis: Redis, site_key: str
) -> None:
    page = store_page
    first, second = await servers(), await servers()
    shop = await make_shop(first, redis, site_key)
    await make_agent(redis, shop.site, f"{site_key}-agent")
    token = await login(first, f"{site_key}-agent")
    agent_urls = [f"{s.ws_url}/ws/v1/agent" for s in (first, second)]
    agent = ResumingClient(agent_urls, {"token": token})
    await agent.start()
    await agent.send({"type": "status", "status": "online"})

    await page.goto(shop.url())  # the page, the widget and its socket all come from `first`
    await open_chat(page)
    await write(page, "s1")
    await agent.until(lambda: any(m["text"] == "s1" for m in _messages(agent)), scaled(10))
    cid = next(iter(agent.logs))
    await agent.send_message(cid, "a1")
    await wait_message(page, "a1")

    await write(page, "s2")  # in flight while the process dies
    await agent.send_message(cid, "a2")
    await first.kill()
    await write(page, "s3")  # written while the widget's server is down
    await expect(page.locator("chat-widget .n")).to_contain_text("Reconnecting")
    await agent.until(lambda: agent.reconnects >= 1, scaled(10))  # to `second`
    await agent.send_message(cid, "a3")
    await agent.until(lambda: not agent.outbox, scaled(10))

    await first.start()  # same port: the widget comes back by itself
    for text in ("s2", "s3", "a2", "a3"):
        await wait_message(page, text)
    await agent.until(lambda: len(_messages(agent)) == 6, scaled(15))

    server = await shop.messages(cid)
    assert sorted(text for _, text in server) == ["a1", "a2", "a3", "s1", "s2", "s3"]
    shown = await transcript(page)
    assert shown == server  # same ids, same order, no duplicate, no gap
    assert [(m["id"], m["text"]) for m in _messages(agent)] == server
    await expect(page.locator("chat-widget [data-cmid]")).to_have_count(0)  # nothing pending
    stored = await page.evaluate("Object.keys(localStorage).filter(k => k.includes(':out:'))")
    assert stored == []  # the outbox is empty once everything is acknowledged
    await agent.stop()


def _messages(agent: ResumingClient) -> list[dict[str, str]]:
    """The agent's messages of its (only) conversation, ordered by id."""
    from chatserver.core.frames import stream_id_key

    found = [m for log in agent.logs.values() for m in log.messages()]
    return sorted(found, key=lambda m: stream_id_key(m["id"]))


async def test_a_message_written_while_the_server_is_down_fails_then_retry_sends_it(
    store_page: Page, servers: StartServer, redis: Redis, site_key: str
) -> None:
    page = store_page
    server = await servers()
    shop = await make_shop(server, redis, site_key)
    agent = await shop.agent()
    await page.goto(shop.url())
    await open_chat(page)
    await write(page, "first")
    await wait_message(page, "first")
    await agent.close()
    await server.kill()
    await expect(page.locator("chat-widget .n")).to_contain_text("Reconnecting")
    await write(page, "written offline")
    pending = page.locator("chat-widget [data-cmid]")
    await expect(pending.locator(".s")).to_have_text("Sending…")
    await expect(pending.locator(".s")).to_have_text("Not sent. Retry", timeout=scaled(20_000))
    await server.start()
    retry = pending.get_by_role("button", name="Retry")
    with contextlib.suppress(PlaywrightError):  # unless the backoff reconnected it just now
        await retry.click(timeout=scaled(2000))
    await wait_message(page, "written offline")
    await expect(pending).to_have_count(0)
    key = f"chatw:v1:{site_key}"
    cid = await page.evaluate("key => JSON.parse(localStorage.getItem(key)).conv", key)
    assert [text for _, text in await shop.messages(cid)] == ["first", "written offline"]
