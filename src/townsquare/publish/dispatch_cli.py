"""``townsquare publish due``: dispatch, in the foreground, every variant due now."""

from __future__ import annotations

import json

import typer

from townsquare.cli.common import console, settings, upgrade_database

app = typer.Typer(help="Publish scheduled posts (the dispatcher).", no_args_is_help=True)


@app.command("due")
def due(
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Publish every variant due now, take back lapsed leases, then exit.

    Several may run at once against the same database (and beside `serve` and
    `townsquare worker`): each variant is taken by one of them only.
    """
    from townsquare.db import Database
    from townsquare.publish.worker import dispatch_due

    config = settings()
    database = Database.from_settings(config)
    try:
        upgrade_database(database)
        report = dispatch_due(database, config)
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps(report.as_json()))
        return
    counts = report.as_json()
    console.print(
        f"published {counts['published']}, failed {counts['failed']}, "
        f"uncertain {counts['uncertain']}, skipped {counts['skipped']}"
    )
