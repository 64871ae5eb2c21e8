"""Files in the widget (issue #12): a shopper pastes a photo, watches it upload and the agent
opens it full size in the console; a phone attaches from the file picker on a store's own
origin; a cut upload is retried and stored once; refused files are explained in the shopper's
language; an expired signed URL is renewed; a site without attachments shows no button."""

from __future__ import annotations

import io
import os
import re
import uuid
from typing import Any

import orjson
from PIL import Image
from playwright.async_api import Browser, FilePayload, Page, Request, Route, expect
from redis.asyncio import Redis

from tests.browser.console.conftest import go_online, sign_in
from tests.browser.console.conftest import open_chat as open_console_chat
from tests.browser.widget.shop import (
    STORE_ORIGIN,
    WAIT_MS,
    Shop,
    embed,
    make_shop,
    open_chat,
    serve_store_page,
    write,
)
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.world import make_agent

SHADOW = "document.querySelector('chat-widget').shadowRoot"
# Builds a PNG of noise in the page (about 1 MB: the upload takes a few progress events) and
# pastes it into the composer as the browser does for a screenshot: a paste event whose
# clipboard holds a File.
PASTE = f"""async ([name, width, height]) => {{
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height;
  const ctx = canvas.getContext("2d");
  const pixels = ctx.createImageData(width, height);
  for (let at = 0; at < pixels.data.length; at += 65536)
    crypto.getRandomValues(pixels.data.subarray(at, at + 65536));
  for (let at = 3; at < pixels.data.length; at += 4) pixels.data[at] = 255;
  ctx.putImageData(pixels, 0, 0);
  const blob = await new Promise((done) => canvas.toBlob(done, "image/png"));
  const data = new DataTransfer();
  data.items.add(new File([blob], name, {{ type: "image/png" }}));
  const box = {SHADOW}.querySelector(".c textarea");
  const paste = {{ clipboardData: data, bubbles: true, cancelable: true }};
  box.dispatchEvent(new ClipboardEvent("paste", paste));
}}"""
# Every value the upload's progress bar shows, in order.
RECORD_PROGRESS = f"""() => {{
  window.seenProgress = [];
  new MutationObserver((changes) => {{
    for (const c of changes) if (c.target.classList && c.target.classList.contains("pg"))
      window.seenProgress.push(c.target.getAttribute("aria-valuenow"));
  }}).observe({SHADOW}, {{ subtree: true, attributes: true, attributeFilter: ["aria-valuenow"] }});
}}"""
# Drops a file (bytes from the test) on the widget's transcript, as a file dragged from the
# desktop is.
DROP = f"""(bytes) => {{
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(bytes)], "box.png", {{ type: "image/png" }}));
  const log = {SHADOW}.querySelector(".g");
  const init = {{ dataTransfer: data, bubbles: true, cancelable: true }};
  for (const type of ["dragenter", "dragover", "drop"]) {{
    log.dispatchEvent(new DragEvent(type, init));
  }}
}}"""
LOADED = "img => img.complete && img.naturalWidth > 0"


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "PNG")
    return out.getvalue()


def upload(name: str, data: bytes, mime: str = "image/png") -> FilePayload:
    return {"name": name, "mimeType": mime, "buffer": data}


async def start_chatting(page: Page, shop: Shop, text: str = "Hello") -> tuple[Any, str]:
    """Open the widget, say something, and wait until an agent (a protocol client) has it."""
    agent = await shop.agent()
    await page.reload()  # the widget knows the agent is online
    await open_chat(page)
    await write(page, text)
    conv = await agent.wait_for("conversation", scaled(10), state="assigned")
    await agent.wait_for("message", scaled(10), text=text)
    return agent, str(conv["conversation_id"])


