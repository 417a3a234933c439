"""Outgoing e-mail through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SmtpServer, free_port, make_settings
from townsquare.errors import NetworkError, ValidationError
from townsquare.mail import Attachment, mail_configured, parse_smtp_url, send_mail


def test_a_message_with_an_attachment_arrives(smtp_server: SmtpServer, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, smtp_url=smtp_server.url, smtp_from="ts <ts@example.test>")
    send_mail(
        settings,
        to=["client@example.test"],
        subject="Rapport de novembre",
        text="Bonjour, voici le rapport.",
        html="<p>Bonjour, voici le <b>rapport</b>.</p>",
        attachments=[Attachment("rapport.pdf", b"%PDF-1.7 test", "application/pdf")],
    )
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "Rapport de novembre"
    assert message["To"] == "client@example.test"
    assert message["From"] == "ts <ts@example.test>"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "voici le rapport" in body.get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "rapport.pdf"
    assert attachment.get_content() == b"%PDF-1.7 test"


def test_unconfigured_mail_is_said_plainly(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert not mail_configured(settings)
    with pytest.raises(ValidationError, match="TOWNSQUARE_SMTP_URL"):
        send_mail(settings, to=["a@example.test"], subject="x", text="y")


def test_an_unreachable_server_is_a_network_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(NetworkError, match="cannot send e-mail"):
        send_mail(settings, to=["a@example.test"], subject="x", text="y")


@pytest.mark.parametrize(
    "url", ["http://host", "smtp://", "smtp://h:notaport", "smtp://h?starttls=maybe"]
)
def test_bad_smtp_urls_are_named(url: str) -> None:
    with pytest.raises(ValidationError, match="TOWNSQUARE_SMTP_URL"):
        parse_smtp_url(url)


def test_credentials_are_percent_decoded() -> None:
    target = parse_smtp_url("smtps://me%40example.test:p%3Ass@mail.example.test")
    assert (target.username, target.password, target.port) == ("me@example.test", "p:ss", 465)
    assert target.implicit_tls
