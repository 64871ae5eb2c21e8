"""Article Markdown renders to HTML with no script, no event handler and no javascript: link,
and links open in a new tab with rel="noopener nofollow"."""

from __future__ import annotations

from html.parser import HTMLParser

from chatserver.kb import render


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


HOSTILE = """# Title

<script>alert(1)</script>
<img src="x.png" onerror="alert(2)">
<a href="javascript:alert(3)">click</a> [md link](javascript:alert(4))
<div onclick="alert(5)" style="position:fixed">box</div>
<iframe src="https://evil.example"></iframe>

[ok](https://shop.example/returns)
"""


def test_script_tags_and_their_content_are_removed() -> None:
    html = render.to_html(HOSTILE)
    assert "<script" not in html and "alert(1)" not in html
    assert all(tag not in ("script", "iframe", "style") for tag, _ in _tags(html))


def test_no_event_handler_or_style_attribute_survives() -> None:
    for _tag, attrs in _tags(render.to_html(HOSTILE)):
        assert not any(name.startswith("on") or name == "style" for name in attrs)


def test_no_link_or_image_points_at_javascript() -> None:
    for _tag, attrs in _tags(render.to_html(HOSTILE)):
        for name in ("href", "src"):
            assert not (attrs.get(name) or "").strip().lower().startswith("javascript:")


def test_links_open_in_a_new_tab_without_opener_or_ranking() -> None:
    links = [a for tag, a in _tags(render.to_html(HOSTILE)) if tag == "a" and a.get("href")]
    assert links and all(a["target"] == "_blank" for a in links)
    assert all(set((a["rel"] or "").split()) == {"noopener", "nofollow"} for a in links)
    assert {a["href"] for a in links} == {"https://shop.example/returns"}


def test_markdown_still_renders_headings_lists_tables_and_emphasis() -> None:
    html = render.to_html("## Hi\n\n- **bold** item\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert {"h2", "ul", "li", "strong", "table", "td"} <= {t for t, _ in _tags(html)}


def test_plain_text_drops_markup_and_urls() -> None:
    text = render.plain_text("# Returns\n\nSee [our page](https://x.example) **now**.")
    assert text == "Returns See our page now."
    assert render.plain_text("one\ntwo") == "one two"


def test_a_short_text_is_its_own_snippet() -> None:
    assert render.snippet("Short answer.", ["answer"]) == "Short answer."
