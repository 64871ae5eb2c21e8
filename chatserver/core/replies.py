"""Quick replies: short texts agents insert with `/`, with variables from the conversation.

A reply's text is a tiny template: `Hello {{ customer.name }}, order {{ order.number }}...`.
Only variable output is allowed (with a few harmless filters), checked on the syntax tree before
anything runs, and rendered by jinja2's SandboxedEnvironment with StrictUndefined. A variable
that is missing or blank is reported by name (`order.tracking_url`) instead of being rendered
empty: the agent sees it before anything reaches the customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

from chatserver.core.model import ValidationError, check_slug
from chatserver.core.orders import Order

MAX_TEMPLATE = 4000
MAX_TITLE = 80
MAX_NESTING = 32  # '{{ x }}' is 2 deep; a real reply never comes near
SCOPES = ("shared", "personal")
ALLOWED_FILTERS = frozenset(
    {"default", "upper", "lower", "title", "capitalize", "trim", "truncate"}
)
_ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr,
    nodes.Getitem, nodes.Const, nodes.Filter, nodes.Concat,
)  # fmt: skip
_SHORTCUT = re.compile(r"^[\w-]{1,32}$")


class _StrictPath(ChainableUndefined, StrictUndefined):
    """StrictUndefined (rendering an undefined value fails) that lets `customer.name` of an
    undefined `customer` through to a `|default(...)`, as a plain StrictUndefined would not."""


_env = SandboxedEnvironment(undefined=_StrictPath, autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True, slots=True)
class QuickReply:
    """A shared reply (site-wide, or for one `department`) or a personal one (of `owner`)."""

    id: str
    scope: str
    shortcut: str
    title: str
    text: str
    department: str = ""  # shared replies: '' = every department
    owner: str = ""  # personal replies: the agent's login
    updated_ms: int = 0

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValidationError("scope must be shared or personal")
        if not _SHORTCUT.fullmatch(self.shortcut):
            raise ValidationError("shortcut must be 1-32 letters, digits, '_' or '-'")
        if not self.title.strip() or len(self.title) > MAX_TITLE:
            raise ValidationError(f"title must be 1-{MAX_TITLE} characters")
        if self.department:
            check_slug(self.department, "department")
        if (self.scope == "personal") != bool(self.owner):
            raise ValidationError("a personal reply has an owner, a shared one none")
        check_template(self.text)


@dataclass(frozen=True, slots=True)
class Rendered:
    """The text to insert, or (text '') the variables it needs that the context lacks."""

    text: str
    missing: tuple[str, ...] = ()


def check_template(template: str) -> None:
    """Raise ValidationError unless `template` is a reply text we will render."""
    if not template.strip() or len(template) > MAX_TEMPLATE:
        raise ValidationError(f"text must be 1-{MAX_TEMPLATE} characters")
    if _nesting(template) > MAX_NESTING:
        raise ValidationError(f"brackets may nest at most {MAX_NESTING} deep")
    try:
        tree = _env.parse(template)
    except TemplateError as exc:
        raise ValidationError(f"template syntax: {exc}") from None
    except RecursionError:  # the parser recurses per level: never a 500 for a deep template
        raise ValidationError("the template nests too deep") from None
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise ValidationError(
                f"only {{{{ variables }}}} are allowed, not {type(node).__name__}"
            )
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            raise ValidationError(f"filter {node.name!r} is not allowed")
        if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
            raise ValidationError("only constant keys are allowed in [...]")
        name = node.attr if isinstance(node, nodes.Getattr) else _const_key(node)
        if name.startswith("_"):
            raise ValidationError(f"no such variable part {name!r}")


def _nesting(template: str) -> int:
    """The deepest nesting of brackets in the text (jinja's parser recurses once per level)."""
    depth = deepest = 0
    for char in template:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth = max(0, depth - 1)
    return deepest


def _const_key(node: nodes.Node) -> str:
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return str(node.arg.value)
    return ""


def render(template: str, context: Mapping[str, Any]) -> Rendered:
    """Fill the template from `context` (nested dicts of strings and numbers). Variables that
    are absent, None or blank are returned in `missing` and nothing is rendered."""
    check_template(template)
    tree = _env.parse(template)
    missing = tuple(dict.fromkeys(p for p in _needed_paths(tree) if _blank(context, p)))
    if missing:
        return Rendered("", missing)
    try:
        text = _env.from_string(template).render(**context)
    except TemplateError as exc:  # an undefined the path check could not see, a sandbox refusal
        raise ValidationError(f"cannot render: {exc}") from None
    if len(text) > MAX_TEMPLATE:
        raise ValidationError(f"the rendered text is longer than {MAX_TEMPLATE} characters")
    return Rendered(text)


def context(
    *,
    customer: Mapping[str, str] | None,
    latest_order: Order | None,
    agent_name: str,
    site_name: str,
) -> dict[str, Any]:
    """The variables a reply may use: customer.{id,name,email,phone,verified},
    order.{number,status,date,total,currency,carrier,tracking_number,tracking_url,
    payment_status,shipping_status} (the customer's latest order), agent.name, site.name.
    An unknown customer or no order leaves those names out (they are then reported missing)."""
    values: dict[str, Any] = {"agent": {"name": agent_name}, "site": {"name": site_name}}
    if customer:
        values["customer"] = dict(customer)
    if latest_order is not None:
        o = latest_order
        values["order"] = {
            "number": o.number, "status": o.status, "currency": o.currency,
            "date": datetime.fromtimestamp(o.placed_ms / 1000, UTC).strftime("%Y-%m-%d"),
            "total": o.totals.get("total", ""), "carrier": o.carrier,
            "tracking_number": o.tracking_number, "tracking_url": o.tracking_url,
            "payment_status": o.payment_status, "shipping_status": o.shipping_status,
        }  # fmt: skip
    return values


def variables(template: str) -> list[str]:
    """The dotted variable paths a template uses (for documentation and the editor)."""
    return list(dict.fromkeys(_paths(_env.parse(template), skip_defaulted=False)))


def _needed_paths(tree: nodes.Template) -> Iterator[str]:
    return _paths(tree, skip_defaulted=True)


def _paths(node: nodes.Node, skip_defaulted: bool) -> Iterator[str]:
    """Outermost variable paths (`order.number`, not `order`); under `|default` they are not
    needed, the filter supplies a value."""
    if skip_defaulted and isinstance(node, nodes.Filter) and node.name == "default":
        return
    path = _path_of(node)
    if path is not None:
        yield path
        return
    for child in node.iter_child_nodes():
        yield from _paths(child, skip_defaulted)


def _path_of(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        base = _path_of(node.node)
        return None if base is None else f"{base}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = _path_of(node.node)
        return None if base is None else f"{base}.{node.arg.value}"
    return None


def _blank(context: Mapping[str, Any], path: str) -> bool:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return True
        value = value[part]
    return value is None or (isinstance(value, str) and not value.strip())
