"""The package's layers, checked from its source: `core/` does no I/O, and only `store/` talks
to Redis (everything else goes through it). A new import that breaks this fails here."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "chatserver"
# What the pure core may not import: I/O, networking, processes, our outer layers.
IO_MODULES = (
    "asyncio", "socket", "ssl", "subprocess", "selectors", "redis", "starlette", "uvicorn",
    "websockets", "httpx", "httpcore", "aiosmtplib", "aiosmtpd",
    "chatserver.store", "chatserver.gateway", "chatserver.web", "chatserver.hub",
)  # fmt: skip


def _imports(path: Path) -> set[str]:
    """Every module `path` imports (absolute names; relative imports are not used here)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_core_imports_no_io_and_nothing_of_the_outer_layers() -> None:
    found = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / "core").rglob("*.py")
        for name in _imports(path)
        if _under(name, IO_MODULES)
    }
    assert not found, sorted(found)


def test_only_the_store_imports_redis() -> None:
    found = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in PACKAGE.rglob("*.py")
        if "store" not in path.relative_to(PACKAGE).parts
        for name in _imports(path)
        if _under(name, ("redis",))
    }
    assert not found, sorted(found)


# The hub's stores. The gateway asks the hub for everything (its one door to storage); the
# other layers (web, mail, reports, attachments) use the hub's operations for conversations,
# transcripts and agents, and the feature stores (index, articles, outbox...) directly; no
# layer but the store and the hub holds a Redis client.
HUB_STORES = frozenset({
    "conversations", "transcripts", "agents", "customers", "attachments", "index", "articles",
    "logins", "outbox", "rollups", "scripts", "orders", "quick_replies", "mailbox",
})  # fmt: skip
CORE_STORES = frozenset({"conversations", "transcripts", "agents"})


def _store_reaches(source: str, name: str, stores: frozenset[str]) -> set[str]:
    """`hub.<store>` or `….hub.<store>` in `source` (of `stores`), and any `.redis`."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        hub = (isinstance(owner, ast.Name) and owner.id in ("hub", "h")) or (
            isinstance(owner, ast.Attribute) and owner.attr in ("hub", "_hub")
        )
        if node.attr == "redis" or (hub and node.attr in stores):
            found.add(f"{name}:{node.lineno}: .{node.attr}")
    return found


def _reaches_under(folder: Path, stores: frozenset[str]) -> set[str]:
    return {
        reach
        for path in folder.rglob("*.py")
        if "store" not in path.relative_to(PACKAGE).parts and path.name != "hub.py"
        for reach in _store_reaches(path.read_text("utf-8"), str(path.relative_to(PACKAGE)), stores)
    }


def test_the_gateway_reaches_storage_only_through_the_hub() -> None:
    found = _reaches_under(PACKAGE / "gateway", HUB_STORES)
    assert not found, sorted(found)


def test_only_the_store_and_the_hub_reach_redis_or_the_core_stores() -> None:
    found = _reaches_under(PACKAGE, CORE_STORES)
    assert not found, sorted(found)


def test_the_guard_sees_imports() -> None:
    assert "redis.asyncio" in _imports(PACKAGE / "store" / "clients.py")
    assert "chatserver.core.model" in _imports(PACKAGE / "store" / "conversations.py")


def test_the_guard_sees_store_reaches() -> None:
    source = "self.hub.conversations.get(s, c)\nh.agents.state(a)\nx.redis.ping()\nhub.now_ms()\n"
    found = _store_reaches(source, "f", CORE_STORES)
    assert found == {"f:1: .conversations", "f:2: .agents", "f:3: .redis"}