async def test_a_pasted_photo_uploads_with_progress_and_the_agent_opens_it_full_size(
    store_page: Page, shop: Shop, browser: Browser
) -> None:
    page = store_page
    login = f"a{uuid.uuid4().hex[:10]}"
    await make_agent(shop.redis, shop.site, login)
    console_context = await browser.new_context()
    console = await console_context.new_page()
    await sign_in(console, shop.server, login)
    await go_online(console)

    await page.goto(shop.url())
    await open_chat(page)
    await write(page, "My mug arrived cracked")
    chat = console.locator("#chat-list .chat")
    await expect(chat).to_have_count(1)
    cid = str(await chat.get_attribute("data-conversation-id"))
    await open_console_chat(console, cid)

    await page.evaluate(RECORD_PROGRESS)
    await page.evaluate(PASTE, ["mug.png", 640, 480])
    preview = page.locator("chat-widget .ap")
    await expect(preview).to_contain_text("mug.png")
    await expect(preview.locator("img")).to_be_visible()  # seen before sending
    box = page.locator("chat-widget .c textarea")
    await box.fill("Here is the photo")
    await box.press("Enter")
    await expect(preview).to_be_hidden()

    mine = page.locator("chat-widget .m.me[data-id]", has_text="Here is the photo")
    thumb = mine.locator("a.at img")
    await expect(thumb).to_be_visible()
    await thumb.wait_for()
    assert await thumb.evaluate(LOADED)
    assert await thumb.get_attribute("alt") == "mug.png"
    full = str(await mine.locator("a.at").get_attribute("href"))  # opens the full image
    assert full.startswith(shop.server.base_url + "/files/")
    assert await mine.locator("a.at").get_attribute("target") == "_blank"
    progress: list[str] = await page.evaluate("window.seenProgress")
    assert progress and progress[-1] == "100", progress

    agent_thumb = console.locator("#transcript .attachment.thumb")
    await expect(agent_thumb).to_be_visible()
    await expect(
        console.locator("#transcript .entry.shopper", has_text="Here is the photo")
    ).to_be_visible()
    assert await agent_thumb.locator("img").evaluate(LOADED)
    await agent_thumb.click()
    lightbox = console.locator("#lightbox")
    await expect(lightbox).to_be_visible()
    big = lightbox.locator("img")
    await expect(big).to_have_attribute("alt", "mug.png")
    await console.wait_for_function(
        "img => img.complete && img.naturalWidth === 640", arg=await big.element_handle()
    )
    await console.keyboard.press("Escape")
    await expect(lightbox).to_be_hidden()
    await expect(console.locator("#transcript .attachment.thumb")).to_be_focused()
    files = console.locator("#panel .files-list li")
    await expect(files).to_have_count(1)
    await expect(files).to_contain_text("mug.png")
    await console_context.close()


async def test_a_phone_on_the_stores_origin_attaches_a_photo_from_the_file_picker(
    browser: Browser, servers: StartServer, redis: Redis, site_key: str
) -> None:
    server = await servers(demo=True)
    shop = await make_shop(server, redis, site_key, origins=(STORE_ORIGIN,))
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                      has_touch=True, device_scale_factor=3)  # fmt: skip
    page = await phone.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    agent = await shop.agent()
    viewport = '<meta name="viewport" content="width=device-width, initial-scale=1">'
    await page.goto(await serve_store_page(page, embed(shop), head=viewport))
    await page.locator("chat-widget .l").tap()
    await page.locator("chat-widget .p:not([hidden])").wait_for()
    await write(page, "Hi from my phone")
    await agent.wait_for("conversation", scaled(10), state="assigned")

    button = page.locator("chat-widget button.ab")
    await expect(button).to_have_attribute("aria-label", "Attach a file")
    box = await button.bounding_box()
    assert box is not None and box["height"] >= 40  # a finger's target
    picker = page.locator("chat-widget input[type=file]")
    assert "image/png" in str(await picker.get_attribute("accept"))
    await picker.set_input_files(upload("receipt.png", png()))
    await expect(page.locator("chat-widget .ap")).to_contain_text("receipt.png")
    panel = await page.locator("chat-widget .p").bounding_box()
    assert panel is not None and panel["width"] == 390  # the whole screen
    await page.locator("chat-widget .sb").tap()

    sent = await agent.wait_for("message", scaled(10), where=lambda f: bool(f.get("attachment")))
    attachment = sent["attachment"]
    assert attachment["name"] == "receipt.png" and attachment["type"] == "image/png"
    assert (attachment["width"], attachment["height"]) == (64, 48)
    assert sent.get("text", "") == ""
    thumb = page.locator("chat-widget .m.me[data-id] a.at img")
    await expect(thumb).to_be_visible()
    assert await thumb.evaluate(LOADED)  # from the chat server, on the store's page
    assert not errors
    await agent.close()
    await phone.close()


async def test_an_upload_cut_by_the_network_is_retried_with_its_id_and_stored_once(
    store_page: Page, shop: Shop
) -> None:
    page = store_page
    await page.goto(shop.url())
    agent, cid = await start_chatting(page, shop)
    tries: list[Request] = []

    async def cut_the_first(route: Route) -> None:
        tries.append(route.request)
        if len(tries) == 1:
            response = await route.fetch()  # the server stores it; the shopper never hears
            assert response.status == 201
            await route.abort("connectionreset")
        else:
            await route.continue_()

    await page.route(re.compile(r"/attachments$"), cut_the_first)
    await page.evaluate(DROP, list(png()))  # dropped on the transcript
    await expect(page.locator("chat-widget .ap")).to_contain_text("box.png")
    await page.locator("chat-widget .c textarea").press("Enter")
    sent = await agent.wait_for("message", scaled(10), where=lambda f: bool(f.get("attachment")))
    thumb = page.locator("chat-widget .m.me[data-id] a.at img")
    await expect(thumb).to_be_visible()
    assert len(tries) == 2
    ids = [
        re.search(rb'name="client_msg_id"\r\n\r\n([^\r]+)', r.post_data_buffer or b"")
        for r in tries
    ]
    assert (
        ids[0] and ids[1] and ids[0].group(1) == ids[1].group(1) == sent["client_msg_id"].encode()
    )
    stored = await page.evaluate(
        """async ([url, token]) => (await (await fetch(url,
             { headers: { Authorization: `Bearer ${token}` } })).json()).attachments""",
        [
            f"{shop.server.base_url}/api/v1/conversations/{cid}/attachments",
            await _token(page, shop),
        ],
    )
    assert [a["id"] for a in stored] == [sent["attachment"]["id"]]
    await agent.close()


