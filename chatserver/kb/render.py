"""Article Markdown to safe HTML, and plain-text snippets for search results.

markdown-it-py renders (CommonMark plus tables, raw HTML allowed through to the sanitiser so
authors may use <kbd> or <br>); nh3 (the Rust `ammonia` sanitiser) then keeps only the tags and
attributes below: no script or style, no event handlers, only http(s)/mailto/tel links, which
open in a new tab with rel="noopener nofollow".
"""

from __future__ import annotations

import functools
import re

import nh3
from markdown_it import MarkdownIt

TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "del", "s",
    "code", "pre", "kbd", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody",
    "tr", "th", "td",
})  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
SNIPPET_CHARS = 160
_SPACE = re.compile(r"\s+")


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")


def to_html(markdown: str) -> str:
    """The sanitised HTML of an article body."""
    return nh3.clean(
        _parser().render(markdown), tags=set(TAGS), attributes=ATTRIBUTES,
        url_schemes=set(URL_SCHEMES), link_rel="noopener nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )  # fmt: skip


def plain_text(markdown: str) -> str:
    """The words of an article body without its markup (what search indexes and snippets
    quote): the text of inline tokens, link texts included, URLs and raw HTML left out."""
    parts: list[str] = []
    for token in _parser().parse(markdown):
        if token.type == "inline" and token.children:
            parts.extend(_inline_text(c.type, c.content) for c in token.children)
        elif token.type in ("fence", "code_block"):
            parts.append(token.content)
        parts.append(" ")
    return _SPACE.sub(" ", "".join(parts)).strip()


def _inline_text(kind: str, content: str) -> str:
    if kind in ("text", "code_inline"):
        return content
    return " " if kind in ("softbreak", "hardbreak") else ""


def snippet(text: str, terms: list[str], limit: int = SNIPPET_CHARS) -> str:
    """Up to `limit` characters of `text`, around the first of `terms` it contains."""
    if len(text) <= limit:
        return text
    folded = text.casefold()
    found = [i for i in (folded.find(t) for t in terms if t) if i >= 0]
    start = max(0, min(found) - limit // 4) if found else 0
    start = min(start, len(text) - limit)
    return ("…" if start else "") + text[start : start + limit].strip() + "…"
