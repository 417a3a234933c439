"""``townsquare channel``: accounts on networks."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from townsquare.channels import connect, service
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.channels.sync import SyncReport
from townsquare.cli.common import console, open_session, operator_access, print_json, settings
from townsquare.cli.errors import exit_code_for
from townsquare.errors import ValidationError
from townsquare.networks import network_names
from townsquare.networks.connectors import is_connectable

app = typer.Typer(help="Channels: accounts on networks.", no_args_is_help=True)


def channel_json(channel: Channel) -> dict[str, object]:
    return {
        "id": channel.id,
        "network": channel.network,
        "handle": channel.handle,
        "name": channel.display_name,
        "timezone": channel.timezone,
        "status": channel.status,
        "has_credentials": channel.credentials_encrypted is not None,
        "created_at": channel.created_at,
        "health": connect.health(channel),
    }


def _box() -> CredentialsBox:
    return CredentialsBox(settings().resolved_credentials_key())


def _read_credentials() -> dict[str, Any]:
    # Never on the command line, where `ps` and the shell history would show them.
    text = sys.stdin.read().strip()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError(
            "credentials on standard input are not valid JSON (%(reason)s, line %(line)s): "
            'send an object such as {"access_token": "…"}',
            params={"reason": error.msg, "line": error.lineno},
            field="credentials",
        ) from None
    if not isinstance(value, dict) or not value:
        raise ValidationError(
            'credentials must be a non-empty JSON object such as {"access_token": "…"}',
            field="credentials",
        )
    return value


@app.command("add")
def add(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    network: str = typer.Option(..., "--network", help=f"One of: {', '.join(network_names())}."),
    handle: str = typer.Option(..., "--handle", help="The account's handle on the network."),
    name: str | None = typer.Option(None, "--name", help="Display name."),
    timezone: str | None = typer.Option(
        None, "--timezone", help="IANA time zone (default: the workspace's)."
    ),
    credentials_stdin: bool = typer.Option(
        False,
        "--credentials-stdin",
        help="Read the channel's credentials, a JSON object, from standard input "
        "(stored encrypted).",
    ),
    no_check: bool = typer.Option(
        False, "--no-check", help="Store the credentials without asking the network first."
    ),
    sync_interval: int | None = typer.Option(
        None, "--sync-interval", help="Minutes between syncs of a connected channel (default 30)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a channel to a workspace (Mastodon and Bluesky: checked and connected)."""
    credentials = _read_credentials() if credentials_stdin else None
    with open_session() as session:
        access = operator_access(session, workspace)
        if credentials and is_connectable(network.strip().lower()):
            channel, _account = connect.connect_channel(
                session,
                access,
                settings(),
                _box(),
                network=network,
                handle=handle,
                credentials=credentials,
                check=not no_check,
                display_name=name,
                timezone=timezone,
                sync_interval_minutes=sync_interval,
            )
        else:
            channel = service.add_channel(
                session,
                access,
                network=network,
                handle=handle,
                display_name=name,
                timezone=timezone,
                credentials=credentials,
                box=_box() if credentials else None,
            )
        data = channel_json(channel)
    if as_json:
        print_json(data)
    else:
        console.print(f"added {data['network']} channel {data['handle']} to {workspace}")


@app.command("list")
def list_channels(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List a workspace's channels."""
    with open_session() as session:
        rows = [
            channel_json(c)
            for c in service.list_channels(session, operator_access(session, workspace))
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("network", "handle", "name", "time zone", "status", "health", "last sync")
    for row in rows:
        health = row["health"]
        assert isinstance(health, dict)
        table.add_row(
            *(str(row[key] or "") for key in ("network", "handle", "name", "timezone", "status")),
            str(health["state"]),
            str(health["last_sync_at"] or ""),
        )
    console.print(table)


@app.command("remove")
def remove(
    workspace: str = typer.Option(..., "--workspace"),
    channel: str = typer.Option(..., "--channel", help="Handle (or network:handle)."),
) -> None:
    """Remove a channel and everything stored for it."""
    with open_session() as session:
        access = operator_access(session, workspace)
        found = service.get_channel_by_handle(session, access, channel)
        service.delete_channel(session, access, found.id)
    console.print(f"removed channel {channel} from {workspace}")


@app.command("check")
def check(
    workspace: str = typer.Option(..., "--workspace"),
    channel: str = typer.Option(..., "--channel", help="Handle (or network:handle)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Ask the network whether the channel's credentials still work."""
    with open_session() as session:
        access = operator_access(session, workspace)
        found = service.get_channel_by_handle(session, access, channel)
        result = connect.check_channel(session, access, found.id, settings(), _box())
    data = result.as_json()
    if as_json:
        print_json(data)
    elif result.ok and result.account is not None:
        console.print(
            f"{result.account.handle} works: {result.account.display_name or ''} "
            f"({result.account.followers} followers)"
        )
    else:
        console.print(f"[red]{channel} does not work:[/red] {result.error}")
    if result.failure is not None:  # the answer is printed; the exit code says the kind
        raise SystemExit(exit_code_for(result.failure))


@app.command("sync")
def sync(
    workspace: str = typer.Option(..., "--workspace"),
    channel: str = typer.Option(..., "--channel", help="Handle (or network:handle)."),
    full: bool = typer.Option(False, "--full", help="Walk back over the whole history again."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Fetch the channel's posts and counters now (the first sync reads the whole history)."""
    with open_session() as session:
        access = operator_access(session, workspace)
        found = service.get_channel_by_handle(session, access, channel)
        if as_json:
            report = connect.sync_channel(session, access, found.id, settings(), _box(), full=full)
        else:
            with Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[posts]} posts, {task.fields[pages]} pages"),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task(f"syncing {found.handle}", total=None, posts=0, pages=0)

                def show(progress: SyncReport) -> None:
                    bar.update(task, posts=progress.posts_fetched, pages=progress.pages)

                report = connect.sync_channel(
                    session, access, found.id, settings(), _box(), full=full, progress=show
                )
    if as_json:
        print_json(report.as_json())
    else:
        console.print(
            f"synced {channel}: {report.posts_fetched} posts read, {report.posts_new} new, "
            f"{report.snapshots_written} snapshots written, followers {report.followers}"
        )


@app.command("disconnect")
def disconnect(
    workspace: str = typer.Option(..., "--workspace"),
    channel: str = typer.Option(..., "--channel", help="Handle (or network:handle)."),
    delete_posts: bool = typer.Option(
        False, "--delete-posts", help="Also delete the channel's posts and metrics."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Revoke the token where the network allows it and delete the stored credentials."""
    with open_session() as session:
        access = operator_access(session, workspace)
        found = service.get_channel_by_handle(session, access, channel)
        result = connect.disconnect_channel(
            session, access, found.id, settings(), _box(), delete_posts=delete_posts
        )
    if as_json:
        print_json(result.as_json())
    else:
        revoked = "token revoked" if result.revoked else "token not revoked by the network"
        console.print(f"disconnected {channel} ({revoked}; {result.posts_deleted} posts deleted)")
