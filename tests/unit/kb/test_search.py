"""Search ranks the right article in the top 3 for real shoppers' questions, in Chinese and
English, against the fixed corpus in corpus.json (a copy of the demo's articles)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from chatserver.kb.model import Article, article_from_dict
from chatserver.kb.search import Index

CORPUS = json.loads((Path(__file__).parent / "corpus.json").read_text("utf-8"))


@cache
def _index(lang: str) -> Index:
    return Index(lang, [article_from_dict(a) for a in CORPUS["articles"]])


def test_the_corpus_asks_enough_questions_in_both_languages() -> None:
    langs = [q["lang"] for q in CORPUS["questions"]]
    assert langs.count("en") >= 10 and langs.count("zh-CN") >= 10 and len(langs) >= 20


@pytest.mark.parametrize("question", CORPUS["questions"], ids=lambda q: q["q"])
def test_the_expected_article_is_in_the_top_three(question: dict[str, str]) -> None:
    hits = _index(question["lang"]).search(question["q"], 3)
    assert question["expect"] in [h.article.id for h in hits]


def test_returns_in_chinese_and_opened_tea_in_english_rank_first() -> None:
    assert _index("zh-CN").search("退货", 3)[0].article.id == "zh-returns"
    assert _index("en").search("can I return opened tea?", 3)[0].article.id == "en-opened-tea"


def test_drafts_and_other_languages_are_never_found() -> None:
    draft = Article("d1", "en", "Secret returns draft", "returns returns", status="draft")
    zh = Article("z1", "zh-CN", "退货 returns", "returns")
    live = Article("e1", "en", "Delivery", "parcels")
    index = Index("en", [draft, zh, live])
    assert index.search("returns", 3) == []


def test_the_title_weighs_more_than_the_body() -> None:
    in_title = Article("t", "en", "Gift wrapping", "We can help.")
    in_body = Article("b", "en", "Extras", "We offer gift wrapping and cards, and gift notes.")
    hits = Index("en", [in_body, in_title]).search("gift wrapping", 3)
    assert [h.article.id for h in hits] == ["t", "b"]


def test_tags_count() -> None:
    tagged = Article("t", "en", "Our policy", "Details below.", tags=("refund",))
    other = Article("o", "en", "Payment", "How to pay.")
    assert [h.article.id for h in Index("en", [other, tagged]).search("refund", 3)] == ["t"]


def test_a_question_of_stopwords_only_or_unknown_words_finds_nothing() -> None:
    assert _index("en").search("how can I do this", 3) == []
    assert _index("en").search("xylophone", 3) == []
    assert Index("en", []).search("returns", 3) == []


def test_the_snippet_quotes_the_text_around_the_words_asked_for() -> None:
    body = "Intro. " * 40 + "Pu'er keeps for years if it can breathe."
    hit = Index("en", [Article("p", "en", "Storage", body)]).search("breathe", 1)[0]
    assert "breathe" in hit.snippet and len(hit.snippet) <= 162
