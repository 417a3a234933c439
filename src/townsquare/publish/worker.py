"""The dispatch loop: claim due variants, publish them with bounded parallelism, sweep.

Two ways to run it, on the same claims (any number of either, on any number of machines,
against one database: the claim decides, never the queue):

- :class:`PublishWorker`, a background thread in ``townsquare serve`` (embedded, unless
  ``--no-worker``) and in each ``townsquare worker``: every pass it expires unapproved posts
  whose time has passed, takes back lapsed leases, and claims as many due variants as it
  has free slots (``TOWNSQUARE_PUBLISH_PARALLEL``); it wakes as soon as a slot frees up and
  polls every second when idle.
- :func:`dispatch_due` (``townsquare publish due``): the same, in the foreground, for what
  is due when it starts, until nothing is left; it returns the counts per outcome.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from townsquare.channels.crypto import CredentialsBox
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.db.base import utcnow
from townsquare.publish import dispatch, service
from townsquare.publish.claims import lease_token, let_go, new_owner, renew

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # idle wait between passes
CLAIM_EVERY_SECONDS = 0.25  # after a claim that found less than it had room for
EXPIRE_EVERY_SECONDS = 5.0  # unapproved posts past their time, checked this often


@dataclass
class DispatchReport:
    """What ``publish due`` did: variants published, failed, left uncertain (checked again
    later) and skipped (put back for a retry later, or taken over by another dispatcher)."""

    published: int = 0
    failed: int = 0
    uncertain: int = 0
    skipped: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def as_json(self) -> dict[str, int]:
        return {
            "published": self.published,
            "failed": self.failed,
            "uncertain": self.uncertain,
            "skipped": self.skipped,
        }


def expire_unapproved(database: Database, settings: Settings, now: datetime) -> int:
    """Posts still waiting for approval when their time came: expired, their author and
    approvers told (the service's rule)."""
    with database.session() as session:
        return service.expire_unapproved(session, now, settings)


class _Pool:
    """Claimed variants being published, at most ``size`` at once (and as many waiting for
    a thread), their leases renewed by a heartbeat while they are held (a killed process
    stops renewing: the sweep takes them)."""

    def __init__(
        self, database: Database, settings: Settings, owner: str, clock: Callable[[], datetime]
    ) -> None:
        self.database, self.settings, self.owner, self.clock = database, settings, owner, clock
        self.size = settings.publish_parallel
        # Claimed variants: those running and a backlog as large, which the threads take as
        # they free up. Claims come in batches (when the backlog is empty) rather than one
        # per finished variant: a claim's queries are shared by ``size`` variants.
        self.capacity = 2 * self.size
        self.box = CredentialsBox(settings.resolved_credentials_key())
        self.executor = ThreadPoolExecutor(self.size, thread_name_prefix="publish")
        self.running: dict[Future[str], str] = {}  # → its lease token
        self.variant_of: dict[Future[str], int] = {}
        self._closing = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="publish-lease", daemon=True)
        self._heartbeat.start()

    def free(self) -> int:
        """Slots a claim may fill now: none while the backlog is not empty yet."""
        if len(self.running) > self.size:
            return 0
        return self.capacity - len(self.running)

    def fill(self, due_before: datetime | None = None) -> int:
        free = self.free()
        if not free:
            return 0
        lease = lease_token(self.owner)
        ids = dispatch.claim_for(
            self.database,
            self.settings,
            owner=lease,
            limit=free,
            clock=self.clock,
            due_before=due_before,
        )
        for variant_id in ids:
            future = self.executor.submit(self._publish, variant_id, lease)
            self.running[future] = lease
            self.variant_of[future] = variant_id
        return len(ids)

    def _publish(self, variant_id: int, lease: str) -> str:
        return dispatch.publish_variant(
            self.database,
            self.settings,
            variant_id,
            owner=lease,
            box=self.box,
            clock=self.clock,
        )

    def _beat(self) -> None:
        every = max(0.5, self.settings.publish_lease_seconds / 3)
        while not self._closing.wait(every):
            leases = sorted(set(self.running.values()))
            if not leases:
                continue
            try:
                with self.database.session() as session:
                    renew(session, leases, self.clock(), self.settings.publish_lease_seconds)
            except Exception:
                logger.exception("renewing publishing leases failed; trying again")

    def collect(self, timeout: float | None) -> list[str]:
        if not self.running:
            return []
        done, _pending = wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
        outcomes = []
        for future in done:
            self.running.pop(future, None)
            self.variant_of.pop(future, None)
            try:
                outcomes.append(future.result())
            except Exception:
                # A database failure mid-run: the lease lapses and the sweep takes it back.
                logger.exception("dispatching a variant failed; the sweep will take it back")
                outcomes.append(dispatch.SKIPPED)
        return outcomes

    def close(self, wait_for_running: bool = True) -> None:
        self.executor.shutdown(wait=wait_for_running, cancel_futures=True)
        self._closing.set()
        # The backlog never started: its leases end now, so that the next pass (of any
        # dispatcher) sweeps those variants at once instead of after the lease's length.
        waiting = [
            (self.variant_of[f], lease) for f, lease in self.running.items() if f.cancelled()
        ]
        if not waiting:
            return
        try:
            with self.database.session() as session:
                let_go(session, waiting, self.clock())
        except Exception:
            logger.exception("ending the leases of %d unstarted variants failed", len(waiting))


