"""The demo's knowledge base: a dozen valid articles in each language, and an invitation for
its cart page."""

from __future__ import annotations

import fnmatch

from chatserver.demo import DEMO_SITE
from chatserver.kb import demo
from chatserver.kb.search import Index


def test_the_demo_has_a_dozen_valid_articles_in_each_language() -> None:
    articles = demo.articles(1, DEMO_SITE.departments)
    for lang in ("en", "zh-CN"):
        assert len([a for a in articles if a.lang == lang and a.published]) >= 12
    assert len({a.id for a in articles}) == len(articles)


def test_the_demo_answers_the_questions_of_the_issue() -> None:
    articles = demo.articles(1, DEMO_SITE.departments)
    assert Index("zh-CN", articles).search("退货", 1)[0].article.id == "zh-returns"
    assert Index("en", articles).search("can I return opened tea?", 1)[0].article.id == (
        "en-opened-tea")  # fmt: skip


def test_the_cart_invitation_matches_the_demo_cart_pages() -> None:
    (rule,) = demo.invitations()
    assert rule["enabled"] and rule["needs_room"] and rule["min_cart_value"] == 100
    for path in ("/demo/en/cart", "/demo/zh/cart"):
        assert fnmatch.fnmatch(path, rule["url"])
    assert not fnmatch.fnmatch("/demo/en/product/tea-1", rule["url"])
