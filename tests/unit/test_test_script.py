"""What scripts/test.sh promises the tests: under CI=true, asyncio debug mode."""

from __future__ import annotations

import asyncio
import os


async def test_the_loop_runs_in_debug_mode_when_the_test_command_asks_for_it() -> None:
    # scripts/test.sh sets PYTHONASYNCIODEBUG=1 under CI=true; pytest-asyncio ignores it and
    # needs --asyncio-debug, which the script must pass too.
    assert asyncio.get_running_loop().get_debug() == bool(os.environ.get("PYTHONASYNCIODEBUG"))
