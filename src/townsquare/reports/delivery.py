"""Schedules, deliveries and e-mail: reports sent on time, once, with their file kept.

A schedule's next run is stored in UTC. The periodic task (``tasks.py``) asks every minute
for the schedules that are due and **claims** each one by moving its ``next_run_at``
forward with a conditional UPDATE (only the process that changed the row goes on), so
several workers never send the same report twice, and a run missed while nothing was
running happens at the next tick instead of being lost.

A run renders the PDF for the period just ended (the last week, Monday to Sunday, or the
last calendar month), keeps it in ``DATA_DIR/reports/<workspace id>/`` (readable by the
owner only) and either sends it or holds it for review. Every delivery is in the history
with its file, its recipients and, when sending failed, why.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare import mail
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, NetworkError, NotFound, ValidationError
from townsquare.messages import Message
from townsquare.reports import periods, service, shares
from townsquare.reports.i18n import translations
from townsquare.reports.models import Report, ReportDelivery, ReportSchedule
from townsquare.validation import DbId
from townsquare.workspaces import audit
from townsquare.workspaces.models import Workspace
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

logger = logging.getLogger(__name__)
EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def check_recipients(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            address = part.strip()
            if not address:
                continue
            if not EMAIL.match(address):
                raise ValidationError(
                    "'%(address)s' is not an e-mail address (name@example.com)",
                    params={"address": address},
                    field="to",
                )
            if address.lower() not in (a.lower() for a in out):
                out.append(address)
    return out


# --- schedules ----------------------------------------------------------------------------


def set_schedule(
    session: Session,
    access: WorkspaceAccess,
    report_id: DbId | str,
    *,
    every: str,
    at: str | None,
    review: bool,
    recipients: list[str],
    now: datetime | None = None,
) -> ReportSchedule:
    access.require(Role.EDITOR, "schedule reports")
    report = service.get_report(session, access, report_id)
    every = periods.check_every(every)
    clock = periods.check_time(at)
    to = check_recipients(recipients)
    if not to:
        raise ValidationError("a schedule needs at least one recipient: --to EMAIL", field="to")
    schedule = get_schedule(session, access, report.id)
    if schedule is None:
        schedule = ReportSchedule(workspace_id=access.workspace_id, report_id=report.id)
        session.add(schedule)
    schedule.every = every
    schedule.at = clock
    schedule.review = review
    schedule.recipients = to
    schedule.enabled = True
    schedule.next_run_at = periods.next_run(
        every, clock, now or utcnow(), access.workspace.timezone
    )
    audit.record(
        session,
        "report.schedule",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(report.id),
        details={"every": every, "at": clock, "review": review},
    )
    session.commit()
    return schedule


def get_schedule(
    session: Session, access: WorkspaceAccess, report_id: DbId
) -> ReportSchedule | None:
    return session.scalar(
        select(ReportSchedule).where(
            ReportSchedule.report_id == report_id,
            ReportSchedule.workspace_id == access.workspace_id,
        )
    )


def remove_schedule(session: Session, access: WorkspaceAccess, report_id: DbId | str) -> None:
    access.require(Role.EDITOR, "unschedule reports")
    report = service.get_report(session, access, report_id)
    schedule = get_schedule(session, access, report.id)
    if schedule is None:
        raise NotFound(
            "report %(report_id)s has no schedule", params={"report_id": report.id}, field="id"
        )
    session.delete(schedule)
    session.commit()


def schedule_dict(schedule: ReportSchedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {
        "every": schedule.every,
        "at": schedule.at,
        "review": schedule.review,
        "to": list(schedule.recipients),
        "next_run_at": schedule.next_run_at.isoformat(),
        "last_run_at": schedule.last_run_at.isoformat() if schedule.last_run_at else None,
        "enabled": schedule.enabled,
    }


# --- deliveries ---------------------------------------------------------------------------


def _store(settings: Settings, workspace_id: int, name: str, content: bytes) -> str:
    """Write a delivered file privately under the data dir; returns its relative path."""
    folder = settings.ensure_data_dir() / "reports" / str(workspace_id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    (folder.parent).chmod(0o700)
    path = folder / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    return str(path.relative_to(settings.ensure_data_dir()))


def delivery_file(settings: Settings, delivery: ReportDelivery) -> Path:
    if not delivery.file_path:
        raise NotFound(
            "delivery %(delivery_id)s has no file",
            params={"delivery_id": delivery.id},
            field="delivery",
        )
    path = settings.ensure_data_dir() / delivery.file_path
    if not path.exists():
        raise NotFound(
            "the file of delivery %(delivery_id)s is missing from %(path)s",
            params={"delivery_id": delivery.id, "path": str(path)},
        )
    return path


def prepare(
    session: Session,
    settings: Settings,
    access: WorkspaceAccess,
    report: Report,
    period: periods.Period,
    *,
    trigger: str,
    recipients: list[str],
    review: bool,
    commentary: dict[str, str] | None = None,
) -> ReportDelivery:
    """Render the PDF for ``period``, keep it, and record the delivery (held or to send)."""
    previous = periods.comparison(period, report.compare)
    figures = service.compute_figures(session, access, report, period, previous)
    notes = dict(report.commentary or {}) if commentary is None else commentary
    rendered = service.render_figures(report, figures, fmt="pdf", commentary=notes)
    delivery = ReportDelivery(
        workspace_id=access.workspace_id,
        report_id=report.id,
        period_from=period.start,
        period_to=period.end,
        trigger=trigger,
        status="review" if review else "sending",
        recipients=recipients,
        commentary=notes,
    )
    session.add(delivery)
    session.flush()
    delivery.file_path = _store(
        settings, access.workspace_id, f"{delivery.id}-{rendered.filename}", rendered.content
    )
    session.commit()
    return delivery


def base_url(settings: Settings) -> str:
    return (settings.base_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def send(
    session: Session, settings: Settings, access: WorkspaceAccess, delivery: ReportDelivery
) -> ReportDelivery:
    """E-mail the delivery's PDF with a share link; status ``sent`` or ``failed`` (why)."""
    report = service.get_report(session, access, delivery.report_id)
    gettext = translations(report.language).gettext
    issued = shares.create_share(
        session,
        access,
        report.id,
        period=(delivery.period_from, delivery.period_to),
        commit=False,
    )
    delivery.share_id = issued.share.id
    link = base_url(settings) + issued.path()
    period_text = f"{delivery.period_from.isoformat()} – {delivery.period_to.isoformat()}"
    subject = gettext("Report: %(name)s, %(period)s") % {"name": report.name, "period": period_text}
    text = gettext(
        "Hello,\n\nHere is the report %(name)s for %(period)s: the PDF is attached.\n"
        "Read it online (no login needed, until %(expires)s): %(link)s\n"
    ) % {
        "name": report.name,
        "period": period_text,
        "expires": issued.share.expires_at.date().isoformat(),
        "link": link,
    }
    path = delivery_file(settings, delivery)
    try:
        mail.send_mail(
            settings,
            to=list(delivery.recipients),
            subject=subject,
            text=text,
            attachments=[
                mail.Attachment(path.name.split("-", 1)[-1], path.read_bytes(), "application/pdf")
            ],
        )
    except (NetworkError, ValidationError) as error:
        delivery.status = "failed"
        delivery.error = error.message
        session.commit()
        logger.warning("report %s delivery %s failed: %s", report.id, delivery.id, error.message)
        return delivery
    delivery.status = "sent"
    delivery.error = None
    delivery.sent_at = utcnow()
    audit.record(
        session,
        "report.sent",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(report.id),
        details={"delivery": delivery.id, "to": list(delivery.recipients)},
    )
    session.commit()
    return delivery


