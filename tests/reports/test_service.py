"""Reports' service on the hand-made world (SQLite and PostgreSQL): bad input refused with
nothing written, figures equal to Measure's, "no data" said in words, the data appendix,
white-label, and the boundary between workspaces."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from townsquare.analytics import service as measure
from townsquare.analytics import tables
from townsquare.errors import NotFound, PermissionDenied, ValidationError
from townsquare.reports import service
from townsquare.reports.models import Report
from townsquare.workspaces.models import User
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

MARCH = "2024-03-01..2024-03-31"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _input(**changes: Any) -> service.ReportInput:
    values: dict[str, Any] = {
        "name": "March",
        "channels": ["brand"],
        "period": MARCH,
        "compare": "previous",
    }
    values.update(changes)
    return service.ReportInput(**values)


def _count(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(Report)) or 0)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "  "}, "name", "needs a name"),
        ({"channels": []}, "channel", "at least one channel"),
        ({"period": "last-mnth"}, "period", "did you mean last-month"),
        ({"compare": "before"}, "compare", "previous or last-year"),
        ({"sections": ["overview", "care"]}, "section", "unknown section 'care'"),
        ({"language": "de"}, "language", "fr or en"),
        ({"color": "blue"}, "color", "six hexadecimal digits"),
        ({"logo": b"GIF-not-really"}, "logo", "PNG, JPEG, GIF or SVG"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    sqlite_world: Any, changes: dict[str, Any], field: str, words: str
) -> None:
    world = sqlite_world
    with world.database.session() as session:
        access = world.access(session)
        with pytest.raises(ValidationError) as caught:
            service.create_report(session, access, _input(**changes))
        assert caught.value.field == field and words in caught.value.message
        session.rollback()
        assert _count(session) == 0


def test_unknown_channel_and_other_workspaces(world: Any) -> None:
    with world.database.session() as session:
        access = world.access(session)
        with pytest.raises(NotFound, match="nope"):
            service.create_report(session, access, _input(channels=["nope"]))
        session.rollback()
        report = service.create_report(session, access, _input())
        rival = world.access(session, "rival")
        with pytest.raises(NotFound):
            service.get_report(session, rival, report.id)
        with pytest.raises(NotFound):
            service.render_report(session, rival, report.id, fmt="html")
        assert service.list_reports(session, rival) == []
        viewer = WorkspaceAccess(workspace=access.workspace, user=None, role=Role.VIEWER)
        with pytest.raises(PermissionDenied):
            service.create_report(session, viewer, _input())
        assert service.get_report(session, viewer, report.id).id == report.id


def test_html_figures_are_measure_s(world: Any) -> None:
    with world.database.session() as session:
        access = world.access(session)
        report = service.create_report(
            session, access, _input(sections=["overview", "formats", "top-posts"])
        )
        rendered = service.render_report(session, access, report.id, fmt="html")
        expected = measure.measure_kpis(
            session, access, "brand", date_from="2024-03-01", date_to="2024-03-31"
        )
    page = rendered.content.decode()
    (group,) = expected["groups"]
    assert group["posts"] == 3
    rate = group["kpis"]["engagement_rate_by_reach"]
    for variant in ("mean_of_ratios", "ratio_of_sums"):
        shown = tables.number(rate[variant], "percent", "en")
        assert f'data-kpi="engagement_rate_by_reach" data-variant="{variant}"><td>' in page.replace(
            "<td>Engagement rate by reach</td>", "<td>"
        )
        assert f'<td class="number">{shown}</td>' in page
    assert "Overview" in page and "Formats" in page and "Top and bottom posts" in page
    # Sections in the order chosen, then the glossary with formulas and sources.
    assert (
        page.index('id="section-overview"')
        < page.index('id="section-formats"')
        < page.index('id="section-top-posts"')
        < page.index('id="section-glossary"')
    )
    assert "interactions / reach × 100" in page and "Hootsuite" in page
    assert "<svg" not in page and "data:image/svg+xml;base64," in page  # charts as vectors
    # February has no post: the comparison column is empty, never a 0.
    assert ">0.00%<" not in page


def test_a_period_without_posts_says_so_in_words(world: Any) -> None:
    with world.database.session() as session:
        access = world.access(session)
        report = service.create_report(session, access, _input(period="2023-01-01..2023-01-31"))
        page = service.render_report(session, access, report.id, fmt="html").content.decode()
        french = service.create_report(
            session, access, _input(period="2023-01-01..2023-01-31", language="fr")
        )
        page_fr = service.render_report(session, access, french.id, fmt="html").content.decode()
    assert "No post of brand was published in this period: there is nothing to measure." in page
    assert "Fewer than two follower counts of brand in this period" in page
    assert "No click on the workspace&#39;s short links in this period" in page
    assert ">0.00%<" not in page and '<table class="kpis"' not in page
    assert "Aucune publication de brand sur cette période" in page_fr


def test_appendix_xlsx_and_csv_hold_the_service_s_figures(sqlite_world: Any) -> None:
    world = sqlite_world
    with world.database.session() as session:
        access = world.access(session)
        report = service.create_report(session, access, _input())
        book_bytes = service.render_report(session, access, report.id, fmt="xlsx").content
        archive = service.render_report(session, access, report.id, fmt="csv").content
        expected = measure.measure_kpis(
            session,
            access,
            "brand",
            date_from="2024-03-01",
            date_to="2024-03-31",
            extra_kpis=("reach", "impressions", "clicks"),
        )
        with pytest.raises(ValidationError, match="unknown format 'docx'"):
            service.render_report(session, access, report.id, fmt="docx")
    book = load_workbook(io.BytesIO(book_bytes))
    assert "brand-kpis" in book.sheetnames and "brand-formats" in book.sheetnames
    sheet = book["brand-kpis"]
    header = [cell.value for cell in sheet[1]]
    values = [cell.value for cell in sheet[2]]
    row = dict(zip(header, values, strict=True))
    rate = expected["groups"][0]["kpis"]["engagement_rate_by_reach"]
    assert row["engagement_rate_by_reach_mean_of_ratios"] == rate["mean_of_ratios"]
    assert row["posts"] == 3
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "brand-kpis.csv" in names and "links-by-day.csv" in names


def test_white_label(sqlite_world: Any) -> None:
    world = sqlite_world
    with world.database.session() as session:
        access = world.access(session)
        report = service.create_report(
            session,
            access,
            _input(
                sections=["work-delivered"],
                color="AA3355",
                agency="Agence Bleue",
                footer="Confidentiel",
                hide_mark=True,
                logo=PNG,
            ),
        )
        assert report.branding["color"] == "#aa3355" and report.logo_type == "image/png"
        page = service.render_report(session, access, report.id, fmt="html").content.decode()
        plain = service.create_report(session, access, _input(sections=["work-delivered"]))
        plain_page = service.render_report(session, access, plain.id, fmt="html").content.decode()
    assert "--accent: #aa3355" in page and "Agence Bleue" in page and "Confidentiel" in page
    assert "data:image/png;base64," in page
    assert "townsquare" not in page.split("<body>", 1)[1]
    assert "Made with townsquare" in plain_page


def test_commentary(sqlite_world: Any) -> None:
    world = sqlite_world
    with world.database.session() as session:
        access = world.access(session)
        report = service.create_report(session, access, _input(sections=["overview"]))
        with pytest.raises(ValidationError, match="no section 'formats'"):
            service.set_commentary(session, access, report.id, {"formats": "x"})
        service.set_commentary(session, access, report.id, {"overview": "A strong month."})
        page = service.render_report(session, access, report.id, fmt="html").content.decode()
    assert '<div class="commentary">A strong month.</div>' in page


def test_user_access_is_scoped(sqlite_world: Any) -> None:
    world = sqlite_world
    """A member's access (not the operator's) works the same and stays in its workspace."""
    with world.database.session() as session:
        user = session.scalar(select(User).where(User.email == world.seed.owner_email))
        access = WorkspaceAccess(
            workspace=get_workspace(session, "acme"), user=user, role=Role.EDITOR
        )
        report = service.create_report(session, access, _input())
        assert report.created_by == user.id if user else False
