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


def test_the_guard_sees_imports() -> None:
    assert "redis.asyncio" in _imports(PACKAGE / "store" / "clients.py")
    assert "chatserver.core.model" in _imports(PACKAGE / "store" / "conversations.py")
