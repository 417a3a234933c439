"""``townsquare report``: create, render, share, schedule and send client reports.

Every command calls ``reports.service`` (and ``reports.delivery``/``reports.shares``), the
same functions as the REST API and the web pages; ``--json`` prints their dicts.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from townsquare.cli.common import console, open_session, operator_access, print_json, settings
from townsquare.errors import ValidationError
from townsquare.reports import delivery, service, shares
from townsquare.reports.models import Report
from townsquare.workspaces.service import list_workspaces

app = typer.Typer(
    help="Reports: client-ready HTML/PDF/XLSX reports, shared and scheduled.", no_args_is_help=True
)

WORKSPACE = typer.Option(..., "--workspace", "-w", help="Workspace slug.")
JSON = typer.Option(False, "--json", help="Print JSON.")


def _read_logo(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        raise ValidationError(
            "cannot read the logo %(path)s: %(reason)s",
            params={"path": str(path), "reason": error.strerror},
            field="logo",
        ) from None


@app.command("create")
def create(
    workspace: str = WORKSPACE,
    name: str = typer.Option(..., "--name", help="The report's title."),
    channel: list[str] = typer.Option(..., "--channel", "-c", help="A channel handle (repeat)."),
    period: str = typer.Option(
        ..., "--period", help="last-month, last-7-days, last-quarter or YYYY-MM-DD..YYYY-MM-DD."
    ),
    compare: str | None = typer.Option(None, "--compare", help="previous or last-year."),
    section: list[str] = typer.Option(
        [], "--section", help="A section, in the order given (repeat); default: all."
    ),
    language: str = typer.Option("en", "--language", help="fr or en."),
    logo: Path | None = typer.Option(None, "--logo", help="PNG, JPEG, GIF or SVG file."),
    color: str | None = typer.Option(None, "--color", help="Accent colour, #rrggbb."),
    agency: str | None = typer.Option(None, "--agency", help="Agency name (white-label)."),
    footer: str | None = typer.Option(None, "--footer", help="Footer text."),
    no_mark: bool = typer.Option(False, "--no-mark", help="No townsquare mark on the report."),
    rolling: bool = typer.Option(False, "--rolling", help="Rolling days instead of calendar."),
    as_json: bool = JSON,
) -> None:
    """Create a report."""
    data = service.ReportInput(
        name=name,
        channels=channel,
        period=period,
        compare=compare,
        sections=section,
        language=language,
        rolling=rolling,
        color=color,
        agency=agency,
        footer=footer,
        hide_mark=no_mark,
        logo=_read_logo(logo),
    )
    with open_session() as session:
        access = operator_access(session, workspace)
        report = service.create_report(session, access, data)
        result = service.report_dict(report, workspace)
    if as_json:
        print_json(result)
    else:
        console.print(f"report {result['id']} created: {result['name']}")


@app.command("list")
def list_command(
    workspace: str | None = typer.Option(None, "--workspace", "-w", help="Only this workspace."),
    as_json: bool = JSON,
) -> None:
    """The reports (of every workspace, or of --workspace)."""
    rows = []
    with open_session() as session:
        slugs = [workspace] if workspace else [w.slug for w in list_workspaces(session)]
        for slug in slugs:
            access = operator_access(session, slug)
            for report in service.list_reports(session, access):
                entry = service.report_dict(report, slug)
                entry["schedule"] = delivery.schedule_dict(
                    delivery.get_schedule(session, access, report.id)
                )
                rows.append(entry)
    if as_json:
        print_json({"reports": rows})
        return
    table = Table(title="Reports")
    for column in ("workspace", "id", "name", "channels", "period", "language", "schedule"):
        table.add_column(column)
    for row in rows:
        schedule = row["schedule"]
        table.add_row(
            row["workspace"],
            str(row["id"]),
            row["name"],
            ", ".join(row["channels"]),
            row["period"],
            row["language"],
            f"{schedule['every']} {schedule['at']}" if schedule else "—",
        )
    console.print(table)


@app.command("render")
def render_command(
    report_id: str = typer.Argument(..., metavar="ID"),
    workspace: str = WORKSPACE,
    fmt: str = typer.Option("pdf", "--format", "-f", help="pdf, html, xlsx or csv (a zip)."),
    output: Path = typer.Option(..., "-o", "--output", help="File to write."),
    period: str | None = typer.Option(None, "--period", help="Another period than the report's."),
) -> None:
    """Render a report to a file."""
    with open_session() as session:
        rendered = service.render_report(
            session, operator_access(session, workspace), report_id, fmt=fmt, period=period
        )
    temporary = output.with_name(f".{output.name}.part")
    try:
        temporary.write_bytes(rendered.content)
        temporary.replace(output)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise ValidationError(
            "cannot write %(path)s: %(reason)s",
            params={"path": str(output), "reason": error.strerror},
            field="output",
        ) from None
    period_ = rendered.figures["period"]
    console.print(
        f"wrote {output} ({len(rendered.content):,} bytes, {period_['from']} to {period_['to']})",
        highlight=False,
    )


@app.command("schedule")
def schedule_command(
    report_id: str = typer.Argument(..., metavar="ID"),
    workspace: str = WORKSPACE,
    every: str = typer.Option(..., "--every", help="week or month."),
    at: str = typer.Option("08:00", "--at", help="Local time HH:MM in the workspace's zone."),
    review: bool = typer.Option(False, "--review", help="Hold each run for review."),
    to: list[str] = typer.Option(..., "--to", help="A recipient's e-mail (repeat)."),
    as_json: bool = JSON,
) -> None:
    """Send the report every week (Mondays) or month (the 1st) for the period just ended."""
    with open_session() as session:
        access = operator_access(session, workspace)
        schedule = delivery.set_schedule(
            session, access, report_id, every=every, at=at, review=review, recipients=to
        )
        result = delivery.schedule_dict(schedule)
    if as_json:
        print_json(result)
    else:
        assert result is not None
        console.print(
            f"next run {result['next_run_at']} (UTC), to {', '.join(result['to'])}"
            + (", held for review" if review else "")
        )


@app.command("unschedule")
def unschedule(
    report_id: str = typer.Argument(..., metavar="ID"), workspace: str = WORKSPACE
) -> None:
    """Stop sending a report on a schedule."""
    with open_session() as session:
        delivery.remove_schedule(session, operator_access(session, workspace), report_id)
    console.print("schedule removed")


@app.command("send")
def send_command(
    report_id: str = typer.Argument(..., metavar="ID"),
    workspace: str = WORKSPACE,
    now: bool = typer.Option(False, "--now", help="Send it now (required)."),
    to: list[str] = typer.Option([], "--to", help="Recipients (default: the schedule's)."),
    period: str | None = typer.Option(None, "--period", help="Another period than the report's."),
    as_json: bool = JSON,
) -> None:
    """E-mail the report now, the PDF attached and a share link in the message."""
    if not now:
        raise ValidationError(
            "add --now to send the report now (scheduled runs send by themselves)", field="now"
        )
    with open_session() as session:
        done = delivery.send_now(
            session,
            settings(),
            operator_access(session, workspace),
            report_id,
            recipients=to,
            period=period,
        )
        result = delivery.delivery_dict(done)
    if as_json:
        print_json(result)
    else:
        console.print(
            f"delivery {result['id']}: {result['status']}"
            + (f" ({result['error']})" if result["error"] else ""),
            highlight=False,
        )
    if result["status"] == "failed":
        raise typer.Exit(8)


@app.command("history")
def history_command(
    report_id: str | None = typer.Argument(None, metavar="[ID]"),
    workspace: str = WORKSPACE,
    as_json: bool = JSON,
) -> None:
    """Every report sent or held for review, with its file."""
    with open_session() as session:
        rows = [
            delivery.delivery_dict(d)
            for d in delivery.history(session, operator_access(session, workspace), report_id)
        ]
    if as_json:
        print_json({"deliveries": rows})
        return
    table = Table(title="Deliveries")
    for column in ("id", "report", "period", "status", "to", "file"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["report_id"]),
            f"{row['period']['from']}..{row['period']['to']}",
            row["status"],
            ", ".join(row["to"]),
            row["file"] or "",
        )
    console.print(table)


@app.command("approve")
def approve_command(
    delivery_id: str = typer.Argument(..., metavar="DELIVERY"),
    workspace: str = WORKSPACE,
    as_json: bool = JSON,
) -> None:
    """Send a delivery that was held for review."""
    with open_session() as session:
        done = delivery.approve(
            session, settings(), operator_access(session, workspace), delivery_id
        )
        result = delivery.delivery_dict(done)
    if as_json:
        print_json(result)
    else:
        console.print(f"delivery {result['id']}: {result['status']}")


@app.command("share")
def share_command(
    report_id: str = typer.Argument(..., metavar="ID"),
    workspace: str = WORKSPACE,
    days: int = typer.Option(shares.DEFAULT_DAYS, "--days", help="Days the link works."),
    as_json: bool = JSON,
) -> None:
    """A read-only link for a client (no login); shown once."""
    with open_session() as session:
        issued = shares.create_share(
            session, operator_access(session, workspace), report_id, days=days
        )
        result = {
            **shares.share_dict(issued.share),
            "url": delivery.base_url(settings()) + issued.path(),
        }
    if as_json:
        print_json(result)
    else:
        console.print(result["url"], highlight=False, soft_wrap=True)


@app.command("unshare")
def unshare_command(
    report_id: str = typer.Argument(..., metavar="ID"),
    share_id: int = typer.Argument(..., metavar="SHARE"),
    workspace: str = WORKSPACE,
) -> None:
    """Revoke a share link."""
    with open_session() as session:
        shares.revoke_share(session, operator_access(session, workspace), report_id, share_id)
    console.print("share link revoked")


@app.command("comment")
def comment_command(
    report_id: str = typer.Argument(..., metavar="ID"),
    workspace: str = WORKSPACE,
    section: str = typer.Option(..., "--section", help="The section it is about."),
    text: str = typer.Option(..., "--text", help="The commentary (empty: remove it)."),
) -> None:
    """Write the community manager's commentary of a section."""
    with open_session() as session:
        access = operator_access(session, workspace)
        report: Report = service.get_report(session, access, report_id)
        notes = dict(report.commentary or {})
        notes[section.strip()] = text
        service.set_commentary(session, access, report.id, notes)
    console.print("commentary saved")
