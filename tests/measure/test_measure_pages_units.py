"""The pure parts of Measure's pages: chart specs, plain-words explanations, tables and CSV.

No database, no server: the functions take the service's result dicts (hand-written here
in the contract's shape) and must neither invent nor drop a figure.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townsquare.analytics import charts, narrative, tables

FORMATS: dict[str, Any] = {
    "metric": "interactions",
    "groups": [
        {
            "key": "video",
            "n": 7,
            "median": 271.0,
            "mean": 295.9,
            "ci_low": 114.0,
            "ci_high": 472.0,
            "small_sample": True,
        },
        {
            "key": "status",
            "n": 45,
            "median": 186.0,
            "mean": 217.0,
            "ci_low": 121.0,
            "ci_high": 232.0,
            "small_sample": False,
        },
        {
            "key": "photo",
            "n": 422,
            "median": 123.5,
            "mean": 218.6,
            "ci_low": 116.0,
            "ci_high": 136.0,
            "small_sample": False,
        },
    ],
    "test": {"name": "kruskal-wallis", "statistic": 20.3, "p_value": 0.00014},
    "pairwise": [
        {"a": "video", "b": "status", "p_value": 0.25, "p_adjusted": 0.25, "effect_size": 0.27},
        {"a": "video", "b": "photo", "p_value": 0.06, "p_adjusted": 0.12, "effect_size": 0.41},
        {"a": "status", "b": "photo", "p_value": 0.001, "p_adjusted": 0.003, "effect_size": 0.3},
    ],
}
RATES: dict[str, Any] = {
    "metric": "engagement_rate_by_reach",
    "groups": [
        {"key": "photo", "n": 422, "median": 2.46, "small_sample": False},
        {"key": "status", "n": 45, "median": 1.53, "small_sample": False},
        {"key": "video", "n": 7, "median": 0.55, "small_sample": True},
    ],
    "test": {"name": "kruskal-wallis", "statistic": 54.5, "p_value": 8.8e-12},
    "pairwise": [],
}


def english(text: str) -> str:
    return text


def fmt(value: Any, unit: str) -> str:
    return tables.number(value, unit, "en")


def explain(result: dict[str, Any], counterpart: dict[str, Any] | None) -> list[Any]:
    return narrative.explain_formats(
        result,
        counterpart,
        metric_label="Interactions",
        counterpart_label="Engagement rate by reach",
        gettext=english,
        fmt=fmt,
        unit="count",
    )


def texts(sentences: list[Any], kind: str | None = None) -> list[str]:
    return [s.text for s in sentences if kind is None or s.kind == kind]


# --- plain words ---------------------------------------------------------------------------


def test_the_flip_with_the_denominator_is_said() -> None:
    sentences = explain(FORMATS, RATES)
    (flip,) = [t for t in texts(sentences, "warning") if "flips" in t]
    assert flip.startswith(
        "The ranking flips with the denominator: video leads on Interactions, but photo leads "
        "on Engagement rate by reach."
    )
    assert texts(sentences)[0].startswith("video has the highest median Interactions (271, n = 7)")


def test_no_flip_says_the_ranking_holds() -> None:
    keys = ["video", "status", "photo"]
    same_leader = {
        **RATES,
        "groups": [{**g, "key": k} for g, k in zip(RATES["groups"], keys, strict=True)],
    }
    sentences = explain(FORMATS, same_leader)
    assert any("also leads on Engagement rate by reach" in t for t in texts(sentences, "finding"))
    assert not any("flips" in t for t in texts(sentences))


def test_tests_and_small_samples_in_words() -> None:
    sentences = texts(explain(FORMATS, None))
    assert any("Kruskal–Wallis test says" in t and "p < 0.001" in t for t in sentences)
    assert any(
        t.startswith(
            "After Holm's correction for 3 comparisons, these pairs differ: "
            "status / photo (p = 0.003)"
        )
        for t in sentences
    )
    assert "Small samples: video (n = 7)." in " ".join(sentences)
    assert sentences[-1].startswith("What this does not show: why.")


def test_no_difference_is_not_turned_into_a_ranking() -> None:
    weak = {
        **FORMATS,
        "test": {"name": "kruskal-wallis", "statistic": 1.2, "p_value": 0.55},
        "pairwise": [{**p, "p_adjusted": 0.9} for p in FORMATS["pairwise"]],
    }
    warnings = texts(explain(weak, None), "warning")
    assert any("do not rank formats on this data" in t and "p = 0.55" in t for t in warnings)
    assert any("No pair of formats differs" in t for t in warnings)


def test_single_format_and_no_data() -> None:
    one = {"groups": [FORMATS["groups"][1]], "test": {"p_value": None}, "pairwise": []}
    assert any("nothing to compare it with" in t for t in texts(explain(one, None)))
    (only,) = explain({"groups": [], "test": {}, "pairwise": []}, None)
    assert only.kind == "warning" and "nothing to compare" in only.text


# --- charts -----------------------------------------------------------------------------------


def data_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = spec["data"]["values"]
    return values


def test_kpi_chart_has_both_averages_and_leaves_unknown_out() -> None:
    groups = [
        {
            "key": "photo",
            "posts": 2,
            "kpis": {"engagement_rate_by_reach": {"mean_of_ratios": 7.5, "ratio_of_sums": 5.7}},
        },
        {
            "key": "status",
            "posts": 1,
            "kpis": {"engagement_rate_by_reach": {"mean_of_ratios": None, "ratio_of_sums": None}},
        },
    ]
    spec = charts.kpi_chart(
        groups,
        "engagement_rate_by_reach",
        kpi_label="ER",
        group_label="F",
        mean_label="mean",
        sums_label="sums",
        unit="%",
    )
    assert spec["$schema"].endswith("v6.4.1.json")  # the vendored vega-lite's version
    rows = data_of(spec)
    assert [(r["key"], r["variant"], r["value"]) for r in rows] == [
        ("photo", "mean", 7.5),
        ("photo", "sums", 5.7),
    ]
    json.dumps(spec, allow_nan=False)  # valid JSON for the page


def test_formats_chart_draws_the_service_intervals() -> None:
    spec = charts.formats_chart(
        FORMATS,
        metric_label="I",
        format_label="F",
        median_label="m",
        ci_label="CI",
        small_label="small",
        enough_label="ok",
    )
    layers = spec["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["rule", "point", "text"]
    rows = data_of(spec)
    assert [(r["key"], r["median"], r["ci_low"], r["ci_high"], r["sample"]) for r in rows] == [
        ("video", 271.0, 114.0, 472.0, "small"),
        ("status", 186.0, 121.0, 232.0, "ok"),
        ("photo", 123.5, 116.0, 136.0, "ok"),
    ]
    assert layers[0]["encoding"]["y"]["sort"] == ["video", "status", "photo"]


def test_heatmap_shows_medians_never_sums() -> None:
    cells = [
        {"weekday": 1, "hour": 9, "n": 12, "median": 20.0, "ci_low": 15.0, "ci_high": 25.0},
        {"weekday": 7, "hour": 23, "n": 2, "median": 900.0, "ci_low": 1.0, "ci_high": 999.0},
    ]
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    spec = charts.best_times_heatmap(
        cells,
        metric_label="I",
        weekday_names=days,
        weekday_label="d",
        hour_label="h",
        median_label="median",
        recommended=[{"weekday": 1, "hour": 9}],
    )
    text = json.dumps(spec)
    assert '"sum' not in text and "aggregate" not in text  # nothing is added up
    rows = data_of(spec)
    assert [(r["day"], r["hour"], r["median"], r["recommended"], r["few"]) for r in rows] == [
        ("Mon", 9, 20.0, True, False),
        ("Sun", 23, 900.0, False, True),
    ]
    heat = spec["layer"][0]["encoding"]["color"]["scale"]
    # The colour scale is set by the cell with enough posts, not by the two-post outlier.
    assert heat["domainMax"] == 20.0 and heat["clamp"] is True


# --- tables and CSV -------------------------------------------------------------------------


def test_kpi_rows_keep_every_figure_and_the_reason_of_unknowns() -> None:
    groups = [
        {
            "key": "photo",
            "posts": 2,
            "paid_posts": 1,
            "kpis": {
                "interactions": 20.0,
                "engagement_rate_by_reach": {
                    "mean_of_ratios": 7.5,
                    "ratio_of_sums": 5.714285714,
                    "n": 2,
                },
                "audience_growth_rate": None,
            },
            "missing": {"audience_growth_rate": "not of a format group"},
        },
    ]
    rows, columns = tables.kpi_rows(groups)
    assert columns == [
        "key",
        "posts",
        "paid_posts",
        "interactions",
        "engagement_rate_by_reach_mean_of_ratios",
        "engagement_rate_by_reach_ratio_of_sums",
        "audience_growth_rate",
    ]
    assert rows[0]["engagement_rate_by_reach_ratio_of_sums"] == 5.714285714
    assert tables.kpi_cell(groups[0], "audience_growth_rate")["reason"] == "not of a format group"
    # The page leaves growth out where it has no meaning; the CSV keeps every column.
    shown = [kpi.name for kpi in tables.kpi_columns(groups, "format")]
    assert "audience_growth_rate" not in shown
    assert "audience_growth_rate" in [kpi.name for kpi in tables.kpi_columns(groups, None)]
    exported = list(csv.DictReader(io.StringIO(tables.to_csv(rows, columns))))
    assert exported[0]["audience_growth_rate"] == ""  # unknown, not 0


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_csv_floats_round_trip(value: float) -> None:
    text = tables.to_csv([{"x": value}], ["x"])
    assert float(text.splitlines()[1]) == value


@pytest.mark.parametrize(
    ("value", "unit", "language", "shown"),
    [
        (None, "percent", "en", "—"),
        (float("nan"), "count", "en", "—"),
        (12.4, "percent", "en", "12.40%"),
        (12.4, "percent", "fr", "12,40\u202f%"),
        (0.0042, "percent", "en", "0.0042%"),
        (0, "percent", "en", "0.00%"),
        (86909, "count", "en", "86,909"),
        (86909, "count", "fr", "86\u202f909"),
        (123.456, "count", "en", "123.46"),
        (0.00012, "p", "en", "< 0.001"),
        (0.0139, "p=", "en", "p = 0.014"),
        (1e-9, "p=", "fr", "p < 0,001"),
    ],
)
def test_numbers_for_readers(value: Any, unit: str, language: str, shown: str) -> None:
    assert tables.number(value, unit, language) == shown
