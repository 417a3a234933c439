"""``townsquare measure``: see the Measure capability."""

from __future__ import annotations

import typer

app = typer.Typer(help="Measure: measure.", no_args_is_help=True)
