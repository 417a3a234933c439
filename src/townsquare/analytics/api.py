"""Measure's REST API: KPIs, formats, best times (JSON identical to the CLI's)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["measure"])
