"""Listen's background work: every minute, poll the sources that are due and send the alerts
that have something to say, in every workspace.

Claiming a source is an atomic update of its next poll time (see sources.poll), so any
number of workers may run this at once without polling a source twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import or_, select

from townsquare.channels.crypto import CredentialsBox
from townsquare.jobs.queue import huey, task_database, task_settings
from townsquare.listening import sources
from townsquare.listening.alerts import run_alerts
from townsquare.listening.models import Alert, Source
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.models import Workspace

logger = logging.getLogger(__name__)


def poll_due_sources_now() -> dict[str, int]:
    """Poll every due source of every workspace; totals of the reports."""
    settings = task_settings()
    totals = {"sources_polled": 0, "items_fetched": 0, "mentions_new": 0, "alerts_sent": 0}
    now = datetime.now(UTC)
    with task_database().session() as session:
        due_workspaces = list(
            session.scalars(
                select(Workspace)
                .where(
                    Workspace.id.in_(
                        select(Source.workspace_id).where(
                            or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now)
                        )
                    )
                )
                .order_by(Workspace.id)
            )
        )
        box = CredentialsBox(settings.resolved_credentials_key())
        for workspace in due_workspaces:
            report = sources.poll(
                session, settings, WorkspaceAccess.operator(workspace), due_only=True, box=box
            )
            for key, value in report.as_json().items():
                if key in totals:
                    totals[key] += int(value)
        # Digests, spikes and instant alerts held back by their grouping, everywhere.
        alerting = session.scalars(
            select(Workspace)
            .where(Workspace.id.in_(select(Alert.workspace_id)))
            .order_by(Workspace.id)
        )
        for workspace in list(alerting):
            totals["alerts_sent"] += run_alerts(
                session, settings, box, WorkspaceAccess.operator(workspace)
            )
    if totals["sources_polled"] or totals["alerts_sent"]:
        logger.info("listen: %s", totals)
    return totals


@huey.periodic_task(lambda moment: True, name="listen_poll_due_sources")
def poll_due_sources() -> dict[str, int]:
    return poll_due_sources_now()
