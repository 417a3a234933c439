"""``townsquare channel``: accounts on networks."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.table import Table

from townsquare.channels import service
from townsquare.channels.crypto import CredentialsBox
from townsquare.channels.models import Channel
from townsquare.cli.common import console, open_session, operator_access, print_json, settings
from townsquare.errors import ValidationError
from townsquare.networks import network_names

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
    }


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
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a channel to a workspace."""
    credentials = _read_credentials() if credentials_stdin else None
    with open_session() as session:
        access = operator_access(session, workspace)
        channel = service.add_channel(
            session,
            access,
            network=network,
            handle=handle,
            display_name=name,
            timezone=timezone,
            credentials=credentials,
            box=CredentialsBox(settings().resolved_credentials_key()) if credentials else None,
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
    table = Table("network", "handle", "name", "time zone", "status")
    for row in rows:
        table.add_row(
            *(str(row[key] or "") for key in ("network", "handle", "name", "timezone", "status"))
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
