"""dataset.py: local calendar of UTC instants vs zoneinfo, and the fast reads vs the DBAPI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from sqlalchemy import select

from tests.measure.conftest import MeasureWorld
from townsquare.analytics import dataset
from townsquare.analytics.dataset import local_parts
from townsquare.channels.models import Channel
from townsquare.workspaces.models import Workspace


@pytest.mark.parametrize(
    ("zone", "around"),
    [
        ("Europe/Paris", datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),  # spring forward
        ("Europe/Paris", datetime(2024, 10, 27, 1, 0, tzinfo=UTC)),  # fall back
        ("America/New_York", datetime(2024, 11, 3, 6, 0, tzinfo=UTC)),
        ("Australia/Lord_Howe", datetime(2024, 4, 6, 15, 0, tzinfo=UTC)),  # 30-minute DST
        ("Asia/Kathmandu", datetime(2024, 12, 31, 18, 0, tzinfo=UTC)),  # +05:45, new year
        ("UTC", datetime(2024, 2, 29, 23, 59, tzinfo=UTC)),
    ],
)
def test_local_parts_match_zoneinfo(zone: str, around: datetime) -> None:
    instants = [around + timedelta(minutes=7 * k) for k in range(-60, 60)]
    epoch = np.array([i.timestamp() for i in instants] + [np.nan], dtype=np.float64)
    parts = local_parts(epoch, zone)
    for index, instant in enumerate(instants):
        local = instant.astimezone(ZoneInfo(zone))
        assert parts["weekday"][index] == local.isoweekday(), (zone, instant)
        assert parts["hour"][index] == local.hour, (zone, instant)
        assert parts["month"][index] == local.year * 100 + local.month
        assert parts["day"][index] == (local.date() - datetime(1970, 1, 1).date()).days
    assert parts["weekday"][-1] == -1 and parts["day"][-1] == -1  # unknown instant


def test_local_parts_over_a_long_span() -> None:
    instants = [datetime(2001, 1, 1, tzinfo=UTC), datetime(2030, 6, 15, 12, tzinfo=UTC)]
    parts = local_parts(np.array([i.timestamp() for i in instants]), "Europe/Paris")
    assert parts["hour"].tolist() == [1, 14]
    assert parts["month"].tolist() == [200101, 203006]


def test_columnar_and_row_reads_agree(measure_world: MeasureWorld) -> None:
    """The fast path (ADBC on SQLite, COPY on PostgreSQL) reads what the DBAPI reads."""
    with measure_world.database.session() as session:
        channel_id = session.scalar(
            select(Channel.id).join(Workspace).where(Workspace.slug == "acme")
        )
        assert channel_id is not None
        statement = dataset._query(
            session,
            channel_id,
            ["reach", "shares", "followers_at_publish"],
            dataset.FIELDS,
            None,
            None,
        )
        fast = dataset._fetch_frame(session, statement)
        connection = session.connection()
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        params = (
            tuple(compiled.params[n] for n in compiled.positiontup or [])
            if compiled.positional
            else compiled.params
        )
        slow = dataset._fetch_dbapi(connection, str(compiled), params, fast.columns)
    assert fast.height == slow.height == 4
    for name in fast.columns:
        left = fast[name].cast(pl.String).sort(nulls_last=True).to_list()
        right = slow[name].cast(pl.String).sort(nulls_last=True).to_list()
        if name not in ("format", "precision"):
            left = [None if v is None else float(v) for v in left]
            right = [None if v is None else float(v) for v in right]
        assert left == right, name
