"""Regenerate docs/screenshots/: the widget (closed, greeting, chatting, after the chat) and the
console (three chats with the customer panel and the queue, search) at desktop and phone
sizes, from a fresh `chatserver demo` on a free port. Run it with ./scripts/screenshots.sh
(which installs chromium and the CJK fonts the Chinese names need)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, async_playwright

from chatserver.client import Client
from chatserver.core.tokens import sign_customer
from chatserver.demo import DEMO_SITE
from chatserver.store.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
WAIT = 15.0


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        server = _start_demo(Path(data), port)
        base = f"http://127.0.0.1:{port}"
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
                )
                for size in SIZES:
                    await _widget(browser, base, size)
                await _console(browser, base)
                await browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"screenshots written to {OUT.relative_to(ROOT)}/")


def _start_demo(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "chatserver", "demo", "--port", str(port), "--data-dir", str(data)],
        stdout=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # a child process's readiness has no event to wait on
    process.kill()
    raise SystemExit("the demo did not start")


async def _agent(base: str, login: str) -> Client:
    async with httpx.AsyncClient(base_url=base) as http:
        token = (await http.post("/api/v1/login", json={"login": login, "password": "demo"})).json()
    client = Client(base.replace("http", "ws") + "/ws/v1/agent")
    await client.connect()
    await client.send({"type": "hello", "token": token["token"]})
    await client.wait_for("welcome", WAIT)
    await client.send({"type": "status", "status": "online"})
    return client


async def _shopper(base: str, text: str, customer: str = "") -> tuple[Client, str]:
    client = Client(base.replace("http", "ws") + "/ws/v1/shopper?site=demo")
    await client.connect()
    hello: dict[str, Any] = {"type": "hello"}
    if customer:
        expires = int(time.time()) + 600
        signature = sign_customer(DEMO_SITE.identity_secret, customer, expires)
        hello["customer"] = {"id": customer, "expires": expires, "signature": signature}
    await client.send(hello)
    await client.wait_for("welcome", WAIT)
    await client.send({"type": "start", "text": text, "client_msg_id": "s1"})
    ack = await client.wait_for("ack", WAIT, client_msg_id="s1")
    return client, str(ack["conversation_id"])


async def _shot(page: Page, name: str) -> None:
    await page.wait_for_timeout(400)  # let transitions and fonts settle before the picture
    await page.screenshot(path=str(OUT / f"{name}.png"))


async def _widget(browser: Browser, base: str, size: str) -> None:
    context = await browser.new_context(viewport=SIZES[size], is_mobile=size == "phone")
    page = await context.new_page()
    alice = await _agent(base, "alice")
    await page.goto(f"{base}/demo/en")
    await page.locator("chat-widget .gb").wait_for()
    await _shot(page, f"widget-greeting-{size}")
    await page.locator("chat-widget .gx").click()
    await _shot(page, f"widget-closed-{size}")
    await page.locator("chat-widget .l").click()
    await page.locator("chat-widget .p:not([hidden])").wait_for()
    box = page.locator("chat-widget .c textarea")
    await box.fill("Hi! Is the Longjing green tea from this spring's harvest?")
    await box.press("Enter")
    conv = await alice.wait_for("conversation", WAIT, state="assigned")
    cid = conv["conversation_id"]
    await alice.send({"type": "message", "conversation_id": cid, "client_msg_id": "a1",
                      "text": "Hello! Yes: picked in April, shipped in sealed tins. "
                              "Details: " + f"{base}/demo/en/product/tea-longjing"})  # fmt: skip
    await page.locator("chat-widget .m.ag").wait_for()
    await _shot(page, f"widget-chatting-{size}")
    await alice.send({"type": "close", "conversation_id": cid, "outcome": "resolved"})
    await page.locator("chat-widget .rt:not([hidden])").wait_for()
    await _shot(page, f"widget-after-chat-{size}")
    await alice.close()
    await context.close()


async def _console(browser: Browser, base: str) -> None:
    shoppers = [
        await _shopper(base, "Where is my order? It was supposed to arrive yesterday.", "c-1001"),
        await _shopper(base, "Do you have the celadon tea cup in blue?"),
        await _shopper(base, "我想把上周买的茶换成乌龙茶，可以吗？", "c-1002"),
    ]
    for size in SIZES:
        context = await browser.new_context(viewport=SIZES[size])
        page = await context.new_page()
        await page.goto(f"{base}/console/login")
        await page.fill("#login", "alice")
        await page.fill("#password", "demo")
        await page.click("#login-submit")
        await page.locator("#link-state.up").wait_for()
        if size == "desktop":
            await page.select_option("#capacity", "3")
            await page.select_option("#status", "online")
            await page.locator("#chat-list .chat >> nth=2").wait_for()
            waiting = await _shopper(base, "Hello, is anyone there? I have a question about gifts.")
            shoppers.append(waiting)
            await page.locator("#queue-list .waiting-customer", has_text="gifts").wait_for()
            await page.locator("#chat-list .chat >> nth=0").click()
            await page.locator("#panel .order").first.wait_for()
        await _shot(page, f"console-chats-{size}")
        await page.fill("#search", "tea")
        await page.press("#search", "Enter")
        await page.locator("#search-results .result").first.wait_for()
        await _shot(page, f"console-search-{size}")
        await context.close()
    for client, _ in shoppers:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
