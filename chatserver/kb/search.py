"""Ranking articles for a shopper's question: BM25 (bm25s) over the words of `tokenize`.

One `Index` holds the published articles of one site and language. Fields are weighted by
repetition, the usual trick with a single-field BM25: the title counts TITLE_WEIGHT times, each
tag TAG_WEIGHT times, the body once. An index is immutable: a change builds a new one (a
thousand articles take well under a second; see docs/performance.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatserver.kb import render, tokenize

if TYPE_CHECKING:
    import bm25s
from chatserver.kb.model import Article

TITLE_WEIGHT = 3
TAG_WEIGHT = 2
_EMPTY = "\x00"  # stands in for a document without words (bm25s needs one word per document)


@dataclass(frozen=True, slots=True)
class Hit:
    article: Article
    score: float
    snippet: str


class Index:
    """The published articles of one language, ready to search."""

    def __init__(self, lang: str, articles: Iterable[Article]) -> None:
        self.lang = lang
        self.articles = [a for a in articles if a.lang == lang and a.published]
        self._texts = [render.plain_text(a.body) for a in self.articles]
        self._bm25: bm25s.BM25 | None = None
        if self.articles:
            docs = [self._words(a, text) for a, text in zip(self.articles, self._texts,
                                                               strict=True)]  # fmt: skip
            import bm25s  # here, not at import: numpy and bm25s cost every process 0.1 s

            logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each build at DEBUG
            self._bm25 = bm25s.BM25()
            self._bm25.index(docs, show_progress=False)

    def _words(self, article: Article, text: str) -> list[str]:
        words = tokenize.tokens(article.title, self.lang) * TITLE_WEIGHT
        for tag in article.tags:
            words += tokenize.tokens(tag.replace("-", " "), self.lang) * TAG_WEIGHT
        words += tokenize.tokens(text, self.lang)
        return words or [_EMPTY]

    def search(self, query: str, limit: int = 3) -> list[Hit]:
        """The best `limit` articles for `query`, best first (only those sharing a word)."""
        terms = tokenize.tokens(query, self.lang)
        if self._bm25 is None or not terms:
            return []
        import numpy as np

        scores = self._bm25.get_scores(terms)
        ranked = [int(i) for i in np.argsort(-scores, kind="stable")[:limit]]
        snippet_terms = [t for t in terms if len(t) > 1] or terms
        return [
            Hit(self.articles[i], float(scores[i]),
                render.snippet(self._texts[i], snippet_terms))
            for i in ranked if scores[i] > 0
        ]  # fmt: skip
