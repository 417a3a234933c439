"""A report of the UCI file for March 2014, read back from its PDF as a person would.

Every figure of ``measure kpis --json`` for the same scope is found in the PDF's text
(pdftotext), in the French format of the report; every page renders (pdftoppm) and shows
something, and no chart is blank.
"""

from __future__ import annotations

import re
import subprocess
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.reports.conftest import Cli
from townsquare.analytics import kpis
from townsquare.analytics.narrative import kpi_label

NUMBER = re.compile(r"[+-]?\d[\d\u202f\u00a0 ]*(?:,\d+)?")
VARIANTS = {"mean_of_ratios": "moyenne des ratios", "ratio_of_sums": "ratio des sommes"}


def _french_number(text: str) -> float:
    return float(
        text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    )


def _after(line: str, words: str) -> float:
    return _french_number(NUMBER.findall(line.split(words, 1)[1])[0])


def _figures_in(lines: list[str], label: str) -> dict[str, float]:
    """The 'this period' figures of the KPI table row labelled ``label`` (a rate's second
    average is on the next line of the table)."""
    for index, line in enumerate(lines):
        if not line.strip().startswith(label + " "):
            continue
        for words in ("moyenne par publication", "sur la période"):
            if words in line:
                return {"value": _after(line, words)}
        if VARIANTS["mean_of_ratios"] in line:
            following = next(
                text for text in lines[index + 1 : index + 4] if VARIANTS["ratio_of_sums"] in text
            )
            return {
                "mean_of_ratios": _after(line, VARIANTS["mean_of_ratios"]),
                "ratio_of_sums": _after(following, VARIANTS["ratio_of_sums"]),
            }
    return {}


def _shown(value: float) -> float:
    """What the report prints: two decimals, or up to four under 1 (tables.number)."""
    places = "0.01" if abs(value) >= 1 or value == 0 else "0.0001"
    return float(Decimal(repr(value)).quantize(Decimal(places), rounding=ROUND_HALF_EVEN))


@pytest.fixture
def march_pdf(uci_cli: Cli, tmp_path: Path) -> Path:
    created = uci_cli.json(
        "report",
        "create",
        "--workspace",
        "acme",
        "--name",
        "Rapport de mars",
        "--channel",
        "uci",
        "--period",
        "2014-03-01..2014-03-31",
        "--compare",
        "previous",
        "--language",
        "fr",
        "--color",
        "#aa3355",
    )
    target = tmp_path / "march.pdf"
    uci_cli.run(
        "report",
        "render",
        str(created["id"]),
        "--workspace",
        "acme",
        "--format",
        "pdf",
        "-o",
        str(target),
    )
    return target


def test_pdf_figures_equal_measure_kpis(uci_cli: Cli, march_pdf: Path) -> None:
    text = subprocess.run(
        ["pdftotext", "-layout", str(march_pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    lines = text.splitlines()
    expected = uci_cli.json(
        "measure",
        "kpis",
        "--workspace",
        "acme",
        "--channel",
        "uci",
        "--from",
        "2014-03-01",
        "--to",
        "2014-03-31",
    )
    (group,) = expected["groups"]
    assert f"Publications : {group['posts']}" in text or f"publiées : {group['posts']}" in text
    compared = 0
    for name, value in group["kpis"].items():
        if value is None or (isinstance(value, dict) and value["mean_of_ratios"] is None):
            # An unknown figure is said in words, never printed as 0.
            assert kpi_label(name, "fr") in text
            continue
        found = _figures_in(lines, kpi_label(name, "fr"))
        kpi = kpis.REGISTRY[name]
        if isinstance(value, dict):
            for variant in VARIANTS:
                assert found.get(variant) == pytest.approx(_shown(value[variant]), abs=1e-9), (
                    name,
                    variant,
                    found,
                )
                compared += 1
        else:
            assert kpi.kind in ("count", "channel")
            assert found.get("value") == pytest.approx(_shown(value), abs=1e-9), (name, found)
            compared += 1
    assert compared >= 20  # ten rates twice, interactions, growth
    # French throughout: French labels, numbers and percent signs.
    assert "Taux d'engagement par portée" in text
    assert re.search(r"\d,\d\d[\u202f\u00a0 ]%", text)  # 12,43 %
    assert re.search(r"\d{3}[\u202f\u00a0 ]\d{3} abonnés", text)  # 100 732 abonnés
    assert "Glossaire" in text and "Page 1 / " in text
    for english in ("mean of ratios", "This period", "Overview", "Best times"):
        assert english not in text


def _ink(image: Image.Image) -> float:
    grey = np.asarray(image.convert("L"))
    return float((grey < 200).mean())


def _colour(image: Image.Image) -> int:
    """Blue pixels: the charts' marks are blue, text is grey or black and the report's
    accent colour here is a red (#aa3355), so only a drawn chart counts."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return int(((blue - red > 40) & (blue >= green)).sum())


def test_every_page_renders_and_no_chart_is_blank(march_pdf: Path, tmp_path: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-r", "72", "-png", str(march_pdf), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    text_pages = subprocess.run(
        ["pdftotext", str(march_pdf), "-"], check=True, capture_output=True, text=True
    ).stdout.split("\f")
    assert len(pages) >= 5
    for index, path in enumerate(pages):
        with Image.open(path) as image:
            assert image.width > 200 and image.height > 300
            assert _ink(image) > 0.005, f"page {index + 1} is blank"
            figures = len(re.findall(r"Figure \d+ :", text_pages[index]))
            if figures:
                assert _colour(image) > 400 * figures, f"a chart of page {index + 1} is blank"
    assert sum(len(re.findall(r"Figure \d+ :", page)) for page in text_pages) >= 3
