"""The hub: what happens when a shopper starts a chat, an agent closes one, a sweep runs...

Each operation is a short sequence of store calls (each atomic in Redis) plus the transcript
events both sides see. The gateway (sockets) and the web layer (REST) both call in here: the
hub is their one door to storage (the gateway uses nothing else; the REST layer also uses the
feature stores the hub holds, such as the index and the outbox). It keeps no state of its own
beyond its Redis client and small caches, so any process can do anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatserver.config import Settings
from chatserver.core import mail
from chatserver.core.attachments import Attachment
from chatserver.core.frames import stream_id_key
from chatserver.core.model import (
    Agent,
    AgentStatus,
    Conversation,
    ConversationState,
    FirstMessage,
    Site,
)
from chatserver.mail import notices, to_record
from chatserver.reports import metrics
from chatserver.store import clients, conversation_info, limits, sessions, sites
from chatserver.store.agents import Agents, AgentState
from chatserver.store.articles import Articles, count_request
from chatserver.store.attachments import AttachmentIndex, count_upload
from chatserver.store.batch import TickBatch
from chatserver.store.clients import Redis
from chatserver.store.conversation_index import ConversationIndex
from chatserver.store.conversations import Assignment, Conversations, QueueSnapshot
from chatserver.store.customers import Customers
from chatserver.store.orders import Orders
from chatserver.store.outbox import DemoMailbox, Outbox
from chatserver.store.replies import QuickReplies
from chatserver.store.rollups import Counting, Rollups
from chatserver.store.scripts import Scripts
from chatserver.store.throttle import LoginThrottle
from chatserver.store.transcripts import Entry, Limits, Rate, Refused, Transcripts

NAME_CACHE_SECONDS = 60.0
MAX_TRANSCRIPT_MAILS = 3  # per conversation
PRUNE_SECONDS = 3600.0  # how often a process forgets agents' time online past the rollups' keep


TEST_CLOCK_ENV = "CHAT_TEST_CLOCK_FILE"


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


def _consumer_name() -> str:
    """This process's name in the mail outbox's consumer group (unique per start)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def clock_from_env() -> Callable[[], int]:
    """The wall clock; for tests only, when CHAT_TEST_CLOCK_FILE names a file, the ms written
    in it (a test moves a real server's clock by rewriting the file: scripted timings)."""
    path = os.environ.get(TEST_CLOCK_ENV)
    if not path:
        return wall_clock_ms
    clock_file = Path(path)

    def test_clock() -> int:
        return int(clock_file.read_text().strip())

    return test_clock


