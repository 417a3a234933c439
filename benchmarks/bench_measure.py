"""Measure's speed: ``measure kpis --by format`` and ``measure best-times`` on a big channel.

    python benchmarks/bench_measure.py            # 20,000 posts, 200,000 snapshots (make bench)
    python benchmarks/bench_measure.py --full     # 1,000,000 posts, 10,000,000 snapshots
    python benchmarks/bench_measure.py --posts 100000 --snapshots-per-post 5 --keep

1. Generates a synthetic workspace into SQLite in a temporary data directory: one channel
   (Europe/Paris), posts of five formats, paid ~10 %, heavy-tailed reach, a few unknown
   counters (NULL, not 0), and ``--snapshots-per-post`` growing metric snapshots per post
   (10 by default: 10 M at full size) whose last one is copied to ``post_latest_metrics``.
   Rows are generated with numpy and written with ``executemany`` on the raw sqlite3
   connection, with journal and fsync off while loading (PRAGMA journal_mode=OFF,
   synchronous=OFF): a throw-away database, so durability is not needed.
2. Times the two analyses through ``analytics/service.py`` (what the CLI, the API and the
   web pages call): database read included, best of ``--repeat`` runs.
3. Times a straightforward pandas computation of the same figures: ``read_sql`` of the
   same join, then row by row (``iterrows``) per-post KPI values accumulated per group,
   medians with ``groupby().apply`` and a textbook resample-and-take-the-median bootstrap
   for the CIs. The baseline runs once and gets 200 resamples instead of our 2,000 (a
   handicap in its favour; at full size 2,000 would take hours).

Goal (issue #3): each analysis under 2 s at full size, and at least 20× the baseline.
Measured with ``--full`` on the 2-core development machine, shared (load average ~5):
generation 88 s; ``measure kpis --by format`` 1.62 s vs 110 s (68×); ``measure
best-times`` 0.89 s vs 25 s (28×); later, load ~3, 1.16 s and 0.77 s (``--no-baseline``,
with paid posts per best-times cell). Most of the remaining time is SQLite reading the
million rows; the analyses themselves take a few hundred milliseconds.

How the service is fast: one SQL query reads the lifetime table (never the snapshots),
columns go straight into numpy, groups are contiguous slices after one sort, and the
median CI uses order-statistic sampling (``analytics/stats.py``: each bootstrap median is
drawn from its exact resampling distribution in O(1), so 2,000 resamples cost the same for
a million posts as for ten).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from townsquare.analytics import kpis, service
from townsquare.channels.service import add_channel
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.workspaces.service import WorkspaceAccess, create_workspace, get_workspace

GOAL_SECONDS = 2.0
GOAL_RATIO = 20.0
FORMATS = ("photo", "video", "link", "status", "carousel")
FORMAT_P = (0.55, 0.2, 0.15, 0.07, 0.03)
METRICS = ("impressions", "reach", "reactions", "comments", "shares", "saves", "clicks")
TIMEZONE = "Europe/Paris"
PARIS = ZoneInfo(TIMEZONE)
BEST_TIMES_METRIC = "engagement_rate_by_reach"
BASELINE_RESAMPLES = 200
CHUNK = 500_000


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- synthetic data -----------------------------------------------------------------------


def _synthetic_posts(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    fmt = rng.choice(len(FORMATS), size=n, p=FORMAT_P)
    paid = rng.random(n) < 0.1
    start = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())
    epoch = np.sort(rng.integers(start, start + 5 * 365 * 86400, size=n))
    followers = (50_000 + (epoch - start) / 86400 * 30 + rng.normal(0, 200, n)).astype(np.int64)
    reach_scale = np.array([1.0, 1.6, 0.6, 0.9, 1.2])[fmt] * np.where(paid, 3.0, 1.0)
    reach = (rng.lognormal(7.5, 1.0, n) * reach_scale).astype(np.int64) + 1
    impressions = (reach * (1 + rng.lognormal(-1, 0.5, n))).astype(np.int64)
    rate = np.array([0.03, 0.02, 0.01, 0.025, 0.035])[fmt]
    reactions = rng.binomial(reach, rate)
    comments = rng.binomial(reach, rate / 8)
    shares = rng.binomial(reach, rate / 10)
    saves = rng.binomial(reach, rate / 20)
    clicks = rng.binomial(impressions, 0.01)
    return {
        "format": fmt,
        "paid": paid,
        "epoch": epoch,
        "followers": followers,
        "impressions": impressions,
        "reach": reach,
        "reactions": reactions,
        "comments": comments,
        "shares": shares,
        "saves": saves,
        "clicks": clicks,
        # Unknown counters: 3 % of posts without clicks, 1 % without shares.
        "clicks_unknown": rng.random(n) < 0.03,
        "shares_unknown": rng.random(n) < 0.01,
    }


def _with_nulls(values: np.ndarray, unknown: np.ndarray | None) -> list[Any]:
    out: list[Any] = values.tolist()
    if unknown is not None:
        for index in np.flatnonzero(unknown).tolist():
            out[index] = None
    return out


def generate(database: Database, posts: int, per_post: int, seed: int) -> int:
    """Workspace ``bench`` with channel ``page`` and its posts; returns the snapshot count."""
    with database.session() as session:
        workspace = create_workspace(session, "bench", name="Bench")
        access = WorkspaceAccess.operator(get_workspace(session, workspace.slug))
        channel = add_channel(session, access, network="facebook", handle="page", timezone=TIMEZONE)
        workspace_id, channel_id = access.workspace_id, channel.id
    rng = np.random.default_rng(seed)
    data = _synthetic_posts(posts, rng)
    local = (
        pl.from_epoch(pl.Series(data["epoch"]), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(TIMEZONE)
    )
    weekday = local.dt.weekday().to_numpy()
    hour = local.dt.hour().to_numpy()
    published = (
        pl.from_epoch(pl.Series(data["epoch"]), time_unit="s")
        .dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
        .to_list()
    )
    raw = database.engine.raw_connection()
    connection: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-400000")
    first_id = 1
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    fmt_names = np.array(FORMATS)[data["format"]].tolist()
    paid_list = data["paid"].astype(int).tolist()
    followers = data["followers"].tolist()
    weekday_l, hour_l = weekday.tolist(), hour.tolist()
    _progress(f"  writing {posts:,} posts…")
    connection.executemany(
        "INSERT INTO posts (id, workspace_id, channel_id, external_id, published_at, "
        "published_precision, local_weekday, local_hour, format, is_paid, tags, "
        "followers_at_publish, created_at) VALUES (?, ?, ?, ?, ?, 'minute', ?, ?, ?, ?, '[]', "
        "?, ?)",
        (
            (
                first_id + i,
                workspace_id,
                channel_id,
                f"p{i}",
                published[i],
                weekday_l[i],
                hour_l[i],
                fmt_names[i],
                paid_list[i],
                followers[i],
                created,
            )
            for i in range(posts)
        ),
    )
    final = {name: data[name] for name in METRICS}
    unknown = {"clicks": data["clicks_unknown"], "shares": data["shares_unknown"]}
    _progress(f"  writing {posts * per_post:,} snapshots…")
    # Snapshot k holds a growing share of the lifetime counters; the last is the lifetime.
    shares_k = 1 - np.exp(-np.arange(1, per_post + 1) / 2.0)
    shares_k /= shares_k[-1]
    snapshot_sql = (
        "INSERT INTO post_metric_snapshots (post_id, taken_at, "
        + ", ".join(METRICS)
        + ") VALUES (?, ?, "
        + ", ".join("?" for _ in METRICS)
        + ")"
    )
    written = 0
    for begin in range(0, posts, max(1, CHUNK // per_post)):
        end = min(posts, begin + max(1, CHUNK // per_post))
        ids = np.arange(begin, end)
        rows: list[tuple[Any, ...]] = []
        for k, share in enumerate(shares_k):
            taken = (
                pl.from_epoch(pl.Series(data["epoch"][ids] + (k + 1) * 86400), time_unit="s")
                .dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
                .to_list()
            )
            columns = [
                _with_nulls(
                    (final[name][ids] * share).astype(np.int64),
                    unknown[name][ids] if name in unknown else None,
                )
                for name in METRICS
            ]
            rows.extend(zip((ids + first_id).tolist(), taken, *columns, strict=True))
        connection.executemany(snapshot_sql, rows)
        written += len(rows)
    _progress("  writing the lifetime table…")
    latest_taken = (
        pl.from_epoch(pl.Series(data["epoch"] + per_post * 86400), time_unit="s")
        .dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
        .to_list()
    )
    lifetime = [_with_nulls(final[name], unknown.get(name)) for name in METRICS]
    connection.executemany(
        "INSERT INTO post_latest_metrics (post_id, taken_at, "
        + ", ".join(METRICS)
        + ") VALUES (?, ?, "
        + ", ".join("?" for _ in METRICS)
        + ")",
        zip(range(first_id, first_id + posts), latest_taken, *lifetime, strict=True),
    )
    connection.commit()
    connection.execute("ANALYZE")
    raw.close()
    return written


# --- the two ways of computing ------------------------------------------------------------


def run_service(database: Database, analysis: str) -> dict[str, Any]:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "bench"))
        if analysis == "kpis":
            return service.measure_kpis(session, access, "page", by="format")
        return service.measure_best_times(session, access, "page", metric=BEST_TIMES_METRIC)


def _baseline_frame(database: Database) -> Any:
    import pandas as pd

    with database.engine.connect() as connection:
        return pd.read_sql_query(
            "SELECT p.format, p.is_paid, p.local_weekday, p.local_hour, p.published_at, "
            "p.followers_at_publish, m.impressions, m.reach, m.reactions, m.comments, "
            "m.shares, m.saves, m.clicks, m.engaged_users FROM posts p "
            "LEFT JOIN post_latest_metrics m ON m.post_id = p.id",
            connection.connection.driver_connection,  # type: ignore[arg-type]
        )


def _nan(value: Any) -> bool:
    return value is None or value != value


def baseline_kpis(database: Database) -> dict[str, Any]:
    """Row by row: per-post ratios and sums per format, for every summary rate."""
    frame = _baseline_frame(database)
    rates = [kpis.REGISTRY[n] for n in kpis.SUMMARY_KPIS if kpis.REGISTRY[n].kind == "rate"]
    ratios: dict[tuple[str, str], list[float]] = defaultdict(list)
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    interactions: dict[str, list[float]] = defaultdict(list)
    days: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    posts: dict[str, int] = defaultdict(int)
    for _, row in frame.iterrows():
        key = str(row["format"]).lower()
        posts[key] += 1
        parts = [row["reactions"], row["comments"], row["shares"]]
        inter = None if any(_nan(p) for p in parts) else float(sum(parts))
        if inter is not None:
            interactions[key].append(inter)
        for kpi in rates:
            num: Any = inter if kpi.numerator == ("interactions",) else row[kpi.numerator[0]]
            den = row[kpi.denominator]
            if _nan(num) or _nan(den) or den <= 0:
                continue
            ratios[(key, kpi.name)].append(num / den * 100)
            sums[(key, kpi.name)][0] += num
            sums[(key, kpi.name)][1] += den
        if inter is not None and not _nan(row["followers_at_publish"]):
            published = datetime.fromisoformat(str(row["published_at"])).replace(tzinfo=UTC)
            day = (key, published.astimezone(PARIS).date().isoformat())
            days[day][0] += inter
            days[day][1] = max(days[day][1], row["followers_at_publish"])
    groups = []
    for key in sorted(posts):
        figures: dict[str, Any] = {
            "interactions": float(np.mean(interactions[key])) if interactions[key] else None
        }
        for kpi in rates:
            values = ratios[(key, kpi.name)]
            num, den = sums[(key, kpi.name)]
            figures[kpi.name] = {
                "mean_of_ratios": float(np.mean(values)) if values else None,
                "ratio_of_sums": num / den * 100 if den else None,
            }
        daily = [v for (k, _), v in days.items() if k == key]
        figures["daily_engagement_rate"] = {
            "mean_of_ratios": float(np.mean([i / f for i, f in daily]) * 100),
            "ratio_of_sums": sum(i for i, _ in daily) / sum(f for _, f in daily) * 100,
        }
        groups.append({"key": key, "posts": posts[key], "kpis": figures})
    return {"groups": groups}


def baseline_best_times(database: Database) -> dict[str, Any]:
    """Row by row per-post values, then groupby().apply medians and a textbook bootstrap."""
    import pandas as pd

    frame = _baseline_frame(database)

    def value(row: Any) -> float:
        parts = [row["reactions"], row["comments"], row["shares"]]
        if any(_nan(p) for p in parts) or _nan(row["reach"]) or row["reach"] <= 0:
            return float("nan")
        return float(sum(parts)) / row["reach"] * 100

    frame["value"] = frame.apply(value, axis=1)
    frame = frame.dropna(subset=["value"])
    rng = np.random.default_rng(0)

    def summary(values: pd.Series) -> pd.Series:
        data = values.to_numpy()
        medians = [np.median(rng.choice(data, data.size)) for _ in range(BASELINE_RESAMPLES)]
        low, high = np.quantile(medians, [0.025, 0.975])
        return pd.Series({"n": data.size, "median": np.median(data), "low": low, "high": high})

    cells = frame.groupby(["local_weekday", "local_hour"])["value"].apply(summary)
    return {"cells": cells.unstack().reset_index().to_dict("records")}


# --- timing -------------------------------------------------------------------------------


def best_of(repeat: int, action: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    return best, result


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.isclose(a, b, rtol=1e-6))


def check_same_figures(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """The baseline computes the same numbers (else the comparison would be meaningless)."""
    mine = {g["key"]: g for g in ours["groups"]}
    for group in theirs["groups"]:
        figures = mine[group["key"]]["kpis"]
        assert mine[group["key"]]["posts"] == group["posts"]
        for name, value in group["kpis"].items():
            if isinstance(value, dict):
                for field in ("mean_of_ratios", "ratio_of_sums"):
                    assert _same(figures[name][field], value[field]), (name, field)
            else:
                assert _same(figures[name], value), name


def check_same_cells(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Same posts and same median in every weekday × hour cell."""
    mine = {(c["weekday"], c["hour"]): c for c in ours["cells"]}
    assert len(mine) == len(theirs["cells"])
    for cell in theirs["cells"]:
        match = mine[(int(cell["local_weekday"]), int(cell["local_hour"]))]
        assert match["n"] == int(cell["n"])
        assert _same(match["median"], float(cell["median"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="1,000,000 posts, 10 snapshots each")
    parser.add_argument("--posts", type=int, default=None)
    parser.add_argument("--snapshots-per-post", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2014)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()
    posts = args.posts or (1_000_000 if args.full else 20_000)

    data_dir = Path(tempfile.mkdtemp(prefix="bench-measure-"))
    settings = Settings(data_dir=data_dir, secret_key="bench", _env_file=None)  # noqa: S106
    database = Database.from_settings(settings)
    try:
        database.upgrade()
        start = time.perf_counter()
        _progress(f"generating {posts:,} posts into {data_dir}")
        snapshots = generate(database, posts, args.snapshots_per_post, args.seed)
        generated = time.perf_counter() - start
        print(f"generated {posts:,} posts and {snapshots:,} snapshots in {generated:.1f} s")

        rows = []
        ok = True
        for name, label in (("kpis", "measure kpis --by format"), ("best", "measure best-times")):
            seconds, result = best_of(args.repeat, partial(run_service, database, name))
            base_seconds: float | None = None
            if not args.no_baseline:
                baseline = baseline_kpis if name == "kpis" else baseline_best_times
                start = time.perf_counter()
                theirs = baseline(database)
                base_seconds = time.perf_counter() - start
                if name == "kpis":
                    check_same_figures(result, theirs)
                else:
                    check_same_cells(result, theirs)
            rows.append((label, seconds, base_seconds))
            ok &= seconds < GOAL_SECONDS
            if base_seconds is not None:
                ok &= base_seconds / seconds >= GOAL_RATIO

        print(f"\n{'analysis':<28}{'service':>10}{'pandas rows':>14}{'ratio':>9}")
        for label, seconds, base_seconds in rows:
            ratio = f"{base_seconds / seconds:.0f}×" if base_seconds else "—"
            base = f"{base_seconds:.2f} s" if base_seconds else "—"
            print(f"{label:<28}{seconds:>8.3f} s{base:>14}{ratio:>9}")
        print(
            f"goal: each under {GOAL_SECONDS:.0f} s at full size (1M posts) and "
            f"≥ {GOAL_RATIO:.0f}× the row-by-row baseline — "
            + ("met" if ok else "NOT met")
            + ("" if args.full or args.posts else " (small size: run --full for the goal)")
        )
        return 0
    finally:
        database.dispose()
        if args.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
