"""The console's pages in both languages, the supervisor's view, and the scripts' types and
texts (tsc on the JSDoc types; every text key in both languages)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import orjson
import pytest
from playwright.async_api import Page, expect
from redis.asyncio import Redis

from chatserver.core.frames import ErrorCode
from chatserver.core.model import OUTCOMES, AgentStatus, ConversationState, Role
from chatserver.core.orders import TOTAL_FIELDS
from tests.browser.console.conftest import sign_in
from tests.integration.servers import ServerProcess
from tests.integration.world import make_agent, make_site

ROOT = Path(__file__).resolve().parents[3]
CONSOLE = ROOT / "agent_console"


async def test_the_console_speaks_chinese_when_asked_and_remembers_it(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await page.goto(f"{server.base_url}/console/login?lang=zh-CN")
    await expect(page.locator("#login-submit")).to_have_text("登录")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await sign_in(page, server, f"{site_key}-amy")
    await expect(page.locator("#chats-heading")).to_contain_text("我的会话")
    await expect(page.locator("#link-state")).to_have_text("已连接")
    await page.goto(f"{server.base_url}/console?lang=en")
    await expect(page.locator("#chats-heading")).to_contain_text("My chats")


async def test_the_supervisor_sets_an_agents_limit_and_the_agent_sees_it(
    page: Page, second_page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await make_agent(redis, site, f"{site_key}-sue", role=Role.SUPERVISOR)
    await sign_in(page, server, f"{site_key}-amy")
    await expect(page.locator("#capacity option")).to_have_count(3)
    await expect(page.locator("#to-supervisor")).to_have_count(0)
    forbidden = await page.goto(f"{server.base_url}/console/supervisor")
    assert forbidden is not None and forbidden.status == 403
    await page.goto(f"{server.base_url}/console")

    await sign_in(second_page, server, f"{site_key}-sue")
    await second_page.click("#to-supervisor")
    row = second_page.locator(f'#agents tr[data-agent="{site_key}-amy"]')
    await expect(row.locator(".load")).to_have_text("0 / 3")
    await row.locator("select.max-capacity").select_option("2")
    await expect(row.locator(".load")).to_have_text("0 / 2")
    await expect(page.locator("#capacity option")).to_have_count(2)
    await expect(page.locator("#load")).to_have_text(re.compile(r"/ 2$"))


async def test_signing_out_ends_the_session(
    page: Page, redis: Redis, site_key: str, server: ServerProcess
) -> None:
    site = await make_site(redis, site_key, departments=("sales",))
    await make_agent(redis, site, f"{site_key}-amy")
    await sign_in(page, server, f"{site_key}-amy")
    await page.click("#logout-link")
    await page.click("#logout-submit")
    await expect(page).to_have_url(f"{server.base_url}/console/login")
    await page.goto(f"{server.base_url}/console")
    await expect(page).to_have_url(f"{server.base_url}/console/login")


def test_the_scripts_type_check() -> None:
    tsc = ROOT / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.fail("node_modules is missing: ./scripts/test.sh installs it (npm ci)")
    done = subprocess.run(
        [str(tsc), "--noEmit", "-p", str(CONSOLE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_text_the_pages_use_exists_in_both_languages() -> None:
    strings = orjson.loads((CONSOLE / "static" / "strings.json").read_bytes())
    assert set(strings["en"]) == set(strings["zh-CN"])
    used: set[str] = set()
    for script in (CONSOLE / "static").glob("*.js"):
        code = script.read_text()
        used |= set(re.findall(r'\bt\("([a-z_]+)"', code))
        for pair in re.findall(r'\bt\([^)]*\? "([a-z_]+)" : "([a-z_]+)"', code):
            used |= set(pair)
    for page in (CONSOLE / "templates").glob("*.html"):
        used |= set(re.findall(r"\bt\.([a-z_]+)", page.read_text()))
    # Keys made from values: login errors, error codes, outcomes, states, statuses, totals.
    used |= {f"error_{e}" for e in ("csrf", "throttled", "credentials", "unavailable")}
    used |= {f"error_{code.value}" for code in ErrorCode}
    used |= {f"outcome_{o}" for o in OUTCOMES}
    used |= {f"state_{s.value}" for s in ConversationState}
    used |= {f"status_{s.value}" for s in AgentStatus}
    used |= {f"total_{t}" for t in TOTAL_FIELDS}
    used |= {"rating_good", "rating_bad"}
    assert used - set(strings["en"]) == set()
