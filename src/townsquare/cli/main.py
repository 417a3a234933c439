"""The ``townsquare`` command: assembles every command group and maps errors to exit codes."""

from __future__ import annotations

import typer
from sqlalchemy.exc import DataError, OperationalError

from townsquare import __version__
from townsquare.cli import channels, db, serve, tokens, users, workspaces
from townsquare.cli.common import err_console
from townsquare.cli.errors import GENERIC_ERROR_EXIT, exit_code_for
from townsquare.errors import TownsquareError

app = typer.Typer(
    name="townsquare",
    help="Self-hosted community management: listen, publish, measure, links, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="user")
app.add_typer(workspaces.app, name="workspace")
app.add_typer(channels.app, name="channel")
app.add_typer(tokens.app, name="token")
serve.register(app)

# Capability command groups: each capability adds its own here.
from townsquare.cli import imports, links, listen, measure, reports, serve_links  # noqa: E402

app.add_typer(imports.app, name="import")
app.add_typer(measure.app, name="measure")
app.add_typer(links.app, name="links")
app.add_typer(reports.app, name="report")
links.register(app)
serve_links.register(app)
app.add_typer(listen.watch_app, name="watch")
app.add_typer(listen.source_app, name="source")
app.add_typer(listen.listen_app, name="listen")
app.add_typer(listen.mentions_app, name="mentions")
app.add_typer(listen.alert_app, name="alert")

from townsquare.cli import handles, maturity  # noqa: E402

app.add_typer(handles.app, name="handles")
app.add_typer(maturity.app, name="maturity")

from townsquare.publish import cli as publish_cli  # noqa: E402
from townsquare.publish import dispatch_cli  # noqa: E402

publish_cli.register(app)
app.add_typer(dispatch_cli.app, name="publish")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"townsquare {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    """townsquare reads TOWNSQUARE_DATA_DIR and TOWNSQUARE_DATABASE_URL (see README)."""


def main() -> None:
    try:
        app(standalone_mode=False)
    except TownsquareError as error:
        from rich.markup import escape

        field = escape(f" [{error.field}]") if error.field else ""
        err_console.print(
            f"[bold red]error{field}:[/] {escape(error.message)}", highlight=False, soft_wrap=True
        )
        raise SystemExit(exit_code_for(error)) from None
    except typer.Exit as exit_:
        raise SystemExit(exit_.exit_code) from None
    except typer.Abort:
        err_console.print("aborted")
        raise SystemExit(130) from None
    except OperationalError as error:
        # Most often the database is not there: say which one, without its password.
        from townsquare.cli.common import redact_url
        from townsquare.config import get_settings

        url = redact_url(get_settings().sqlalchemy_url)
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        err_console.print(
            f"error: cannot use the database {url}: {reason}\n"
            "check TOWNSQUARE_DATABASE_URL (or TOWNSQUARE_DATA_DIR for SQLite)",
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(GENERIC_ERROR_EXIT) from None
    except DataError as error:
        # A value the database refused (see web/errors.py): bad input, nothing written.
        reason = str(error.orig).strip().splitlines()[0] if error.orig else "invalid value"
        err_console.print(f"error: a value cannot be stored ({reason})", highlight=False)
        raise SystemExit(2) from None
    except Exception as error:
        # Usage errors (a missing option, a bad value) carry their own exit code, 2. Typer
        # ships its own copy of click, so they are recognised by shape, not by class.
        show, exit_code = getattr(error, "show", None), getattr(error, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            raise SystemExit(exit_code) from None
        raise
