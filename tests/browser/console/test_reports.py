"""The reports page and the supervisor's KPIs in Chromium, on a scripted day of a real server
whose clock the test moves (tests/integration/web/test_reports.py drives the traffic)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import ConsoleMessage, Page, expect
from redis.asyncio import Redis

from chatserver.core.kpis import Targets
from chatserver.core.model import Role, Site
from chatserver.store.rollups import Rollups
from tests.browser.console.conftest import sign_in
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.web.test_reports import Clock, clock, scripted_day, settings

__all__ = ["clock"]  # the fixture of the scripted clock, shared with the integration tests
from tests.integration.world import make_agent, make_site


async def scripted(
    redis: Redis, site_key: str, servers: StartServer, clock: tuple[Path, Clock]
) -> tuple[Site, ServerProcess]:
    clock_file, set_clock = clock
    site = await make_site(redis, site_key, departments=("sales", "support"))
    for name in ("ann", "bob"):
        await make_agent(redis, site, f"{site_key}-{name}", departments=("sales",))
    await make_agent(redis, site, f"{site_key}-sue", role=Role.SUPERVISOR)
    server = await servers(**settings(clock_file))
    await scripted_day(redis, site, server, server, set_clock)
    return site, server


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def test_the_reports_page_draws_its_charts_and_tables_without_errors(
    page: Page, redis: Redis, site_key: str, servers: StartServer, clock: tuple[Path, Clock]
) -> None:
    _, server = await scripted(redis, site_key, servers, clock)
    errors = watch_errors(page)
    await sign_in(page, server, f"{site_key}-sue")
    await page.click("#to-reports")
    await expect(page).to_have_url(f"{server.base_url}/console/reports")
    # The default period is the last 7 days up to the server's today (the scripted day).
    await expect(page.locator("#to")).to_have_value("2030-01-15")
    for chart in ("hours", "waits", "days"):
        await expect(page.locator(f"#chart-{chart} canvas")).to_have_count(1)
    await expect(page.locator("#chart-waits")).to_have_attribute("data-drawn", "8")
    median = page.locator('#summary .kpi[data-kpi="wait_median"]')
    await expect(median.locator(".value")).to_have_text("2:00")
    await expect(page.locator('#summary .kpi[data-kpi="csat"] .value')).to_have_text("66.7%")
    ann = page.locator("#agents-table tbody tr", has_text=f"{site_key}-ann".title())
    await expect(ann.locator('td[data-kpi="closed"]')).to_have_text("2")
    await expect(ann.locator('td[data-kpi="wait_median"]')).to_have_text("2:45")
    sales = page.locator("#departments-table tbody tr", has_text="sales")
    await expect(sales.locator('td[data-kpi="conversations"]')).to_have_text("3")
    csv = page.locator('a.csv[data-table="agents"]')
    await expect(csv).to_have_attribute(
        "href", "/api/v1/reports/agents.csv?from=2030-01-09&to=2030-01-15"
    )

    # One department: support had nothing.
    await page.select_option("#department", "support")
    await page.click("#apply")
    await expect(page.locator('#summary-more dd[data-kpi="conversations"]')).to_have_text("0")
    await expect(page).to_have_url(
        f"{server.base_url}/console/reports?from=2030-01-09&to=2030-01-15&department=support"
    )
    async with page.expect_download() as download:
        await page.locator('a.csv[data-table="days"]').click()
    saved = await (await download.value).path()
    lines = (await asyncio.to_thread(Path(saved).read_text)).splitlines()
    assert lines[0].startswith("day,conversations,")
    assert len(lines) == 8  # a header and seven days
    assert errors == []


async def test_the_supervisors_view_turns_red_when_the_median_wait_misses_its_target(
    page: Page, redis: Redis, site_key: str, servers: StartServer, clock: tuple[Path, Clock]
) -> None:
    site, server = await scripted(redis, site_key, servers, clock)
    errors = watch_errors(page)
    await sign_in(page, server, f"{site_key}-sue")
    await page.click("#to-supervisor")
    card = page.locator('#kpis .kpi[data-kpi="wait_median"]')
    # The scripted median wait is 2:00: on the default target (120 s).
    await expect(card).to_have_attribute("data-status", "green")
    await expect(card.locator(".value").first).to_have_text("2:00")
    # A stricter target (60 s: 2:00 is more than 25% over it) turns it red within a refresh.
    await Rollups(redis).save_targets(site.key, Targets(wait_seconds=60))
    await expect(card).to_have_attribute("data-status", "red")
    await expect(card.locator(".verdict").first).to_have_text("off target")
    await expect(card.locator(".target")).to_have_text("target: median ≤ 1:00")
    csat = page.locator('#kpis .kpi[data-kpi="csat"]')
    await expect(csat).to_have_attribute("data-status", "red")  # 66.7% against 85%
    assert errors == []
