"""Database access: engine and sessions (``engine.py``), base model (``base.py``), migrations."""

from townsquare.db.base import Base, UTCDateTime, utcnow
from townsquare.db.engine import Database

__all__ = ["Base", "Database", "UTCDateTime", "utcnow"]
