"""Routing against a model: Hypothesis drives the store through random sequences of creates,
serves, closes, transfers, status and capacity changes, connections coming and going, time
passing (sweeps) and process restarts, on the real Redis. After every step the whole routing
state is read back from Redis and checked against a plain-Python model (which picks agents with
`core.routing.choose_agent`) and against the invariants the scripts promise.

The store takes the time as an argument: the test owns the clock (`now`), so no step waits.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from redis.asyncio import Redis

from chatserver.core.model import (
    MAX_PRIORITY,
    Agent,
    AgentStatus,
    Conversation,
    ConversationState,
    Site,
    ValidationError,
)
from chatserver.core.routing import BAND, MIDDLE, AgentSlot, agent_score, choose_agent
from chatserver.store import keys
from chatserver.store.embedded import EmbeddedRedis
from chatserver.store.sites import save_site
from tests.integration.store.conftest import GRACE_MS, HEARTBEAT_MS, NOW, PASSWORD, Store

DEPTS = ("sales", "support")
AGENT_DEPTS = {
    "ann": ("sales",),
    "bob": ("sales", "support"),
    "cid": ("support",),
    "dan": ("sales",),
}
MAX_CAP = {"ann": 3, "bob": 3, "cid": 2, "dan": 3}
HOLD_MS = 20_000  # how long a queued conversation whose shopper left keeps its place
# "" is a new anonymous visitor; "v:..." an anonymous visitor coming back; else a customer id.
WHO = ("", "", "cust-1", "cust-2", "cust-3", "v:vis-1", "v:vis-2")
# The site keeps its agents (and their argon2 hashes) across examples; only live state is reset.
KEEP = ("agents", "passwords", "agent:depts")


@dataclass
class AgentModel:
    login: str
    departments: tuple[str, ...]
    capacity: int
    status: str = "offline"
    conns: dict[str, int] = field(default_factory=dict)  # connection -> heartbeat deadline
    grace: int | None = None  # deadline of the grace period, while disconnected
    idle: int = 0
    chats: set[str] = field(default_factory=set)
    over: bool = False  # capacity was lowered below the load: allowed until it drains

    @property
    def available(self) -> bool:
        return self.status == "online" and bool(self.conns) and len(self.chats) < self.capacity

    def slot(self) -> AgentSlot:
        online = self.status == "online" and bool(self.conns)
        return AgentSlot(
            self.login, self.departments, len(self.chats), self.capacity, online, self.idle
        )


@dataclass
class ConvModel:
    id: str
    dept: str
    priority: int
    customer_key: str
    arrival: int
    score: int
    state: str = "queued"
    agent: str = ""
    fronted: bool = False  # was put back at the front of a queue (requeued, transferred)
    left: int | None = None  # abandonment deadline, while the shopper is away
    not_agent: str = ""  # who transferred it to a department (never gets it back from there)


class RoutingMachine(RuleBasedStateMachine):
    def __init__(self, url: str, site: str, agents: dict[str, Agent], events: Counter[str]) -> None:
        super().__init__()
        self.url, self.site, self.profiles = url, site, agents
        self.events = events
        self.loop = asyncio.new_event_loop()
        self.redis = Redis.from_url(url, decode_responses=True)
        self.store = Store.on(self.redis)
        self.now = NOW
        self.swept_at = NOW
        self.back = self.front = 0
        self.ids = itertools.count(1)
        self.convs: dict[str, ConvModel] = {}
        self.last: dict[str, str] = {}
        self.agents = {
            a.login: AgentModel(a.login, a.departments, a.capacity) for a in agents.values()
        }
        self.run(reset_site(self.store, site, list(agents.values())))

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.redis.aclose())
        self.loop.close()

    # --- helpers of the model ----------------------------------------------------------------
    def by_state(self, state: str) -> list[str]:
        return [c.id for c in self.convs.values() if c.state == state]

    def open_ids(self) -> list[str]:
        return [c.id for c in self.convs.values() if c.state in ("queued", "assigned")]

    def login(self, name: str) -> str:
        return self.profiles[name].login

    def push(self, conv: ConvModel, front: bool) -> None:
        if front:
            self.front += 1
            seq = MIDDLE - self.front
        else:
            self.back += 1
            seq = MIDDLE + self.back
        conv.score = (MAX_PRIORITY - conv.priority) * BAND + seq
        conv.state, conv.agent = "queued", ""
        conv.fronted = conv.fronted or front

    def give(self, conv: ConvModel, login: str) -> None:
        agent = self.agents[login]
        assert len(agent.chats) < agent.capacity, "the model gave beyond capacity"
        agent.chats.add(conv.id)
        agent.idle = self.now
        conv.state, conv.agent, conv.left, conv.not_agent = "assigned", login, None, ""
        self.last[conv.customer_key] = login

    def unassign(self, conv: ConvModel) -> str:
        agent = self.agents[conv.agent]
        agent.chats.discard(conv.id)
        agent.over = agent.over and len(agent.chats) > agent.capacity
        return agent.login

    def requeue(self, login: str) -> int:
        agent = self.agents[login]
        chats = sorted((self.convs[c] for c in agent.chats), key=lambda c: c.arrival)
        for conv in reversed(chats):  # each front push goes ahead: newest first
            self.unassign(conv)
            self.push(conv, front=True)
        self.events["requeued with 2+ chats" if len(chats) > 1 else "requeued"] += 1
        agent.status, agent.grace, agent.over = "offline", None, False
        return len(chats)

    def expected_serve(self, dept: str) -> list[tuple[str, str]]:
        done = []
        while True:
            queued = [c for c in self.convs.values() if c.state == "queued" and c.dept == dept]
            if not queued:
                return done
            head = min(queued, key=lambda c: c.score)
            slots = [a.slot() for a in self.agents.values()]
            chosen = choose_agent(
                slots, dept, previous=self.last.get(head.customer_key), exclude=head.not_agent
            )
            if chosen is None:
                return done
            self.give(head, chosen)
            done.append((head.id, chosen))

    # --- rules -------------------------------------------------------------------------------
    @initialize(names=st.sets(st.sampled_from(sorted(AGENT_DEPTS)), min_size=1, max_size=2))
    def some_agents_start_the_day(self, names: set[str]) -> None:
        for name in sorted(names):
            self.connect(name)
            self.set_status(name, AgentStatus.ONLINE)

    @rule(
        dept=st.sampled_from(DEPTS),
        priority=st.integers(0, 2),
        who=st.sampled_from(WHO),
        serve=st.booleans(),
    )
    def create(self, dept: str, priority: int, who: str, serve: bool) -> None:
        """A shopper starts a chat; the hub serves the queue at once (unless it crashed)."""
        self.now += 1
        n = next(self.ids)
        conv_id = f"c{n:03d}"
        visitor = who[2:] if who.startswith("v:") else f"vis-{conv_id}"
        customer = "" if who.startswith("v:") or not who else who
        conv = Conversation(
            conv_id, self.site, dept, visitor, ConversationState.QUEUED, priority,
            customer=customer, created_ms=self.now,
        )  # fmt: skip
        assert self.run(self.store.conversations.create(conv))
        self.events["created"] += 1
        model = ConvModel(conv_id, dept, priority, customer or f"v:{visitor}", self.back + 1, 0)
        self.push(model, front=False)
        self.convs[conv_id] = model
        if serve:
            self.serve(dept)

    @rule(dept=st.sampled_from(DEPTS), whos=st.lists(st.sampled_from(WHO), min_size=1, max_size=3))
    def shoppers_arrive(self, dept: str, whos: list[str]) -> None:
        """Shoppers come more often than anything else happens, sometimes several at once."""
        for who in whos:
            self.create(dept, 0, who, serve=True)

    @rule(dept=st.sampled_from(DEPTS))
    def serve(self, dept: str) -> None:
        done = self.run(self.store.conversations.serve(self.site, dept, self.now))
        assert [(a.conversation_id, a.agent) for a in done] == self.expected_serve(dept)
        self.events["assigned"] += len(done)

    @precondition(lambda self: self.open_ids())
    @rule(data=st.data(), abandon=st.booleans())
    def close(self, data: st.DataObject, abandon: bool) -> None:
        conv = self.convs[data.draw(st.sampled_from(self.open_ids()), label="conversation")]
        final = ConversationState.ABANDONED if abandon else ConversationState.CLOSED
        got = self.run(self.store.conversations.finish(self.site, conv.id, self.now, "", final))
        if abandon and conv.state == "assigned":
            assert got is None  # only a queued conversation is abandoned
            return
        expected = self.unassign(conv) if conv.state == "assigned" else ""
        assert got == expected
        conv.state, conv.left = final.value, None

    @precondition(lambda self: self.by_state("assigned"))
    @rule(
        data=st.data(),
        to=st.sampled_from(sorted(AGENT_DEPTS)),
        by=st.sampled_from(("owner", "supervisor", "other")),
    )
    def transfer_to_agent(self, data: st.DataObject, to: str, by: str) -> None:
        conv = self.convs[data.draw(st.sampled_from(self.by_state("assigned")), label="conv")]
        target, owner = self.login(to), conv.agent
        acting = {"owner": owner, "supervisor": "", "other": target}[by]
        got = self.run(
            self.store.conversations.transfer(
                self.site, conv.id, self.now, to_agent=target, by=acting
            )
        )
        if acting not in ("", owner):
            assert got == ("not_yours", "")
        elif target == owner:
            assert got == ("same_agent", "")
        elif not self.agents[target].available:
            assert got == ("no_room", "")
        else:
            assert got == ("moved", owner)
            self.unassign(conv)
            self.give(conv, target)
            self.events["transferred to agent"] += 1

    @precondition(lambda self: self.by_state("assigned"))
    @rule(data=st.data(), dept=st.sampled_from(DEPTS))
    def transfer_to_department(self, data: st.DataObject, dept: str) -> None:
        conv = self.convs[data.draw(st.sampled_from(self.by_state("assigned")), label="conv")]
        got = self.run(
            self.store.conversations.transfer(self.site, conv.id, self.now, to_department=dept)
        )
        owner = self.unassign(conv)
        assert got == ("moved", owner)
        if self.last.get(conv.customer_key) == owner:
            del self.last[conv.customer_key]
        conv.dept, conv.not_agent = dept, owner
        self.push(conv, front=True)
        self.events["transferred to department"] += 1

    @rule(
        name=st.sampled_from(sorted(AGENT_DEPTS)),
        status=st.sampled_from([*AgentStatus, AgentStatus.ONLINE]),
    )
    def set_status(self, name: str, status: AgentStatus) -> None:
        agent, profile = self.agents[self.login(name)], self.profiles[name]
        if status is AgentStatus.OFFLINE:  # as the hub does: hand the chats back first
            count = self.run(
                self.store.conversations.requeue_agent(self.site, agent.login, self.now, False)
            )
            assert count == self.requeue(agent.login)
        previous = self.run(self.store.agents.set_status(profile, status, self.now))
        assert previous == agent.status
        if status is AgentStatus.ONLINE and agent.status != "online":
            agent.idle = self.now
        agent.status = status.value

    @rule(name=st.sampled_from(sorted(AGENT_DEPTS)), capacity=st.integers(1, 3))
    def set_capacity(self, name: str, capacity: int) -> None:
        agent, profile = self.agents[self.login(name)], self.profiles[name]
        if capacity > MAX_CAP[name]:
            with pytest.raises(ValidationError):
                self.run(self.store.agents.set_capacity(profile, capacity, self.now))
            return
        self.run(self.store.agents.set_capacity(profile, capacity, self.now))
        agent.capacity = capacity
        agent.over = len(agent.chats) > capacity
        self.events["capacity lowered below load"] += agent.over

    @rule(name=st.sampled_from(sorted(AGENT_DEPTS)))
    def connect(self, name: str) -> None:
        agent = self.agents[self.login(name)]
        conn = f"k{next(self.ids)}"
        pairs = [(agent.login, conn)]
        woke = self.run(
            self.store.agents.touch(self.site, pairs, self.now, self.now + HEARTBEAT_MS)
        )
        assert woke == ([] if agent.conns else [agent.login])
        agent.conns[conn] = self.now + HEARTBEAT_MS
        agent.grace = None

    @rule(name=st.sampled_from(sorted(AGENT_DEPTS)))
    def agent_opens_the_console(self, name: str) -> None:
        """The usual way back to work: a new connection, then online, then the hub serves."""
        self.connect(name)
        if self.agents[self.login(name)].status != "online":
            self.set_status(name, AgentStatus.ONLINE)
        for dept in AGENT_DEPTS[name]:
            self.serve(dept)

    @precondition(lambda self: any(a.conns for a in self.agents.values()))
    @rule(data=st.data())
    def disconnect(self, data: st.DataObject) -> None:
        pairs = [(a.login, c) for a in self.agents.values() for c in sorted(a.conns)]
        login, conn = data.draw(st.sampled_from(pairs), label="connection")
        self.run(self.store.agents.drop(self.site, login, conn, self.now, GRACE_MS))
        agent = self.agents[login]
        del agent.conns[conn]
        if not agent.conns and agent.grace is None:
            agent.grace = self.now + GRACE_MS

    @precondition(lambda self: self.open_ids())
    @rule(data=st.data())
    def shopper_leaves(self, data: st.DataObject) -> None:
        conv = self.convs[data.draw(st.sampled_from(self.open_ids()), label="conversation")]
        deadline = self.now + HOLD_MS
        marked = self.run(self.store.conversations.mark_left(self.site, conv.id, deadline))
        assert marked == (conv.state == "queued")
        if marked:
            conv.left = deadline

    @precondition(lambda self: any(c.left is not None for c in self.convs.values()))
    @rule(data=st.data())
    def shopper_comes_back(self, data: st.DataObject) -> None:
        left = sorted(c.id for c in self.convs.values() if c.left is not None)
        conv = self.convs[data.draw(st.sampled_from(left), label="conversation")]
        self.run(self.store.conversations.mark_back(self.site, conv.id))
        conv.left = None

    @rule(
        ms=st.sampled_from([1_000, HEARTBEAT_MS, GRACE_MS, GRACE_MS + HEARTBEAT_MS]),
        heartbeat=st.sampled_from([True, True, True, False]),
    )
    def time_passes_and_sweep_runs(self, ms: int, heartbeat: bool) -> None:
        """Every process sweeps periodically. With `heartbeat` the processes holding the
        agents' sockets are alive and refresh them first; without, they were killed."""
        self.now += ms
        conversations = self.store.conversations
        if heartbeat:
            pairs = [(a.login, c) for a in self.agents.values() for c in sorted(a.conns)]
            deadline = self.now + HEARTBEAT_MS
            assert self.run(self.store.agents.touch(self.site, pairs, self.now, deadline)) == []
            for agent in self.agents.values():
                agent.conns = dict.fromkeys(agent.conns, deadline)
        expired, left = self.run(conversations.sweep(self.site, self.now, GRACE_MS))

        for agent in self.agents.values():
            had = bool(agent.conns)
            agent.conns = {c: d for c, d in agent.conns.items() if d > self.now}
            if had and not agent.conns and agent.grace is None:
                agent.grace = self.now + GRACE_MS
        due = sorted(
            (a.grace, a.login)
            for a in self.agents.values()
            if a.grace is not None and a.grace <= self.now
        )
        assert expired == [login for _, login in due]
        gone = sorted((c.left, c.id) for c in self.convs.values() if c.left and c.left <= self.now)
        assert left == [conv_id for _, conv_id in gone]

        self.events["grace over"] += len(expired)
        for login in expired:  # as the hub does: hand their chats back, then abandon
            count = self.run(conversations.requeue_agent(self.site, login, self.now, True))
            assert count == self.requeue(login)
        for conv_id in left:
            final = ConversationState.ABANDONED
            got = self.run(conversations.finish(self.site, conv_id, self.now, "", final))
            assert got == ""
            self.convs[conv_id].state, self.convs[conv_id].left = "abandoned", None
            self.events["abandoned by the sweep"] += 1
        self.swept_at = self.now

    @rule()
    def process_restarts(self) -> None:
        """A new process: new client, new scripts, new stores. Only Redis remembers."""
        self.run(self.redis.aclose())
        self.redis = Redis.from_url(self.url, decode_responses=True)
        self.store = Store.on(self.redis)

    # --- invariants, read back from Redis ----------------------------------------------------
    @invariant()
    def redis_agrees_with_the_model_and_keeps_its_invariants(self) -> None:
        self.events["steps"] += 1
        seen = self.run(read_state(self.redis, self.site, list(self.convs)))
        self.check_agents(seen)
        self.check_conversations(seen)
        self.check_queues(seen)

    def check_agents(self, seen: dict[str, Any]) -> None:
        held = Counter(m.split("\t")[0] for m in seen["convs"])
        holders = [m.split("\t")[1] for m in seen["convs"]]
        assert len(holders) == len(set(holders)), "a conversation is with two agents"
        assigned_to = Counter(
            h["agent"] for h in seen["hashes"].values() if h["state"] == "assigned"
        )
        for login, agent in self.agents.items():
            load = int(seen["load"].get(login, 0))
            mine = {m.split("\t")[1] for m in seen["convs"] if m.split("\t")[0] == login}
            assert load == held[login] == assigned_to[login] == len(agent.chats), login
            assert mine == agent.chats, login
            assert load <= agent.capacity or agent.over, f"{login} over capacity"
            assert seen["status"].get(login) == agent.status, login
            assert int(seen["cap"][login]) == agent.capacity, login
            assert int(seen["pcount"].get(login, 0)) == len(agent.conns), login
            if load:
                assert agent.status != "offline", f"{login} offline with chats"
                assert agent.conns or (agent.grace or 0) > self.swept_at, (
                    f"{login} holds chats past the grace period"
                )
        assert {m.split("\t")[0] for m in seen["presence"]} == {
            a.login for a in self.agents.values() if a.conns
        }
        expected_grace = {a.login: a.grace for a in self.agents.values() if a.grace is not None}
        assert {k: int(v) for k, v in seen["grace"]} == expected_grace
        expected_available = {
            a.login: agent_score(len(a.chats), a.idle) for a in self.agents.values() if a.available
        }
        assert {k: int(v) for k, v in seen["available"]} == expected_available
        assert seen["last"] == self.last

    def check_conversations(self, seen: dict[str, Any]) -> None:
        for conv_id, conv in self.convs.items():
            stored = seen["hashes"][conv_id]
            assert (stored["state"], stored["department"]) == (conv.state, conv.dept), conv_id
            if conv.state in ("queued", "assigned"):
                assert stored.get("agent", "") == conv.agent, conv_id
            assert int(stored["arrival"]) == conv.arrival, conv_id
        expected_left = {c.id: c.left for c in self.convs.values() if c.left is not None}
        assert {k: int(v) for k, v in seen["left"]} == expected_left

    def check_queues(self, seen: dict[str, Any]) -> None:
        in_queues = [conv_id for dept in DEPTS for conv_id, _ in seen["queues"][dept]]
        assert len(in_queues) == len(set(in_queues)), "a conversation is in two queues"
        for dept in DEPTS:
            queue = [(conv_id, int(score)) for conv_id, score in seen["queues"][dept]]
            expected = sorted(
                (
                    (c.id, c.score)
                    for c in self.convs.values()
                    if c.state == "queued" and c.dept == dept
                ),
                key=lambda pair: pair[1],
            )
            assert queue == expected, dept
            self.check_fifo([self.convs[conv_id] for conv_id, _ in queue])

    @staticmethod
    def check_fifo(queue: list[ConvModel]) -> None:
        """Higher priority first; within a priority, those put back at the front first, and
        those never put back in the order they were created."""
        priorities = [c.priority for c in queue]
        assert priorities == sorted(priorities, reverse=True)
        for _, band in itertools.groupby(queue, key=lambda c: c.priority):
            convs = list(band)
            fronted = [c.fronted for c in convs]
            assert fronted == sorted(fronted, reverse=True)
            arrivals = [c.arrival for c in convs if not c.fronted]
            assert arrivals == sorted(arrivals)


