"""The webhook loop: a background thread calling :func:`webhooks.deliver_pending` every
few seconds, beside the publishing loop (``serve`` embedded, ``townsquare worker``).

Apart from the dispatcher's thread on purpose: a slow receiver (each request may take up
to its 10 s timeout) never delays a post. Any number of these may run against one
database: deliveries are claimed under a lease and made once per endpoint and event.
"""

from __future__ import annotations

import logging
import threading

from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.publish import webhooks

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0


class WebhookWorker:
    def __init__(
        self, database: Database, settings: Settings, *, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self.database, self.settings, self.poll_seconds = database, settings, poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookWorker:
        self._thread = threading.Thread(target=self._run, name="publish-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run = webhooks.deliver_pending(
                    self.database.session, utcnow(), settings=self.settings
                )
                if run.delivered or run.failed:
                    logger.info("webhooks: %s", run.as_json())
            except Exception:
                logger.exception("webhook pass failed; trying again")
            self._stop.wait(self.poll_seconds)


def start_webhook_worker(database: Database, settings: Settings) -> WebhookWorker:
    """Start the loop; call ``stop()`` on what it returns at shutdown."""
    return WebhookWorker(database, settings).start()
