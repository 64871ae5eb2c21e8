"""The `chatserver` command as a newcomer uses it: demo, serve, agent, site."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import wcwidth
from redis.asyncio import Redis

from chatserver.store.embedded import free_port
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.world import make_site, shopper_client, start_chat


def _chatserver(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    return subprocess.run(
        [sys.executable, "-m", "chatserver", *args],
        capture_output=True, text=True, env={**clean, **(env or {})}, timeout=scaled(60),
    )  # fmt: skip


def _start_demo(data: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chatserver", "demo", "--port", str(port),
             "--data-dir", str(data)],
            stdout=out, stderr=subprocess.STDOUT, env=clean,
        )  # fmt: skip
    deadline = time.monotonic() + scaled(30)
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        time.sleep(0.1)  # polling a child process's readiness: no event to wait on
    process.kill()
    raise AssertionError(f"demo never ready:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=scaled(30))


def test_demo_needs_nothing_running_and_keeps_its_data_across_restarts(tmp_path: Path) -> None:
    data, port, log = tmp_path / "data", free_port(), tmp_path / "demo.log"
    demo = _start_demo(data, port, log)
    try:
        printed = log.read_text()
        assert "alice" in printed and "password 'demo'" in printed
        login = httpx.post(f"http://127.0.0.1:{port}/api/v1/login",
                           json={"login": "alice", "password": "demo"})  # fmt: skip
        assert login.status_code == 200 and login.json()["token"]
        added = _chatserver("agent", "add", "dana", "--name", "Dana", "--site", "demo",
                            "--departments", "after-sales", "--capacity", "2",
                            "--password", "pw-for-cli-tests", "--data-dir", str(data))  # fmt: skip
        assert added.returncode == 0, added.stderr
        redis_url = (data / "redis.url").read_text().split()[0]
    finally:
        assert _stop(demo) == 0
    assert not (data / "redis.url").exists(), "stopping the demo stopped its Redis"
    redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    try:
        httpx.get(f"http://127.0.0.1:{redis_port}", timeout=1)
        raise AssertionError("the embedded Redis still listens")
    except httpx.TransportError:
        pass

    again = _start_demo(data, port, log)
    try:
        listed = _chatserver("agent", "list", "--json", "--data-dir", str(data))
        assert '"login":"dana"' in listed.stdout
        assert listed.stdout.count('"login":"alice"') == 1, "seeding again changed nothing"
    finally:
        _stop(again)


def test_bad_configuration_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    result = _chatserver("serve", "--port", "70000", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "--port / CHAT_PORT = 70000: must be 1..65535" in result.stderr
    result = _chatserver("serve", "--data-dir", str(tmp_path),
                         env={"CHAT_APPENDFSYNC": "sometimes"})  # fmt: skip
    assert result.returncode == 2
    assert "CHAT_APPENDFSYNC" in result.stderr
    result = _chatserver("serve", env={"CHAT_REDIS_URL": "http://nope"})
    assert result.returncode == 2 and "redis://" in result.stderr


def test_agent_capacity_outside_1_to_3_is_refused(tmp_path: Path, redis_server: object) -> None:
    url = redis_server.url  # type: ignore[attr-defined]
    site = _chatserver("site", "add", "clishop", "--name", "CLI Shop", "--departments", "sales",
                       "--redis-url", url)  # fmt: skip
    assert site.returncode == 0, site.stderr
    for capacity in ("0", "4"):
        result = _chatserver("agent", "add", "cap", "--name", "Cap", "--site", "clishop",
                             "--departments", "sales", "--capacity", capacity,
                             "--password", "pw-for-cli-tests", "--redis-url", url)  # fmt: skip
        assert result.returncode != 0
        assert "capacity must be between 1 and 3" in result.stderr
    ok = _chatserver("agent", "add", "cap", "--name", "Cap", "--site", "clishop",
                     "--departments", "sales", "--capacity", "3", "--password", "pw-for-cli-tests",
                     "--redis-url", url)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    changed = _chatserver("agent", "set", "cap", "--capacity", "5", "--redis-url", url)
    assert changed.returncode != 0 and "capacity must be between 1 and 3" in changed.stderr


async def test_serve_with_two_workers_serves_and_stops_them_all(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    server = await servers(CHAT_WORKERS=2)
    assert server.process is not None
    workers = psutil.Process(server.process.pid).children(recursive=True)
    assert len([w for w in workers if "python" in w.name()]) >= 2
    site = await make_site(redis, site_key)
    for _ in range(4):  # connections land on either worker: every one works
        shopper, _ = await shopper_client(server, site)
        await start_chat(shopper, "hello")
        await shopper.close()
    await server.stop()
    _, alive = psutil.wait_procs(workers, timeout=scaled(10))
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def test_a_port_in_use_is_a_clear_error_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _chatserver("demo", "--port", str(port), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "d").exists(), "no Redis was started"


def _stop_with_ctrl_c(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
    return process.wait(timeout=scaled(30))


def _agent_rows(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if "capacity" in line and "sales" in line]


def test_ctrl_c_stops_the_demo_with_exit_code_0_and_its_table_is_aligned(tmp_path: Path) -> None:
    data, port, log = tmp_path / "data", free_port(), tmp_path / "demo.log"
    demo = _start_demo(data, port, log)
    assert _stop_with_ctrl_c(demo) == 0  # docs/operations.md: the exit code is 0
    printed = log.read_text()
    assert "Aborted!" not in printed
    assert not (data / "redis.url").exists(), "Ctrl-C stopped the embedded Redis too"
    rows = _agent_rows(printed)
    assert any("陈静" in row for row in rows), printed
    # The departments start in the same terminal column on every row, Chinese names included.
    for column in (r"(pre|after)-sales", "capacity"):
        starts = {wcwidth.wcswidth(row[: _column(column, row)]) for row in rows}
        assert len(starts) == 1, "\n".join(rows)


def test_a_second_demo_on_the_same_data_says_it_leaves_the_first_ones_redis_running(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _start_demo(data, free_port(), first_log)
    try:
        assert "the embedded Redis stops too" in first_log.read_text()
        url_file = (data / "redis.url").read_text()
        second = _start_demo(data, free_port(), second_log)
        assert _stop_with_ctrl_c(second) == 0
        said = second_log.read_text()
        assert "stops too" not in said
        assert "that Redis keeps running" in said
        assert (data / "redis.url").read_text() == url_file, "the first demo's Redis still runs"
        login = httpx.post(f"{_base(first_log)}/api/v1/login",
                           json={"login": "alice", "password": "demo"})  # fmt: skip
        assert login.status_code == 200  # the first demo still works on its Redis
    finally:
        assert _stop_with_ctrl_c(first) == 0


def _column(pattern: str, row: str) -> int:
    found = re.search(pattern, row)
    assert found, row
    return found.start()


def _base(log: Path) -> str:
    return log.read_text().split("server: ", 1)[1].split()[0]
