"""The shopper's socket (/ws/v1/shopper?site=KEY): a visitor token opens only their own
conversations."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import orjson

from chatserver.core import frames, outgoing, site_events, tokens
from chatserver.core.frames import MAX_ID_CHARS, ErrorCode, Frame, ProtocolError
from chatserver.core.model import Conversation, ConversationState, FirstMessage, Site
from chatserver.core.site_events import SiteEvent
from chatserver.demo import PUBLISHED_SECRETS
from chatserver.gateway.connection import Connection
from chatserver.store import limits

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

    from chatserver.gateway.services import Services

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RATINGS = ("good", "bad")
MAX_CONTEXT_BYTES = 8 * 1024  # page + cart context, as JSON


class ShopperConnection(Connection):
    role = "shopper"
    frame_specs = frames.SHOPPER_FRAMES

    def __init__(self, services: Services, ws: WebSocket) -> None:
        super().__init__(services, ws)
        self.site: Site | None = None
        self.visitor = ""
        self.customer = ""
        self.claimed = ""  # a customer id the page claimed, verified or not (shown as a claim)
        self.mine: dict[str, Conversation] = {}

    async def refuse_reason(self) -> str:
        key = self.ws.query_params.get("site", "")
        self.site = await self.services.site_cache.get(key) if key else None
        if self.site is None:
            return "unknown site"
        origin = self.ws.headers.get("origin")
        if origin and not self.services.origin_allowed(origin, self.site, self.ws.headers):
            return "origin not allowed"
        self.site_key = self.site.key
        return ""

    async def on_hello(self, frame: Frame) -> None:
        assert self.site is not None
        now_s = self.hub.now_ms() // 1000
        secret = self.services.secret
        token = frame.get("token")
        if token:
            visitor = tokens.verify_visitor(secret, token, self.site.key, now_s)
            if visitor is None:
                raise ProtocolError(ErrorCode.BAD_TOKEN, "visitor token is invalid or expired")
            self.visitor = visitor
        else:
            self.visitor = tokens.new_visitor_id()
            token = tokens.sign_visitor(secret, self.site.key, self.visitor, now_s)
        self.customer = self._verified_customer(frame.get("customer"), now_s)
        self.claimed = _claimed_id(frame.get("customer"))
        await self.services.sites.join(self, self.site.key)
        recent = await self.hub.recent(self.site.key, self.visitor)
        for conv in recent:
            self._know(conv)
            if conv.state is ConversationState.QUEUED:
                await self.hub.shopper_here(conv)
        self.authenticated = True
        site = {
            "key": self.site.key,
            "name": self.site.name,
            "departments": list(self.site.departments),
            **await self._availability(),
        }
        summaries = [await self.services.summary(c, self.role) for c in recent]
        self.send(outgoing.shopper_welcome(self.visitor, token, bool(self.customer), site,
                                           summaries))  # fmt: skip
        for conv in recent:
            self._track_queue(conv)

    async def _availability(self) -> dict[str, Any]:
        """Whether the store is within business hours and which departments have an agent
        online: the widget offers to leave a message before the shopper writes."""
        assert self.site is not None
        site = self.site
        now = self.hub.now_ms()

        async def compute() -> dict[str, bool]:
            return {dept: (await self.hub.queue(site.key, dept)).total_slots > 0
                    for dept in site.departments}  # fmt: skip

        online = await self.services.availability.get(site.key, compute)
        widget = site.widget
        return {
            "open": widget.is_open(now),
            "next_open": widget.next_open_ms(now),
            "agents_online": online,
        }

    def _verified_customer(self, claim: Any, now_s: int) -> str:
        """The customer id if the store signed it (see docs/protocol.md), else ''."""
        assert self.site is not None
        if not isinstance(claim, dict):
            return ""
        cid, expires, sig = claim.get("id"), claim.get("expires"), claim.get("signature")
        if not (isinstance(cid, str) and isinstance(expires, int) and isinstance(sig, str)):
            return ""
        if not 0 < len(cid) <= MAX_ID_CHARS:
            return ""
        settings = self.services.settings
        if expires > now_s + settings.claim_max_hours * 3600:
            return ""  # a claim that outlives a browsing session is a stolen claim's friend
        secret = self.site.identity_secret
        if secret in PUBLISHED_SECRETS and not settings.demo:
            return ""  # the demo's identity secret is in our source: it counts only in the demo
        ok = tokens.verify_customer(secret, cid, expires, sig, now_s)
        return cid if ok else ""

    async def on_start(self, frame: Frame) -> None:
        """Open a conversation, or return the visitor's open one (from any tab or process)."""
        assert self.site is not None
        if frame.get("text") and not frame.get("client_msg_id"):
            raise ProtocolError(ErrorCode.MISSING_FIELD, "start with text needs client_msg_id")
        department = frame.get("department") or self.site.default_department
        if department not in self.site.departments:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no department {department[:40]!r}")
        contact = _contact(frame.get("name") or "", frame.get("email") or "")
        if frame.get("leave_message"):
            if "email" not in contact:
                raise ProtocolError(ErrorCode.MISSING_FIELD, "leave_message needs email")
            contact["left_message"] = "1"
        read = await self.hub.article_titles(self.site.key, frame.get("articles_read") or [])
        recent = await self.hub.recent(self.site.key, self.visitor)
        conv = next((c for c in recent if c.open), None)
        started = conv is None
        if conv is None:
            await self._count_start()
            extra = dict(contact)
            if read:  # the knowledge-base articles the shopper opened before asking
                extra["articles_read"] = orjson.dumps(read).decode()
            if self.claimed and self.claimed != self.customer:
                extra["claimed_customer"] = self.claimed
            text = frame.get("text")
            first = FirstMessage(self.sender(), frame["client_msg_id"], text) if text else None
            conv = await self.hub.start_conversation(
                self.site, self.visitor, department, customer=self.customer, extra=extra,
                first=first,
            )  # fmt: skip
        if read and conv.extra.get("articles_read") is None:
            await self.hub.set_details(conv, {"articles_read": orjson.dumps(read).decode()})
        if contact:  # a new conversation has it among its fields already
            await self.hub.set_contact(conv, contact, keep=not started)
        if frame.get("leave_message"):  # out of the live queue, into the department's inbox
            conv = await self.hub.leave_message(conv)
            await self.hub.mail_left_message(conv, contact["email"], contact.get("name", ""))
        self._know(conv)
        self.send(await self.services.summary(conv, self.role))
        self._track_queue(conv)
        await self.watch(conv.id, "0-0", conv.epoch)
        if not frame.get("text"):
            return
        cmid = frame["client_msg_id"]
        stored = await self.hub.stored_id(conv, self.sender(), cmid) if started else None
        if stored is not None:  # stored with the new conversation: acked as new
            self.send(outgoing.ack(conv.id, cmid, stored, True))
        else:  # into the visitor's open conversation (or refused: its error says why)
            message = {"conversation_id": conv.id, "client_msg_id": cmid, "text": frame["text"]}
            await self.on_message(Frame("message", message))

    async def _count_start(self) -> None:
        """A new conversation is within the visitor's and the address's hourly limits, or
        ProtocolError `too_many_conversations`."""
        assert self.site is not None
        over = await self.hub.count_start(self.site.key, self.visitor, self.address)
        if over:
            who = "you have" if over == "visitor" else "your network has"
            raise ProtocolError(
                ErrorCode.TOO_MANY_CONVERSATIONS,
                f"{who} started too many conversations: try again in "
                f"{limits.minutes_left(self.hub.now_ms())} min",
            )

    async def on_leave_message(self, frame: Frame) -> None:
        """The shopper waits in a queue nobody serves now: a queued conversation moves to the
        department's inbox (out of the live queue, never abandoned) until an agent takes it,
        and the agents may answer by email too."""
        conv = await self.conversation_for(frame["conversation_id"])
        if not conv.open:
            raise ProtocolError(ErrorCode.CONVERSATION_CLOSED, "the conversation is closed")
        contact = _contact(frame.get("name") or "", _required_email(frame["email"]))
        contact["left_message"] = "1"
        await self.hub.set_contact(conv, contact)
        if (await self.hub.leave_message(conv)).state is not conv.state:
            await self._refresh(conv.id)  # its new state: no queue position any more
        await self.hub.mail_left_message(conv, contact["email"], contact.get("name", ""))

    async def on_rate(self, frame: Frame) -> None:
        conv = await self.conversation_for(frame["conversation_id"])
        if conv.open:
            raise ProtocolError(ErrorCode.INVALID_FIELD, "rate a conversation once it has ended")
        rating, comment = frame["rating"], frame.get("text") or ""
        if rating not in RATINGS:
            raise ProtocolError(ErrorCode.INVALID_FIELD, "rating must be good or bad")
        if not await self.hub.rate(conv, rating, comment):
            raise ProtocolError(ErrorCode.ALREADY_RATED, "the conversation is rated already")

    async def on_transcript(self, frame: Frame) -> None:
        """Record a request to email the transcript, and queue the mail (with an SMTP server)."""
        conv = await self.conversation_for(frame["conversation_id"])
        email = _contact("", _required_email(frame["email"]))["email"]
        if not await self.hub.request_transcript(conv, email):
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, "the transcript was sent as often as it can be"
            )

    async def on_context(self, frame: Frame) -> None:
        """The page the shopper is on and their cart: kept on the conversation for agents, and
        passed live to those following it."""
        conv = await self.conversation_for(frame["conversation_id"])
        if not conv.open:
            raise ProtocolError(ErrorCode.CONVERSATION_CLOSED, "the conversation is closed")
        context = {k: frame[k] for k in ("page", "cart") if frame.get(k) is not None}
        try:
            encoded = {k: orjson.dumps(v).decode() for k, v in context.items()}
        except TypeError:  # msgpack can carry bytes, which have no JSON form
            raise ProtocolError(
                ErrorCode.INVALID_FIELD, "page and cart must be JSON data"
            ) from None
        if sum(len(v.encode()) for v in encoded.values()) > MAX_CONTEXT_BYTES:
            raise ProtocolError(ErrorCode.INVALID_FIELD, "page and cart are too large")
        if encoded:
            await self.hub.set_details(conv, encoded)
            await self.hub.publish(conv.id, {**outgoing.context(**context), "from_conn": self.id})

    async def on_close(self, frame: Frame) -> None:
        conv = await self.conversation_for(frame["conversation_id"])
        if not await self.hub.close(conv, self.sender(), ""):
            raise ProtocolError(ErrorCode.CONVERSATION_CLOSED, "the conversation is not open")

    async def on_resume(self, frame: Frame) -> None:
        await super().on_resume(frame)
        conv = self.mine.get(frame["conversation_id"])
        if conv is not None:  # an older queued conversation gets its queue updates too
            self._track_queue(conv)

    async def conversation_for(self, conversation_id: str) -> Conversation:
        assert self.site is not None
        conv = await self.services.conversations.get(self.site.key, conversation_id)
        if conv is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, "no such conversation")
        if conv.visitor != self.visitor:
            raise ProtocolError(ErrorCode.FORBIDDEN, "not your conversation")
        self._know(conv)
        return conv

    def sender(self) -> dict[str, str]:
        return {"role": "shopper", "id": self.visitor}

    def visible(self, entry: dict[str, Any]) -> bool:
        return not frames.is_internal(entry)

    def present(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Shoppers see agents by name only: their logins stay inside the team (an attachment
        keeps its id: the widget asks for fresh URLs by it)."""
        return {k: v if k == "attachment" else _without_agent_id(v) for k, v in frame.items()}

    async def on_site_event(self, event: SiteEvent) -> None:
        if event.kind in site_events.ROUTING and event.conv in self.mine:
            await self._refresh(event.conv)

    def _know(self, conv: Conversation) -> None:
        """One of this visitor's conversations: its routing events reach this socket."""
        self.mine[conv.id] = conv
        self.services.sites.follow(self, conv.id)

    def knows(self, conversation_id: str) -> bool:
        return conversation_id in self.mine

    def queued_conversations(self) -> list[Conversation]:
        return [c for c in self.mine.values() if c.state is ConversationState.QUEUED]

    async def resync(self) -> None:
        """After a bus outage: the state and queue place of every conversation of this tab."""
        for conversation_id in list(self.mine):
            await self._refresh(conversation_id)

    async def _refresh(self, conversation_id: str) -> None:
        assert self.site is not None
        conv = await self.hub.conversation(self.site.key, conversation_id)
        if conv is not None:
            self._know(conv)
            self.send(await self.services.summary(conv, self.role))
            self._track_queue(conv)

    def _track_queue(self, conv: Conversation) -> None:
        if conv.state is ConversationState.QUEUED:
            self.services.queues.follow(self, conv)
        else:
            self.services.queues.forget(self, conv.id)

    async def on_closed(self) -> None:
        self.services.queues.forget_all(self)
        for conv in self.mine.values():
            if conv.state is ConversationState.QUEUED:
                await self.hub.leave_queue(conv)


def _required_email(value: str) -> str:
    if not value.strip():
        raise ProtocolError(ErrorCode.MISSING_FIELD, "field 'email' is required")
    return value


def _contact(name: str, email: str) -> dict[str, str]:
    """The contact details a shopper gave (empty ones left out); a bad email is refused."""
    if email and not _EMAIL.fullmatch(email):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "field 'email' must be an email address")
    return {k: v.strip() for k, v in (("name", name), ("email", email)) if v.strip()}


def origin_of(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def _without_agent_id(value: Any) -> Any:
    if isinstance(value, dict) and value.get("role") != "shopper" and "name" in value:
        return {k: v for k, v in value.items() if k != "id"}
    return value


def _claimed_id(claim: Any) -> str:
    """The id a customer claim names, whatever its signature ('' if not a string of 1-64)."""
    cid = claim.get("id") if isinstance(claim, dict) else None
    return cid if isinstance(cid, str) and 0 < len(cid) <= MAX_ID_CHARS else ""
