"""Articles and invitation rules are validated with messages that name the field."""

from __future__ import annotations

import pytest

from chatserver.core import frames, outgoing
from chatserver.core.frames import ProtocolError
from chatserver.core.model import Conversation, ConversationState, ValidationError
from chatserver.kb import model

DEPTS = ("pre-sales", "after-sales")
GOOD = {"lang": "zh-CN", "title": " 退货 ", "body": "30天", "tags": ["Returns", "returns"],
        "department": "after-sales", "status": "draft"}  # fmt: skip


def test_a_valid_article_is_normalised() -> None:
    article = model.parse_article(GOOD, "a1", 5, DEPTS)
    assert (article.title, article.tags, article.status, article.updated_at) == (
        "退货", ("returns",), "draft", 5)  # fmt: skip


@pytest.mark.parametrize(("change", "message"), [
    ({"lang": "fr"}, "lang"), ({"status": "live"}, "status"), ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"), ({"body": "x" * 20_001}, "body"),
    ({"department": "billing"}, "department"), ({"tags": "a,b"}, "tags"),
    ({"tags": ["a b"]}, "tag"), ({"tags": [str(i) for i in range(11)]}, "tags"),
])  # fmt: skip
def test_invalid_articles_are_refused_naming_the_field(change: dict[str, object],
                                                      message: str) -> None:  # fmt: skip
    with pytest.raises(ValidationError, match=message):
        model.parse_article({**GOOD, **change}, "a1", 0, DEPTS)


def test_reserved_and_malformed_ids_are_refused() -> None:
    for bad in ("export", "search", "a/b", "", "x" * 65):
        with pytest.raises(ValidationError, match="id"):
            model.parse_article(GOOD, bad, 0, DEPTS)


def test_a_rule_gets_its_defaults() -> None:
    (rule,) = model.parse_rules([{"messages": {"en": "Need help?"}, "url": "/demo/*/cart"}])
    assert rule == {
        "id": "rule-1", "enabled": True, "url": "/demo/*/cart", "seconds_on_page": None,
        "min_cart_items": None, "min_pages": None, "min_cart_value": None, "returning": None,
        "exit_intent": False, "business_hours": False, "needs_room": False,
        "messages": {"en": "Need help?"}, "per_days": 1,
    }  # fmt: skip


@pytest.mark.parametrize(("change", "message"), [
    ({"url": "cart"}, "url"), ({"seconds_on_page": -1}, "seconds_on_page"),
    ({"min_cart_value": "100"}, "min_cart_value"), ({"min_cart_items": 1.5}, "min_cart_items"),
    ({"returning": "yes"}, "returning"), ({"min_pages": 0}, "min_pages"),
    ({"exit_intent": 1}, "exit_intent"), ({"messages": {}}, "messages"),
    ({"messages": {"de": "Hallo"}}, "language"), ({"per_days": 0}, "per_days"),
    ({"id": "a b"}, "id"),
])  # fmt: skip
def test_invalid_rules_are_refused_naming_the_field(change: dict[str, object],
                                                   message: str) -> None:  # fmt: skip
    rule = {"messages": {"en": "Hi", "zh-CN": "您好"}, **change}
    with pytest.raises(ValidationError, match=message):
        model.parse_rules([rule])


def test_rule_ids_are_unique_and_the_list_is_bounded() -> None:
    with pytest.raises(ValidationError, match="unique"):
        model.parse_rules([{"id": "a", "messages": {"en": "x"}}] * 2)
    with pytest.raises(ValidationError, match="at most"):
        model.parse_rules([{"messages": {"en": "x"}}] * 21)


def test_start_frames_carry_up_to_ten_article_ids() -> None:
    frame = frames.validate({"type": "start", "articles_read": ["a", "b"]}, frames.SHOPPER_FRAMES)
    assert frame["articles_read"] == ["a", "b"]
    for bad in (["x"] * 11, [1], "a", [""]):
        with pytest.raises(ProtocolError) as err:
            frames.validate({"type": "start", "articles_read": bad}, frames.SHOPPER_FRAMES)
        assert err.value.code is frames.ErrorCode.INVALID_FIELD


def test_agents_conversation_frames_list_the_articles_read() -> None:
    read = '[{"id": "zh-returns", "title": "退货"}]'
    conv = Conversation(id="c", site="s", department="d", visitor="v",
                        state=ConversationState.QUEUED, extra={"articles_read": read})  # fmt: skip
    agent = outgoing.conversation(conv, outgoing.AGENT, None)
    assert agent["articles_read"] == [{"id": "zh-returns", "title": "退货"}]
    assert "articles_read" not in outgoing.conversation(conv, outgoing.SHOPPER, None)
