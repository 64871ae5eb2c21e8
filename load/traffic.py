"""Open-loop message traffic over conversations, and the ledger that checks every message.

Each conversation carries two streams (shopper -> agent, agent -> shopper). A message's
client_msg_id names its stream, its sequence number in that stream and the time it was
*scheduled* (monotonic ns, one clock for every process of the machine), so the receiver can
tell, from the frame alone, its latency, whether it is a duplicate, and whether it came out of
order. Messages go out on schedule whether or not earlier ones were answered (open loop): a
slow server shows up as latency, not as a lower send rate.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from load.hist import Hist
from load.peers import Peer
from load.texts import pick
from load.wire import Frame

DIRECTIONS = ("shopper_to_agent", "agent_to_shopper")


@dataclass(slots=True)
class Stream:
    """Messages one side of a conversation sends to the other."""

    index: int
    sender: Peer
    receiver: Peer
    conv_id: str
    direction: int  # index in DIRECTIONS
    group: int = 0  # 0, or 1 when one end is a deliberately slow reader
    sent: int = 0
    received: int = 0
    max_seq: int = -1
    got: bytearray = field(default_factory=bytearray)


class Ledger:
    """Every message sent and received by one worker, with latency per (step, direction,
    group); steps are the windows the run is cut into (rate steps, before/after a fault)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.streams: list[Stream] = []
        self.step_starts: list[int] = [0]
        self.hists: dict[tuple[int, int, int], Hist] = {}
        self.lag = Hist()
        self.lags: dict[int, Hist] = {}  # per step
        self.duplicates = 0
        self.out_of_order = 0

    def add_stream(self, sender: Peer, receiver: Peer, conv_id: str, direction: int) -> Stream:
        stream = Stream(len(self.streams), sender, receiver, conv_id, direction)
        self.streams.append(stream)
        return stream

    def send(self, stream: Stream, due_ns: int, now_ns: int) -> None:
        seq = stream.sent
        stream.sent += 1
        stream.sender.send_message(
            stream.conv_id, f"{stream.index:x}.{seq:x}.{due_ns:x}", pick(self.rng)
        )
        lag = (now_ns - due_ns) / 1e9
        self.lag.add(lag)
        step = bisect_right(self.step_starts, due_ns) - 1
        hist = self.lags.get(step)
        if hist is None:
            hist = self.lags[step] = Hist()
        hist.add(lag)

    def receive(self, peer: Peer, frame: Frame) -> None:
        """A message frame reached `peer`: account for it if it is one of ours for them."""
        cmid = frame.get("client_msg_id")
        if not cmid:
            return
        parts = cmid.split(".")
        if len(parts) != 3:
            return
        stream = self.streams[int(parts[0], 16)]
        if peer is not stream.receiver:
            return  # the sender's own copy
        seq = int(parts[1], 16)
        got = stream.got
        if seq >= len(got):
            got.extend(bytes(seq - len(got) + 256))
        if got[seq]:
            self.duplicates += 1
            return
        got[seq] = 1
        stream.received += 1
        if seq < stream.max_seq:
            self.out_of_order += 1
        else:
            stream.max_seq = seq
        due = int(parts[2], 16)
        key = (bisect_right(self.step_starts, due) - 1, stream.direction, stream.group)
        hist = self.hists.get(key)
        if hist is None:
            hist = self.hists[key] = Hist()
        hist.add((time.monotonic_ns() - due) / 1e9)

    def outstanding(self) -> int:
        return sum(s.sent - s.received for s in self.streams)

    def results(self) -> dict[str, Any]:
        sent = sum(s.sent for s in self.streams)
        received = sum(s.received for s in self.streams)
        return {
            "sent": sent,
            "delivered": received,
            "lost": sent - received,
            "duplicated": self.duplicates,
            "out_of_order": self.out_of_order,
            "hists": {f"{k[0]}/{k[1]}/{k[2]}": h.to_dict() for k, h in self.hists.items()},
            "send_lag": self.lag.to_dict(),
            "send_lag_steps": {str(k): h.to_dict() for k, h in self.lags.items()},
        }


@dataclass(frozen=True)
class Step:
    """From `start_ns` on, the worker sends `rate` messages per second in total."""

    start_ns: int
    rate: float


async def open_loop(ledger: Ledger, steps: list[Step], end_ns: int) -> None:
    """Send on every stream, each at an equal share of the step's rate, with random phases,
    until `end_ns`. Latency counts from the scheduled time, so lag here is not hidden."""
    streams = ledger.streams
    if not streams or not steps:
        return
    ledger.step_starts = [s.start_ns for s in steps]
    periods = [int(len(streams) / s.rate * 1e9) if s.rate > 0 else end_ns for s in steps]
    first = steps[0].start_ns
    heap = [(first + int(ledger.rng.random() * periods[0]), i) for i in range(len(streams))]
    heapq.heapify(heap)
    while heap:
        now = time.monotonic_ns()
        while heap and heap[0][0] <= now:
            due, i = heapq.heappop(heap)
            if due >= end_ns:
                continue
            ledger.send(streams[i], due, now)
            heapq.heappush(heap, (next_due(due, ledger.step_starts, periods), i))
        if heap:
            await asyncio.sleep(max(0, heap[0][0] - time.monotonic_ns()) / 1e9)


def next_due(due: int, starts: list[int], periods: list[int]) -> int:
    """A stream's next send after `due`, at the period of `due`'s step; a send that would fall
    into the next step is moved to that step's period (its phase within the period kept), so
    that each step's window sends at that step's rate from its start (not, for one old
    period, at the previous step's)."""
    step = bisect_right(starts, due) - 1
    nxt = due + periods[step]
    if step + 1 < len(starts) and nxt > starts[step + 1]:
        start = starts[step + 1]
        nxt = start + (nxt - start) * periods[step + 1] // periods[step]
    return nxt


async def drain(ledger: Ledger, timeout: float) -> None:
    """Wait until every message sent was received, or `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while ledger.outstanding() > 0 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # polling a counter: deliveries set no event


async def resend_loop(peers: list[Peer], every: float, older_than: float) -> None:
    """Resend messages left unacknowledged (a frame dropped by the server's rate limit gets
    an error without a reference, so the client cannot tell which one it was)."""
    while True:
        await asyncio.sleep(every)
        for peer in peers:
            peer.world.counters.resent += peer.resend(older_than)
