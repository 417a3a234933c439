"""``townsquare import``: posts from platform exports (presets) or any CSV/XLSX (generic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from townsquare.analytics.importers import profiles as saved
from townsquare.analytics.importers import service
from townsquare.analytics.importers.records import ImportReport
from townsquare.channels.service import get_channel_by_handle
from townsquare.cli.common import console, err_console, open_session, operator_access, print_json

app = typer.Typer(help="Measure: import posts and their metrics.", no_args_is_help=True)

# Files above this size show a progress bar (on stderr, so --json output stays clean).
PROGRESS_THRESHOLD = 2 << 20


def _report_table(report: ImportReport) -> Table:
    table = Table("line", "problem", title="Problems (nothing was written)")
    for item in report.problems.as_list():
        table.add_row(str(item["line"] or ""), escape(str(item["message"])))
    return table


@app.command("posts")
def posts(
    file: Path = typer.Argument(..., help="CSV or XLSX file.", exists=True, dir_okay=False),
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    channel: str = typer.Option(..., "--channel", help="Channel handle (or network:handle)."),
    preset: str = typer.Option(
        "generic", "--preset", help=f"One of: {', '.join(service.PRESET_NAMES)}."
    ),
    maps: list[str] = typer.Option(
        [], "--map", help="COLUMN=FIELD (generic importer; repeat it). FIELD 'ignore' skips."
    ),
    date_format: str | None = typer.Option(
        None, "--date-format", help="strptime format of dates, e.g. '%d/%m/%Y %H:%M'."
    ),
    timezone: str | None = typer.Option(
        None, "--timezone", help="Time zone of dates without offset (default: the channel's)."
    ),
    separator: str | None = typer.Option(None, "--separator", help="CSV separator (detected)."),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Text encoding of a CSV (detected), e.g. latin-1."
    ),
    profile: str | None = typer.Option(None, "--profile", help="Use a saved mapping profile."),
    save_profile: str | None = typer.Option(
        None, "--save-profile", help="Save this mapping and options under NAME."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import posts and their metrics from FILE into a channel (all or nothing)."""
    options = service.ImportOptions(
        preset=preset,
        mapping=service.parse_map_options(maps),
        date_format=date_format,
        timezone=timezone,
        separator=separator,
        encoding=encoding,
        dry_run=dry_run,
    )
    with open_session() as session:
        access = operator_access(session, workspace)
        target = get_channel_by_handle(session, access, channel)
        if profile:
            options = saved.apply_profile(saved.get_profile(session, access, profile), options)
        service.check_options(options)
        show_progress = file.stat().st_size >= PROGRESS_THRESHOLD
        with Progress(
            TextColumn("[bold]importing[/] {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err_console,
            disable=not show_progress,
            transient=True,
        ) as bar:
            task = bar.add_task(escape(file.name), total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = service.run_import(session, access, target, file, options, progress=progress)
        if report.ok and save_profile and not dry_run:
            saved.save_profile(session, access, save_profile, options)
    if as_json:
        print_json(report.as_json())
    elif report.ok:
        verb = "would import" if dry_run else "imported"
        console.print(
            f"{verb} {report.imported} new post(s), updated {report.updated}, skipped "
            f"{report.duplicates_skipped} duplicate row(s) of {report.rows_read} read"
            + (" (dry run: nothing written)" if dry_run else "")
        )
        if report.encoding and report.encoding not in ("utf-8", "utf-8-sig", "ascii"):
            console.print(
                f"read as {report.encoding} (not UTF-8): if some accents look wrong, import "
                "again with --encoding"
            )
        if save_profile and not dry_run:
            console.print(f"saved profile {escape(save_profile)!r}")
    else:
        err_console.print(_report_table(report))
    service.raise_for_problems(report)


@app.command("profiles")
def list_profiles(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List the workspace's saved import profiles."""
    with open_session() as session:
        rows: list[dict[str, Any]] = [
            {"name": p.name, "mapping": p.mapping, "options": p.options}
            for p in saved.list_profiles(session, operator_access(session, workspace))
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("name", "mapping", "options")
    for row in rows:
        mapping = ", ".join(f"{c}={f}" for c, f in row["mapping"].items())
        options = ", ".join(f"{k}={v}" for k, v in row["options"].items())
        table.add_row(escape(row["name"]), escape(mapping), escape(options))
    console.print(table)


@app.command("presets")
def presets() -> None:
    """List the presets (known file layouts)."""
    from townsquare.analytics.importers.presets import PRESET_INFO

    table = Table("preset", "file", "what")
    for info in PRESET_INFO:
        table.add_row(info.name, info.label, info.description)
    console.print(table)
