"""Schedules, deliveries and e-mail against a real SMTP server (aiosmtpd): the PDF attached,
the share link in the message, the file kept privately in the data dir, each run once, and
the review flow (held, commentary edited, approved, sent)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import SmtpServer, free_port, make_settings
from townsquare.config import Settings
from townsquare.errors import ValidationError
from townsquare.reports import delivery, service, shares
from townsquare.reports.models import ReportSchedule

BEFORE_APRIL = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)
APRIL_RUN = datetime(2024, 4, 1, 6, 30, tzinfo=UTC)  # 1 April 08:30 in Paris (CEST)


def _settings(world: Any, smtp_url: str | None) -> Settings:
    return make_settings(
        world.settings.data_dir,
        world.database.url,
        smtp_url=smtp_url,
        base_url="https://reports.example.test",
    )


def _report(session: Any, access: Any, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "name": "Monthly",
        "channels": ["brand"],
        "period": "last-month",
        "sections": ["overview", "work-delivered"],
        "language": "fr",
    }
    values.update(changes)
    return service.create_report(session, access, service.ReportInput(**values))


def _paris(world: Any, session: Any) -> Any:
    access = world.access(session)
    access.workspace.timezone = "Europe/Paris"
    session.commit()
    return access


def _pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "attached.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_a_monthly_schedule_e_mails_the_pdf_once(
    world: Any, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    settings = _settings(world, smtp_server.url)
    with world.database.session() as session:
        access = _paris(world, session)
        report = _report(session, access)
        schedule = delivery.set_schedule(
            session,
            access,
            report.id,
            every="month",
            at="08:30",
            review=False,
            recipients=["client@example.com"],
            now=BEFORE_APRIL,
        )
        assert schedule.next_run_at == APRIL_RUN
    assert (
        delivery.run_due(world.database, settings, now=datetime(2024, 4, 1, 6, 29, tzinfo=UTC))
        == []
    )
    done = delivery.run_due(world.database, settings, now=datetime(2024, 4, 1, 6, 31, tzinfo=UTC))
    assert len(done) == 1
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "client@example.com"
    assert "Monthly" in message["Subject"] and "2024-03-01" in message["Subject"]
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Voici le rapport Monthly" in text and "https://reports.example.test/r/tsr_" in text
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    content = attachment.get_content()
    assert content.startswith(b"%PDF")
    pdf_text = _pdf_text(content, tmp_path)
    assert "du 1 mars 2024 au 31 mars 2024" in pdf_text and "Publications : 3" in pdf_text
    # The same run is never sent twice; the next one is in May.
    assert (
        delivery.run_due(world.database, settings, now=datetime(2024, 4, 1, 7, 0, tzinfo=UTC)) == []
    )
    with world.database.session() as session:
        access = world.access(session)
        (item,) = delivery.history(session, access, report.id)
        assert item.status == "sent" and item.trigger == "schedule"
        assert (item.period_from.isoformat(), item.period_to.isoformat()) == (
            "2024-03-01",
            "2024-03-31",
        )
        stored = delivery.delivery_file(settings, item)
        assert stored.read_bytes() == content
        assert stored.stat().st_mode & 0o777 == 0o600
        assert stored.parent.stat().st_mode & 0o777 == 0o700
        schedule = session.scalar(select(ReportSchedule))
        assert schedule is not None and schedule.next_run_at == datetime(
            2024, 5, 1, 6, 30, tzinfo=UTC
        )
        # The share link of the e-mail opens that month's report.
        token = text.split("/r/", 1)[1].split()[0]
        opened, _, share = shares.open_share(session, token)
        assert opened.id == report.id and share.period_from.isoformat() == "2024-03-01"


def test_held_for_review_then_approved_with_new_commentary(
    world: Any, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    settings = _settings(world, smtp_server.url)
    with world.database.session() as session:
        access = _paris(world, session)
        report = _report(session, access)
        delivery.set_schedule(
            session,
            access,
            report.id,
            every="month",
            at="08:30",
            review=True,
            recipients=["boss@example.com"],
            now=BEFORE_APRIL,
        )
    (held,) = delivery.run_due(world.database, settings, now=APRIL_RUN)
    assert smtp_server.messages == []
    with world.database.session() as session:
        access = world.access(session)
        assert delivery.get_delivery(session, access, held).status == "review"
        with pytest.raises(ValidationError, match="no section 'formats'"):
            delivery.approve(session, settings, access, held, commentary={"formats": "x"})
        session.rollback()
        sent = delivery.approve(
            session, settings, access, held, commentary={"overview": "Un mois solide, merci."}
        )
        assert sent.status == "sent"
    (message,) = smtp_server.wait_for(1)
    (attachment,) = list(message.iter_attachments())
    assert "Un mois solide, merci." in _pdf_text(attachment.get_content(), tmp_path)
    with world.database.session() as session:
        from townsquare.errors import Conflict

        with pytest.raises(Conflict, match="not waiting for review"):
            delivery.approve(session, settings, world.access(session), held)


def test_send_now_and_failures_are_recorded(sqlite_world: Any, smtp_server: SmtpServer) -> None:
    world = sqlite_world
    with world.database.session() as session:
        access = world.access(session)
        report = _report(session, access, period="2024-03-01..2024-03-31")
        with pytest.raises(ValidationError, match="nobody to send it to"):
            delivery.send_now(session, _settings(world, smtp_server.url), access, report.id)
        with pytest.raises(ValidationError, match="not an e-mail address"):
            delivery.send_now(
                session,
                _settings(world, smtp_server.url),
                access,
                report.id,
                recipients=["not-an-address"],
            )
        sent = delivery.send_now(
            session,
            _settings(world, smtp_server.url),
            access,
            report.id,
            recipients=["a@example.com, b@example.com"],
        )
        assert sent.status == "sent" and sent.recipients == ["a@example.com", "b@example.com"]
        # Nothing listens on this port: the delivery is kept, failed, with the reason.
        down = f"smtp://127.0.0.1:{free_port()}"
        failed = delivery.send_now(
            session, _settings(world, down), access, report.id, recipients=["a@example.com"]
        )
        assert failed.status == "failed" and "cannot send e-mail" in (failed.error or "")
        statuses = [d.status for d in delivery.history(session, access, report.id)]
        assert statuses == ["failed", "sent"]
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "a@example.com, b@example.com"
