"""Running the app under uvicorn: the embedded Redis, worker processes, graceful shutdown,
trusted proxies and the request-header deadline."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import FrameType

import uvicorn
from uvicorn._subprocess import get_subprocess

from chatserver.config import Settings, host_port
from chatserver.core.frames import MAX_FRAME_BYTES, CloseCode
from chatserver.gateway import process
from chatserver.reports import metrics
from chatserver.web.protocol import ServerConfig

log = logging.getLogger(__name__)
URL_FILE = "redis.url"


class GracefulServer(uvicorn.Server):
    """On SIGTERM/SIGINT: /readyz turns 503 and every socket is closed with 1012 (service
    restart) so clients reconnect elsewhere and resume; then uvicorn shuts down."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        gateway = process.CURRENT
        if gateway is not None and not gateway.draining:
            gateway.draining = True
            gateway.close_all(CloseCode.SERVICE_RESTART, "server restart")
        super().handle_exit(sig, frame)


@contextlib.contextmanager
def redis_for(settings: Settings) -> Iterator[Settings]:
    """Settings with a Redis URL: the configured one, the embedded Redis already running for
    this data directory, or a new embedded Redis (stopped on exit)."""
    if settings.redis_url:
        yield settings
        return
    url_file = settings.data_path / URL_FILE
    running = _running_url(url_file)
    if running:
        yield replace(settings, redis_url=running)
        return
    from chatserver.store.embedded import EmbeddedRedis, stored_password, write_private

    embedded = EmbeddedRedis(
        settings.data_path,
        appendfsync=settings.appendfsync,
        password=stored_password(settings.data_path),
    )
    url = embedded.start()
    write_private(url_file, f"{url}\n{os.getpid()}\n")  # the URL holds the password
    try:
        yield replace(settings, redis_url=url)
    finally:
        url_file.unlink(missing_ok=True)
        embedded.stop()


def owns_embedded_redis(settings: Settings) -> bool:
    """Whether this process started the embedded Redis of `settings` (and stops it on exit);
    False for an external Redis and for another chatserver process's embedded one."""
    try:
        return int((settings.data_path / URL_FILE).read_text().split()[1]) == os.getpid()
    except (OSError, ValueError, IndexError):
        return False


def _running_url(url_file: Path) -> str:
    """The URL of an embedded Redis another chatserver process started, if it still runs."""
    try:
        url, pid = url_file.read_text().split()
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return ""
    return url


def port_problem(host: str, port: int) -> str:
    """Why the server could not listen on host:port, or '' if it can (checked before anything
    starts: uvicorn would otherwise start the app, fail to bind, and linger in its shutdown)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return ""


def serve(settings: Settings) -> None:
    """Serve until interrupted (settings must carry a Redis URL)."""
    os.environ.update(settings.to_env())
    trusted = _trusted_proxies(settings)
    uv_config = ServerConfig(
        "chatserver.web.app:create_app",
        header_timeout=settings.header_timeout,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        # Never None: uvicorn would then read FORWARDED_ALLOW_IPS (default: trust loopback).
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        ws="websockets-sansio",
        ws_max_size=MAX_FRAME_BYTES,
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        lifespan="on",
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        timeout_graceful_shutdown=5,
    )
    address = host_port(settings.metrics_address) if settings.metrics_address else None
    with metrics.exposed(settings.workers, address):
        if settings.workers == 1:
            # uvicorn re-raises the SIGTERM or SIGINT (Ctrl-C) it handled once it has shut
            # down; turn that into a normal exit (code 0, no "Aborted!") so that callers'
            # clean-up (the embedded Redis) still runs.
            signal.signal(signal.SIGTERM, _exit_quietly)
            signal.signal(signal.SIGINT, _exit_quietly)
            GracefulServer(uv_config).run()
        else:
            _run_workers(uv_config, settings.workers)


def _trusted_proxies(settings: Settings) -> str:
    """The proxies whose X-Forwarded-For / -Proto uvicorn believes: --forwarded-allow-ips only
    ('' = none). uvicorn's own default trusts loopback, which lets any local client choose its
    address, and its FORWARDED_ALLOW_IPS variable would change that behind our settings."""
    if "FORWARDED_ALLOW_IPS" in os.environ:
        log.warning(
            "FORWARDED_ALLOW_IPS is ignored: trusted proxies are set with "
            "--forwarded-allow-ips / CHAT_FORWARDED_ALLOW_IPS (now %r)",
            settings.forwarded_allow_ips,
        )
    return settings.forwarded_allow_ips.strip()


def _exit_quietly(sig: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _run_workers(uv_config: uvicorn.Config, count: int) -> None:
    """`count` worker processes sharing one listening socket; a signal stops them all (each
    drains gracefully). uvicorn's own supervisor would not use GracefulServer."""
    sock = uv_config.bind_socket()
    workers = [
        get_subprocess(uv_config, target=GracefulServer(uv_config).run, sockets=[sock])
        for _ in range(count)
    ]
    for worker in workers:
        worker.start()

    def stop(sig: int, frame: FrameType | None) -> None:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()
    sock.close()
