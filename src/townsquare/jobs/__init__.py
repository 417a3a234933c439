"""The task queue (Huey) and the periodic schedule.

Embedded default: SQLite storage in the data directory, consumed by threads inside
``townsquare serve``. With ``TOWNSQUARE_QUEUE_URL=redis://…``: Redis, consumed by any
number of ``townsquare worker`` processes. The database stays the source of truth for what
is scheduled, so a lost queue message delays work but never loses it.
"""
