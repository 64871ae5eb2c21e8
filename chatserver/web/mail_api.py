"""POST /api/v1/mail/inbound: shoppers' replies by mail, posted by a mail provider's inbound
route as the raw MIME message (docs/email.md).

Authentication: HTTP basic auth whose password is `--mail-inbound-secret` (any user name), as
every provider can put it in the route's URL (`https://inbound:SECRET@chat.example/api/v1/
mail/inbound`). Without the secret or an inbound domain the endpoint does not exist (404).

Bodies: the raw message (`Content-Type: message/rfc822`, `text/plain` or
`application/octet-stream`), or `multipart/form-data` with the raw message in the field
`body-mime` (Mailgun's "store and forward" raw MIME) or `email` (SendGrid's inbound parse with
"POST the raw, full MIME message"), the envelope recipient in `recipient` (Mailgun) when the
headers lack it. The answer is 200 with what became of the mail (`appended`, `duplicate`,
`refused` and why): a refused mail is not retried by the provider. 503 (storage unavailable,
or the same mail is being appended right now) asks the provider to retry.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict
from email import message_from_bytes, policy
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from chatserver.core.mail import SiteMail, from_address, unsubscribe_conversation
from chatserver.core.model import Role
from chatserver.mail import inbound, notices
from chatserver.web import security
from chatserver.web.agents_api import own_site
from chatserver.web.http import (
    MANAGERS,
    ApiError,
    Caller,
    body_bytes,
    endpoint,
    field,
    gateway,
    hub,
    json,
    json_body,
    public,
)

RAW_FIELDS = ("body-mime", "email")


@public
async def receive_inbound(request: Request) -> Response:
    gw = gateway(request)
    settings = gw.settings
    if not settings.mail_inbound_secret or not settings.mail_inbound_domain:
        raise ApiError(404, "not_found", "inbound mail is not configured")
    if not security.same(settings.mail_inbound_secret, _basic_password(request)):
        raise ApiError(401, "not_authenticated", "basic auth with the inbound secret required")
    body = await body_bytes(request, inbound.MAX_BYTES + 64 * 1024)
    raw, envelope_to = _raw_message(request.headers.get("content-type", ""), body)
    if not raw.strip():
        raise ApiError(400, "bad_message", "the body holds no mail message")
    outcome = await inbound.receive(
        gw.hub, gw.secret, settings.mail_inbound_domain, raw, envelope_to=envelope_to
    )
    if outcome.status == "retry":
        raise ApiError(503, "unavailable", "this mail is being delivered right now, retry")
    return json({"status": outcome.status, "reason": outcome.reason or None})


def _basic_password(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]


def _raw_message(content_type: str, body: bytes) -> tuple[bytes, list[str] | None]:
    """The raw message in the body, and the envelope recipient a form gives (else None)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return body, None
    form = message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body, policy=policy.HTTP
    )
    fields: dict[str, bytes] = {}
    for part in form.iter_parts() if form.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload
    raw = next((fields[f] for f in RAW_FIELDS if f in fields), b"")
    recipient = fields.get("recipient", b"").decode("utf-8", "replace").strip()
    return raw, [recipient] if recipient else None


# --- List-Unsubscribe (RFC 8058 one-click) ---------------------------------------------------
_PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; form-action 'self'",
                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                 "Cache-Control": "no-store"}  # fmt: skip
_ASK = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Stop these emails</title>
<body><p>Stop the emails about this conversation (answers from
the team and its transcript)? / 不再接收此对话的邮件？</p><form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Stop these emails / 停止接收</button></form></body></html>"""
_DONE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Unsubscribed</title>
<body><p>Done: no more emails about this conversation. The
team's answers stay in the chat on the store's site. / 已退订：此对话不会再发送邮件。</p>
</body></html>"""


@public
async def unsubscribe(request: Request) -> Response:
    """GET: a page asking to confirm (a link checker that opens it changes nothing); POST
    (the mail client's one-click, or the page's button): no more agents' replies or
    transcript on close by mail in this conversation."""
    gw = gateway(request)
    conv = unsubscribe_conversation(gw.secret, request.path_params["token"])
    if not conv or gw.hub.outbox is None:
        raise ApiError(404, "not_found", "no such subscription")
    if request.method == "POST":
        await gw.hub.outbox.unsubscribe(conv)
        return HTMLResponse(_DONE, headers=_PAGE_HEADERS)
    return HTMLResponse(_ASK, headers=_PAGE_HEADERS)


# --- a site's optional mails ---------------------------------------------------------------
def _site_mail_json(settings: SiteMail, enabled: bool) -> dict[str, Any]:
    return {"enabled": enabled, "transcript_on_close": settings.transcript_on_close,
            "out_of_hours_notice": settings.out_of_hours_notice,
            "from": settings.from_address}  # fmt: skip


@endpoint(roles=MANAGERS)
async def get_site_mail(request: Request, caller: Caller) -> Response:
    """The site's optional mails; `enabled` false when the server has no SMTP server."""
    site = await own_site(request, caller)
    h = hub(request)
    return json(_site_mail_json(await notices.site_mail(h, site.key), h.outbox is not None))


@endpoint(roles=(Role.ADMIN,))
async def put_site_mail(request: Request, caller: Caller) -> Response:
    site = await own_site(request, caller)
    h = hub(request)
    if h.outbox is None:
        raise ApiError(409, "mail_not_configured", "the server has no SMTP server (--smtp-url)")
    body = await json_body(request)
    sender = field(body, "from", str, "").strip()
    try:
        if sender and not from_address(sender):
            raise ValueError("from must be one address: 'Name <address@domain>' or "
                             "'address@domain' (quote a name with a comma)")  # fmt: skip
        settings = SiteMail(
            transcript_on_close=field(body, "transcript_on_close", bool, False),
            out_of_hours_notice=field(body, "out_of_hours_notice", str, "").strip(),
            from_address=from_address(sender) if sender else "",
        )
    except ValueError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None
    await h.outbox.put_site_mail(site.key, asdict(settings))
    return json(_site_mail_json(settings, True))


def routes(prefix: str) -> list[Route]:
    return [
        Route(f"{prefix}/mail/inbound", receive_inbound, methods=["POST"]),
        Route(f"{prefix}/mail/unsubscribe/{{token}}", unsubscribe, methods=["GET", "POST"]),
        Route(f"{prefix}/sites/{{site}}/mail", get_site_mail, methods=["GET"]),
        Route(f"{prefix}/sites/{{site}}/mail", put_site_mail, methods=["PUT"]),
    ]
