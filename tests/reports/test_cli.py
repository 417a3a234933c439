"""``townsquare report`` in the issue's forms: create --json, render -o, list --json,
schedule, send --now (to a real SMTP server), share; bad input exits with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import SmtpServer
from tests.reports.conftest import Cli
from townsquare.config import get_settings


def test_the_issue_s_forms(
    uci_cli: Cli, tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    logo = tmp_path / "logo.svg"
    logo.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10" fill="#aa3355"/></svg>'
    )
    created = uci_cli.json(
        "report",
        "create",
        "--workspace",
        "acme",
        "--name",
        "March",
        "--channel",
        "uci",
        "--period",
        "2014-03-01..2014-03-31",
        "--compare",
        "previous",
        "--section",
        "overview",
        "--section",
        "best-times",
        "--language",
        "en",
        "--logo",
        str(logo),
        "--color",
        "#123456",
    )
    assert created["sections"] == ["overview", "best-times"]
    assert created["branding"]["logo"] == "image/svg+xml"
    report_id = str(created["id"])
    listed = uci_cli.json("report", "list")
    assert [r["id"] for r in listed["reports"]] == [created["id"]]
    html = tmp_path / "march.html"
    uci_cli.run(
        "report", "render", report_id, "--workspace", "acme", "--format", "html", "-o", str(html)
    )
    assert "Best times to post" in html.read_text()
    xlsx = tmp_path / "feb.xlsx"
    uci_cli.run(
        "report",
        "render",
        report_id,
        "--workspace",
        "acme",
        "--format",
        "xlsx",
        "-o",
        str(xlsx),
        "--period",
        "2014-02-01..2014-02-28",
    )
    assert load_workbook(xlsx)["uci-kpis"]["B2"].value == 26  # February's posts
    schedule = uci_cli.json(
        "report",
        "schedule",
        report_id,
        "--workspace",
        "acme",
        "--every",
        "month",
        "--at",
        "07:45",
        "--review",
        "--to",
        "client@example.com",
    )
    assert schedule["review"] is True and schedule["at"] == "07:45"
    monkeypatch.setenv("TOWNSQUARE_SMTP_URL", smtp_server.url)
    get_settings.cache_clear()
    sent = uci_cli.json("report", "send", report_id, "--workspace", "acme", "--now")
    assert sent["status"] == "sent" and sent["to"] == ["client@example.com"]
    (message,) = smtp_server.wait_for(1)
    assert next(message.iter_attachments()).get_content().startswith(b"%PDF")
    history = uci_cli.json("report", "history", report_id, "--workspace", "acme")
    assert history["deliveries"][0]["id"] == sent["id"]
    share = uci_cli.json("report", "share", report_id, "--workspace", "acme", "--days", "5")
    assert "/r/tsr_" in share["url"] and share["state"] == "active"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (
            [
                "create",
                "--workspace",
                "acme",
                "--name",
                "X",
                "--channel",
                "uci",
                "--period",
                "last-moth",
                "--json",
            ],
            2,
            "did you mean last-month",
        ),
        (
            [
                "create",
                "--workspace",
                "acme",
                "--name",
                "X",
                "--channel",
                "nope",
                "--period",
                "last-month",
                "--json",
            ],
            3,
            "nope",
        ),
        (
            [
                "create",
                "--workspace",
                "acme",
                "--name",
                "X",
                "--channel",
                "uci",
                "--period",
                "last-month",
                "--logo",
                "/nonexistent.png",
                "--json",
            ],
            2,
            "cannot read the logo",
        ),
        (
            ["render", "99", "--workspace", "acme", "--format", "pdf", "-o", "/tmp/x.pdf"],
            3,
            "no report 99",
        ),
        (["send", "1", "--workspace", "acme"], 2, "--now"),
        (
            ["schedule", "1", "--workspace", "acme", "--every", "day", "--to", "a@b.c"],
            3,
            "no report 1",
        ),
    ],
)
def test_bad_input_exits_with_a_clear_error(
    uci_cli: Cli, args: list[str], code: int, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from townsquare.cli.main import main

    old = sys.argv
    sys.argv = ["townsquare", "report", *args]
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        sys.argv = old
    assert exited.value.code == code
    assert words in " ".join(capsys.readouterr().err.split())
