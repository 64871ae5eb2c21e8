"""A local S3-compatible server for the attachment tests: moto's standalone server, started
once per session on a free port (and waited for until it answers)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chatserver.store.embedded import free_port
from tests.conftest import scaled

START_TIMEOUT = 30.0
# moto_server, minus the second `Server` header werkzeug adds to moto's own: aiohttp's strict
# parser (asyncio debug mode, as under CI) refuses a response with two (real S3 sends one).
_MOTO = """
import sys
from werkzeug.serving import WSGIRequestHandler
from moto.server import main

send_header = WSGIRequestHandler.send_header


def one_server_header(self, key, value):
    if key.lower() != "server" or value != self.version_string():
        send_header(self, key, value)


WSGIRequestHandler.send_header = one_server_header
main(sys.argv[1:])
"""


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a running moto server (an empty S3 that accepts any credentials)."""
    port = free_port()
    log = Path(tmp_path_factory.mktemp("moto")) / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", _MOTO, "-H", "127.0.0.1", "-p", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        _wait_answering(f"http://127.0.0.1:{port}/", process, log)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_answering(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + scaled(START_TIMEOUT)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            httpx.get(url, timeout=1.0, trust_env=False)
            return
        except httpx.TransportError:
            time.sleep(0.1)  # a child's readiness has no event to wait on: poll it
    process.kill()
    raise RuntimeError(f"moto server did not answer within {START_TIMEOUT} s")


def s3_url(endpoint: str, bucket: str) -> str:
    return f"s3://test:test@{endpoint}/{bucket}?secure=0"
