"""``townsquare links`` and ``townsquare serve-links``: see the Links capability."""

from __future__ import annotations

import typer

app = typer.Typer(help="Short links.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Top-level commands of this capability (``serve-links``)."""
