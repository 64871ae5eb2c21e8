"""Finding 5: anonymous shoppers had no limit on sockets per address, conversations per
visitor or address, or messages across reconnects; a conversation could grow without bound."""

from __future__ import annotations

import asyncio
import contextlib

import orjson
import websockets
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed

from chatserver.client import Client
from chatserver.core.frames import JSON_SUBPROTOCOL
from chatserver.store import keys
from tests.conftest import scaled
from tests.integration.conftest import StartServer
from tests.integration.servers import ServerProcess
from tests.integration.world import agent_client, make_agent, make_site, shopper_client

DEFAULT_SOCKETS_PER_ADDRESS = 256  # docs/security.md


async def _socket_from(server: ServerProcess, site: str, address: str) -> str:
    """Open a shopper socket from `address`; 'welcome', or 'closed CODE REASON'."""
    ws = await websockets.connect(
        f"{server.ws_url}/ws/v1/shopper?site={site}", subprotocols=[JSON_SUBPROTOCOL],  # type: ignore[list-item]
        local_addr=(address, 0), open_timeout=scaled(30), compression=None,
    )  # fmt: skip
    try:
        await ws.send(orjson.dumps({"type": "hello"}).decode())
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), scaled(30)))
        return str(frame["type"])
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return f"closed {closed.rcvd.code} {closed.rcvd.reason}"
    finally:
        _open.append(ws)


_open: list[websockets.ClientConnection] = []


async def _first(client: Client, types: tuple[str, ...]) -> dict[str, object]:
    """The next frame of one of `types` (the others stay for later waits)."""
    waits = [asyncio.ensure_future(client.wait_for(t, scaled(10))) for t in types]
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return next(iter(done)).result()


