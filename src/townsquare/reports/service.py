"""Reports' use cases: what the CLI, the REST API, the pages and the scheduled task call.

Every function takes a :class:`WorkspaceAccess` and reads or writes only that workspace's
rows. Rendering gathers the figures from Measure's and Links' services
(``figures.gather``), builds the sections (``sections.build``) and renders them
(``render``): the same path for the HTML preview, the PDF, the spreadsheet, a share link
and a scheduled e-mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.channels.service import get_channel_by_handle
from townsquare.db.base import utcnow
from townsquare.errors import NotFound, ValidationError
from townsquare.reports import periods, render, sections
from townsquare.reports.i18n import LANGUAGES, translations
from townsquare.reports.models import Report
from townsquare.validation import MAX_ID, DbId
from townsquare.workspaces import audit
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_TYPES = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
}
MAX_LOGO_BYTES = 512 * 1024
DEFAULT_COLOR = "#1e6bb8"
BRANDING_KEYS = ("agency", "color", "footer", "hide_mark")


# --- validation ---------------------------------------------------------------------------


def check_sections(values: list[str] | None) -> list[str]:
    if not values:
        return list(sections.DEFAULT_SECTIONS)
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            name = part.strip().lower().replace("_", "-")
            if not name:
                continue
            if name not in sections.SECTIONS:
                raise ValidationError(
                    "unknown section '%(value)s': choose among %(choices)s (care comes with "
                    "the inbox)",
                    params={"value": part.strip(), "choices": list(sections.SECTIONS)},
                    field="section",
                )
            if name not in out:
                out.append(name)
    return out


def check_language(value: str | None) -> str:
    text = (value or "en").strip().lower()
    if text not in LANGUAGES:
        raise ValidationError(
            "unknown language '%(value)s': reports are written in fr or en",
            params={"value": value},
            field="language",
        )
    return text


def check_color(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.startswith("#"):
        text = "#" + text
    if not COLOR.match(text):
        raise ValidationError(
            "'%(value)s' is not a colour: write it as six hexadecimal digits, e.g. #1e6bb8",
            params={"value": value},
            field="color",
        )
    return text.lower()


def check_logo(content: bytes | None) -> tuple[bytes, str] | None:
    if not content:
        return None
    if len(content) > MAX_LOGO_BYTES:
        raise ValidationError(
            "the logo is %(size)s KiB: at most %(limit)s KiB",
            params={"size": len(content) // 1024, "limit": MAX_LOGO_BYTES // 1024},
            field="logo",
        )
    for magic, mimetype in LOGO_TYPES.items():
        if content.startswith(magic):
            return content, mimetype
    head = content[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in content[:2048]):
        return content, "image/svg+xml"
    raise ValidationError("the logo must be a PNG, JPEG, GIF or SVG image", field="logo")


def _check_name(name: str | None) -> str:
    text = (name or "").strip()
    if not text:
        raise ValidationError("a report needs a name", field="name")
    if len(text) > 200:
        raise ValidationError("a report's name has at most 200 characters", field="name")
    return text


def _check_channels(session: Session, access: WorkspaceAccess, handles: list[str]) -> list[str]:
    cleaned: list[str] = []
    for handle in handles:
        for part in handle.split(","):
            if part.strip() and part.strip() not in cleaned:
                cleaned.append(part.strip())
    if not cleaned:
        raise ValidationError(
            "a report needs at least one channel: give --channel HANDLE", field="channel"
        )
    for handle in cleaned:
        get_channel_by_handle(session, access, handle)  # NotFound names the channel
    return cleaned


# --- reports ------------------------------------------------------------------------------


@dataclass
class ReportInput:
    name: str
    channels: list[str]
    period: str
    compare: str | None = None
    sections: list[str] | None = None
    language: str | None = "en"
    rolling: bool = False
    color: str | None = None
    agency: str | None = None
    footer: str | None = None
    hide_mark: bool = False
    logo: bytes | None = None
    commentary: dict[str, str] | None = None


def create_report(session: Session, access: WorkspaceAccess, data: ReportInput) -> Report:
    access.require(Role.EDITOR, "create reports")
    report = Report(workspace_id=access.workspace_id, created_by=access.user_id)
    _apply(session, access, report, data)
    session.add(report)
    session.flush()
    audit.record(
        session,
        "report.create",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(report.id),
    )
    session.commit()
    return report


def update_report(
    session: Session, access: WorkspaceAccess, report_id: DbId, data: ReportInput
) -> Report:
    access.require(Role.EDITOR, "edit reports")
    report = get_report(session, access, report_id)
    _apply(session, access, report, data)
    report.updated_at = utcnow()
    session.commit()
    return report


def _apply(session: Session, access: WorkspaceAccess, report: Report, data: ReportInput) -> None:
    name = _check_name(data.name)
    channels = _check_channels(session, access, data.channels)
    period = periods.check_period(data.period)
    compare = periods.check_compare(data.compare)
    chosen = check_sections(data.sections)
    language = check_language(data.language)
    color = check_color(data.color)
    logo = check_logo(data.logo)
    commentary = {k: v for k, v in (data.commentary or {}).items() if k in chosen and v.strip()}
    report.name = name
    report.channels = channels
    report.period = period
    report.rolling = bool(data.rolling)
    report.compare = compare
    report.sections = chosen
    report.language = language
    report.branding = {
        "agency": (data.agency or "").strip()[:200] or None,
        "color": color,
        "footer": (data.footer or "").strip()[:500] or None,
        "hide_mark": bool(data.hide_mark),
    }
    if data.commentary is not None:
        report.commentary = commentary
    if logo is not None:
        report.logo, report.logo_type = logo


def set_commentary(
    session: Session, access: WorkspaceAccess, report_id: DbId, commentary: dict[str, str]
) -> Report:
    access.require(Role.EDITOR, "write a report's commentary")
    report = get_report(session, access, report_id)
    report.commentary = _clean_commentary(report, commentary)
    report.updated_at = utcnow()
    session.commit()
    return report


def _clean_commentary(report: Report, commentary: dict[str, str]) -> dict[str, str]:
    for key in commentary:
        if key not in report.sections:
            raise ValidationError(
                "the report has no section '%(key)s': its sections are %(sections)s",
                params={"key": key, "sections": list(report.sections)},
                field="commentary",
            )
    return {k: v.strip()[:5000] for k, v in commentary.items() if v.strip()}


def get_report(session: Session, access: WorkspaceAccess, report_id: DbId | str) -> Report:
    access.require(Role.VIEWER, "read reports")
    try:
        ident = int(report_id)
    except (TypeError, ValueError):
        raise ValidationError(
            "'%(value)s' is not a report id (a number)", params={"value": report_id}, field="id"
        ) from None
    if not 1 <= ident <= MAX_ID:
        raise ValidationError(
            "report id %(report_id)s is out of range: ids go from 1 to 2⁶³-1",
            params={"report_id": ident},
            field="id",
        )
    report = session.scalar(
        select(Report).where(Report.id == ident, Report.workspace_id == access.workspace_id)
    )
    if report is None:
        raise NotFound(
            "no report %(report_id)s in workspace '%(slug)s': list them with "
            "`townsquare report list`",
            params={"report_id": ident, "slug": access.workspace.slug},
            field="id",
        )
    return report


def list_reports(session: Session, access: WorkspaceAccess) -> list[Report]:
    access.require(Role.VIEWER, "read reports")
    return list(
        session.scalars(
            select(Report).where(Report.workspace_id == access.workspace_id).order_by(Report.id)
        )
    )


def delete_report(session: Session, access: WorkspaceAccess, report_id: DbId) -> None:
    access.require(Role.EDITOR, "delete reports")
    report = get_report(session, access, report_id)
    session.delete(report)
    audit.record(
        session,
        "report.delete",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=str(report_id),
    )
    session.commit()


def report_dict(report: Report, workspace_slug: str | None = None) -> dict[str, Any]:
    branding = dict(report.branding or {})
    return {
        "id": report.id,
        "workspace": workspace_slug,
        "name": report.name,
        "channels": list(report.channels),
        "period": report.period,
        "rolling": report.rolling,
        "compare": report.compare,
        "language": report.language,
        "sections": list(report.sections),
        "commentary": dict(report.commentary or {}),
        "branding": {**branding, "logo": report.logo_type},
        "created_at": report.created_at.isoformat() if report.created_at else None,
    }


# --- rendering ----------------------------------------------------------------------------


def resolve_period(
    report: Report, access: WorkspaceAccess, override: str | None = None, today: date | None = None
) -> tuple[periods.Period, periods.Period | None]:
    from townsquare.reports import figures as figures_module

    spec = override or report.period
    day = today or figures_module.today_in(access.workspace.timezone)
    period = periods.resolve(spec, day, rolling=report.rolling)
    return period, periods.comparison(period, report.compare)


@dataclass
class Rendered:
    content: bytes
    media_type: str
    filename: str
    figures: dict[str, Any]


def compute_figures(
    session: Session,
    access: WorkspaceAccess,
    report: Report,
    period: periods.Period,
    previous: periods.Period | None,
) -> dict[str, Any]:
    # The figures and the loads they share are numpy's: imported here, not when the command
    # line starts.
    from townsquare.analytics.dataset import shared_loads
    from townsquare.reports import figures as figures_module

    with shared_loads():
        return figures_module.gather(
            session,
            access,
            channels=list(report.channels),
            sections=list(report.sections),
            period=period,
            previous=previous,
        )


def document(
    report: Report,
    figures: dict[str, Any],
    *,
    commentary: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The template's context: sections built in the report's language, charts as SVG."""
    gettext = translations(report.language)
    doc = sections.build(
        figures,
        sections=list(report.sections),
        commentary=commentary if commentary is not None else dict(report.commentary or {}),
        language=report.language,
        gettext=gettext.gettext,
    )
    render.attach_charts(doc, report.language)
    branding = dict(report.branding or {})
    logo_uri = None
    if report.logo and report.logo_type:
        import base64

        logo_uri = f"data:{report.logo_type};base64,{base64.b64encode(report.logo).decode()}"
    names = ", ".join(channel["name"] for channel in figures["channels"])
    return {
        **doc,
        "title": report.name,
        "language": report.language,
        "branding": branding,
        "accent": branding.get("color") or DEFAULT_COLOR,
        "logo_uri": logo_uri,
        "channel_names": names,
        "page_word": gettext.gettext("Page"),
    }


