"""What /proc says about processes: CPU seconds (utime + stime) and resident memory."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (0 if it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # fields[0] is field 3 (state): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (0 if it is gone)."""
    try:
        resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
    except OSError:
        return 0
    return int(resident) * _PAGE


def with_descendants(pids: list[int]) -> list[int]:
    """`pids` and every process below them (uvicorn workers, for instance)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo.extend(parents.get(pid, []))
    return found


def total_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def total_rss(pids: list[int]) -> int:
    return sum(rss_bytes(pid) for pid in pids)


def parse_cpus(spec: str) -> set[int]:
    """A CPU list as taskset takes it: '0', '0,1', '0-3'."""
    cpus: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            low, high = part.split("-", 1)
            cpus.update(range(int(low), int(high) + 1))
        elif part:
            cpus.add(int(part))
    if not cpus:
        raise ValueError(f"empty CPU list {spec!r}")
    return cpus


def pin(pid: int, cpus: set[int] | None) -> None:
    """Restrict a process to `cpus` (no-op for None): every thread it has now (a redis-server
    started before is pinned whole, its background threads too), and those it makes later."""
    if not cpus:
        return
    os.sched_setaffinity(pid, cpus)
    if pid:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError):  # a thread that just ended
                    os.sched_setaffinity(int(task.name), cpus)