async def read_state(redis: Redis, site: str, conv_ids: list[str]) -> dict[str, Any]:
    """Everything routing depends on, in one round trip (nothing else writes meanwhile)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(keys.agent_load(site))
        pipe.zrange(keys.agent_convs(site), 0, -1)
        pipe.hgetall(keys.agent_status(site))
        pipe.hgetall(keys.agent_capacity(site))
        pipe.hgetall(keys.presence_count(site))
        pipe.zrange(keys.presence(site), 0, -1)
        pipe.zrange(keys.grace(site), 0, -1, withscores=True)
        pipe.zrange(keys.available(site), 0, -1, withscores=True)
        pipe.hgetall(keys.last_agent(site))
        pipe.zrange(keys.left_queue(site), 0, -1, withscores=True)
        for dept in DEPTS:
            pipe.zrange(keys.queue(site, dept), 0, -1, withscores=True)
        for conv_id in conv_ids:
            pipe.hgetall(keys.conversation(site, conv_id))
        values = await pipe.execute()
    names = ["load", "convs", "status", "cap", "pcount", "presence", "grace", "available"]
    seen = dict(zip([*names, "last", "left"], values, strict=False))
    queues = values[len(names) + 2 : len(names) + 2 + len(DEPTS)]
    seen["queues"] = dict(zip(DEPTS, queues, strict=True))
    seen["hashes"] = dict(zip(conv_ids, values[len(names) + 2 + len(DEPTS) :], strict=True))
    return seen


async def reset_site(store: Store, site: str, agents: list[Agent]) -> None:
    """Forget every live state of the site; keep the agents' profiles (hashing their passwords
    again would take most of the test's time)."""
    keep = {f"chat:{{s:{site}}}:{name}" for name in KEEP}
    doomed = [k async for k in store.redis.scan_iter(match=f"chat:{{s:{site}}}:*") if k not in keep]
    if doomed:
        await store.redis.delete(*doomed)
    for agent in agents:
        await store.agents.save(agent)  # status offline, capacity as in the profile


