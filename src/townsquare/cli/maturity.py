"""``townsquare maturity``: the community maturity self-assessment."""

from __future__ import annotations

import typer

app = typer.Typer(help="Community maturity self-assessment.", no_args_is_help=True)
