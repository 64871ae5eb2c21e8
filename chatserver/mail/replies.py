"""Agents' lines a shopper did not see in the widget go out by mail, a while after they were
written, several in one mail.

The hub marks a conversation due `mail_reply_delay_seconds` after an agent's line
(`Outbox.reply_later`; a conversation already due keeps its time, so what agents write
meanwhile joins the same mail). Each round of the mail worker leases the due conversations
(one process each) and settles them: the agents' messages after both the shopper's read marker
(what the widget showed them) and the last line mailed go into one mail to the conversation's
contact address, queued in the outbox together with the new mark (`mail_reply.lua`), so each
line is mailed once whatever the number of processes. A lease whose process died ends after
`mail_claim_seconds` and another process takes the conversation over.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chatserver.core import mail
from chatserver.mail import to_record

if TYPE_CHECKING:
    from chatserver.hub import Hub

log = logging.getLogger(__name__)
MAX_LINES = 1000  # transcript entries read per conversation and round


class ReplyMailer:
    def __init__(self, hub: Hub, lease_ms: int) -> None:
        self.hub = hub
        self.lease_ms = lease_ms

    async def round(self) -> int:
        """Settle the conversations due now; returns how many mails were queued."""
        outbox = self.hub.outbox
        if outbox is None:
            return 0
        queued = 0
        for member, lease in await outbox.due_replies(self.hub.now_ms(), self.lease_ms):
            try:
                queued += await self._settle(member, lease)
            except Exception:  # one bad conversation must not stop the others
                log.exception("mailing the replies of %s failed", member)
        return queued

    async def _settle(self, member: str, lease: int) -> int:
        outbox = self.hub.outbox
        assert outbox is not None
        site_key, _, conv_id = member.partition(" ")
        mark = await outbox.mailed_upto(conv_id)
        conv = await self.hub.conversation(site_key, conv_id)
        site = await self.hub.site(site_key)
        if conv is None or site is None:
            await outbox.settle_reply(member, lease, mark, "", None)
            return 0
        customer = await self.hub.customers.get(site_key, conv.customer) if conv.customer else None
        to = mail.contact_email(conv.extra, customer.email if customer else "")
        read = (await self.hub.details(site_key, conv_id))["read_shopper"]
        seen = mail.later_id(mark, read or "")
        entries = await self.hub.entries(conv_id, after=seen or "0-0", count=MAX_LINES)
        lines, ids = mail.unseen_agent_lines(((e.id, e.data) for e in entries), seen)
        if lines and await outbox.unsubscribed(conv_id):  # List-Unsubscribe: no more mail
            lines = []
        if not lines or not to:  # all seen in the widget, or nowhere to write to
            await outbox.settle_reply(member, lease, mark, ids[-1] if ids else "", None)
            return 0
        sent = mail.agent_replies(conv_id, ids[-1], to, site.name, lines, site.widget.language,
                                  site_key)  # fmt: skip
        if not await outbox.settle_reply(member, lease, mark, ids[-1], to_record(sent)):
            return 0  # another process mailed them (its lease had ended)
        await self.hub.event(conv_id, "emailed", entries=ids, internal=True)  # agents only
        log.info("queued %d agent lines of %s to the shopper by mail", len(ids), conv_id)
        return 1