async def make_agents(store: Store, site: str) -> dict[str, Agent]:
    await save_site(store.redis, Site(site, "Stateful shop", DEPTS))
    agents = {
        name: Agent(f"{name}.{site}", name.title(), site, depts, MAX_CAP[name], MAX_CAP[name])
        for name, depts in AGENT_DEPTS.items()
    }
    await asyncio.gather(*(store.agents.save(a, password=PASSWORD) for a in agents.values()))
    return agents


@pytest.mark.timeout(600)  # passing takes seconds; a failure's shrinking may take minutes
def test_routing_matches_the_model_through_random_histories(
    redis_server: EmbeddedRedis, site_key: str
) -> None:
    loop = asyncio.new_event_loop()
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        agents = loop.run_until_complete(make_agents(Store.on(redis), site_key))
    finally:
        loop.run_until_complete(redis.aclose())
        loop.close()
    events: Counter[str] = Counter()
    run_state_machine_as_test(
        lambda: RoutingMachine(redis_server.url, site_key, agents, events),
        settings=settings(
            max_examples=30,  # 1,200 steps: about 30 s under CI's asyncio debug
            stateful_step_count=40,
            deadline=None,
            report_multiple_bugs=False,  # shrink one failure fast rather than all slowly
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # The histories did reach the interesting states (not only empty queues and idle agents).
    assert events["assigned"] >= 10 and events["created"] >= 50, events
