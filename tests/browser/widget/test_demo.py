"""The demo store (served by `chatserver demo`, any server in fact): both languages, its pages,
and the widget embedded exactly as a store embeds it."""

from __future__ import annotations

import httpx

from tests.browser.widget.shop import Shop


async def test_demo_store_pages_in_both_languages_embed_the_widget_like_a_store(
    shop: Shop,
) -> None:
    async with httpx.AsyncClient(base_url=shop.server.base_url, trust_env=False) as http:
        assert (await http.get("/demo?lang=zh")).headers["location"] == "/demo/zh"
        chinese = await http.get("/demo", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert chinese.headers["location"] == "/demo/zh"
        assert (await http.get("/demo")).headers["location"] == "/demo/en"
        for path in ("/demo/en", "/demo/zh", "/demo/zh/cart", "/demo/en/product/fan-bamboo"):
            page = await http.get(path, params={"site": shop.site.key})
            assert page.status_code == 200, path
            tag = (f'<script async src="{shop.server.base_url}/widget.js" '
                   f'data-site="{shop.site.key}"></script>')  # fmt: skip
            assert tag in page.text
        assert '<html lang="zh-CN">' in (await http.get("/demo/zh")).text
        assert (await http.get("/demo/fr")).status_code == 404
        assert (await http.get("/demo/en/product/nothing")).status_code == 404