def send_now(
    session: Session,
    settings: Settings,
    access: WorkspaceAccess,
    report_id: DbId | str,
    *,
    recipients: list[str] | None = None,
    period: str | None = None,
) -> ReportDelivery:
    """``report send --now``: the report's period (or ``period``), to ``recipients`` or the
    schedule's recipients."""
    access.require(Role.EDITOR, "send reports")
    report = service.get_report(session, access, report_id)
    to = check_recipients(recipients or [])
    if not to:
        schedule = get_schedule(session, access, report.id)
        to = list(schedule.recipients) if schedule else []
    if not to:
        raise ValidationError(
            "nobody to send it to: give --to EMAIL or schedule the report with --to", field="to"
        )
    current, _ = service.resolve_period(report, access, period)
    delivery = prepare(
        session, settings, access, report, current, trigger="manual", recipients=to, review=False
    )
    return send(session, settings, access, delivery)


def get_delivery(
    session: Session, access: WorkspaceAccess, delivery_id: DbId | str
) -> ReportDelivery:
    access.require(Role.VIEWER, "read the history of reports")
    try:
        ident = int(delivery_id)
    except (TypeError, ValueError):
        raise ValidationError(
            "'%(value)s' is not a delivery id", params={"value": delivery_id}, field="delivery"
        ) from None
    delivery = session.scalar(
        select(ReportDelivery).where(
            ReportDelivery.id == ident, ReportDelivery.workspace_id == access.workspace_id
        )
    )
    if delivery is None:
        raise NotFound(
            "no delivery %(delivery_id)s in workspace '%(slug)s'",
            params={"delivery_id": ident, "slug": access.workspace.slug},
            field="delivery",
        )
    return delivery


