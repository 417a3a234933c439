"""KPI formulas against values computed by hand, and unknown inputs never read as zero."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from townsquare.analytics import formulas, kpis
from townsquare.errors import ValidationError

NAN = float("nan")


def cols(**values: list[float]) -> dict[str, np.ndarray]:
    return {name: np.array(v, dtype=np.float64) for name, v in values.items()}


# Three posts: interactions 10, 30, 5; reach 100, 600, 50.
POSTS = cols(
    reactions=[8, 20, 4],
    comments=[1, 5, 0],
    shares=[1, 5, 1],
    saves=[2, 0, 1],
    clicks=[4, 10, NAN],
    reach=[100, 600, 50],
    impressions=[200, 400, 100],
    followers_at_publish=[1000, 1000, 1010],
)


def test_registry_has_the_issue_kpis_with_formula_unit_inputs_and_source() -> None:
    required = {
        "interactions",
        "engagement_rate_by_reach",
        "engagement_rate_by_impressions",
        "engagement_rate_by_followers",
        "daily_engagement_rate",
        "conversation_rate",
        "amplification_rate",
        "applause_rate",
        "reach_rate",
        "virality_rate",
        "click_through_rate",
        "audience_growth_rate",
    }
    assert required <= set(kpis.REGISTRY)
    for entry in kpis.glossary():
        assert entry["formula"] and entry["source"] and entry["metrics"]
        assert entry["unit"] in ("count", "percent")
    assert kpis.REGISTRY["virality_rate"].metrics == ("shares", "impressions")


def test_interactions_sum_base_metrics_and_workspace_extras() -> None:
    base = formulas.per_post_values(kpis.REGISTRY["interactions"], POSTS)
    assert base.tolist() == [10, 30, 5]
    extras = kpis.interaction_components({"interactions_include": ["saves", "clicks"]})
    assert extras == ("reactions", "comments", "shares", "saves", "clicks")
    with_extras = formulas.per_post_values(kpis.REGISTRY["interactions"], POSTS, extras)
    assert with_extras[:2].tolist() == [16, 40]
    assert np.isnan(with_extras[2])  # clicks unknown: the sum is unknown, not 6
    assert kpis.interaction_components({"interactions_include": ["bogus"]}) == kpis.INTERACTION_BASE


def test_engagement_rate_by_reach_both_averages() -> None:
    summary = formulas.summarise_rate(kpis.REGISTRY["engagement_rate_by_reach"], POSTS)
    # per post 10 %, 5 %, 10 % → mean 8.333…; ratio of sums 45 / 750 = 6 %
    assert summary.mean_of_ratios == pytest.approx(25 / 3)
    assert summary.ratio_of_sums == pytest.approx(6.0)
    assert summary.n == 3


@pytest.mark.parametrize(
    ("name", "mean_of_ratios", "ratio_of_sums"),
    [
        ("engagement_rate_by_impressions", (5 + 7.5 + 5) / 3, 45 / 700 * 100),
        ("engagement_rate_by_followers", (1 + 3 + 500 / 1010) / 3, 45 / 3010 * 100),
        ("conversation_rate", (0.1 + 0.5 + 0) / 3, 6 / 3010 * 100),
        ("amplification_rate", (0.1 + 0.5 + 100 / 1010) / 3, 7 / 3010 * 100),
        ("applause_rate", (0.8 + 2 + 400 / 1010) / 3, 32 / 3010 * 100),
        ("reach_rate", (10 + 60 + 5000 / 1010) / 3, 750 / 3010 * 100),
        ("virality_rate", (0.5 + 1.25 + 1) / 3, 7 / 700 * 100),
        ("click_through_rate", (2 + 2.5) / 2, 14 / 600 * 100),
    ],
)
def test_rates_against_hand_computed_values(
    name: str, mean_of_ratios: float, ratio_of_sums: float
) -> None:
    summary = formulas.summarise_rate(kpis.REGISTRY[name], POSTS)
    assert summary.mean_of_ratios == pytest.approx(mean_of_ratios)
    assert summary.ratio_of_sums == pytest.approx(ratio_of_sums)


def test_missing_inputs_give_none_with_a_reason_never_zero() -> None:
    no_clicks = cols(impressions=[100, 200], clicks=[NAN, NAN])
    summary = formulas.summarise_rate(kpis.REGISTRY["click_through_rate"], no_clicks)
    assert summary.mean_of_ratios is None and summary.ratio_of_sums is None
    assert summary.n == 0
    assert summary.reason is not None and "clicks" in summary.reason
    count = formulas.summarise_count(kpis.REGISTRY["clicks"], no_clicks)
    assert count.mean is None and count.reason is not None


def test_a_zero_denominator_makes_a_post_undefined_not_zero() -> None:
    posts = cols(shares=[1, 5], impressions=[0, 100])
    values = formulas.per_post_values(kpis.REGISTRY["virality_rate"], posts)
    assert np.isnan(values[0]) and values[1] == pytest.approx(5.0)
    summary = formulas.summarise_rate(kpis.REGISTRY["virality_rate"], posts)
    assert summary.n == 1 and summary.ratio_of_sums == pytest.approx(5.0)


def test_daily_engagement_rate_by_hand() -> None:
    day = np.array([10, 10, 11, -1], dtype=np.int64)
    interactions = np.array([10, 5, 30, 7], dtype=np.float64)
    followers = np.array([1000, 1010, 1000, 1000], dtype=np.float64)
    summary = formulas.daily_engagement_rate(day, interactions, followers)
    # day 10: 15 / 1010; day 11: 30 / 1000; the post of unknown day is left out
    assert summary.n == 2
    assert summary.mean_of_ratios == pytest.approx((15 / 1010 + 0.03) / 2 * 100)
    assert summary.ratio_of_sums == pytest.approx(45 / 2010 * 100)


def test_daily_engagement_rate_without_days_says_so() -> None:
    summary = formulas.daily_engagement_rate(
        np.array([-1, -1], dtype=np.int64), np.array([1.0, 2.0]), np.array([10.0, 10.0])
    )
    assert summary.mean_of_ratios is None
    assert summary.reason is not None and "day" in summary.reason


def test_audience_growth_rate() -> None:
    assert formulas.audience_growth_rate(1000, 1030) == pytest.approx(3.0)
    assert formulas.audience_growth_rate(1000, 950) == pytest.approx(-5.0)
    assert formulas.audience_growth_rate(None, 10) is None
    assert formulas.audience_growth_rate(0, 10) is None


def test_unknown_kpi_names_suggest_close_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        kpis.get_kpi("engagement_rate_reach")
    assert "engagement_rate_by_reach" in caught.value.message
    assert caught.value.field == "metric"
    assert kpis.get_kpi("Engagement-Rate-By-Reach").name == "engagement_rate_by_reach"
    with pytest.raises(ValidationError, match="not a per-post"):
        kpis.get_kpi("daily_engagement_rate", per_post=True)


@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 100_000)), min_size=1, max_size=40)
)
def test_ratio_of_sums_lies_between_the_extreme_post_rates(pairs: list[tuple[int, int]]) -> None:
    posts = cols(
        reactions=[float(n) for n, _ in pairs],
        comments=[0.0] * len(pairs),
        shares=[0.0] * len(pairs),
        reach=[float(d) for _, d in pairs],
    )
    summary = formulas.summarise_rate(kpis.REGISTRY["engagement_rate_by_reach"], posts)
    rates = [n / d * 100 for n, d in pairs]
    assert summary.ratio_of_sums is not None and summary.mean_of_ratios is not None
    assert min(rates) - 1e-9 <= summary.ratio_of_sums <= max(rates) + 1e-9
    assert min(rates) - 1e-9 <= summary.mean_of_ratios <= max(rates) + 1e-9


def test_grouped_figures_equal_each_group_alone() -> None:
    """The one-pass group sums give what summarise_* gives for each group's posts."""
    rng = np.random.default_rng(11)
    n = 400
    columns = {
        name: rng.integers(0, 50, n).astype(np.float64)
        for name in ("reactions", "comments", "shares", "reach", "impressions")
    }
    columns["reach"][rng.random(n) < 0.1] = np.nan
    columns["shares"][rng.random(n) < 0.05] = np.nan
    columns["clicks"] = np.full(n, np.nan)
    columns["followers_at_publish"] = rng.integers(100, 200, n).astype(np.float64)
    codes = rng.integers(0, 4, n)
    codes[codes == 3] = 2  # group 3 is empty
    day = rng.integers(-1, 30, n)
    for name in ("engagement_rate_by_reach", "click_through_rate", "virality_rate"):
        kpi = kpis.REGISTRY[name]
        grouped = formulas.grouped_rates(kpi, columns, codes, 4)
        for group in range(4):
            alone = formulas.summarise_rate(kpi, {k: v[codes == group] for k, v in columns.items()})
            assert grouped[group].n == alone.n
            assert grouped[group].mean_of_ratios == pytest.approx(alone.mean_of_ratios)
            assert grouped[group].ratio_of_sums == pytest.approx(alone.ratio_of_sums)
            assert (grouped[group].reason is None) == (alone.reason is None)
    counts = formulas.grouped_counts(kpis.REGISTRY["interactions"], columns, codes, 4)
    for group in range(4):
        alone_count = formulas.summarise_count(
            kpis.REGISTRY["interactions"], {k: v[codes == group] for k, v in columns.items()}
        )
        assert counts[group].mean == pytest.approx(alone_count.mean)
    interactions = formulas.per_post_values(kpis.REGISTRY["interactions"], columns)
    daily = formulas.grouped_daily_engagement_rates(
        codes, 4, day, interactions, columns["followers_at_publish"]
    )
    for group in range(4):
        mask = codes == group
        alone_daily = formulas.daily_engagement_rate(
            day[mask], interactions[mask], columns["followers_at_publish"][mask]
        )
        assert daily[group].n == alone_daily.n
        assert daily[group].mean_of_ratios == pytest.approx(alone_daily.mean_of_ratios)
        assert daily[group].ratio_of_sums == pytest.approx(alone_daily.ratio_of_sums)