def dispatch_due(
    database: Database,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    owner: str | None = None,
) -> DispatchReport:
    """Publish every variant due now (and take back lapsed leases), in the foreground."""
    report = DispatchReport()
    started = clock()
    expire_unapproved(database, settings, started)
    pool = _Pool(database, settings, owner or new_owner(), clock)
    try:
        while True:
            pool.fill(due_before=started)
            if not pool.running:
                break
            for outcome in pool.collect(timeout=None):
                report.add(outcome)
    finally:
        pool.close()
    return report


class PublishWorker:
    """The loop in a background thread (``serve`` and ``townsquare worker``)."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database, self.settings, self.clock = database, settings, clock
        self.owner = owner or new_owner()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.outcomes: dict[str, int] = {}

    def start(self) -> PublishWorker:
        self._thread = threading.Thread(target=self._run, name="publish-loop", daemon=True)
        self._thread.start()
        logger.info(
            "publishing with %d parallel dispatches as %s",
            self.settings.publish_parallel,
            self.owner,
        )
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming, let the calls under way finish (bounded by their timeouts)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        pool = _Pool(self.database, self.settings, self.owner, self.clock)
        expired_at = 0.0
        next_claim = 0.0  # monotonic time before which a claim would find too little
        try:
            while not self._stop.is_set():
                try:
                    now = self.clock()
                    if now.timestamp() - expired_at >= EXPIRE_EVERY_SECONDS:
                        expire_unapproved(self.database, self.settings, now)
                        expired_at = now.timestamp()
                    if time.monotonic() >= next_claim:
                        # A claim that filled every free slot may leave more behind: the
                        # next one as soon as a slot frees up. Otherwise what falls due
                        # meanwhile is taken in one claim CLAIM_EVERY_SECONDS later, not
                        # in one claim per finished variant.
                        free = pool.free()
                        if free and pool.fill() < free:
                            next_claim = time.monotonic() + CLAIM_EVERY_SECONDS
                except Exception:
                    logger.exception("publish loop pass failed; trying again")
                if pool.running:
                    # Until a slot frees up (or the next claim's time), or a second passes:
                    # what fell due meanwhile.
                    wait_for = min(POLL_SECONDS, next_claim - time.monotonic())
                    for outcome in pool.collect(timeout=wait_for if wait_for > 0 else POLL_SECONDS):
                        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
                else:
                    self._stop.wait(POLL_SECONDS)
        finally:
            pool.close()


def start_publish_worker(database: Database, settings: Settings, **options: Any) -> PublishWorker:
    return PublishWorker(database, settings, **options).start()
