"""Reading an HTML form posted to a page: the named text fields, missing ones as ""."""

from __future__ import annotations

from fastapi import Request


async def form_fields(request: Request, *names: str) -> dict[str, str]:
    """``{name: value}`` for each of ``names``: the posted text, or "" when absent or empty
    (a file field, not being text, is not read here)."""
    data = await request.form()
    return {name: str(data.get(name) or "") for name in names}
