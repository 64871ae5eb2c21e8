"""Files in the console (issue #12): an agent sends a PDF and the shopper's widget shows it as
a file link; an agent pastes an image (never into an internal note, never to another chat's
customer); the conversation's files are listed in the panel; a refused file says why."""

from __future__ import annotations

import os
import re

import httpx
from playwright.async_api import BrowserContext, FilePayload, Page, expect
from redis.asyncio import Redis

from tests.browser.console.conftest import chat, go_online, open_chat, sign_in
from tests.browser.widget.shop import make_shop
from tests.browser.widget.shop import open_chat as open_widget
from tests.browser.widget.shop import write as write_in_widget
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.web.shop import customer_chat
from tests.integration.world import make_agent, make_site

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
# Pastes a small PNG (built in the page) into the console's composer, as a screenshot is.
PASTE = """async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 80; canvas.height = 60;
  canvas.getContext("2d").fillRect(10, 10, 40, 30);
  const blob = await new Promise((done) => canvas.toBlob(done, "image/png"));
  const data = new DataTransfer();
  data.items.add(new File([blob], "screenshot.png", { type: "image/png" }));
  const paste = { clipboardData: data, bubbles: true, cancelable: true };
  document.getElementById("composer").dispatchEvent(new ClipboardEvent("paste", paste));
}"""


def file(name: str, data: bytes, mime: str) -> FilePayload:
    return {"name": name, "mimeType": mime, "buffer": data}


async def test_an_agent_sends_a_pdf_and_the_shopper_gets_a_file_link(
    page: Page, context: BrowserContext, servers: StartServer, redis: Redis, site_key: str
) -> None:
    server = await servers(demo=True)
    shop = await make_shop(server, redis, site_key)
    await make_agent(redis, shop.site, f"{site_key}-amy")
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    shopper = await context.new_page()
    await shopper.goto(shop.url())
    await open_widget(shopper)
    await write_in_widget(shopper, "Where is my return label?")
    listed = page.locator("#chat-list .chat")
    await expect(listed).to_have_count(1)
    cid = str(await listed.get_attribute("data-conversation-id"))
    await open_chat(page, cid)

    await expect(page.locator("#attach")).to_have_attribute("aria-label", re.compile("Attach"))
    await page.locator("#attach-input").set_input_files(file("label.pdf", PDF, "application/pdf"))
    await expect(page.locator("#attach-tray")).to_contain_text("label.pdf")
    await page.fill("#composer", "Your return label")
    await page.press("#composer", "Enter")
    await expect(page.locator("#attach-tray")).to_be_hidden()
    sent = page.locator("#transcript .entry.agent:not(.pending)", has_text="Your return label")
    await expect(sent.locator("a.attachment.file")).to_contain_text("label.pdf")

    link = shopper.locator("chat-widget .m.ag a.at.fi")
    await expect(link).to_contain_text("label.pdf")
    await expect(link).to_contain_text(f"{len(PDF)} B")
    await expect(shopper.locator("chat-widget .m.ag", has_text="Your return label")).to_be_visible()
    href = str(await link.get_attribute("href"))
    assert href.startswith(f"{server.base_url}/files/")
    async with httpx.AsyncClient(trust_env=False) as http:
        got = await http.get(href)
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-disposition"].startswith("attachment")

    files = page.locator("#panel .files-list li")
    await page.click(f'#chat-list .chat[data-conversation-id="{cid}"]')  # the panel refreshes
    await expect(files).to_have_count(1)
    await expect(files.locator("a.attachment.file")).to_contain_text("label.pdf")


async def test_a_pasted_image_goes_to_the_customer_not_into_a_note_nor_another_chat(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    first, one = await customer_chat(server, site, None, "hello one")
    second, two = await customer_chat(server, site, None, "hello two")
    await expect(chat(page, two)).to_be_visible()
    await open_chat(page, one)

    await page.evaluate(PASTE)
    tray = page.locator("#attach-tray")
    await expect(tray).to_contain_text("screenshot.png")
    await open_chat(page, two)
    await expect(tray).to_be_hidden()  # chosen for one customer: never sent to another
    await open_chat(page, one)
    await page.evaluate(PASTE)
    await page.keyboard.press("Alt+n")  # an internal note
    await page.press("#composer", "Enter")
    await expect(page.locator(".toast.error")).to_contain_text("Files go to the customer")
    await expect(tray).to_be_visible()
    await page.keyboard.press("Alt+n")
    await page.press("#composer", "Enter")

    got = await first.wait_for("message", scaled(10), where=lambda f: bool(f.get("attachment")))
    assert got["attachment"]["name"] == "screenshot.png"
    assert (got["attachment"]["width"], got["attachment"]["height"]) == (80, 60)
    assert got["from"]["role"] == "agent"
    thumb = page.locator("#transcript .attachment.thumb img")
    await expect(thumb).to_have_attribute("alt", "screenshot.png")
    await thumb.evaluate("img => img.decode()")  # rejects if it cannot load
    assert not [f for f in second.received if f.get("attachment")]
    await open_chat(page, one)  # the panel lists it
    await expect(page.locator("#panel .files-list .attachment.thumb")).to_have_count(1)
    for client in (first, second):
        await client.close()


async def test_a_refused_file_says_why_and_can_be_removed(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    shopper, cid = await customer_chat(server, site, None, "hello")
    await open_chat(page, cid)
    program = b"MZ\x90\x00" + os.urandom(200)
    await page.locator("#attach-input").set_input_files(
        file("invoice.pdf", program, "application/pdf")  # a program named .pdf
    )
    await page.press("#composer", "Enter")
    refused = page.locator("#transcript .entry.upload")
    await expect(refused.locator(".status.error")).to_have_text(
        re.compile("This kind of file cannot be sent")
    )
    await expect(page.locator(".toast.error")).to_contain_text("This kind of file cannot be sent")
    await refused.locator("button", has_text="Remove").click()
    await expect(refused).to_have_count(0)
    assert not [f for f in shopper.received if f.get("attachment")]
    await shopper.close()


async def test_an_expired_image_is_opened_with_fresh_urls(
    page: Page, redis: Redis, site_key: str, servers: StartServer
) -> None:
    server = await servers(CHAT_ATTACHMENT_URL_SECONDS=2)
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await sign_in(page, server, f"{site_key}-amy")
    await go_online(page)
    shopper, cid = await customer_chat(server, site, None, "hello")
    await open_chat(page, cid)
    await page.evaluate(PASTE)
    await page.press("#composer", "Enter")
    got = await shopper.wait_for("message", scaled(10), where=lambda f: bool(f.get("attachment")))
    first = got["attachment"]
    thumb = page.locator("#transcript .attachment.thumb")
    await expect(thumb.locator("img")).to_have_attribute("alt", "screenshot.png")
    await page.wait_for_function("end => Date.now() > end", arg=first["expires"])  # expired

    att_id = str(await thumb.get_attribute("data-attachment-id"))
    async with page.expect_response(re.compile(rf"/attachments/{att_id}$")) as renewed:
        await thumb.click()
    assert (await renewed.value).status == 200
    big = page.locator("#lightbox img")
    await expect(big).to_be_visible()
    await big.evaluate("img => img.decode()")  # rejects if it cannot load
    src = str(await big.get_attribute("src"))
    assert "/files/" in src and first["url"] not in src
    await shopper.close()
