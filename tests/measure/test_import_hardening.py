"""Importers refuse broken files instead of accepting them silently (issue 7).

An unterminated quote is a problem on its line; a file that is not UTF-8 is read as the most
plausible of cp1252, latin-1 and the detector's guess (and the report says which), or
refused with a hint when no guess is plausible; a non-text codec or a BOM-less UTF-16 given
as ``encoding`` is bad input; a failed import reports 0 imported.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.measure.conftest import ImportTarget
from townsquare.analytics.importers.source import open_table
from townsquare.analytics.models import Post
from townsquare.errors import ValidationError

HEADER = "id,published_at,format,reach,text\n"


def write(tmp_path: Path, data: bytes, name: str = "posts.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_an_unterminated_quote_is_a_problem_on_its_line(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        (
            HEADER
            + "p1,2024-01-01 10:00,photo,1,fine\n"
            + 'p2,2024-01-02 10:00,photo,2,"never closed\n'
            + "p3,2024-01-03 10:00,photo,3,swallowed\n"
        ).encode(),
    )
    report = import_target.run(path)
    assert not report.ok
    [problem] = report.as_json()["errors"]
    assert problem["line"] == 3
    assert "quoted field is never closed" in problem["message"]
    assert report.as_json()["imported"] == 0
    assert import_target.count(Post) == 0


def test_a_failed_import_reports_zero_imported(import_target: ImportTarget, tmp_path: Path) -> None:
    good = "".join(f"p{n},2024-01-01 10:00,photo,{n},ok\n" for n in range(200))
    path = write(tmp_path, (HEADER + good + "bad,not a date,photo,1,x\n").encode())
    body = import_target.run(path).as_json()
    assert body["rows_read"] == 201
    assert (body["imported"], body["updated"]) == (0, 0)
    assert [e["line"] for e in body["errors"]] == [202]
    assert import_target.count(Post) == 0


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_windows_file_is_read_as_cp1252_and_says_so(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    text = "Café crème à 5 € — « œuvre » déjà vue"
    path = write(tmp_path, (HEADER + f'p1,2024-01-01 10:00,photo,1,"{text}"\n').encode("cp1252"))
    report = import_target.run(path)
    assert report.ok, report.as_json()
    assert report.as_json()["encoding"] == "cp1252"
    with import_target.database.session() as session:
        assert session.scalar(select(Post.text)) == text


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_latin1_file_with_no_cp1252_difference_reads_the_same(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    text = "Été à Zürich très réussi"
    path = write(tmp_path, (HEADER + f"p1,2024-01-01 10:00,photo,1,{text}\n").encode("latin-1"))
    report = import_target.run(path)
    assert report.as_json()["encoding"] in ("cp1252", "latin-1")
    with import_target.database.session() as session:
        assert session.scalar(select(Post.text)) == text


def test_an_unclear_encoding_is_refused_with_a_hint(tmp_path: Path) -> None:
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(4000))
    path = write(tmp_path, b"id,text\n" + noise)
    with pytest.raises(ValidationError, match="give it with --encoding") as caught:
        open_table(path)
    assert caught.value.field == "encoding"


@pytest.mark.parametrize("codec", ["zlib", "base64", "rot13", "hex", "uu_codec", "bz2"])
def test_a_non_text_codec_is_bad_input(tmp_path: Path, codec: str) -> None:
    path = write(tmp_path, (HEADER + "p1,2024-01-01 10:00,photo,1,x\n").encode())
    with pytest.raises(ValidationError, match="is not a text encoding") as caught:
        open_table(path, encoding=codec)
    assert caught.value.field == "encoding"


def test_utf16_without_a_bom_asks_for_its_byte_order(tmp_path: Path) -> None:
    path = write(tmp_path, (HEADER + "p1,2024-01-01 10:00,photo,1,x\n").encode("utf-16-le"))
    with pytest.raises(ValidationError, match="give utf-16-le or utf-16-be"):
        open_table(path, encoding="utf-16")
    table = open_table(path, encoding="utf-16-le")
    assert table.header == ["id", "published_at", "format", "reach", "text"]
    assert open_table(
        write(tmp_path, (HEADER).encode("utf-16"), "bom.csv"), encoding="utf-16"
    ).header == ["id", "published_at", "format", "reach", "text"]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_non_text_codec_through_the_import_options(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    path = write(tmp_path, (HEADER + "p1,2024-01-01 10:00,photo,1,x\n").encode())
    for codec in ("zlib", "rot13"):
        with pytest.raises(ValidationError, match="is not a text encoding"):
            import_target.run(path, encoding=codec)
    assert import_target.count(Post) == 0


def test_far_future_dates_behind_utc_are_problems_not_crashes(
    import_target: ImportTarget, tmp_path: Path
) -> None:
    from townsquare.channels.service import add_channel
    from townsquare.workspaces.service import WorkspaceAccess, get_workspace

    with import_target.database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, import_target.seed.workspace))
        add_channel(session, access, network="facebook", handle="west", timezone="America/Lima")
    import_target.channel = "west"
    path = write(
        tmp_path,
        (
            HEADER
            + "p1,2024-01-01 10:00,photo,1,fine\n"
            + "p2,9999-12-31 23:59,photo,2,far\n"
            + "p3,9999-12-31 20:30:00,photo,3,far\n"
        ).encode(),
    )
    body = import_target.run(path).as_json()
    assert [e["line"] for e in body["errors"]] == [3, 4]
    assert all("out of range" in e["message"] for e in body["errors"])
    assert body["imported"] == 0
    assert import_target.count(Post) == 0


def test_far_future_dates_in_measure_filters_and_link_expiry() -> None:
    from townsquare.analytics.service import parse_date
    from townsquare.links.service import parse_expiry

    with pytest.raises(ValidationError, match="too far in the future"):
        parse_date("9999-12-31", field="date_to")
    for value in ("9999-12-31", "9999-12-31T23:59"):
        with pytest.raises(ValidationError, match="too far in the future") as caught:
            parse_expiry(value, timezone="America/Lima")
        assert caught.value.field == "expires_at"
