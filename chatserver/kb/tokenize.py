"""Words for search: jieba's segmentation for Chinese, a lowercase word split for English.

Both drop stopwords (words in nearly every question: "how", "the", "吗", "的") so they neither
match nor dilute. English folds a plain plural `-s` ("returns" -> "return"), nothing more: a
full stemmer would buy little on short FAQ texts. Chinese adds each character of a multi-character
word, so "能退吗" (退) still meets "退货" in an article; BM25's idf keeps such common characters
cheap. jieba is imported and loads its dictionary (~0.7 CPU-s) on first use, which is inside
the thread that builds a site's indexes: a process that never searches Chinese never pays it.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from typing import Any

_lock = threading.Lock()
_WORD = re.compile(r"[0-9a-z]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_EN_STOP = """
a about after again all am an and any are as at be been before being but by can could did do
does doing for from get got had has have having he her here hi him his how i if in into is it
its just me my no not now of off on once only or our out please so some than that the their them
then there these they this to too up us very was we were what when where which while who whom
why will with would you your yours hello thanks thank
"""
_ZH_STOP = """
的 了 吗 呢 吧 啊 呀 是 我 你 您 他 她 它 们 我们 你们 在 有 和 与 及 或 就 都 也 还 这 那 这个 那个
怎么 怎样 如何 什么 请问 请 一下 可以 能 能否 会 要 想 么 哪 哪里 多少 几 个 把 被 给 对 从 到
"""


EN_STOPWORDS = frozenset(_EN_STOP.split())
ZH_STOPWORDS = frozenset(_ZH_STOP.split())


def warm_up() -> None:
    """Import jieba and load its dictionary now (from a thread, not the event loop)."""
    _jieba()


@functools.cache
def _jieba() -> Any:  # the jieba module (untyped)
    with _lock:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return jieba


def tokens(text: str, lang: str) -> list[str]:
    """The search words of `text` in `lang` ('zh-CN': segmented; anything else: English)."""
    return zh_tokens(text) if lang == "zh-CN" else en_tokens(text)


def en_tokens(text: str) -> list[str]:
    return [_fold(w) for w in _WORD.findall(text.casefold()) if w not in EN_STOPWORDS]


def zh_tokens(text: str) -> list[str]:
    """Chinese words (jieba's search mode), their characters, and any Latin words in the
    text treated as English (brand names, "EMS", "PayPal")."""
    out: list[str] = []
    for word in _jieba().lcut_for_search(text.casefold()):
        if _WORD.fullmatch(word):
            if word not in EN_STOPWORDS:
                out.append(_fold(word))
        elif _HAN.search(word) and word not in ZH_STOPWORDS:
            out.append(word)
            if len(word) > 1:
                out.extend(c for c in word if _HAN.match(c) and c not in ZH_STOPWORDS)
    return out


def _fold(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word
