"""Reports' background work: every minute, run the schedules that are due."""

from __future__ import annotations

from datetime import datetime

from townsquare.jobs.queue import huey, task_database, task_settings
from townsquare.reports import delivery


@huey.periodic_task(lambda moment: True, name="run_due_reports")
def run_due_reports() -> list[int]:
    return delivery.run_due(task_database(), task_settings())


def run_due_now(moment: datetime | None = None) -> list[int]:
    return delivery.run_due(task_database(), task_settings(), moment)
