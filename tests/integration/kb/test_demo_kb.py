"""`chatserver demo` seeds the demo store's FAQ articles (both languages) and its cart-page
invitation, and the widget finds them."""

from __future__ import annotations

from pathlib import Path

import httpx

from chatserver.store.embedded import free_port
from tests.integration.test_cli import _start_demo, _stop


def test_the_demo_store_answers_faq_questions_and_invites_on_its_cart_page(
    tmp_path: Path,
) -> None:
    port = free_port()
    demo = _start_demo(tmp_path / "data", port, tmp_path / "demo.log")
    try:
        base = f"http://127.0.0.1:{port}/api/v1/sites/demo"
        found = httpx.get(f"{base}/articles/search", params={"q": "退货", "lang": "zh-CN"})
        assert found.json()["articles"][0]["id"] == "zh-returns"
        found = httpx.get(f"{base}/articles/search", params={"q": "can I return opened tea"})
        assert found.json()["articles"][0]["id"] == "en-opened-tea"
        config = httpx.get(f"{base}/widget-config").json()
        assert config["articles"] is True
        assert [r["url"] for r in config["invitations"]] == ["/demo/*/cart"]
    finally:
        assert _stop(demo) == 0
