"""Files uploaded to the import wizard, waiting in the data directory between its steps.

Each workspace has its folder ``DATA_DIR/imports/<workspace id>/`` (0700); each upload is
one file named by a random token (0600). An upload larger than ``TOWNSQUARE_MAX_UPLOAD_MB``
is refused while it streams (the app's body limit, ``web/app.py``) and again here, byte by
byte, so nothing larger is ever kept. Uploads abandoned for a day are deleted by the
periodic house-keeping task (``jobs/tasks.py``) and at each new upload.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from pathlib import Path
from typing import BinaryIO

from townsquare.analytics.importers.source import XLSX_MAGIC
from townsquare.config import Settings, make_private_dir
from townsquare.errors import TooLarge, ValidationError

TOKEN = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx)$")
CHUNK = 1 << 20
UPLOAD_LIFETIME = 24 * 3600  # seconds an upload waits between the wizard's steps


def upload_root(settings: Settings) -> Path:
    return make_private_dir(settings.ensure_data_dir() / "imports")


def upload_dir(settings: Settings, workspace_id: int) -> Path:
    return make_private_dir(upload_root(settings) / str(workspace_id))


def too_large_message(settings: Settings) -> str:
    return (
        f"the file is larger than the {settings.max_upload_mb} MB limit: import a smaller "
        "file (split it), or ask the operator to raise TOWNSQUARE_MAX_UPLOAD_MB"
    )


def prune_folder(folder: Path, *, now: float | None = None) -> int:
    """Delete the uploads of ``folder`` older than a day; returns how many."""
    limit = (time.time() if now is None else now) - UPLOAD_LIFETIME
    deleted = 0
    for old in folder.iterdir():
        with contextlib.suppress(OSError):  # another request may remove it first
            if TOKEN.match(old.name) and old.stat().st_mtime < limit:
                old.unlink()
                deleted += 1
    return deleted


def prune_abandoned(settings: Settings, *, now: float | None = None) -> int:
    """Delete every workspace's uploads abandoned in the wizard; returns how many."""
    root = settings.data_dir / "imports"
    if not root.is_dir():
        return 0
    return sum(prune_folder(folder, now=now) for folder in root.iterdir() if folder.is_dir())


def save(stream: BinaryIO, folder: Path, settings: Settings) -> Path:
    """Copy an upload to ``folder`` under a random name (0600); CSV or XLSX told by content.

    TooLarge (413), with nothing kept, past ``settings.max_upload_bytes``.
    """
    head = stream.read(len(XLSX_MAGIC))
    if not head:
        raise ValidationError("the file is empty: choose a CSV or XLSX export", field="file")
    suffix = ".xlsx" if head == XLSX_MAGIC else ".csv"
    prune_folder(folder)
    path = folder / f"{secrets.token_hex(16)}{suffix}"
    limit = settings.max_upload_bytes
    written = len(head)
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(head)
            while chunk := stream.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise TooLarge(too_large_message(settings), field="file")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
