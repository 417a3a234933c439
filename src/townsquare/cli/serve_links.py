"""``townsquare serve-links``: the redirector alone (see links/redirector.py)."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Add ``serve-links`` to the root command."""
