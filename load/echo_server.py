"""A bare `websockets` echo server: the floor the chat server is compared with.

    python -m load.echo_server --port 9001

Every message is sent back as it came; nothing is parsed. It accepts the chat subprotocols so
the same client code runs against it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from load.loop import run


async def echo(ws: ServerConnection) -> None:
    with contextlib.suppress(Exception):
        async for message in ws:
            await ws.send(message)


async def main(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    protocols = [Subprotocol("chat.v1.json"), Subprotocol("chat.v1.msgpack")]
    async with serve(
        echo,
        "127.0.0.1",
        port,
        subprotocols=protocols,
        compression=None,
        max_size=2**20,
        backlog=4096,
    ):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    run(main(parser.parse_args().port))
