"""Writing while reading: the import's writer runs in a thread fed in order by the reader."""

from __future__ import annotations

import threading
from queue import Queue

from townsquare.analytics.importers.records import PostRecord
from townsquare.analytics.importers.writer import PostWriter


class BackgroundWriter:
    """Runs a :class:`PostWriter` in a thread, batches in order, while the caller reads on.

    The database drivers release the GIL while the database works, so reading and checking
    the next rows overlaps with writing the previous ones (a 1M-row import on two cores).
    Only this thread touches the session until :meth:`close`; the first error stops the
    writing and is raised again by :meth:`put` or :meth:`close`.
    """

    def __init__(self, writer: PostWriter) -> None:
        self.writer = writer
        self.error: BaseException | None = None
        self._queue: Queue[list[PostRecord] | None] = Queue(maxsize=2)
        self._thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self.error is None and batch:
                try:
                    self.writer.write(batch)
                except BaseException as error:  # handed to the caller's thread
                    self.error = error

    def put(self, batch: list[PostRecord]) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(batch)

    def close(self) -> None:
        """Wait for every batch to be written; raise the writer's error, if any."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self.error is not None:
            raise self.error
