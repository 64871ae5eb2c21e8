"""The one interface to the outside SMTP server: `SmtpSender.send(message)`.

`smtp://user:pass@host:port` upgrades with STARTTLS when the server offers it; `smtps://`
speaks TLS from the start. Errors are `MailError`s that say whether trying again may help.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from urllib.parse import unquote, urlparse

import aiosmtplib

TIMEOUT_SECONDS = 30.0
# SMTP's line ends, headers unfolded up to RFC 5322's 998 characters (a long Message-ID stays
# on its line: some tools compare it as written).
_WIRE = policy.SMTP.clone(max_line_length=998)


class MailError(Exception):
    """A mail was not accepted; `permanent` if the server refused it for good (5xx)."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class SmtpSender:
    host: str
    port: int
    tls: bool
    username: str = ""
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> SmtpSender:
        """The sender for a validated `smtp_url` setting."""
        parsed = urlparse(url)
        tls = parsed.scheme == "smtps"
        return cls(
            host=parsed.hostname or "localhost",
            port=parsed.port or (465 if tls else 25),
            tls=tls,
            username=unquote(parsed.username or ""),
            password=unquote(parsed.password or ""),
        )

    async def send(self, message: EmailMessage) -> None:
        """Hand `message` to the server, or raise MailError."""
        sender = parseaddr(str(message["From"]))[1]
        recipients = [a for _, a in getaddresses([str(v) for v in message.get_all("To", [])])]
        try:
            await aiosmtplib.send(
                message.as_bytes(policy=_WIRE), sender=sender, recipients=recipients,
                hostname=self.host, port=self.port, use_tls=self.tls,
                start_tls=None if not self.tls else False,  # None: STARTTLS if offered
                username=self.username or None, password=self.password or None,
                timeout=TIMEOUT_SECONDS,
            )  # fmt: skip
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(f"{exc.code} {exc.message}", permanent=exc.code >= 500) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(repr(exc), permanent=False) from exc
