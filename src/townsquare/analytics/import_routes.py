"""Import wizard (web) and import API."""

from __future__ import annotations

from fastapi import APIRouter

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["imports"])
