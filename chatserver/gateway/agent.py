"""The agent's socket (/ws/v1/agent): a session token from POST /api/v1/login.

The socket lives no longer than its session: every frame but `ping` is handled only after the
session is checked again (one round trip: the session and the account version), and the
`revoked` event of the site channel (an agent removed, a password or role changed, a logout)
makes the agent's sockets check at once; the process heartbeat checks them all as a backstop.
A socket whose session ended is closed with 4001 `session revoked`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatserver.core import frames, outgoing
from chatserver.core.frames import CloseCode, ErrorCode, Frame, ProtocolError
from chatserver.core.model import (
    Agent,
    AgentStatus,
    Conversation,
    Role,
    ValidationError,
    check_outcome,
)
from chatserver.core.site_events import ENDED, Kind, SiteEvent
from chatserver.gateway.connection import Closing, Connection, FrameHandler
from chatserver.store import sessions

if TYPE_CHECKING:
    from starlette.websockets import WebSocket

    from chatserver.gateway.services import Services

# The console's pages keep the session token in this HttpOnly cookie (chatserver.web.console).
SESSION_COOKIE = "chat_session"
REVOKED = "session revoked"
UNCHECKED_FRAMES = ("hello", "ping")  # hello checks the token itself; ping does nothing


class AgentConnection(Connection):
    role = "agent"
    frame_specs = frames.AGENT_FRAMES

    def __init__(self, services: Services, ws: WebSocket) -> None:
        super().__init__(services, ws)
        self.agent: Agent | None = None
        self.session: sessions.Session | None = None

    async def refuse_reason(self) -> str:
        origin = self.ws.headers.get("origin")
        if origin and not self.services.console_origin_allowed(origin, self.ws.headers):
            return "origin not allowed"
        return ""

    async def on_hello(self, frame: Frame) -> None:
        # The console's pages keep the session in an HttpOnly cookie: a hello without a token
        # uses the cookie of the handshake (the origin check above rules out other sites).
        token = frame.get("token") or self.ws.cookies.get(SESSION_COOKIE, "")
        found = await self.hub.session_agent(token)
        if found is None:
            raise ProtocolError(ErrorCode.BAD_TOKEN, "session token is invalid or expired")
        self.session, agent = found
        self.agent, self.site_key = agent, agent.site
        await self.services.sites.join(self, agent.site, agent.login)
        # Checked again once subscribed: a revocation in between sent its event too early.
        if not await self.session_valid():
            raise ProtocolError(ErrorCode.BAD_TOKEN, "session token is invalid or expired")
        await self.hub.connected(agent, self.id)
        self.services.agent_connections.add(self)
        self.authenticated = True
        await self.send_welcome()

    def handler(self, kind: str) -> FrameHandler:
        handler = super().handler(kind)
        return handler if kind in UNCHECKED_FRAMES else self._checked(handler)

    def _checked(self, handler: FrameHandler) -> FrameHandler:
        """`handler`, run only while the session is still valid; else the frame is refused
        (`bad_token`) and the socket closed: a demoted agent never acts with the old role."""

        async def checked(frame: Frame) -> None:
            if not await self.session_valid():
                self.send(frames.error(ErrorCode.BAD_TOKEN, REVOKED, frame.get("client_msg_id"),
                                       frame.get("conversation_id")))  # fmt: skip
                raise Closing(CloseCode.SESSION_REVOKED, REVOKED)
            await handler(frame)

        return checked

    async def session_valid(self) -> bool:
        """Whether this socket's session still exists, for the account version it was made
        for (one round trip)."""
        identity = self.identity()
        if identity is None:
            return False
        agent, session = identity
        return await self.hub.session_valid(session, agent.site)

    def identity(self) -> tuple[Agent, sessions.Session] | None:
        """Who this socket is for and by which session (None before a good hello)."""
        if self.agent is None or self.session is None:
            return None
        return self.agent, self.session

    def revoke(self) -> None:
        """The session ended: close (after what is queued) with 4001."""
        self.close_soon(CloseCode.SESSION_REVOKED, REVOKED)

    async def _check_session(self) -> None:
        if not await self.session_valid():
            self.revoke()

    async def send_welcome(self) -> None:
        assert self.agent is not None
        state = await self.hub.agent_state(self.agent)
        chats = [await self.hub.conversation(self.agent.site, c) for c in state.chats]
        live = state.agent
        profile = {"id": live.login, "name": live.name, "role": live.role.value,
                   "departments": list(live.departments), "capacity": live.capacity,
                   "max_capacity": live.max_capacity, "status": state.status.value}  # fmt: skip
        summaries = [await self.services.summary(c, self.role) for c in chats if c]
        self.send(outgoing.agent_welcome(profile, summaries))

    async def on_close(self, frame: Frame) -> None:
        conv = await self.conversation_for(frame["conversation_id"])
        outcome = frame.get("outcome") or "resolved"
        try:
            check_outcome(outcome)
        except ValidationError as exc:
            raise ProtocolError(ErrorCode.INVALID_FIELD, str(exc)) from None
        if not await self.hub.close(conv, self.sender(), outcome):
            raise ProtocolError(ErrorCode.CONVERSATION_CLOSED, "the conversation is not open")

    async def on_status(self, frame: Frame) -> None:
        assert self.agent is not None
        try:
            status = AgentStatus(frame["status"])
        except ValueError:
            raise ProtocolError(
                ErrorCode.INVALID_FIELD, "status must be online, away or offline"
            ) from None
        await self.hub.set_status(self.agent, status)
        await self._send_agent_state()

    async def on_capacity(self, frame: Frame) -> None:
        assert self.agent is not None
        # Re-read: a supervisor may have changed the agent's limit since hello.
        self.agent = await self.hub.agent(self.agent.login) or self.agent
        try:
            await self.hub.set_capacity(self.agent, frame["capacity"])
        except ValidationError as exc:
            raise ProtocolError(ErrorCode.INVALID_FIELD, str(exc)) from None
        await self._send_agent_state()

    async def on_transfer(self, frame: Frame) -> None:
        assert self.agent is not None
        conv = await self.conversation_for(frame["conversation_id"])
        to_agent, to_dept = frame.get("to_agent") or "", frame.get("to_department") or ""
        if bool(to_agent) == bool(to_dept):
            raise ProtocolError(
                ErrorCode.INVALID_FIELD, "give exactly one of to_agent and to_department"
            )
        site = await self.hub.site(self.agent.site)
        if to_dept and (site is None or to_dept not in site.departments):
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no department {to_dept[:40]!r}")
        target = await self.hub.agent(to_agent) if to_agent else None
        if to_agent and (target is None or target.site != self.agent.site):
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no agent {to_agent[:40]!r}")
        status = await self.hub.transfer(
            conv, self.agent, to_agent=to_agent, to_department=to_dept, note=frame.get("note") or ""
        )
        errors = {
            "no_room": (ErrorCode.NO_ROOM, "that agent is not available or has no free slot"),
            "not_assigned": (ErrorCode.NOT_ASSIGNED, "the conversation is not with an agent"),
            "not_yours": (ErrorCode.FORBIDDEN, "not your conversation"),
            "same_agent": (ErrorCode.INVALID_FIELD, "the conversation is already theirs"),
        }
        if status in errors:
            raise ProtocolError(*errors[status])

    async def on_note(self, frame: Frame) -> None:
        """An internal note: in the transcript for agents, never sent to the shopper."""
        await self.store_text(frame, note=True)

    async def _send_agent_state(self) -> None:
        assert self.agent is not None
        state = await self.hub.agent_state(self.agent)
        self.send(outgoing.agent_state(state.status.value, state.load, state.agent.capacity))

    async def conversation_for(self, conversation_id: str) -> Conversation:
        assert self.agent is not None
        conv = await self.services.conversations.get(self.agent.site, conversation_id)
        if conv is None:
            raise ProtocolError(ErrorCode.NOT_FOUND, "no such conversation")
        supervisor = self.agent.role in (Role.SUPERVISOR, Role.ADMIN)
        if conv.agent != self.agent.login and not supervisor:
            raise ProtocolError(ErrorCode.FORBIDDEN, "not your conversation")
        return conv

    def sender(self) -> dict[str, str]:
        assert self.agent is not None
        return {"role": "agent", "id": self.agent.login, "name": self.agent.name}

    async def on_site_event(self, event: SiteEvent) -> None:
        """Handled one at a time in arrival order (Connection.push_event): the `conversation`
        frames of an agent's chats come in the order their events happened."""
        assert self.agent is not None
        me, kind, conv_id = self.agent.login, event.kind, event.conv
        if kind in (Kind.ASSIGNED, Kind.TRANSFERRED) and event.agent == me:
            await self._take(conv_id)
        elif kind in (Kind.TRANSFERRED, Kind.REQUEUED) and event.from_agent == me:
            await self._let_go(conv_id)
        elif kind in ENDED and conv_id in self.views:
            await self._update(conv_id)
        elif kind is Kind.AGENT and event.agent == me:
            await self._send_agent_state()
        elif kind is Kind.REVOKED and event.agent == me:
            await self._check_session()

    async def resync(self) -> None:
        """After a bus outage: start on chats assigned meanwhile, update the others."""
        assert self.agent is not None
        chats = set(await self.hub.agent_chats(self.agent.site, self.agent.login))
        for conversation_id in chats - set(self.views):
            await self._take(conversation_id)
        for conversation_id in set(self.views) - chats:
            await self._update(conversation_id)
        await self._send_agent_state()

    async def _take(self, conversation_id: str) -> None:
        conv = await self._update(conversation_id)
        if conv is None:
            return
        await self.hub.link_customer(conv)  # the customer's history, for the next agent
        await self.watch(conversation_id, "0-0", conv.epoch)

    async def _let_go(self, conversation_id: str) -> None:
        self.unwatch(conversation_id)
        await self._update(conversation_id)

    async def _update(self, conversation_id: str) -> Conversation | None:
        assert self.agent is not None
        conv = await self.hub.conversation(self.agent.site, conversation_id)
        if conv is not None:
            self.send(await self.services.summary(conv, self.role))
        return conv

    async def on_closed(self) -> None:
        self.services.agent_connections.discard(self)
        if self.agent is not None:
            await self.hub.disconnected(self.agent, self.id)
