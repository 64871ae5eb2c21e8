"""Isolation: the widget lives in a shadow root. A hostile page (global resets, !important
everywhere) renders it pixel for pixel as a plain page does, and its CSS never reaches out."""

from __future__ import annotations

from playwright.async_api import Browser, FloatRect, Page, expect

from tests.browser.widget.shop import SNIPPET, Shop, embed, launcher, panel, serve_store_page

HOSTILE = """<style>
  *, *::before, *::after { all: unset !important; font: italic 700 31px/3 "Courier New", serif
    !important; color: #f0f !important; background: #ff0 !important; border: 5px dashed #0f0
    !important; margin: 9px !important; padding: 11px !important; box-sizing: content-box
    !important; letter-spacing: 3px !important; text-transform: uppercase !important;
    --a: red; --at: red; --cw-site: red; }
  html { font-size: 40px !important; }
  div, button, textarea, input, form, ol, li, h2, p, label, select, span, svg
    { display: block !important; position: static !important; width: 50% !important;
      transform: rotate(7deg) !important; }
  chat-widget, chat-widget * { display: none !important; opacity: .2 !important; }
  [hidden] { display: block !important; }
  body > * { position: relative !important; z-index: 1 !important; }
</style>"""
# Elements of the page named like the widget's own: its styles must not reach them.
LOOKALIKES = (
    '<button class="l b" type="button">page button</button><div class="p w">page panel</div>'
    '<h2>page heading</h2><textarea aria-label="page">x</textarea>'
)
PROPS = ("display", "position", "width", "height", "background-color", "color", "font-size",
         "border-radius", "padding", "margin", "box-shadow")  # fmt: skip


async def _widget_pictures(page: Page, url: str) -> tuple[bytes, bytes, FloatRect, FloatRect]:
    """Screenshots of the launcher and the open panel (inside their rounded corners, which show
    the page behind them), and their boxes."""
    await page.goto(url)
    button = launcher(page)
    await expect(button).to_be_visible()
    box_l = await button.bounding_box()
    assert box_l is not None
    inner = _inset(box_l, box_l["width"] * 0.2)  # a square well inside the round launcher
    shot_l = await page.screenshot(clip=inner, animations="disabled", caret="hide")
    await button.click()
    await expect(
        page.locator("chat-widget form.f:not([hidden]) button[type=submit]")
    ).to_be_visible()
    box_p = await panel(page).bounding_box()
    assert box_p is not None
    await page.mouse.move(0, 0)
    await page.locator("h1").click()  # no focus ring in the picture
    shot_p = await page.screenshot(clip=_inset(box_p, 14), animations="disabled", caret="hide")
    return shot_l, shot_p, box_l, box_p


def _inset(box: FloatRect, by: float) -> FloatRect:
    return {"x": box["x"] + by, "y": box["y"] + by,
            "width": box["width"] - 2 * by, "height": box["height"] - 2 * by}  # fmt: skip


async def test_hostile_page_css_does_not_change_the_widget(
    store_page: Page, browser: Browser, shop: Shop
) -> None:
    head = f"<script>{SNIPPET}</script>{embed(shop)}"
    plain = await _widget_pictures(
        store_page, await serve_store_page(store_page, "<h1>Plain</h1>", head)
    )
    context = await browser.new_context()
    try:
        hostile_page = await context.new_page()
        url = await serve_store_page(hostile_page, "<h1>Hostile</h1>", HOSTILE + head)
        hostile = await _widget_pictures(hostile_page, url)
    finally:
        await context.close()
    assert hostile[2] == plain[2], "the launcher moved or changed size"
    assert hostile[3] == plain[3], "the panel moved or changed size"
    assert hostile[0] == plain[0], "the launcher renders differently"
    assert hostile[1] == plain[1], "the panel renders differently"


async def test_the_widget_css_never_reaches_the_page(store_page: Page, shop: Shop) -> None:
    page = store_page
    url = await serve_store_page(page, f"<h1>Store</h1>{LOOKALIKES}",
                                 f"<script>{SNIPPET}</script>")  # fmt: skip
    await page.goto(url)
    without = await _styles(page)
    await page.evaluate(f"""() => {{
        const s = document.createElement("script");
        s.src = "{shop.server.base_url}/widget.js"; s.dataset.site = "{shop.site.key}";
        document.head.appendChild(s);
    }}""")
    await launcher(page).click()
    await expect(panel(page)).to_be_visible()
    assert await _styles(page) == without


async def _styles(page: Page) -> list[dict[str, str]]:
    return await page.evaluate(
        """(props) => [...document.querySelectorAll("body > button, body > div, h2, textarea")]
            .map(el => Object.fromEntries(props.map(p => [p, getComputedStyle(el)[p]])))""",
        list(PROPS),
    )