async def _answer(client: Client, cmid: str) -> dict[str, object]:
    """The ack or the error that answers the message `cmid`."""
    ack = asyncio.ensure_future(client.wait_for("ack", scaled(10), client_msg_id=cmid))
    error = asyncio.ensure_future(client.wait_for("error", scaled(10), ref=cmid))
    done, pending = await asyncio.wait((ack, error), return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return next(iter(done)).result()


async def test_sockets_from_one_address_are_capped_and_others_still_get_in(
    server: ServerProcess, redis: Redis, site_key: str
) -> None:
    await make_site(redis, site_key)
    try:
        outcomes = await asyncio.gather(
            *(_socket_from(server, site_key, "127.0.0.30") for _ in range(1000))
        )
        assert outcomes.count("welcome") == DEFAULT_SOCKETS_PER_ADDRESS
        refused = [o for o in outcomes if o != "welcome"]
        assert set(refused) == {"closed 1013 too many sockets from this address"}
        assert await _socket_from(server, site_key, "127.0.0.31") == "welcome"
    finally:
        for ws in _open:
            with contextlib.suppress(Exception):
                await ws.close()
        _open.clear()
    # Closed sockets give their place back.
    assert await _socket_from(server, site_key, "127.0.0.30") == "welcome"
    await _open.pop().close()


async def test_a_visitor_over_its_conversation_limit_gets_the_documented_error(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    server = await servers(CHAT_CONVERSATIONS_PER_VISITOR=3)
    shopper, welcome = await shopper_client(server, site)
    for i in range(3):
        await shopper.send({"type": "start"})
        conv = await shopper.wait_for("conversation", scaled(10), state="queued")
        await shopper.send({"type": "close", "conversation_id": conv["conversation_id"]})
        await shopper.wait_for("conversation", scaled(10), state="closed")
        assert i < 3
    await shopper.send({"type": "start"})
    error = await shopper.wait_for("error", scaled(10))
    assert error["code"] == "too_many_conversations" and "try again in" in error["message"]
    # A new socket with the same token does not start the count over.
    again, _ = await shopper_client(server, site, token=str(welcome["token"]))
    await again.send({"type": "start"})
    assert (await again.wait_for("error", scaled(10)))["code"] == "too_many_conversations"
    await again.close()
    await shopper.close()


async def test_new_visitors_from_one_address_are_limited_per_hour(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    server = await servers(CHAT_CONVERSATIONS_PER_ADDRESS=4)
    codes = []
    for _ in range(6):  # a new visitor each time (no token): only the address ties them
        shopper, _ = await shopper_client(server, site, address="127.0.0.40")
        await shopper.send({"type": "start"})
        frame = await _first(shopper, ("conversation", "error"))
        codes.append(frame.get("code", frame["type"]))
        await shopper.close()
    assert codes == ["conversation"] * 4 + ["too_many_conversations"] * 2
    other, _ = await shopper_client(server, site, address="127.0.0.41")
    await other.send({"type": "start"})
    assert (await _first(other, ("conversation", "error")))["type"] == "conversation"
    await other.close()


async def test_a_flooder_that_reconnects_gets_no_fresh_bucket(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    server = await servers(CHAT_VISITOR_RATE_PER_SECOND=0.5, CHAT_VISITOR_RATE_BURST=10)
    shopper, welcome = await shopper_client(server, site)
    await shopper.send({"type": "start"})
    conv_id = str((await shopper.wait_for("conversation", scaled(10)))["conversation_id"])
    acked = limited = 0
    for round_ in range(4):  # 4 sockets, one after the other, 10 messages each
        if round_:
            shopper, _ = await shopper_client(server, site, token=str(welcome["token"]))
            await shopper.send({"type": "resume", "conversation_id": conv_id,
                                "epoch": 1, "after": "0-0"})  # fmt: skip
        for i in range(10):
            cmid = f"m{round_}-{i}"
            await shopper.send({"type": "message", "conversation_id": conv_id,
                                "client_msg_id": cmid, "text": "spam"})  # fmt: skip
            frame = await _answer(shopper, cmid)
            if frame["type"] == "ack":
                acked += 1
            else:
                assert frame["code"] == "rate_limited"
                limited += 1
        await shopper.close()
    stored = await redis.xlen(keys.transcript(conv_id))
    assert acked <= 10 + 4, f"the burst (10) and little refill, not 40: {acked}"
    assert limited == 40 - acked
    assert stored <= acked + 2  # + the 'created' event (and maybe 'abandoned' later)


async def test_a_full_conversation_refuses_messages_but_still_closes(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    agent = await make_agent(redis, site, f"f{site_key}")
    server = await servers(CHAT_MAX_ENTRIES=4)
    console = await agent_client(server, agent.login)
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start"})
    conv_id = str((await shopper.wait_for("conversation", scaled(10), state="assigned"))[
        "conversation_id"])  # fmt: skip
    codes = []
    for i in range(4):  # the stream already holds 'created' and 'assigned'
        await shopper.send({"type": "message", "conversation_id": conv_id,
                            "client_msg_id": f"m{i}", "text": "x"})  # fmt: skip
        frame = await _answer(shopper, f"m{i}")
        codes.append(frame.get("code", frame["type"]))
    assert codes == ["ack", "ack", "conversation_full", "conversation_full"]
    await console.send({"type": "close", "conversation_id": conv_id})
    await shopper.wait_for("conversation", scaled(10), state="closed")
    await console.close()
    await shopper.close()


def _days(ms: int) -> float:
    return ms / 86_400_000


async def test_ended_conversations_expire_sooner_when_nobody_answered(
    servers: StartServer, redis: Redis, site_key: str
) -> None:
    site = await make_site(redis, site_key)
    agent = await make_agent(redis, site, f"e{site_key}")
    server = await servers(CHAT_RETENTION_DAYS=30, CHAT_ANONYMOUS_RETENTION_DAYS=2)
    shopper, _ = await shopper_client(server, site)
    await shopper.send({"type": "start", "text": "anyone?", "client_msg_id": "a1"})
    unanswered = str((await shopper.wait_for("ack", scaled(10)))["conversation_id"])
    await shopper.send({"type": "close", "conversation_id": unanswered})
    await shopper.wait_for("conversation", scaled(10), state="closed")
    console = await agent_client(server, agent.login)
    await shopper.send({"type": "start", "text": "hello", "client_msg_id": "a2"})
    answered = str((await shopper.wait_for("ack", scaled(10)))["conversation_id"])
    await console.wait_for("conversation", scaled(10), conversation_id=answered)
    await console.send({"type": "message", "conversation_id": answered,
                        "client_msg_id": "r1", "text": "hi!"})  # fmt: skip
    await console.wait_for("ack", scaled(10), client_msg_id="r1")
    await console.send({"type": "close", "conversation_id": answered})
    await shopper.wait_for("conversation", scaled(10), state="closed", conversation_id=answered)
    for conv_id, days in ((unanswered, 2), (answered, 30)):
        for key in (keys.conversation(site_key, conv_id), keys.transcript(conv_id),
                    keys.client_ids(conv_id)):  # fmt: skip
            ttl = await redis.pttl(key)
            assert days - 0.01 < _days(ttl) <= days, (key, ttl)
    assert _days(await redis.pttl(keys.visitor_convs(site_key, shopper_visitor(shopper)))) > 0
    await console.close()
    await shopper.close()


def shopper_visitor(shopper: Client) -> str:
    welcome = next(f for f in shopper.received if f["type"] == "welcome")
    return str(welcome["visitor_id"])
