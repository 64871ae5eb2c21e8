"""A site's optional mails (`core.mail.SiteMail`, set with PUT /api/v1/sites/{site}/mail): the
transcript on close, and the team's notice of a message left out of hours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatserver.core import mail
from chatserver.core.model import Conversation
from chatserver.mail import to_record

if TYPE_CHECKING:
    from chatserver.hub import Hub


async def site_mail(hub: Hub, site: str) -> mail.SiteMail:
    """The site's mail settings (the defaults: nothing optional is mailed)."""
    if hub.outbox is None:
        return mail.SiteMail()
    stored = await hub.outbox.site_mail(site)
    return mail.SiteMail(**{k: v for k, v in stored.items() if k in mail.SiteMail.__slots__})


async def site_sender(hub: Hub, site: str) -> str:
    """The From of a site's mails: its own (`from`), else '' (the server's --mail-from)."""
    return (await site_mail(hub, site)).from_address if site else ""


async def on_close(hub: Hub, conv: Conversation) -> None:
    """Mail the transcript of a closed conversation to its contact, if the site wants it."""
    if hub.outbox is None or not (await site_mail(hub, conv.site)).transcript_on_close:
        return
    site = await hub.site(conv.site)
    customer = await hub.customers.get(conv.site, conv.customer) if conv.customer else None
    to = mail.contact_email(conv.extra, customer.email if customer else "")
    if site is None or not to or await hub.outbox.unsubscribed(conv.id):
        return
    entries = await hub.entries(conv.id, count=hub.settings.max_entries + 100)
    sent = mail.transcript_on_close(conv.id, to, site.name, [e.data for e in entries],
                                    site.widget.language, site.key)  # fmt: skip
    await hub.outbox.enqueue(to_record(sent))


async def on_left(hub: Hub, conv: Conversation, email: str, name: str) -> None:
    """Tell the team of a message left while the store is closed, if the site wants it."""
    settings = await site_mail(hub, conv.site)
    site = await hub.site(conv.site)
    if hub.outbox is None or not settings.out_of_hours_notice or site is None:
        return
    if site.widget.is_open(hub.now_ms()):
        return
    agents = await hub.site_agents(site.key)
    logins = [a.login for a in agents if conv.department in a.departments]
    console = f"{hub.settings.public_url.rstrip('/')}/console" if hub.settings.public_url else ""
    for to in settings.notice_addresses(logins):
        notice = mail.out_of_hours_notice(conv.id, to, site.name, conv.department, name, email,
                                          console, site.key)  # fmt: skip
        await hub.outbox.enqueue(to_record(notice))