def history(
    session: Session, access: WorkspaceAccess, report_id: DbId | str | None = None
) -> list[ReportDelivery]:
    access.require(Role.VIEWER, "read the history of reports")
    query = select(ReportDelivery).where(ReportDelivery.workspace_id == access.workspace_id)
    if report_id is not None:
        report = service.get_report(session, access, report_id)
        query = query.where(ReportDelivery.report_id == report.id)
    return list(session.scalars(query.order_by(ReportDelivery.id.desc())))


def approve(
    session: Session,
    settings: Settings,
    access: WorkspaceAccess,
    delivery_id: DbId | str,
    *,
    commentary: dict[str, str] | None = None,
) -> ReportDelivery:
    """Send a delivery held for review, re-rendered first when its commentary changed."""
    access.require(Role.EDITOR, "approve reports")
    delivery = get_delivery(session, access, delivery_id)
    if delivery.status != "review":
        raise Conflict(
            "delivery %(delivery_id)s is %(status)s, not waiting for review",
            params={"delivery_id": delivery.id, "status": Message(delivery.status)},
            field="delivery",
        )
    if commentary is not None:
        report = service.get_report(session, access, delivery.report_id)
        cleaned = service._clean_commentary(report, commentary)
        period = periods.Period(delivery.period_from, delivery.period_to, "days")
        previous = periods.comparison(periods.parse_range(period.label()), report.compare)
        figures = service.compute_figures(session, access, report, period, previous)
        rendered = service.render_figures(report, figures, fmt="pdf", commentary=cleaned)
        delivery.commentary = cleaned
        delivery.file_path = _store(
            settings, access.workspace_id, f"{delivery.id}-{rendered.filename}", rendered.content
        )
    delivery.status = "sending"
    session.commit()
    return send(session, settings, access, delivery)


def delivery_dict(delivery: ReportDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "report_id": delivery.report_id,
        "period": {"from": delivery.period_from.isoformat(), "to": delivery.period_to.isoformat()},
        "trigger": delivery.trigger,
        "status": delivery.status,
        "to": list(delivery.recipients),
        "file": delivery.file_path,
        "error": delivery.error,
        "created_at": delivery.created_at.isoformat() if delivery.created_at else None,
        "sent_at": delivery.sent_at.isoformat() if delivery.sent_at else None,
    }


# --- the periodic run ---------------------------------------------------------------------


def run_due(database: Database, settings: Settings, now: datetime | None = None) -> list[int]:
    """Prepare (and send, unless held for review) every due schedule; ids of deliveries."""
    moment = now or utcnow()
    done: list[int] = []
    with database.session() as session:
        due = session.execute(
            select(ReportSchedule.id, ReportSchedule.next_run_at).where(
                ReportSchedule.enabled.is_(True), ReportSchedule.next_run_at <= moment
            )
        ).all()
    for schedule_id, planned in due:
        with database.session() as session:
            schedule = session.get(ReportSchedule, schedule_id)
            if schedule is None:
                continue
            workspace = session.get(Workspace, schedule.workspace_id)
            assert workspace is not None
            following = periods.next_run(schedule.every, schedule.at, moment, workspace.timezone)
            claimed = session.execute(
                update(ReportSchedule)
                .where(ReportSchedule.id == schedule_id, ReportSchedule.next_run_at == planned)
                .values(next_run_at=following, last_run_at=moment)
            )
            session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another worker took this run
            access = WorkspaceAccess.operator(workspace)
            try:
                report = service.get_report(session, access, schedule.report_id)
                period = periods.period_just_ended(schedule.every, planned, workspace.timezone)
                delivery = prepare(
                    session,
                    settings,
                    access,
                    report,
                    period,
                    trigger="schedule",
                    recipients=list(schedule.recipients),
                    review=schedule.review,
                )
                if not schedule.review:
                    send(session, settings, access, delivery)
                done.append(delivery.id)
            except Exception:
                logger.exception("scheduled report %s failed", schedule.report_id)
                session.rollback()
    return done
