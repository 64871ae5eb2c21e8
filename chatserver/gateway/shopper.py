"""The shopper's socket (/ws/v1/shopper?site=KEY): a visitor token opens only their own
conversations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from chatserver.core import frames, tokens
from chatserver.core.frames import ErrorCode, Frame, ProtocolError
from chatserver.core.model import Conversation, ConversationState, Site
from chatserver.gateway.connection import Connection
from chatserver.store import keys

_ROUTING_EVENTS = ("assigned", "transferred", "requeued", "closed", "abandoned")


class ShopperConnection(Connection):
    role = "shopper"
    frame_specs = frames.SHOPPER_FRAMES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site: Site | None = None
        self.visitor = ""
        self.customer = ""
        self.mine: dict[str, Conversation] = {}
        self.handlers = {
            "hello": self.on_hello,
            "ping": self.on_ping,
            "start": self.on_start,
            "message": self.on_message,
            "typing": self.on_typing,
            "read": self.on_read,
            "resume": self.on_resume,
            "close": self.on_close,
        }

    async def refuse_reason(self) -> str:
        key = self.ws.query_params.get("site", "")
        self.site = await self.hub.site(key) if key else None
        if self.site is None:
            return "unknown site"
        origin = self.ws.headers.get("origin")
        if origin and not self.gateway.origin_allowed(origin, self.site, self.ws.headers):
            return "origin not allowed"
        self.site_key = self.site.key
        return ""

    async def on_hello(self, frame: Frame) -> None:
        assert self.site is not None
        now_s = self.hub.now_ms() // 1000
        secret = self.gateway.secret
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
        await self.gateway.bus.subscribe(keys.site_channel(self.site.key), self.on_site_event)
        recent = await self.hub.conversations.of_visitor(self.site.key, self.visitor, limit=5)
        for conv in recent:
            self.mine[conv.id] = conv
            if conv.state is ConversationState.QUEUED:
                await self.hub.conversations.mark_back(conv.site, conv.id)
        self.authenticated = True
        self.send({
            "type": "welcome", "role": "shopper", "visitor_id": self.visitor, "token": token,
            "customer_verified": bool(self.customer),
            "site": {"key": self.site.key, "name": self.site.name,
                     "departments": list(self.site.departments)},
            "conversations": [await self.gateway.summary(c, self.role) for c in recent],
        })  # fmt: skip
        for conv in recent:
            self._track_queue(conv)

    def _verified_customer(self, claim: Any, now_s: int) -> str:
        """The customer id if the store signed it (see docs/protocol.md), else ''."""
        assert self.site is not None
        if not isinstance(claim, dict):
            return ""
        cid, expires, sig = claim.get("id"), claim.get("expires"), claim.get("signature")
        if not (isinstance(cid, str) and isinstance(expires, int) and isinstance(sig, str)):
            return ""
        ok = tokens.verify_customer(self.site.identity_secret, cid, expires, sig, now_s)
        return cid if ok else ""

    async def on_start(self, frame: Frame) -> None:
        """Open a conversation, or return the visitor's open one (from any tab or process)."""
        assert self.site is not None
        if frame.get("text") and not frame.get("client_msg_id"):
            raise ProtocolError(ErrorCode.MISSING_FIELD, "start with text needs client_msg_id")
        department = frame.get("department") or self.site.default_department
        if department not in self.site.departments:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no department {department[:40]!r}")
        recent = await self.hub.conversations.of_visitor(self.site.key, self.visitor, limit=5)
        conv = next((c for c in recent if c.open), None)
        if conv is None:
            conv = await self.hub.start_conversation(
                self.site, self.visitor, department, customer=self.customer
            )
        self.mine[conv.id] = conv
        self.send(await self.gateway.summary(conv, self.role))
        self._track_queue(conv)
        await self.watch(conv.id, "0-0")
        if frame.get("text"):
            await self.on_message(Frame("message", {
                "conversation_id": conv.id, "client_msg_id": frame["client_msg_id"],
                "text": frame["text"]}))  # fmt: skip

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
        conv = await self.hub.conversations.get(self.site.key, conversation_id)
        if conv is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, "no such conversation")
        if conv.visitor != self.visitor:
            raise ProtocolError(ErrorCode.FORBIDDEN, "not your conversation")
        self.mine[conv.id] = conv
        return conv

    def sender(self) -> dict[str, str]:
        return {"role": "shopper", "id": self.visitor}

    def visible(self, entry: dict[str, Any]) -> bool:
        return not frames.is_internal(entry)

    def present(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Shoppers see agents by name only: their logins stay inside the team."""
        return {k: _without_agent_id(v) for k, v in frame.items()}

    def on_site_event(self, channel: str, event: dict[str, Any]) -> None:
        conv_id = event.get("conv")
        if event.get("t") in _ROUTING_EVENTS and conv_id in self.mine:
            self.gateway.spawn(self._refresh(conv_id))

    async def _refresh(self, conversation_id: str) -> None:
        assert self.site is not None
        conv = await self.hub.conversations.get(self.site.key, conversation_id)
        if conv is not None:
            self.mine[conv.id] = conv
            self.send(await self.gateway.summary(conv, self.role))
            self._track_queue(conv)

    def _track_queue(self, conv: Conversation) -> None:
        if conv.state is ConversationState.QUEUED:
            self.gateway.queues.follow(self, conv)
        else:
            self.gateway.queues.forget(self, conv.id)

    async def on_closed(self) -> None:
        self.gateway.queues.forget_all(self)
        for conv in self.mine.values():
            if conv.state is ConversationState.QUEUED:
                await self.hub.leave_queue(conv)


def origin_of(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


def _without_agent_id(value: Any) -> Any:
    if isinstance(value, dict) and value.get("role") != "shopper" and "name" in value:
        return {k: v for k, v in value.items() if k != "id"}
    return value
