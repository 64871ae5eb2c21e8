"""What an operator does with the outbox (`chatserver mail dead-letters`, docs/email.md): list
the mails given up on, queue one (or all) again, or drop one. A mail is named by its
idempotency key (`ack.CONV`, `reply.CONV.LINE` ...), which is also its Message-ID."""

from __future__ import annotations

from typing import Any

from chatserver.store.outbox import Outbox


async def dead_letters(outbox: Outbox) -> list[dict[str, Any]]:
    """The dead mails, newest first: key, to, template, site, conversation, tries."""
    return [_row(record) for _, record in await outbox.dead_letters()]


async def revive(outbox: Outbox, key: str | None, drop: bool = False) -> list[str]:
    """Queue again (or `drop`) the dead mail `key`, or every dead mail (`key` None). Returns
    the keys done: [] when `key` is not in the list (or another operator did it first)."""
    done = []
    for raw, record in await outbox.dead_letters():
        if (key is None or record.get("key") == key) and await outbox.revive(raw, record, drop):
            done.append(str(record.get("key")))
    return done


def _row(record: dict[str, Any]) -> dict[str, Any]:
    return {"key": record.get("key"), "to": record.get("to"), "template": record.get("template"),
            "site": record.get("site") or "", "conversation": record.get("thread") or "",
            "tries": record.get("tries", 0)}  # fmt: skip
