"""The console ships with the package: `pip install .` carries agent_console/ (templates,
scripts, styles, texts) and every data file of chatserver/ (Lua, templates, bundles, demo
data), and the server finds them installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_a_build_carries_the_console_and_the_server_finds_it_there(tmp_path: Path) -> None:
    build = tmp_path / "build"
    # build_py is the step of a wheel build that lays out packages and their data files.
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
         "-d", str(build)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    shipped = {p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file()}
    sources = ROOT / "agent_console"
    for path in sources.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".js", ".css", ".json"):
            if path.name == "tsconfig.json":
                continue
            assert f"agent_console/{path.relative_to(sources).as_posix()}" in shipped
    tracked = subprocess.run(["git", "ls-files", "chatserver"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.split()  # fmt: skip
    data = [name for name in tracked if not name.endswith(".py")]
    assert "chatserver/store/lua/record_put.lua" in data and len(data) > 40
    assert [name for name in data if name not in shipped] == []  # a pattern missing in pyproject
    found = subprocess.run(
        [sys.executable, "-c", "from chatserver.web.console import assets; print(assets())"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(build)}, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    assert Path(found.stdout.strip()) == build / "agent_console"
