"""Articles and invitation rules: their fields, limits and validation (errors are
`ValidationError` with a message naming the field)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chatserver.core.model import ValidationError

LANGS = ("en", "zh-CN")
STATUSES = ("published", "draft")
MAX_TITLE = 200
MAX_BODY = 20_000
MAX_TAGS = 10
MAX_ARTICLES = 5_000  # per site: an import or a create beyond it is refused
MAX_RULES = 20
MAX_MESSAGE = 300
MAX_URL = 200
RESERVED_IDS = frozenset({"search", "export", "import", "preview"})  # path words of the API
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TAG = re.compile(r"^[^\s,]{1,32}$")


@dataclass(frozen=True, slots=True)
class Article:
    """One FAQ article; `body` is Markdown."""

    id: str
    lang: str
    title: str
    body: str
    tags: tuple[str, ...] = ()
    department: str | None = None
    status: str = "published"
    updated_at: int = 0

    @property
    def published(self) -> bool:
        return self.status == "published"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "lang": self.lang, "title": self.title, "body": self.body,
            "tags": list(self.tags), "department": self.department, "status": self.status,
            "updated_at": self.updated_at,
        }  # fmt: skip


def valid_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


def parse_article(
    data: Mapping[str, Any], article_id: str, now_ms: int, departments: Sequence[str]
) -> Article:
    """An article from a JSON object (create, replace or import), or ValidationError."""
    if not valid_id(article_id) or article_id in RESERVED_IDS:
        raise ValidationError(
            "id: 1-64 letters, digits, _ or - (not search, export, import, preview)"
        )
    lang = data.get("lang")
    if lang not in LANGS:
        raise ValidationError(f"lang must be one of {', '.join(LANGS)}")
    status = data.get("status", "published")
    if status not in STATUSES:
        raise ValidationError("status must be published or draft")
    department = data.get("department")
    if department is not None and department not in departments:
        raise ValidationError(f"department must be null or one of {', '.join(departments)}")
    return Article(
        id=article_id, lang=lang, title=_text(data, "title", MAX_TITLE),
        body=_text(data, "body", MAX_BODY), tags=parse_tags(data.get("tags", [])),
        department=department, status=status, updated_at=now_ms,
    )  # fmt: skip


def article_from_dict(data: Mapping[str, Any]) -> Article:
    """An article as stored (already validated when written)."""
    return Article(
        id=str(data["id"]), lang=str(data["lang"]), title=str(data["title"]),
        body=str(data["body"]), tags=tuple(data.get("tags") or ()),
        department=data.get("department"), status=str(data.get("status", "published")),
        updated_at=int(data.get("updated_at") or 0),
    )  # fmt: skip


def parse_tags(raw: Any) -> tuple[str, ...]:
    """Tags as stored: stripped, lowercase, each once, at most MAX_TAGS of 1-32 characters."""
    if not isinstance(raw, list):
        raise ValidationError("tags must be a list of strings")
    tags: list[str] = []
    for item in raw:
        tag = item.strip().casefold() if isinstance(item, str) else ""
        if not _TAG.match(tag):
            raise ValidationError("a tag is 1-32 characters without spaces or commas")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"at most {MAX_TAGS} tags")
    return tuple(tags)


def _text(data: Mapping[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} is required (a non-empty string)")
    if len(value) > limit:
        raise ValidationError(f"{name} is longer than {limit} characters")
    return value.strip()


# --- invitation rules -------------------------------------------------------------------------
_OPTIONAL_INTS = {"seconds_on_page": 86_400, "min_cart_items": 10_000, "min_pages": 1_000}
_FLAGS = ("exit_intent", "business_hours", "needs_room")


def parse_rules(raw: Any) -> list[dict[str, Any]]:
    """The invitation rules of a site (docs/api.md: RULE), normalised, or ValidationError."""
    if not isinstance(raw, list):
        raise ValidationError("invitations must be a list of rules")
    if len(raw) > MAX_RULES:
        raise ValidationError(f"at most {MAX_RULES} invitation rules")
    rules = [parse_rule(item, n) for n, item in enumerate(raw, 1)]
    if len({r["id"] for r in rules}) != len(rules):
        raise ValidationError("invitation rule ids must be unique")
    return rules


def parse_rule(item: Any, n: int) -> dict[str, Any]:
    """One rule (`n`: its place in the list, for messages and the default id)."""
    if not isinstance(item, dict):
        raise ValidationError(f"rule {n}: must be an object")
    where = f"rule {n}"
    rule_id = item.get("id", f"rule-{n}")
    if not valid_id(rule_id):
        raise ValidationError(f"{where}: id is 1-64 letters, digits, _ or -")
    rule: dict[str, Any] = {"id": rule_id, "enabled": _flag(item, "enabled", True, where),
                            "url": _url(item.get("url"), where)}  # fmt: skip
    for name, top in _OPTIONAL_INTS.items():
        rule[name] = _int_or_none(item.get(name), name, 0 if name != "min_pages" else 1, top, where)
    rule["min_cart_value"] = _number_or_none(item.get("min_cart_value"), where)
    returning = item.get("returning")
    if returning is not None and not isinstance(returning, bool):
        raise ValidationError(f"{where}: returning must be true, false or null")
    rule["returning"] = returning
    for name in _FLAGS:
        rule[name] = _flag(item, name, False, where)
    rule["messages"] = _messages(item.get("messages"), where)
    per_days = _int_or_none(item.get("per_days", 1), "per_days", 1, 365, where)
    rule["per_days"] = 1 if per_days is None else per_days
    return rule


def _flag(item: Mapping[str, Any], name: str, default: bool, where: str) -> bool:
    value = item.get(name, default)
    if not isinstance(value, bool):
        raise ValidationError(f"{where}: {name} must be true or false")
    return value


def _url(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_URL:
        raise ValidationError(f"{where}: url is null or a path glob starting with / "
                              f"(at most {MAX_URL} characters), e.g. /demo/*/cart")  # fmt: skip
    return value


def _int_or_none(value: Any, name: str, low: int, high: int, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{where}: {name} must be null or an integer {low}..{high}")
    return value


def _number_or_none(value: Any, where: str) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1e12:
        raise ValidationError(f"{where}: min_cart_value must be null or a number >= 0")
    return value


def _messages(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise ValidationError(f"{where}: messages is an object of language -> text")
    messages: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in LANGS:
            raise ValidationError(f"{where}: messages: language must be one of {', '.join(LANGS)}")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_MESSAGE:
            raise ValidationError(f"{where}: messages.{lang} must be 1-{MAX_MESSAGE} characters")
        messages[lang] = text.strip()
    return messages