class Hub:
    def __init__(
        self, redis: Redis, settings: Settings, clock: Callable[[], int] = wall_clock_ms
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.now_ms = clock
        # The hot path's own connection (store/lane.py), where the Redis is one over TCP.
        self._lane = lane = clients.lane_for(redis)
        self.scripts = scripts = Scripts(
            redis, metrics.redis_call,
            settings.redis_replicas_ack, settings.redis_replicas_timeout_ms, lane,
        )  # fmt: skip
        self.agents = Agents(redis, scripts)
        counting = Counting(_days_ms(settings.reports_keep_days), _days_ms(settings.reopen_days))
        self.conversations = Conversations(redis, scripts, counting)
        self.rollups = Rollups(redis)
        self._kpi_keep_ms = counting.keep_ms
        self._pruned: dict[str, float] = {}
        self.transcripts = Transcripts(
            redis, scripts, Limits(_days_ms(settings.retention_days), settings.max_entries)
        )
        self.shopper_rate = Rate(settings.visitor_rate_per_second, settings.visitor_rate_burst)
        self.customers = Customers(redis)
        self.attachments = AttachmentIndex(
            redis, _days_ms(settings.retention_days), settings.conversation_upload_bytes
        )
        self.index = ConversationIndex(redis)  # search, tags, the reply-time figure
        self.articles = Articles(redis)  # the knowledge base
        self.logins = LoginThrottle(redis, scripts)
        self.orders = Orders(redis)  # pushed by the store's backend (docs/api.md)
        self.quick_replies = QuickReplies(redis)
        self.mailbox = DemoMailbox(redis)  # the demo's mail sink
        # Without an SMTP server nothing is queued: no mail is promised that nothing would send.
        self.outbox = Outbox(redis, scripts, _consumer_name()) if settings.smtp_url else None
        self._names: dict[str, tuple[str, float]] = {}
        # Every agent frame checks its session: the checks of one loop tick share a round trip
        # (on the lane, its write does that by itself).
        self._session_checks: TickBatch[tuple[sessions.Session, str], bool] = TickBatch(
            functools.partial(sessions.still_valid, redis)
        )
        self._serving: dict[tuple[str, str], asyncio.Future[list[Assignment]]] = {}
        self._serve_again: set[tuple[str, str]] = set()

    # --- sites and agents -----------------------------------------------------------------
    async def site(self, key: str) -> Site | None:
        return await sites.load_site(self.redis, key)

    async def agent_name(self, login: str) -> str:
        """An agent's display name (cached a minute: renames show up soon, lookups stay rare)."""
        cached = self._names.get(login)
        if cached is None or cached[1] < time.monotonic():
            agent = await self.agents.get(login)
            cached = (agent.name if agent else login, time.monotonic() + NAME_CACHE_SECONDS)
            self._names[login] = cached
        return cached[0]

    # --- shoppers -------------------------------------------------------------------------
    async def start_conversation(
        self,
        site: Site,
        visitor: str,
        department: str,
        priority: int = 0,
        customer: str = "",
        extra: dict[str, str] | None = None,
        first: FirstMessage | None = None,
    ) -> Conversation:
        """Open a conversation in `department`'s queue and serve the queue at once. `first`:
        the shopper's opening message, stored before the queue is served, so an agent is
        given the question with the chat (and can never end it before it exists). A limit
        refusing it is left to the caller's own post of it, which says so."""
        conv = Conversation(
            id=uuid.uuid4().hex,
            site=site.key,
            department=department,
            visitor=visitor,
            state=ConversationState.QUEUED,
            priority=priority,
            customer=customer,
            created_ms=self.now_ms(),
            extra=extra or {},
        )
        if await self.conversations.create(conv):
            metrics.STARTED.inc()
        await self.conversations.forget_old(site.key, visitor, conv.created_ms, self._keep_ms)
        await self.link_customer(conv)  # their history, whatever becomes of this chat
        await self.event(conv.id, "created", department=department)
        if first is not None:
            with contextlib.suppress(Refused):
                await self.post(conv, first.sender, first.client_msg_id, first.text,
                                via=first.via)  # fmt: skip
        await self.serve(site.key, department)
        return await self.conversations.get(site.key, conv.id) or conv

    async def post(
        self,
        conv: Conversation,
        sender: dict[str, str],
        client_msg_id: str,
        text: str,
        note: bool = False,
        via: str = "",
        attachment: dict[str, Any] | None = None,
    ) -> tuple[str, bool]:
        """Store a message (or an agent's internal `note`) once per (sender, client message
        id). Returns (id, new). Transcripts.Refused if over a limit. `via` 'email': the
        shopper wrote it by mail (docs/email.md)."""
        entry: dict[str, Any] = {"kind": "note" if note else "message", "from": sender,
                                 "text": text, "cmid": client_msg_id}  # fmt: skip
        if note:
            entry["internal"] = True
        if via:
            entry["via"] = via
        if attachment is not None:  # Attachment.entry(): URLs are signed per delivery
            entry["attachment"] = attachment
        shopper = sender["role"] == "shopper"
        entry_id, new = await self.transcripts.append(
            conv.id, entry, _dedupe_key(sender, client_msg_id, note),
            rate=self.shopper_rate if shopper else None, sender=_sender_key(sender),
        )  # fmt: skip
        if new and not note:
            metrics.MESSAGES_IN.labels(sender["role"]).inc()
        if new and not note and sender["role"] == "agent" and not conv.first_reply_ms:
            await self.conversations.set_first_reply(
                conv.site, conv.id, self.now_ms(), sender["id"]
            )
        if new and not note and sender["role"] == "agent" and self.outbox is not None:
            # mailed later if the shopper has not read it in the widget (mail/replies.py)
            delay_ms = int(self.settings.mail_reply_delay_seconds * 1000)
            await self.outbox.reply_later(conv.site, conv.id, self.now_ms() + delay_ms)
        return entry_id, new

    async def stored_id(
        self, conv: Conversation, sender: dict[str, str], client_msg_id: str, note: bool = False
    ) -> str | None:
        """The id a message (or note) of `sender` with `client_msg_id` was stored under."""
        return await self.transcripts.stored_id(conv.id, _dedupe_key(sender, client_msg_id, note))

    async def event(self, conversation_id: str, name: str, **fields: Any) -> str:
        """Append a system event (assigned, transferred, closed...) to the transcript."""
        entry = {"kind": "event", "event": name, **fields}
        entry_id, _ = await self.transcripts.append(conversation_id, entry)
        return entry_id

    # --- conversations and transcripts, as the sockets and the REST layer see them --------
    async def conversation(self, site: str, conversation_id: str) -> Conversation | None:
        return await self.conversations.get(site, conversation_id)

    async def recent(self, site: str, visitor: str, limit: int = 5) -> list[Conversation]:
        """A visitor's newest conversations, newest first."""
        return await self.conversations.of_visitor(site, visitor, limit=limit)

    async def queue(self, site: str, department: str) -> QueueSnapshot:
        """A department's queue and its agents' free places, as one snapshot."""
        return await self.conversations.snapshot(site, department)

    async def shopper_here(self, conv: Conversation) -> None:
        """The shopper of a queued conversation is connected: it keeps its place."""
        await self.conversations.mark_back(conv.site, conv.id)

    async def link_customer(self, conv: Conversation) -> None:
        """A verified customer's conversation joins their history (idempotent; nothing for an
        anonymous one)."""
        if conv.customer:
            await self.customers.link_conversation(
                conv.site, conv.customer, conv.id, conv.created_ms
            )

    async def article_titles(self, site: str, article_ids: list[str]) -> list[dict[str, str]]:
        """[{id, title}] of the knowledge-base articles of `article_ids` that exist."""
        return await self.articles.titles(site, article_ids)

    async def attachment(self, conversation_id: str, attachment_id: str) -> Attachment | None:
        return await self.attachments.get(conversation_id, attachment_id)

    async def set_details(self, conv: Conversation, details: dict[str, str]) -> None:
        """Shopper-given details kept on the conversation (contact, page, cart, articles)."""
        await self.conversations.set_fields(
            conv.site, conv.id, **{f"x:{k}": v for k, v in details.items()}
        )

    async def set_contact(
        self, conv: Conversation, contact: dict[str, str], keep: bool = True
    ) -> None:
        """The shopper's name and email (and whether they left a message): kept (unless the
        conversation was created with them) and told to its followers."""
        if keep:
            await self.set_details(conv, contact)
        shown = {k: contact[k] for k in ("name", "email") if k in contact}
        left = bool(contact.get("left_message"))
        await self.event(conv.id, "contact", contact=shown, left_message=left)

    async def rate(self, conv: Conversation, rating: str, comment: str) -> bool:
        """The shopper's rating of an ended conversation; False if it was rated already."""
        now = self.now_ms()
        if not await self.conversations.rate_once(conv.site, conv.id, rating, comment, now):
            return False
        await self.event(conv.id, "rated", rating=rating, comment=comment)
        return True

    async def request_transcript(self, conv: Conversation, email: str) -> bool:
        """Record a request to mail the transcript to `email` and queue the mail; False when
        the conversation's transcripts were mailed as often as they may be."""
        await self.conversations.set_fields(
            conv.site, conv.id, transcript_email=email, transcript_requested_ms=self.now_ms()
        )
        request = await self.event(conv.id, "transcript_requested", email=email)
        return await self.mail_transcript(conv, email, request)

    async def mark_read(self, conv: Conversation, role: str, up_to: str) -> None:
        await self.conversations.set_fields(conv.site, conv.id, **{f"read_{role}": up_to})

    async def publish(self, conversation_id: str, event: dict[str, Any]) -> None:
        """Tell the conversation's followers something that is not kept (typing, read...)."""
        await self.transcripts.publish(conversation_id, event)

    async def entries(
        self, conversation_id: str, after: str = "0-0", count: int = 1000
    ) -> list[Entry]:
        """The transcript's entries after `after`, oldest first, at most `count`."""
        return await self.transcripts.read(conversation_id, after, count)

    async def details(self, site: str, conversation_id: str) -> dict[str, str | None]:
        """The conversation's rating, read markers and other fields the REST views show."""
        return await conversation_info.details(self.redis, site, conversation_id)

    async def queued(self, site: str, department: str) -> list[str]:
        """The ids queued in `department`, head first."""
        return await self.conversations.queue(site, department)

    async def inbox(self, site: str, department: str, limit: int) -> list[tuple[str, int]]:
        """The department's left messages, oldest first: (conversation id, ms left)."""
        return await self.conversations.inbox(site, department, limit)

    async def count_upload(self, site: str, visitor: str) -> bool:
        """Count an upload of a visitor; False once over the hourly limit."""
        per_hour = self.settings.uploads_per_visitor
        return await count_upload(self.redis, site, visitor, self.now_ms(), per_hour)

    async def count_kb_request(self, address: str) -> bool:
        """Count a public knowledge-base request; False once over the per-minute limit."""
        per_minute = self.settings.kb_requests_per_minute
        return await count_request(self.redis, address, self.now_ms(), per_minute)

    async def has_entry(self, conversation_id: str, entry_id: str) -> bool:
        return await self.transcripts.has(conversation_id, entry_id)

    async def lost_tail(self, conversation_id: str, entry_id: str) -> bool:
        """Whether `entry_id` lies past the transcript's end: Redis lost entries a client saw."""
        return await self.transcripts.lost_tail(conversation_id, entry_id)

    async def new_epoch(self, site: str, conversation_id: str, seen: int) -> int:
        """The epoch after `seen` (one bump however many sockets ask for it)."""
        return await self.conversations.bump_epoch_from(site, conversation_id, seen)

    async def count_start(self, site: str, visitor: str, address: str) -> str:
        """Count a new conversation against the visitor's and the address's hourly limits:
        '' if within both, else which one is over ('visitor' or 'address')."""
        return await limits.count_start(
            self.redis, site, visitor, address, self.now_ms(),
            self.settings.conversations_per_visitor, self.settings.conversations_per_address,
        )  # fmt: skip

    # --- agents, sessions, sites ----------------------------------------------------------
    async def agent(self, login: str) -> Agent | None:
        return await self.agents.get(login)

    async def site_agents(self, site: str) -> list[Agent]:
        return await self.agents.of_site(site)

    async def save_agent(self, agent: Agent, password: str | None = None) -> Agent:
        """Create or update an agent (a new one needs a password); see Agents.save."""
        return await self.agents.save(agent, password)

    async def remove_agent(self, login: str) -> bool:
        return await self.agents.remove(login)

    async def verify_password(self, login: str, password: str) -> Agent | None:
        return await self.agents.verify_password(login, password)

    async def save_site(self, site: Site) -> None:
        await sites.save_site(self.redis, site)

    async def agent_state(self, agent: Agent) -> AgentState:
        return await self.agents.state(agent)

    async def agent_chats(self, site: str, login: str) -> list[str]:
        return await self.agents.chats(site, login)

    async def session_agent(self, token: str) -> tuple[sessions.Session, Agent] | None:
        return await sessions.session_agent(self.redis, token, self.scripts.reads)

    async def create_session(self, agent: Agent) -> tuple[str, int]:
        """A new session of `agent`: (token, seconds it lasts)."""
        ttl = int(self.settings.session_hours * 3600)
        return await sessions.create_session(self.redis, agent.login, ttl, agent.version), ttl

    async def end_session(self, token: str) -> None:
        await sessions.end_session(self.redis, token)

    async def session_valid(self, session: sessions.Session, site: str) -> bool:
        """Whether the session still exists for the account version it was made for."""
        if self._lane is not None:
            return (await sessions.still_valid(self._lane, [(session, site)]))[0]
        return await self._session_checks((session, site))

    async def sessions_valid(self, checks: list[tuple[sessions.Session, str]]) -> list[bool]:
        """For each (session, site): whether the session still exists for that account."""
        return await sessions.still_valid(self.scripts.reads, checks)

    async def agents_here(self, site: str, pairs: list[tuple[str, str]]) -> None:
        """These (login, connection) pairs are live: their presence is renewed."""
        now = self.now_ms()
        await self.agents.touch(site, pairs, now, now + self.presence_ttl_ms)

    async def ping(self) -> None:
        """Whether storage answers (StorageError or OSError if not)."""
        await self.redis.ping()

    async def probe(self, channel: str, payload: bytes) -> None:
        """Publish `payload` on a bus channel of its own (the sampler times the bus with it)."""
        await self.redis.publish(channel, payload)

    async def shared_secret(self) -> bytes:
        return await sites.shared_secret(self.redis, self.settings.secret)

    async def all_sites(self) -> list[Site]:
        return await sites.list_sites(self.redis)

    # --- routing --------------------------------------------------------------------------
    async def serve(self, site: str, department: str) -> list[Assignment]:
        """Assign the department's queue head while agents have room; record each in its
        transcript. Returns what this call assigned.

        One pass per department runs at a time in a process: a call arriving meanwhile asks
        the running pass for one more round and waits for it (a burst of 3,000 arrivals costs
        a few passes, not 3,000 racing for the same queue head)."""
        key = (site, department)
        while (running := self._serving.get(key)) is not None:
            self._serve_again.add(key)
            await asyncio.shield(running)
            if key not in self._serve_again:
                return []  # the pass that ran after our request served it
        task = asyncio.ensure_future(self._serve_passes(key))
        self._serving[key] = task
        return await asyncio.shield(task)

    async def _serve_passes(self, key: tuple[str, str]) -> list[Assignment]:
        done: list[Assignment] = []
        try:
            while True:
                self._serve_again.discard(key)
                done += await self._serve_once(*key)
                if key not in self._serve_again:
                    return done
        finally:
            self._serving.pop(key, None)

    async def _serve_once(self, site: str, department: str) -> list[Assignment]:
        done = await self.conversations.serve(site, department, self.now_ms())
        metrics.ASSIGNMENTS.labels("queue").inc(len(done))
        for a in done:
            await self.event(
                a.conversation_id,
                "assigned",
                agent={"id": a.agent, "name": await self.agent_name(a.agent)},
            )
        return done

    async def serve_all(self, site: Site) -> None:
        for department in site.departments:
            await self.serve(site.key, department)

    async def close(self, conv: Conversation, by: dict[str, str], outcome: str = "") -> bool:
        """Close a conversation (either side). Frees the agent's slot and serves the queue."""
        agent = await self.conversations.finish(conv.site, conv.id, self.now_ms(), outcome)
        if agent is None:
            return False
        metrics.ENDED.labels("closed").inc()
        await self.event(conv.id, "closed", by=by, outcome=outcome)
        if self.outbox is not None:  # the transcript, if the site mails it on close
            await notices.on_close(self, conv)
        await self._expire(conv.site, conv.id)
        await self._serve_agent_departments(conv.site, agent)
        return True

    async def transfer(
        self,
        conv: Conversation,
        by: Agent,
        *,
        to_agent: str = "",
        to_department: str = "",
        note: str = "",
    ) -> str:
        """Hand a conversation to an agent with room or to the front of a department's queue.
        Returns the store's status ('moved', 'no_room', ...)."""
        acting = "" if by.role.value in ("supervisor", "admin") else by.login
        status, previous = await self.conversations.transfer(
            conv.site, conv.id, self.now_ms(), to_agent=to_agent, to_department=to_department,
            by=acting,
        )  # fmt: skip
        if status != "moved":
            return status
        target: dict[str, str] = {"department": to_department}
        if to_agent:
            metrics.ASSIGNMENTS.labels("transfer").inc()
            target = {"id": to_agent, "name": await self.agent_name(to_agent)}
        await self.event(conv.id, "transferred", to=target, by={"id": by.login, "name": by.name})
        if note:
            await self.transcripts.append(
                conv.id,
                {"kind": "note", "internal": True, "text": note,
                 "from": {"role": "agent", "id": by.login, "name": by.name}},
            )  # fmt: skip
        if to_department:
            await self._hold_place(conv.site, conv.id)
            await self.serve(conv.site, to_department)
        await self._serve_agent_departments(conv.site, previous)
        return status

    async def set_status(self, agent: Agent, status: AgentStatus) -> None:
        """An agent goes online, away or offline. Offline hands their chats back at once."""
        if status is AgentStatus.OFFLINE:
            await self.hand_back(agent.site, agent.login, only_expired=False)
        await self.agents.set_status(agent, status, self.now_ms())
        if status is AgentStatus.ONLINE:
            await self._serve_agent_departments(agent.site, agent.login)

    async def set_capacity(self, agent: Agent, capacity: int) -> None:
        await self.agents.set_capacity(agent, capacity, self.now_ms())
        await self._serve_agent_departments(agent.site, agent.login)

    async def connected(self, agent: Agent, conn_id: str) -> None:
        now = self.now_ms()
        woke = await self.agents.touch(
            agent.site, [(agent.login, conn_id)], now, now + self.presence_ttl_ms
        )
        if woke:
            await self._serve_agent_departments(agent.site, agent.login)

    async def disconnected(self, agent: Agent, conn_id: str) -> None:
        grace_ms = int(self.settings.grace_seconds * 1000)
        await self.agents.drop(agent.site, agent.login, conn_id, self.now_ms(), grace_ms)

    @property
    def presence_ttl_ms(self) -> int:
        """How long a connection counts as live without a heartbeat (3 sweep periods, >= 5 s)."""
        return int(max(5.0, 3 * self.settings.sweep_seconds) * 1000)

    async def hand_back(self, site: str, login: str, only_expired: bool) -> int:
        """Requeue the agent's chats at the front of their queues, with a transcript event."""
        convs = await self.agents.chats(site, login)
        count = await self.conversations.requeue_agent(site, login, self.now_ms(), only_expired)
        if count:
            for conv_id in convs:
                await self.event(conv_id, "requeued", reason="agent_offline")
                await self._hold_place(site, conv_id)
            for dept in {
                c.department for c in [await self.conversations.get(site, i) for i in convs] if c
            }:
                await self.serve(site, dept)
        return count

    async def leave_queue(self, conv: Conversation) -> None:
        """The shopper of a queued conversation disconnected: hold their place a while."""
        if conv.state is ConversationState.QUEUED:
            await self._hold_place(conv.site, conv.id)

    async def _hold_place(self, site: str, conversation_id: str) -> None:
        """Abandon a queued conversation after the hold time unless its shopper is connected
        (a connected shopper's process clears the mark with every heartbeat)."""
        deadline = self.now_ms() + int(self.settings.queue_hold_seconds * 1000)
        await self.conversations.mark_left(site, conversation_id, deadline)

    # --- the offline inbox ----------------------------------------------------------------
    async def leave_message(self, conv: Conversation) -> Conversation:
        """The shopper left a message: a queued conversation moves from the live queue to its
        department's inbox, so the shoppers behind it move up. Returns it as it is now."""
        await self.conversations.leave(conv.site, conv.id, self.now_ms())
        return await self.conversations.get(conv.site, conv.id) or conv

    async def mail_left_message(self, conv: Conversation, email: str, name: str = "") -> None:
        """Queue the acknowledgement of a left message (once per conversation)."""
        site = await self.site(conv.site) if self.outbox is not None else None
        if self.outbox is None or site is None:
            return
        opens = mail.opening_time(site.widget, self.now_ms(), site.widget.language)
        ack = mail.left_message_ack(conv.id, email, site.name, name, site.widget.reply_hours,
                                    site.widget.language, site.key, opens)  # fmt: skip
        await self.outbox.enqueue(to_record(ack))
        await notices.on_left(self, conv, email, name)  # the team, if out of hours

    async def mail_transcript(self, conv: Conversation, email: str, request_id: str) -> bool:
        """Queue the transcript up to the request (transcript entry `request_id`) to `email`.
        False if the conversation had its MAX_TRANSCRIPT_MAILS already (the server would
        otherwise mail any address on an anonymous shopper's word, without end)."""
        site = await self.site(conv.site) if self.outbox is not None else None
        if self.outbox is None or site is None:
            return True
        asked = await self.conversations.count(conv.site, conv.id, "transcript_mails")
        if asked > MAX_TRANSCRIPT_MAILS:
            return False
        upto = stream_id_key(request_id)
        entries = await self.transcripts.read(conv.id, count=self.settings.max_entries + 100)
        shown = [e.data for e in entries if stream_id_key(e.id) <= upto]
        sent = mail.transcript(conv.id, request_id, email, site.name, shown, site.widget.language,
                               site.key)  # fmt: skip
        await self.outbox.enqueue(to_record(sent))
        return True

    async def take_left(self, agent: Agent, conversation_id: str) -> str:
        """`agent` takes a message left in the inbox (if they have room), recorded like any
        assignment. Returns the store's status ('taken', 'no_room', 'not_in_inbox'...)."""
        manager = agent.role.value in ("supervisor", "admin")
        status = await self.conversations.take(
            agent.site, conversation_id, agent.login, self.now_ms(), manager
        )
        if status == "taken":
            metrics.ASSIGNMENTS.labels("inbox").inc()
            await self.event(
                conversation_id, "assigned", agent={"id": agent.login, "name": agent.name}
            )
        return status

    async def sweep(self, site: Site) -> None:
        """The backstop, run by every process periodically; idempotent."""
        grace_ms = int(self.settings.grace_seconds * 1000)
        expired_agents, left = await self.conversations.sweep(site.key, self.now_ms(), grace_ms)
        for login in expired_agents:
            await self.hand_back(site.key, login, only_expired=True)
        for conv_id in left:
            done = await self.conversations.finish(
                site.key, conv_id, self.now_ms(), "", ConversationState.ABANDONED
            )
            if done is not None:
                metrics.ENDED.labels("abandoned").inc()
                await self.event(conv_id, "abandoned")
                await self._expire(site.key, conv_id)
        await self.serve_all(site)
        await self._prune_rollups(site.key)

    async def _prune_rollups(self, site: str) -> None:
        """Now and then, forget agents' time online older than the rollups it belongs to."""
        if time.monotonic() < self._pruned.get(site, 0.0):
            return
        self._pruned[site] = time.monotonic() + PRUNE_SECONDS
        await self.rollups.prune_sessions(site, self.now_ms() - self._kpi_keep_ms)

    @property
    def _keep_ms(self) -> int:
        return _days_ms(self.settings.retention_days)

    async def _expire(self, site: str, conversation_id: str) -> None:
        """An ended conversation is kept for the retention period, an anonymous one that no
        agent answered for the shorter one; its transcript goes with it."""
        ttl = await self.conversations.expire_ended(
            site, conversation_id, self._keep_ms,
            _days_ms(self.settings.anonymous_retention_days),
        )  # fmt: skip
        if ttl:
            await self.transcripts.expire(conversation_id, ttl)
            await self.attachments.expire(conversation_id, ttl, self.now_ms())

    async def _serve_agent_departments(self, site: str, login: str) -> None:
        if not login:
            return
        agent = await self.agents.get(login)
        if agent is not None:
            for dept in agent.departments:
                await self.serve(site, dept)


def _days_ms(days: float) -> int:
    return int(days * 24 * 3600 * 1000)


def _sender_key(sender: dict[str, str]) -> str:
    return f"{sender['role']}:{sender['id']}"


def _dedupe_key(sender: dict[str, str], client_msg_id: str, note: bool = False) -> str:
    """Client message ids are unique per sender, not globally (notes have their own)."""
    if note:
        return f"note|{sender['id']}|{client_msg_id}"
    return f"{_sender_key(sender)}|{client_msg_id}"
