"""``townsquare links``: short links, their QR codes and click statistics.

A slug names one link across every workspace, so commands taking a SLUG find its workspace
themselves; ``--workspace`` is then optional and, when given, must match.
``townsquare serve-links`` (the redirector alone) lives in cli/serve_links.py.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.cli.common import console, open_session, operator_access, print_json, settings
from townsquare.errors import NotFound, ValidationError
from townsquare.links import qr, service, slugs, stats
from townsquare.links.models import Link
from townsquare.workspaces.models import Workspace
from townsquare.workspaces.service import WorkspaceAccess

app = typer.Typer(
    help="Short links: create, list, edit, QR codes, statistics.", no_args_is_help=True
)

WorkspaceOpt = typer.Option(
    None, "--workspace", help="Workspace slug (found from SLUG if left out)."
)


def register(root: typer.Typer) -> None:
    """Top-level commands of this capability: none (``serve-links`` is cli/serve_links.py)."""


def _access_for_slug(session: Session, slug: str, workspace: str | None) -> WorkspaceAccess:
    if workspace:
        return operator_access(session, workspace)
    found = session.scalar(
        select(Workspace.slug)
        .join(Link, Link.workspace_id == Workspace.id)
        .where(Link.slug == slugs.canonical(slug))
    )
    if found is None:
        raise NotFound(
            "no short link '%(slug)s': list them with `townsquare links list --workspace W`",
            params={"slug": slugs.canonical(slug)},
            field="slug",
        )
    return operator_access(session, found)


def _json(session: Session, link: Link) -> dict[str, Any]:
    return service.link_json(link, settings(), service.tags_of(session, [link])[link.id])


def _parse_day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            "invalid %(field)s date %(value)r: use YYYY-MM-DD",
            params={"field": field, "value": value},
            field=field,
        ) from None


def _read_password() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise ValidationError(
            "--password-stdin given but stdin is empty: pipe the password, e.g. "
            "`printf '%s\\n' \"$PW\" | townsquare links create …`",
            field="password",
        )
    return line


@app.command("create")
def create(
    url: str = typer.Argument(..., help="Target URL (http or https)."),
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    slug: str | None = typer.Option(
        None,
        "--slug",
        help="Custom slug: 1-64 of a-z, 0-9, '-', '_'; case-insensitive, stored in lower case "
        "(default: 7 random characters).",
    ),
    utm_source: str | None = typer.Option(None, "--utm-source"),
    utm_medium: str | None = typer.Option(None, "--utm-medium"),
    utm_campaign: str | None = typer.Option(None, "--utm-campaign"),
    utm_term: str | None = typer.Option(None, "--utm-term"),
    utm_content: str | None = typer.Option(None, "--utm-content"),
    tag: list[str] = typer.Option([], "--tag", help="A tag; repeat for several."),
    campaign: str | None = typer.Option(None, "--campaign", help="Campaign the link belongs to."),
    post_id: int | None = typer.Option(None, "--post-id", help="Id of the post it is shared in."),
    title: str | None = typer.Option(None, "--title"),
    expires: str | None = typer.Option(
        None, "--expires", help="YYYY-MM-DD (end of that day, workspace time) or YYYY-MM-DDTHH:MM."
    ),
    max_clicks: int | None = typer.Option(None, "--max-clicks", help="Stop after N human clicks."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password visitors must give from stdin."
    ),
    fallback: str | None = typer.Option(
        None, "--fallback", help="Where to send visitors when expired or disabled."
    ),
    permanent: bool = typer.Option(False, "--permanent", help="Answer 301 instead of 302."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a short link; prints slug, short_url and target_url (with UTM applied)."""
    password = _read_password() if password_stdin else None
    with open_session() as session:
        link = service.create_link(
            session,
            operator_access(session, workspace),
            settings(),
            target_url=url,
            slug=slug,
            utm={
                "utm_source": utm_source,
                "utm_medium": utm_medium,
                "utm_campaign": utm_campaign,
                "utm_term": utm_term,
                "utm_content": utm_content,
            },
            tags=tag,
            campaign=campaign,
            post_id=post_id,
            title=title,
            expires_at=expires,
            max_clicks=max_clicks,
            password=password,
            fallback_url=fallback,
            permanent=permanent,
        )
        data = _json(session, link)
    if as_json:
        print_json(data)
    else:
        console.print(f"{data['short_url']} → {data['target_url']}", highlight=False)


