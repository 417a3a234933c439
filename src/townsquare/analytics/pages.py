"""Measure's web pages: dashboard, formats, best times, glossary, CSV exports."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
