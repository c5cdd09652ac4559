"""Digests by e-mail (stdlib ``smtplib`` and ``email``): one message per manager, a text part
(the Markdown) and an HTML part, through the SMTP server the settings name (``KAM_SMTP_*``),
in one connection."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from kam_api.digest.render import digest_html, digest_markdown, digest_subject
from kam_projections.digest import Digest


class MailError(Exception):
    """The digests could not be sent (one line: the server, and why)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = 10.0


def digest_message(digest: Digest, sender: str, recipient: str) -> EmailMessage:
    """The digest as an e-mail: plain text (Markdown) with an HTML alternative."""
    message = EmailMessage()
    message["Subject"] = digest_subject(digest)
    message["From"] = sender
    message["To"] = Address(display_name=digest.manager, addr_spec=recipient)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(digest_markdown(digest))
    message.add_alternative(digest_html(digest), subtype="html")
    return message


def send_all(smtp: SmtpSettings, messages: Iterable[EmailMessage]) -> int:
    """Sends the messages in one SMTP session; returns how many were sent. ``MailError`` when
    the server cannot be reached, refuses the login or a message (the messages before it were
    sent)."""
    where = f"{smtp.host}:{smtp.port}"
    sent = 0
    try:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if smtp.ssl:
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.starttls:
                client.starttls(context=context)
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            for message in messages:
                client.send_message(message)
                sent += 1
    except smtplib.SMTPException as error:
        raise MailError(f"SMTP server {where}: {_one_line(error)} ({sent} sent)") from None
    except OSError as error:  # refused, unreachable, timed out, TLS failed
        raise MailError(f"cannot reach the SMTP server {where}: {_one_line(error)}") from None
    return sent


def _one_line(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return " ".join(text.split())
