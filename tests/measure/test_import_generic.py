"""The generic importer: any CSV/XLSX with a mapping; every bad input reported, nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.measure.conftest import ImportTarget
from townsquare.analytics.importers import profiles, service
from townsquare.analytics.importers.dates import DateReader, infer_orders
from townsquare.analytics.models import (
    ChannelSnapshot,
    ImportProfile,
    Post,
    PostLatestMetrics,
    PostMetricSnapshot,
)
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

BANGKOK = ZoneInfo("Asia/Bangkok")
FRENCH_MAP = {
    "Identifiant": "external_id",
    "Date": "published_at",
    "Type": "format",
    "Texte": "text",
    "Portée": "reach",
    "Réactions": "reactions",
    "Commentaires": "comments",
}


def write(tmp_path: Path, text: str, name: str = "posts.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def posts_by_id(target: ImportTarget) -> dict[str, Post]:
    with target.database.session() as session:
        return {p.external_id: p for p in session.scalars(select(Post))}


def latest(target: ImportTarget) -> dict[str, PostLatestMetrics]:
    with target.database.session() as session:
        rows = session.execute(
            select(Post.external_id, PostLatestMetrics).join(
                PostLatestMetrics, PostLatestMetrics.post_id == Post.id
            )
        ).all()
        return {row[0]: row[1] for row in rows}


def test_semicolon_latin1_with_mapping(import_target: ImportTarget, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Identifiant;Date;Type;Texte;Portée;Réactions;Commentaires\r\n"
        "a1;22/04/2018 18:30;Photo;Très réussi, à refaire;1000;50;3\r\n"
        "a2;13/04/2018 09:00;video;Été à Paris;2000;80;\r\n",
        encoding="latin-1",
    )
    report = import_target.run(path, mapping=FRENCH_MAP)
    assert report.as_json() == {
        "rows_read": 2,
        "imported": 2,
        "updated": 0,
        "duplicates_skipped": 0,
        "encoding": "cp1252",
        "errors": [],
    }
    posts = posts_by_id(import_target)
    assert posts["a1"].text == "Très réussi, à refaire"
    assert posts["a2"].text == "Été à Paris"
    assert posts["a1"].format == "photo"
    # 22/04 proves the slash form is day first; 13/04/2018 is then 13 April.
    assert posts["a2"].published_at == datetime(2018, 4, 13, 9, tzinfo=BANGKOK).astimezone(UTC)
    assert (posts["a1"].local_weekday, posts["a1"].local_hour) == (7, 18)
    metrics = latest(import_target)
    assert (metrics["a1"].reach, metrics["a1"].reactions, metrics["a1"].comments) == (1000, 50, 3)
    assert metrics["a2"].comments is None  # empty cell: unknown, not 0
    assert metrics["a2"].shares is None  # no column: unknown


def test_xlsx(import_target: ImportTarget, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["id", "published_at", "format", "reach", "likes", "paid", "followers"])
    sheet.append(["x1", datetime(2024, 3, 4, 9, 30), "photo", 1200, 40, "yes", 5000])
    sheet.append(["x2", "2024-03-05T10:00:00+00:00", "reel", 800.0, None, 0, 5010])
    path = tmp_path / "export.xlsx"
    workbook.save(path)
    report = import_target.run(path)
    assert report.as_json()["errors"] == []
    assert (report.imported, report.rows_read) == (2, 2)
    posts = posts_by_id(import_target)
    assert posts["x1"].published_at == datetime(2024, 3, 4, 9, 30, tzinfo=BANGKOK).astimezone(UTC)
    assert posts["x2"].published_at == datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert posts["x2"].local_hour == 17  # 10:00 UTC is 17:00 in Bangkok
    assert (posts["x1"].is_paid, posts["x2"].is_paid) == (True, False)
    assert posts["x2"].format == "reel"
    metrics = latest(import_target)
    assert (metrics["x1"].reach, metrics["x1"].reactions) == (1200, 40)
    assert (metrics["x2"].reach, metrics["x2"].reactions) == (800, None)
    with import_target.database.session() as session:
        audience = session.execute(select(ChannelSnapshot.date, ChannelSnapshot.followers)).all()
    assert sorted((d.isoformat(), n) for d, n in audience) == [
        ("2024-03-04", 5000),
        ("2024-03-05", 5010),
    ]


def test_ambiguous_date_refused_with_both_readings(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "id,date,format,reach\np1,04-11-18 10:00,photo,10\np2,05-06-18 11:00,photo,20\n",
    )
    report = import_target.run(path)
    assert not report.ok
    errors = report.as_json()["errors"]
    assert [e["line"] for e in errors] == [2, 3]
    assert "'04-11-18 10:00' is ambiguous" in errors[0]["message"]
    assert "2018-04-11" in errors[0]["message"] and "2018-11-04" in errors[0]["message"]
    assert "%m-%d-%y %H:%M" in errors[0]["message"] and "%d-%m-%y %H:%M" in errors[0]["message"]
    assert import_target.count(Post) == 0
    with pytest.raises(Exception) as raised:
        service.raise_for_problems(report)
    assert "line 2" in str(raised.value)

    fixed = import_target.run(path, date_format="%d-%m-%y %H:%M")
    assert fixed.ok and fixed.imported == 2
    posts = posts_by_id(import_target)
    assert posts["p1"].published_at == datetime(2018, 11, 4, 10, tzinfo=BANGKOK).astimezone(UTC)


def test_a_later_row_decides_earlier_ambiguous_dates(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "id,published_at,format\n"
        "p1,04/11/2018 10:00,photo\n"
        "p2,05/06/2018 11:00,photo\n"
        "p3,25/12/2018 12:00,video\n",
    )
    report = import_target.run(path)
    assert report.as_json()["errors"] == [] and report.imported == 3
    posts = posts_by_id(import_target)
    assert posts["p1"].published_at == datetime(2018, 11, 4, 10, tzinfo=BANGKOK).astimezone(UTC)
    assert posts["p2"].published_at == datetime(2018, 6, 5, 11, tzinfo=BANGKOK).astimezone(UTC)
    mixed = write(
        tmp_path,
        "id,published_at,format\np1,25/12/2018 10:00,photo\np2,12/25/2018 11:00,photo\n",
        name="mixed.csv",
    )
    errors = import_target.run(mixed).as_json()["errors"]
    assert [e["line"] for e in errors] == [3]
    assert "month-first on line 3" in errors[0]["message"]
    assert "day-first on line 2" in errors[0]["message"]
    assert import_target.count(Post) == 3


def test_one_unambiguous_value_decides_the_column() -> None:
    orders = infer_orders([(2, "04-11-18 4:53"), (3, "04-22-18 1:00")])
    assert orders.problems == []
    reader = DateReader(ZoneInfo("UTC"), orders=orders.orders)
    stamp, error = reader.read("04-11-18 4:53")
    assert error is None and stamp is not None
    assert stamp.local == datetime(2018, 4, 11, 4, 53)
    mixed = infer_orders([(2, "13/01/2020"), (5, "01/13/2020")])
    assert mixed.problems and mixed.problems[0][0] == 5
    assert "line 5" in mixed.problems[0][1] and "line 2" in mixed.problems[0][1]


def test_every_bad_row_reported_nothing_written(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "id,published_at,format,reach,comments\n"
        "ok1,2024-01-01 10:00,photo,100,1\n"
        "bad1,2024-01-02 10:00,photo,lots,1\n"
        "bad2,2024-01-03 10:00,video,100,-5\n"
        "bad3,2024-01-04 10:00,podcast,100,1\n"
        "bad4,not a date,photo,100,1\n"
        "ok2,2024-01-05 10:00,link,100,1\n",
    )
    report = import_target.run(path)
    errors = report.as_json()["errors"]
    assert [e["line"] for e in errors] == [3, 4, 5, 6]
    assert "reach: 'lots' is not a number" in errors[0]["message"]
    assert "comments: -5 is negative" in errors[1]["message"]
    assert "unknown format 'podcast'" in errors[2]["message"]
    assert "photo" in errors[2]["message"]  # the message lists the valid names
    assert "cannot read 'not a date'" in errors[3]["message"]
    assert report.rows_read == 6
    assert import_target.count(Post) == 0
    assert import_target.count(PostMetricSnapshot) == 0


def test_unknown_columns_and_bad_mapping(import_target: ImportTarget, tmp_path: Path) -> None:
    path = write(tmp_path, "id,published_at,format,Mystery\np1,2024-01-01,photo,7\n")
    report = import_target.run(path)
    assert report.as_json()["errors"] == [
        {
            "line": 1,
            "message": "unknown column(s) 'Mystery': say which field each one holds "
            "(--map 'COLUMN=FIELD') or skip it (--map 'COLUMN=ignore')",
        }
    ]
    bad = import_target.run(path, mapping={"Mystery": "reech", "Nope": "reach"})
    messages = [e["message"] for e in bad.as_json()["errors"]]
    assert any("no column 'Nope'" in m for m in messages)
    assert any("unknown field 'reech' (did you mean reach?)" in m for m in messages)
    assert import_target.count(Post) == 0
    ok = import_target.run(path, mapping={"Mystery": "ignore"})
    assert ok.ok and ok.imported == 1
    twice = write(
        tmp_path, "id,published_at,format,reach,reach\np1,2024-01-01,photo,1,2\n", "2.csv"
    )
    assert (
        "'reach' appear more than once"
        in import_target.run(twice).as_json()["errors"][0]["message"]
    )
    missing = write(tmp_path, "id,reach\np1,3\n", name="nodate.csv")
    errors = import_target.run(missing).as_json()["errors"]
    assert errors[0]["line"] == 1 and "published_at" in errors[0]["message"]


def test_dry_run_writes_nothing(import_target: ImportTarget, tmp_path: Path) -> None:
    path = write(tmp_path, "id,published_at,format,reach\np1,2024-01-01,photo,1\n")
    report = import_target.run(path, dry_run=True)
    assert report.as_json() == {
        "rows_read": 1,
        "imported": 1,
        "updated": 0,
        "duplicates_skipped": 0,
        "encoding": "utf-8",
        "errors": [],
    }
    assert import_target.count(Post) == 0
    assert import_target.count(PostMetricSnapshot) == 0
    import_target.run(path)
    again = import_target.run(path, dry_run=True)
    assert (again.imported, again.updated) == (0, 1)


def test_snapshots_replaced_at_same_instant_appended_later(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    header = "id,published_at,format,reach,taken_at\n"
    first = write(tmp_path, header + "p1,2024-01-01 09:00,photo,100,2024-01-02T00:00Z\n", "a.csv")
    import_target.run(first)
    assert import_target.run(first).snapshots_written == 0  # same file: nothing new
    corrected = write(
        tmp_path, header + "p1,2024-01-01 09:00,photo,110,2024-01-02T00:00Z\n", "b.csv"
    )
    import_target.run(corrected)
    assert import_target.count(PostMetricSnapshot) == 1  # replaced at the same instant
    later = write(tmp_path, header + "p1,2024-01-01 09:00,photo,150,2024-01-09T00:00Z\n", "c.csv")
    import_target.run(later)
    older = write(tmp_path, header + "p1,2024-01-01 09:00,photo,105,2024-01-01T12:00Z\n", "d.csv")
    import_target.run(older)
    with import_target.database.session() as session:
        history = session.execute(
            select(PostMetricSnapshot.taken_at, PostMetricSnapshot.reach).order_by(
                PostMetricSnapshot.taken_at
            )
        ).all()
    assert [reach for _, reach in history] == [105, 110, 150]
    cache = latest(import_target)["p1"]
    assert (cache.reach, cache.taken_at) == (150, datetime(2024, 1, 9, tzinfo=UTC))
    assert import_target.count(Post) == 1


def test_exact_duplicate_rows_skipped_without_ids(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "published_at,format,text,reach\n"
        "2024-01-01 10:00,photo,hello,5\n"
        "2024-01-01 10:00,photo,hello,5\n"
        "2024-01-01 11:00,photo,hello,5\n",
    )
    report = import_target.run(path)
    assert (report.imported, report.duplicates_skipped) == (2, 1)
    again = import_target.run(path)
    assert (again.imported, again.updated, again.duplicates_skipped) == (0, 2, 1)
    assert import_target.count(Post) == 2


def test_profiles_saved_per_workspace(import_target: ImportTarget, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Identifiant;Date;Type;Texte;Portée;Réactions;Commentaires\n"
        "a1;22/04/2018 18:30;photo;x;1;2;3\n",
    )
    options = service.ImportOptions(mapping=FRENCH_MAP, date_format="%d/%m/%Y %H:%M")
    with import_target.database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        profiles.save_profile(session, access, "french-export", options)
        profiles.save_profile(session, access, "french-export", options)  # replaces
        profile = profiles.get_profile(session, access, "french-export")
        applied = profiles.apply_profile(profile, service.ImportOptions(timezone="UTC"))
    assert import_target.count(ImportProfile) == 1
    assert applied.mapping == FRENCH_MAP
    assert applied.date_format == "%d/%m/%Y %H:%M" and applied.timezone == "UTC"
    report = import_target.run(
        path, mapping=applied.mapping, date_format=applied.date_format, timezone="UTC"
    )
    assert report.ok and report.imported == 1
    assert posts_by_id(import_target)["a1"].published_at == datetime(
        2018, 4, 22, 18, 30, tzinfo=UTC
    )


def test_viewers_cannot_import(import_target: ImportTarget, tmp_path: Path) -> None:
    from townsquare.channels.service import get_channel_by_handle
    from townsquare.errors import PermissionDenied
    from townsquare.workspaces.roles import Role

    path = write(tmp_path, "id,published_at,format\np1,2024-01-01,photo\n")
    with import_target.database.session() as session:
        workspace = get_workspace(session, "acme")
        viewer = WorkspaceAccess(workspace=workspace, user=None, role=Role.VIEWER)
        channel = get_channel_by_handle(session, viewer, "page")
        with pytest.raises(PermissionDenied):
            service.run_import(session, viewer, channel, path, service.ImportOptions())
    assert import_target.count(Post) == 0


def test_tab_separated_with_progress(import_target: ImportTarget, tmp_path: Path) -> None:
    rows = "".join(f"p{i}\t2024-01-01 {i % 24:02d}:00\tphoto\t{i}\n" for i in range(4500))
    path = write(tmp_path, "id\tpublished_at\tformat\treach\n" + rows, name="export.tsv")
    seen: list[tuple[int, int]] = []
    with import_target.database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        from townsquare.channels.service import get_channel_by_handle

        channel = get_channel_by_handle(session, access, "page")
        report = service.run_import(
            session,
            access,
            channel,
            path,
            service.ImportOptions(),
            progress=lambda done, total: seen.append((done, total)),
        )
    assert report.ok and report.imported == 4500
    size = path.stat().st_size
    assert seen[-1] == (size, size) and len(seen) >= 3
    assert all(done <= total for done, total in seen)
    assert latest(import_target)["p4499"].reach == 4499


def test_unstorable_text_reported_not_a_crash(import_target: ImportTarget, tmp_path: Path) -> None:
    # PostgreSQL refuses NUL characters and over-long values: they are problems of the file.
    long_id = "x" * 201
    path = write(
        tmp_path,
        "id,published_at,format,text,category\n"
        f"{long_id},2024-01-01 10:00,photo,fine,c\n"
        "p2,2024-01-01 11:00,photo,bad\x00text,c\n"
        f"p3,2024-01-01 12:00,photo,fine,{'c' * 101}\n"
        "p4,2024-01-01 13:00,photo,fine,c\n",
    )
    errors = import_target.run(path).as_json()["errors"]
    assert [e["line"] for e in errors] == [2, 3, 4]
    huge = write(tmp_path, f"id,published_at,format,reach\np1,2024-01-01,photo,{2**63}\n", "h.csv")
    assert "too large" in import_target.run(huge).as_json()["errors"][0]["message"]
    assert "201 characters, at most 200" in errors[0]["message"]
    assert "NUL" in errors[1]["message"]
    assert "at most 100 can be stored for category" in errors[2]["message"]
    assert import_target.count(Post) == 0


def test_encoding_given_when_detection_cannot_see_far_enough(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    # The first megabyte is plain ASCII; a latin-1 accent comes later.
    rows = "".join(
        f"p{i},2024-01-01 10:00,photo,plain text {i:06d} {'.' * 40}\n" for i in range(20000)
    )
    path = write(
        tmp_path,
        "id,published_at,format,text\n" + rows + "last,2024-01-02 10:00,photo,Très bien\n",
        encoding="latin-1",
    )
    assert path.stat().st_size > 1 << 20
    from townsquare.errors import ValidationError

    with pytest.raises(ValidationError) as raised:
        import_target.run(path)
    assert "--encoding latin-1" in str(raised.value) and "line 20002" in str(raised.value)
    assert import_target.count(Post) == 0
    report = import_target.run(path, encoding="latin-1")
    assert report.ok and report.imported == 20001
    assert posts_by_id(import_target)["last"].text == "Très bien"
    with pytest.raises(ValidationError):
        import_target.run(path, encoding="klingon")
