"""The demo store's knowledge base: a dozen articles in each language (demo_articles.json) and
an invitation on its cart page, for `chatserver demo` to seed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chatserver.kb.model import Article, parse_article, parse_rules

ARTICLES_FILE = Path(__file__).parent / "demo_articles.json"
# A shopper who has spent a while on the cart page with ¥100 or more in it, while an agent has
# room: a greeting (the demo pages tell the widget `cart: {items, total, currency}`).
CART_INVITATION: dict[str, Any] = {
    "id": "cart-help", "enabled": True, "url": "/demo/*/cart", "seconds_on_page": 15,
    "min_cart_value": 100, "min_cart_items": None, "returning": None, "min_pages": None,
    "exit_intent": False, "business_hours": False, "needs_room": True, "per_days": 1,
    "messages": {
        "en": "Questions before you check out? Ask us: delivery, returns, which tea to pick.",
        "zh-CN": "结账前有疑问吗？配送、退换货、选茶，都可以问我们。",
    },
}  # fmt: skip


def articles(now_ms: int, departments: Sequence[str]) -> list[Article]:
    """The demo articles, validated like any import."""
    data = json.loads(ARTICLES_FILE.read_text("utf-8"))["articles"]
    return [parse_article(a, a["id"], now_ms, departments) for a in data]


def invitations() -> list[dict[str, Any]]:
    return parse_rules([CART_INVITATION])
