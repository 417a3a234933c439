"""Outgoing e-mail over SMTP: invitations, alerts about channels, scheduled reports.

``TOWNSQUARE_SMTP_URL`` says where: ``smtp://user:password@host:587`` (STARTTLS when the
server offers it, or always with ``?starttls=required``) or ``smtps://user:password@host:465``
(TLS from the first byte). User name and password are percent-decoded. Unset, townsquare
sends no e-mail and :func:`mail_configured` says so, so callers can show the link instead.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from townsquare.config import Settings
from townsquare.errors import NetworkError, ValidationError
from townsquare.messages import Message

SMTP_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool
    starttls: str  # "auto": when offered; "required"; "never"
    username: str | None
    password: str | None


def mail_configured(settings: Settings) -> bool:
    return bool(settings.smtp_url)


def parse_smtp_url(url: str) -> SmtpTarget:
    """The server described by ``url``; ValidationError naming what is wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValidationError(
            "TOWNSQUARE_SMTP_URL must look like smtp://user:password@host:587 or "
            "smtps://host:465, not %(scheme)s://…",
            params={"scheme": parts.scheme or Message("no scheme")},
            field="TOWNSQUARE_SMTP_URL",
        )
    starttls = parse_qs(parts.query).get("starttls", ["auto"])[0].lower()
    if starttls not in ("auto", "required", "never"):
        raise ValidationError(
            "starttls in TOWNSQUARE_SMTP_URL is auto, required or never",
            field="TOWNSQUARE_SMTP_URL",
        )
    try:
        port = parts.port
    except ValueError:
        raise ValidationError(
            "the port in TOWNSQUARE_SMTP_URL is not a number", field="TOWNSQUARE_SMTP_URL"
        ) from None
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if scheme == "smtps" else 587),
        implicit_tls=scheme == "smtps",
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(
    settings: Settings,
    *,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    reply_to: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="townsquare.local")
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.mimetype.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


def send_mail(
    settings: Settings,
    *,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    reply_to: str | None = None,
) -> None:
    """Send one message to ``to``; NetworkError (with the server's words) when it fails."""
    if not settings.smtp_url:
        raise ValidationError(
            "e-mail is not configured: set TOWNSQUARE_SMTP_URL (e.g. smtp://user:pw@host:587)",
            field="TOWNSQUARE_SMTP_URL",
        )
    if not to:
        raise ValidationError("an e-mail needs at least one recipient", field="to")
    target = parse_smtp_url(settings.smtp_url)
    message = build_message(
        settings,
        to=to,
        subject=subject,
        text=text,
        html=html,
        attachments=attachments,
        reply_to=reply_to,
    )
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if target.implicit_tls:
            smtp = smtplib.SMTP_SSL(
                target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
            )
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            smtp.ehlo()
            if not target.implicit_tls and target.starttls != "never":
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                elif target.starttls == "required":
                    raise NetworkError(
                        "the SMTP server %(host)s does not offer STARTTLS, which "
                        "TOWNSQUARE_SMTP_URL requires",
                        params={"host": target.host},
                    )
            if target.username:
                smtp.login(target.username, target.password or "")
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise NetworkError(
            "the SMTP server %(host)s refused the user name or password of TOWNSQUARE_SMTP_URL",
            params={"host": target.host},
        ) from None
    except (smtplib.SMTPException, OSError) as error:
        raise NetworkError(
            "cannot send e-mail through %(host)s:%(port)s: %(error)s",
            params={"host": target.host, "port": target.port, "error": str(error)},
        ) from None