def render_report(
    session: Session,
    access: WorkspaceAccess,
    report_id: DbId | str,
    *,
    fmt: str,
    period: str | None = None,
    period_range: tuple[date, date] | None = None,
    commentary: dict[str, str] | None = None,
) -> Rendered:
    """The report in ``fmt`` (html, pdf, xlsx or csv) for its period or ``period``."""
    fmt = (fmt or "").strip().lower()
    if fmt not in render.FORMATS:
        raise ValidationError(
            "unknown format '%(value)s': choose one of %(choices)s",
            params={"value": fmt, "choices": list(render.FORMATS)},
            field="format",
        )
    report = get_report(session, access, report_id)
    if period_range is not None:
        current = periods.Period(period_range[0], period_range[1], "days")
        previous = periods.comparison(periods.parse_range(current.label()), report.compare)
    else:
        current, previous = resolve_period(report, access, period)
    data = compute_figures(session, access, report, current, previous)
    return render_figures(report, data, fmt=fmt, commentary=commentary)


def render_figures(
    report: Report,
    data: dict[str, Any],
    *,
    fmt: str,
    commentary: dict[str, str] | None = None,
) -> Rendered:
    stem = f"{_slug(report.name)}-{data['period']['from']}-{data['period']['to']}"
    filename = f"{stem}.{render.EXTENSIONS[fmt]}"
    if fmt == "xlsx":
        content = render.xlsx(data)
    elif fmt == "csv":
        content = render.csv_zip(data)
    else:
        context = document(report, data, commentary=commentary)
        gettext = translations(report.language)
        text = render.html(context, gettext, for_print=fmt == "pdf")
        content = render.pdf(text) if fmt == "pdf" else text.encode()
    return Rendered(content, render.MEDIA_TYPES[fmt], filename, data)


def _slug(name: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:60] or "report"
