"""``townsquare handles``: is a name free on every platform? Check, save, re-check.

Without ``--workspace`` a check asks the default Mastodon instances and saves nothing;
with it, the workspace's instances are asked and the check is saved (``--no-save`` not to).
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from townsquare.cli.common import console, open_session, operator_access, print_json, settings
from townsquare.handles import service
from townsquare.handles.plan import NETWORKS

app = typer.Typer(help="Handle availability across platforms.", no_args_is_help=True)

STYLES = {"available": "green", "taken": "red", "invalid": "yellow", "unknown": "dim"}


def _table(results: list[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title)
    for column in ("network", "handle", "status", "reason", "url"):
        table.add_column(column)
    for result in results:
        style = STYLES.get(result["status"], "")
        table.add_row(
            result["network"],
            result["handle"],
            f"[{style}]{result['status']}[/]",
            result["reason"],
            result["url"],
        )
    return table


@app.command("check")
def check(
    name: str = typer.Argument(..., help="The name to check, e.g. townsquare (a leading @ is ok)."),
    network: list[str] = typer.Option(
        [], "--network", help=f"Only this network; repeat for several ({', '.join(NETWORKS)})."
    ),
    workspace: str | None = typer.Option(
        None, "--workspace", help="Use its Mastodon instances and save the check."
    ),
    variants: int = typer.Option(
        service.DEFAULT_VARIANTS,
        "--variants",
        help=f"Variants to try where the name is taken (0 to {service.MAX_VARIANTS}).",
    ),
    save: bool = typer.Option(True, "--save/--no-save", help="With --workspace: keep the check."),
    domain: str | None = typer.Option(
        None, "--domain", help="Custom domain to check as a Bluesky handle (default NAME.com)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check NAME on each platform: available, taken, invalid (the rule broken) or unknown."""
    if workspace:
        with open_session() as session:
            record, results = service.check(
                session,
                operator_access(session, workspace),
                settings(),
                name,
                network,
                variants=variants,
                save=save,
                bluesky_domain=domain,
            )
            saved_id = record.id if record else None
    else:
        results = service.check_name(
            settings(), name, network, variants=variants, bluesky_domain=domain
        )
        saved_id = None
    if as_json:
        print_json(results)
        return
    console.print(_table(results))
    if saved_id is not None:
        console.print(f"saved as check {saved_id}: `townsquare handles recheck {saved_id} …`")


@app.command("saved")
def saved(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The saved checks of a workspace, newest first."""
    with open_session() as session:
        records = service.list_checks(session, operator_access(session, workspace))
        data = [service.check_json(record) for record in records]
    if as_json:
        print_json(data)
        return
    table = Table()
    for column in ("id", "name", "checked at", "available", "taken"):
        table.add_column(column)
    for item in data:
        statuses = [result["status"] for result in item["results"]]
        table.add_row(
            str(item["id"]),
            item["name"],
            item["checked_at"].isoformat(timespec="minutes"),
            str(statuses.count("available")),
            str(statuses.count("taken")),
        )
    console.print(table)


@app.command("recheck")
def recheck(
    check_id: int = typer.Argument(..., help="Id of a saved check (see `handles saved`)."),
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Ask again for a saved check; shows what changed since (a handle freed or taken)."""
    with open_session() as session:
        record = service.recheck(session, operator_access(session, workspace), settings(), check_id)
        data = service.check_json(record)
    if as_json:
        print_json(data)
        return
    console.print(_table(data["results"], title=data["name"]))
    for change in data["changes"]:
        console.print(f"{change['network']} {change['handle']}: {change['was']} → {change['now']}")


@app.command("instances")
def instances(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    set_: list[str] = typer.Option(
        [], "--set", help="Replace the list: repeat for each instance (e.g. --set piaille.fr)."
    ),
    reset: bool = typer.Option(False, "--reset", help="Go back to the default instances."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The Mastodon instances a workspace's handle checks ask (show, set or reset)."""
    with open_session() as session:
        access = operator_access(session, workspace)
        if set_ or reset:
            current = service.set_mastodon_instances(session, access, settings(), set_)
        else:
            current = service.mastodon_instances(access.workspace)
    if as_json:
        print_json({"mastodon_instances": current})
        return
    for instance in current:
        console.print(instance)
