"""Measure's use cases: what the CLI, the REST API and the web pages call, identically.

Each function checks the caller's access, finds the channel in the caller's workspace,
loads its posts (``dataset.py``) and hands them to the pure analyses (``analyses.py``).
The returned dicts are the JSON of the issue's contract; CLI ``--json`` prints them as
they are and the API returns them as they are.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from townsquare.analytics import kpis
from townsquare.workspaces.service import WorkspaceAccess

GROUPINGS = ("format", "weekday", "hour", "month", "paid")
PAID_FILTERS = ("all", "organic", "paid")
DEFAULT_SEED = 20140101
DEFAULT_RESAMPLES = 2000


def kpi_glossary() -> list[dict[str, Any]]:
    """Every KPI with its formula, unit, inputs and source."""
    return kpis.glossary()


def measure_kpis(
    session: Session,
    access: WorkspaceAccess,
    channel_handle: str,
    *,
    by: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    paid: str = "all",
) -> dict[str, Any]:
    """``{"groups": [{"key", "posts", "kpis": {NAME: {...} or number}}], ...}``."""
    raise NotImplementedError


def measure_formats(
    session: Session,
    access: WorkspaceAccess,
    channel_handle: str,
    *,
    metric: str,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    paid: str = "all",
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """``{"metric", "groups": [...], "test": {...}, "pairwise": [...]}``."""
    raise NotImplementedError


def measure_best_times(
    session: Session,
    access: WorkspaceAccess,
    channel_handle: str,
    *,
    metric: str,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    paid: str = "all",
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """``{"metric", "timezone", "cells": [...], "recommended": [...], ...}``."""
    raise NotImplementedError
