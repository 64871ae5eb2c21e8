"""Smoke runs of every load scenario (python -m load ... --json): small numbers, a few seconds
each, checking correctness only (nothing lost, duplicated or reordered; no capacity or FIFO
violation; everyone back after a storm). Speed is never asserted here: docs/performance.md
holds the figures of full runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import scaled

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--max-seconds", "50", "--drain-seconds", "3"]


def run_load(tmp_path: Path, *args: str) -> dict[str, Any]:
    """Run one scenario in its own processes (its own Redis and server) and read its JSON."""
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "load", *args, *SMALL, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=scaled(90), check=False,
    )  # fmt: skip
    assert out.exists(), f"no report (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    report: dict[str, Any] = json.loads(out.read_text())
    assert report["correct"], f"{report['problems']}\n{done.stdout}"
    return report


def assert_every_message_once_in_order(figures: dict[str, Any]) -> None:
    assert figures["sent"] > 0
    assert figures["delivered"] == figures["sent"]
    assert figures["lost"] == 0
    assert figures["duplicated"] == 0
    assert figures["out_of_order"] == 0


def test_relay_delivers_every_message_once_and_in_order(tmp_path: Path) -> None:
    report = run_load(tmp_path, "relay", "--shoppers", "30", "--rate", "60", "--duration", "2",
                      "--echo-seconds", "1")  # fmt: skip
    figures = report["figures"]
    assert_every_message_once_in_order(figures)
    assert figures["echo_floor"]["count"] > 0
    assert report["cost"]["server"]["cpu_seconds"] > 0


def test_relay_across_two_server_processes(tmp_path: Path) -> None:
    report = run_load(tmp_path, "relay", "--servers", "2", "--processes", "2", "--shoppers",
                      "20", "--rate", "40", "--duration", "2", "--echo-seconds", "0")  # fmt: skip
    assert report["figures"]["cross_process"]
    assert_every_message_once_in_order(report["figures"])


def test_burst_keeps_capacity_and_fifo(tmp_path: Path) -> None:
    report = run_load(tmp_path, "burst", "--shoppers", "45", "--agents", "5", "--window", "2",
                      "--messages", "1", "--gap", "0.1")  # fmt: skip
    figures = report["figures"]
    assert figures["assigned"] == figures["arrivals"] == 45
    assert figures["capacity_samples"] > 0
    assert figures["capacity_violations_redis"] == 0
    assert figures["capacity_violations_client"] == 0
    assert figures["fifo_violations"] == 0


def test_idle_connections_all_open(tmp_path: Path) -> None:
    report = run_load(tmp_path, "idle", "--connections", "150", "--idle-seconds", "1")
    assert report["figures"]["open"] == 150
    assert report["figures"]["server_kb_per_connection"] > 0


def test_storm_everyone_comes_back_and_nothing_is_lost(tmp_path: Path) -> None:
    report = run_load(tmp_path, "storm", "--shoppers", "45", "--rate", "45", "--first-drop",
                      "1", "--drop-every", "2", "--idle-shoppers", "20")  # fmt: skip
    figures = report["figures"]
    assert_every_message_once_in_order(figures)
    assert [d["share"] for d in figures["drops"]] == [0.2, 1.0]
    for drop in figures["drops"]:
        assert drop["dropped"] > 0
        assert drop["not_back"] == 0


def test_slow_readers_do_not_lose_messages(tmp_path: Path) -> None:
    report = run_load(tmp_path, "slow", "--shoppers", "60", "--rate", "120", "--slow-share",
                      "0.05", "--baseline-seconds", "1", "--slow-seconds", "1.5",
                      "--recovery-seconds", "1")  # fmt: skip
    figures = report["figures"]
    assert figures["slow_agents"] >= 1
    assert_every_message_once_in_order(figures)


def test_echo_floor(tmp_path: Path) -> None:
    report = run_load(tmp_path, "echo", "--connections", "50", "--rate", "100", "--duration",
                      "1")  # fmt: skip
    assert_every_message_once_in_order({**report["figures"],
                                        "delivered": report["figures"]["sent"]})  # fmt: skip


@pytest.mark.parametrize("url", ["ws://10.0.0.1:8000", "ws://example.com:80"])
def test_generator_refuses_anything_but_loopback(url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "load", "relay", "--url", url, "--redis-url",
         "redis://127.0.0.1:1/0"],
        cwd=ROOT, capture_output=True, text=True, timeout=scaled(30), check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "127.0.0.1 only" in done.stderr


def test_abuse_counts_every_login_answer_and_the_bytes_of_a_conversation(tmp_path: Path) -> None:
    report = run_load(tmp_path, "abuse", "--logins", "6", "--parallel", "3",
                      "--conversations", "2", "--messages", "3")  # fmt: skip
    logins, storage = report["figures"]["logins"], report["figures"]["conversations"]
    assert sum(logins["answers"].values()) == 6
    assert set(logins["answers"]) <= {"401", "429"}, "unknown logins: refused, never a 500"
    assert storage["bytes_per_conversation"] > storage["bytes_with_one_message"] > 0
