"""The deploy/ folder is valid: HAProxy accepts its configuration (`haproxy -c`), and the
compose file runs three servers behind HAProxy on Redis with Sentinel. (The configuration
runs for real in front of three servers in tests/integration/cluster/test_load_balancer.py.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin")
needs_haproxy = pytest.mark.skipif(
    HAPROXY is None, reason="haproxy is not installed (scripts/test.sh installs Debian's)"
)


@needs_haproxy
def test_haproxy_accepts_the_deploy_configuration() -> None:
    assert HAPROXY is not None
    checked = subprocess.run([HAPROXY, "-c", "-f", str(HAPROXY_CFG)], capture_output=True,
                             text=True, timeout=30, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_compose_file_runs_three_servers_behind_haproxy_on_sentinel() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    services = compose["services"]
    chats = [name for name in services if name.startswith("chat")]
    assert len(chats) == 3
    for name in chats:
        env = services[name]["environment"]
        assert env["CHAT_REDIS_URL"].startswith("redis+sentinel://")
        assert "ports" not in services[name], "the servers are reached through HAProxy only"
    haproxy = services["haproxy"]
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in haproxy["volumes"]
    assert {haproxy["environment"][f"CHAT{i}"] for i in (1, 2, 3)} == {
        f"{name}:8000" for name in chats
    }
    sentinels = [n for n in services if n.startswith("sentinel")]
    assert len(sentinels) == 3
    monitored = (ROOT / "deploy" / "sentinel.conf").read_text()
    assert "sentinel monitor chat redis-primary 6379 2" in monitored
