"""Import speed: a generated CSV export imported into a fresh SQLite database.

Goal (issue "Measure"): dataset-sized files import instantly and a 1,000,000-row CSV
completes in under a minute, with a progress bar. Small by default so `make bench` stays
quick; ``--full`` for the million rows. Prints rows per second for each phase.

    .venv/bin/python benchmarks/bench_import.py [--full] [--rows N] [--profile]
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from townsquare.analytics.importers import service
from townsquare.channels.service import add_channel
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.workspaces import service as workspaces
from townsquare.workspaces.service import WorkspaceAccess

FORMATS = ("photo", "video", "link", "status", "reel")
HEADER = "id,published_at,format,reach,impressions,reactions,comments,shares,followers\n"


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """A CSV like a network's export: ids, local times, formats, counters (some unknown)."""
    rng = random.Random(seed)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        lines = []
        for i in range(rows):
            when = start + timedelta(minutes=7 * i)
            reach = rng.randint(100, 50_000)
            shares = "" if i % 50 == 0 else str(rng.randint(0, 200))
            lines.append(
                f"post-{i},{when:%Y-%m-%d %H:%M},{FORMATS[i % 5]},{reach},"
                f"{reach + rng.randint(0, 9_000)},{rng.randint(0, 900)},{rng.randint(0, 80)},"
                f"{shares},{100_000 + i // 10}\n"
            )
            if len(lines) == 10_000:
                handle.writelines(lines)
                lines = []
        handle.writelines(lines)


def run(rows: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path = folder / "export.csv"
        began = time.perf_counter()
        generate(csv_path, rows)
        print(
            f"generated {rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - began:.1f} s"
        )
        settings = Settings(data_dir=folder / "data", _env_file=None)
        database = Database.from_settings(settings)
        database.upgrade()
        with database.session() as session:
            owner = workspaces.create_user(
                session,
                email="bench@example.test",
                password=secrets.token_urlsafe(16),
                is_admin=True,
            )
            workspace = workspaces.create_workspace(session, "bench", name="Bench", owner=owner)
            access = WorkspaceAccess.operator(workspace)
            channel = add_channel(
                session, access, network="facebook", handle="page", timezone="Europe/Paris"
            )
            from rich.progress import Progress, TaskID

            for label, dry_run in (
                ("dry run (read + check)", True),
                ("import", False),
                ("re-import (idempotent)", False),
            ):
                with Progress(transient=True) as bar:
                    task = bar.add_task(label, total=None)

                    def progress(
                        done: int, total: int, task: TaskID = task, bar: Progress = bar
                    ) -> None:
                        bar.update(task, completed=done, total=total)

                    began, cpu = time.perf_counter(), time.process_time()
                    options = service.ImportOptions(dry_run=dry_run)
                    if profile and label == "import":
                        import cProfile
                        import pstats

                        profiler = cProfile.Profile()
                        report = profiler.runcall(
                            service.run_import,
                            session,
                            access,
                            channel,
                            csv_path,
                            options,
                            progress=progress,
                        )
                        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
                    else:
                        report = service.run_import(
                            session, access, channel, csv_path, options, progress=progress
                        )
                    elapsed = time.perf_counter() - began
                    cpu = time.process_time() - cpu
                assert report.ok, report.as_json()["errors"][:3]
                print(
                    f"{label:<24} {rows:>10,} rows in {elapsed:6.1f} s = "
                    f"{rows / elapsed:>9,.0f} rows/s (CPU {cpu:5.1f} s; "
                    f"imported {report.imported:,}, updated {report.updated:,})"
                )
        database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="1,000,000 rows (the issue's size)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile the import phase")
    args = parser.parse_args(argv)
    rows = args.rows or (1_000_000 if args.full else 20_000)
    run(rows, args.profile)
    if rows >= 1_000_000:
        print("goal: the import of 1,000,000 rows under 60 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