@app.command("list")
def list_links(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    tag: str | None = typer.Option(None, "--tag"),
    campaign: str | None = typer.Option(None, "--campaign"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List a workspace's short links, newest first."""
    with open_session() as session:
        access = operator_access(session, workspace)
        links = service.list_links(session, access, tag=tag, campaign=campaign)
        tags = service.tags_of(session, links)
        rows = [service.link_json(link, settings(), tags[link.id]) for link in links]
    if as_json:
        print_json(rows)
        return
    table = Table("slug", "short URL", "target", "clicks", "enabled", "tags")
    for row in rows:
        table.add_row(
            row["slug"],
            row["short_url"],
            row["target_url"],
            str(row["human_clicks"]),
            "yes" if row["is_enabled"] else "no",
            ", ".join(row["tags"]),
        )
    console.print(table)


@app.command("show")
def show(
    slug: str,
    workspace: str | None = WorkspaceOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show one link."""
    with open_session() as session:
        link = service.get_link(session, _access_for_slug(session, slug, workspace), slug)
        data = _json(session, link)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        console.print(f"[bold]{key}[/]: {value}", highlight=False)


@app.command("update")
def update(
    slug: str,
    workspace: str | None = WorkspaceOpt,
    target: str | None = typer.Option(None, "--target", help="New target URL."),
    utm_source: str | None = typer.Option(None, "--utm-source"),
    utm_medium: str | None = typer.Option(None, "--utm-medium"),
    utm_campaign: str | None = typer.Option(None, "--utm-campaign"),
    utm_term: str | None = typer.Option(None, "--utm-term"),
    utm_content: str | None = typer.Option(None, "--utm-content"),
    campaign: str | None = typer.Option(None, "--campaign"),
    fallback: str | None = typer.Option(None, "--fallback"),
    expires: str | None = typer.Option(None, "--expires"),
    max_clicks: int | None = typer.Option(None, "--max-clicks"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Change a link's target or options (only those given change)."""
    changes: dict[str, Any] = {}
    if target is not None:
        changes["target_url"] = target
    utm = {
        key: value
        for key, value in (
            ("utm_source", utm_source),
            ("utm_medium", utm_medium),
            ("utm_campaign", utm_campaign),
            ("utm_term", utm_term),
            ("utm_content", utm_content),
        )
        if value is not None
    }
    for key, value in (
        ("campaign", campaign),
        ("fallback_url", fallback),
        ("expires_at", expires),
        ("max_clicks", max_clicks),
    ):
        if value is not None:
            changes[key] = value
    with open_session() as session:
        access = _access_for_slug(session, slug, workspace)
        link = service.update_link(session, access, settings(), slug, utm=utm or None, **changes)
        data = _json(session, link)
    if as_json:
        print_json(data)
    else:
        console.print(f"updated {data['short_url']} → {data['target_url']}", highlight=False)


def _set_enabled(slug: str, workspace: str | None, enabled: bool, as_json: bool) -> None:
    with open_session() as session:
        link = service.set_enabled(
            session, _access_for_slug(session, slug, workspace), slug, enabled
        )
        data = _json(session, link)
    if as_json:
        print_json(data)
    else:
        console.print(f"{data['slug']} is {'enabled' if enabled else 'disabled'}")


@app.command("disable")
def disable(
    slug: str,
    workspace: str | None = WorkspaceOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Disable a link: visitors get its fallback URL, or a "link disabled" page (410)."""
    _set_enabled(slug, workspace, False, as_json)


@app.command("enable")
def enable(
    slug: str,
    workspace: str | None = WorkspaceOpt,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Enable a disabled link again."""
    _set_enabled(slug, workspace, True, as_json)


@app.command("delete")
def delete(
    slug: str,
    workspace: str | None = WorkspaceOpt,
    keep_clicks: bool = typer.Option(
        True,
        "--keep-clicks/--delete-clicks",
        help="Keep the link's clicks in the workspace's reports (default), or delete them too.",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Delete a link. Its clicks are kept for reports unless --delete-clicks is given."""
    with open_session() as session:
        result = service.delete_link(
            session, _access_for_slug(session, slug, workspace), slug, keep_clicks=keep_clicks
        )
    data = {
        "slug": result.slug,
        "deleted": True,
        "clicks_kept": result.clicks_kept,
        "clicks": result.clicks,
    }
    if as_json:
        print_json(data)
    elif result.clicks_kept:
        console.print(f"deleted {result.slug}; its {result.clicks} clicks are kept for reports")
    else:
        console.print(f"deleted {result.slug} and its {result.clicks} clicks")


@app.command("stats")
def stats_command(
    slug: str | None = typer.Argument(None, help="A link; leave out for --tag, --campaign or all."),
    workspace: str | None = WorkspaceOpt,
    tag: str | None = typer.Option(None, "--tag", help="Stats of every link with this tag."),
    campaign: str | None = typer.Option(None, "--campaign", help="Stats of a campaign's links."),
    since: str | None = typer.Option(None, "--since", help="First day, YYYY-MM-DD."),
    until: str | None = typer.Option(None, "--until", help="Last day, YYYY-MM-DD."),
    csv_file: Path | None = typer.Option(None, "--csv", help="Also write clicks per day here."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Clicks (human and bot apart), unique visitors, by day, referrers, devices, …"""
    first, last = _parse_day(since, "since"), _parse_day(until, "until")
    with open_session() as session:
        if slug:
            access = _access_for_slug(session, slug, workspace)
            figures = stats.link_stats(session, access, slug, since=first, until=last)
        else:
            if not workspace:
                raise ValidationError(
                    "give a SLUG, or --workspace (with --tag or --campaign to narrow it)",
                    field="workspace",
                )
            access = operator_access(session, workspace)
            if tag and campaign:
                raise ValidationError("give --tag or --campaign, not both", field="tag")
            figures = stats.scoped_stats(
                session, access, tag=tag, campaign=campaign, since=first, until=last
            )
    if csv_file is not None:
        csv_file.write_text(stats.daily_csv(figures), encoding="utf-8")
    if as_json:
        print_json(figures)
        return
    clicks = figures["clicks"]
    console.print(
        f"{figures['scope']['kind']} {figures['scope']['value']}: {clicks['human']} human clicks, "
        f"{clicks['bot']} bot clicks, {figures['unique_visitors']} unique visitors",
        highlight=False,
    )
    if figures.get("click_through_rate") is not None:
        console.print(f"click-through rate: {figures['click_through_rate']:.2%}")
    table = Table("date", "human", "bot", "unique visitors")
    for day in figures["by_day"]:
        table.add_row(day["date"], str(day["human"]), str(day["bot"]), str(day["unique_visitors"]))
    console.print(table)


@app.command("qr")
def qr_command(
    slug: str,
    output: Path = typer.Option(..., "-o", "--output", help="File to write."),
    fmt: str = typer.Option("svg", "--format", help="svg or png."),
    workspace: str | None = WorkspaceOpt,
    scale: int | None = typer.Option(None, "--scale", help="Pixels per module (1-40)."),
    size: int | None = typer.Option(None, "--size", help="Approximate width in pixels."),
    dark: str = typer.Option("#000000", "--dark", help="Colour of the modules, #rrggbb."),
    light: str = typer.Option("#ffffff", "--light", help="Background, #rrggbb or transparent."),
) -> None:
    """Write the QR code of a short link (it encodes the short URL, so clicks are counted)."""
    with open_session() as session:
        link = service.get_link(session, _access_for_slug(session, slug, workspace), slug)
        url = service.short_url(settings(), link.slug)
    opts = qr.options(kind=fmt, scale=scale, size=size, dark=dark, light=light, url=url)
    output.write_bytes(qr.render(url, opts))
    console.print(f"wrote {output} ({opts.kind}, {url})", highlight=False)