async def test_refused_files_are_explained_in_the_shoppers_language(
    store_page: Page, servers: StartServer, redis: Redis, site_key: str
) -> None:
    page = store_page
    server = await servers(demo=True, CHAT_MAX_UPLOAD_BYTES=4096)
    shop = await make_shop(server, redis, site_key)
    await page.goto(shop.url("/demo/zh"))
    agent, _ = await start_chatting(page, shop, "你好")
    picker = page.locator("chat-widget input[type=file]")
    alert = page.locator("chat-widget .ae")

    await picker.set_input_files(upload("big.png", png(200, 200)))  # over 4 KB: refused at once
    await expect(alert).to_have_text("文件过大：最大 4 KB。")
    await expect(page.locator("chat-widget .ap")).to_be_hidden()

    fake = b"<html><script>alert(1)</script></html>"  # an .html renamed .png
    await picker.set_input_files(upload("mug.png", fake))
    await expect(alert).to_have_text("")
    await page.locator("chat-widget .c textarea").press("Enter")
    refused = page.locator("chat-widget .m.me[data-cmid]", has_text="不支持此类文件")
    await expect(refused).to_be_visible()
    await expect(alert).to_contain_text("不支持此类文件")
    await refused.locator("button", has_text="移除").click()
    await expect(refused).to_have_count(0)
    await write(page, "好的")
    after = await agent.wait_for("message", scaled(10), text="好的")
    assert not [f for f in agent.received if f.get("type") == "message" and f.get("attachment")], (
        after
    )
    await agent.close()


async def test_an_expired_image_url_is_renewed_when_the_image_fails(
    store_page: Page, servers: StartServer, redis: Redis, site_key: str
) -> None:
    page = store_page
    server = await servers(demo=True, CHAT_ATTACHMENT_URL_SECONDS=2)
    shop = await make_shop(server, redis, site_key)
    await page.goto(shop.url())
    agent, cid = await start_chatting(page, shop)
    await page.locator("chat-widget input[type=file]").set_input_files(upload("old.png", png()))
    await page.locator("chat-widget .c textarea").press("Enter")
    sent = await agent.wait_for("message", scaled(10), where=lambda f: bool(f.get("attachment")))
    expires = int(sent["attachment"]["expires"])
    await expect(page.locator("chat-widget .m.me[data-id] a.at img")).to_be_visible()
    key = f"chatw:v1:{shop.site.key}"
    await page.wait_for_function(  # every URL the page keeps has expired (even renewed ones)
        f"""() => {{ const saved = JSON.parse(localStorage.getItem("{key}") || "{{}}");
          const ends = (saved.entries || []).filter((e) => e.attachment)
            .map((e) => Math.max(e.attachment.expires, {expires}));
          return ends.length > 0 && ends.every((end) => Date.now() > end + 300); }}"""
    )
    renewed: list[str] = []
    page.on("request", lambda r: renewed.append(r.url) if "/attachments/" in r.url else None)
    await page.reload()  # the saved transcript holds the expired URLs
    thumb = page.locator("chat-widget .m.me[data-id] a.at img")
    await thumb.wait_for()
    await page.wait_for_function(
        f"() => {{ const i = {SHADOW}.querySelector('.m.me[data-id] a.at img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert renewed == [
        f"{server.base_url}/api/v1/conversations/{cid}/attachments/{sent['attachment']['id']}"
    ]
    fresh = str(await thumb.get_attribute("src"))
    assert fresh.startswith(f"{server.base_url}/files/")
    assert fresh != server.base_url + sent["attachment"]["thumb_url"]
    await agent.close()


async def test_a_site_without_attachments_shows_no_attach_button(
    store_page: Page, servers: StartServer, redis: Redis, site_key: str
) -> None:
    page = store_page
    server = await servers(demo=True, CHAT_ATTACHMENTS_URL="off")
    shop = await make_shop(server, redis, site_key)
    await page.goto(shop.url())
    await start_chatting(page, shop)  # an agent online: the composer, not the offline form
    await expect(page.locator("chat-widget .c textarea")).to_be_visible()
    await expect(page.locator("chat-widget .ab")).to_have_count(0)
    await expect(page.locator("chat-widget input[type=file]")).to_have_count(0)


async def _token(page: Page, shop: Shop) -> str:
    """The visitor token the widget keeps (localStorage, docs/widget.md)."""
    raw = await page.evaluate(f"localStorage.getItem('chatw:v1:{shop.site.key}')")
    return str(orjson.loads(raw)["token"])
