"""The one Huey instance; its storage is chosen from settings by :func:`configure`."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from huey import Huey
from huey.consumer import Consumer
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from townsquare.config import Settings, ensure_private_file
from townsquare.db import Database

logger = logging.getLogger(__name__)

# Tasks register on this instance at import time; the storage behind it is set later,
# once the settings are known (the same task code runs on SQLite and on Redis).
huey = Huey("townsquare", storage_class=MemoryStorage, utc=True)

# Each capability with background work lists its tasks module here.
TASK_MODULES = (
    "townsquare.jobs.tasks",
    "townsquare.listening.tasks",
    "townsquare.reports.tasks",
    "townsquare.channels.tasks",
)

_database: Database | None = None
_settings: Settings | None = None


def make_storage(settings: Settings) -> Any:
    url = settings.queue_url
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage(name="townsquare", url=url)
    if url and not url.startswith("sqlite"):
        from townsquare.errors import ValidationError

        raise ValidationError(
            "unsupported TOWNSQUARE_QUEUE_URL %(url)r: use redis://host:6379/0, or leave it empty "
            "for the SQLite queue in the data directory",
            params={"url": url},
            field="queue_url",
        )
    path = url.removeprefix("sqlite:///") if url else str(settings.ensure_data_dir() / "queue.db")
    ensure_private_file(Path(path))  # 0600, and so its -wal and -shm files
    return SqliteStorage(name="townsquare", filename=path)


def configure(settings: Settings, database: Database | None = None) -> Huey:
    """Point the queue at the configured storage and give tasks their database."""
    global _database, _settings
    for module in TASK_MODULES:
        importlib.import_module(module)
    huey.immediate = False
    huey.storage = make_storage(settings)
    _database = database or Database.from_settings(settings)
    _settings = settings
    return huey


def task_database() -> Database:
    """The database tasks use (set by :func:`configure`)."""
    if _database is None:
        raise RuntimeError("the job queue is not configured: call townsquare.jobs.configure()")
    return _database


def task_settings() -> Settings:
    """The settings tasks run with (set by :func:`configure`; defaults before that)."""
    return _settings if _settings is not None else Settings()


class EmbeddedConsumer(Consumer):
    """A consumer that runs inside another server and leaves its signal handlers alone."""

    def _set_signal_handlers(self) -> None:
        pass


def start_embedded_consumer(threads: int) -> EmbeddedConsumer:
    consumer = EmbeddedConsumer(huey, workers=threads, worker_type="thread", periodic=True)
    consumer.start()
    logger.info("job consumer started with %d threads", threads)
    return consumer


def run_worker(threads: int) -> None:
    """Run a stand-alone consumer until SIGINT/SIGTERM (``townsquare worker``)."""
    Consumer(huey, workers=threads, worker_type="thread", periodic=True).run()
