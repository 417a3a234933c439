"""Statistics: reproducible bootstrap, Holm against hand computation, rank tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from townsquare.analytics import stats


def test_holm_by_hand() -> None:
    # sorted: 0.01 ×4 = 0.04; 0.02 ×3 = 0.06; 0.03 ×2 = 0.06; 0.04 ×1 = 0.04 → 0.06 (monotone)
    assert stats.holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert stats.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert stats.holm([]) == []


def test_bootstrap_is_reproducible_with_a_seed_and_order_free() -> None:
    rng = np.random.default_rng(1)
    values = rng.lognormal(3, 1, size=501)
    first = stats.bootstrap_median_ci(values, seed=42)
    again = stats.bootstrap_median_ci(values[::-1].copy(), seed=42)
    other = stats.bootstrap_median_ci(values, seed=43)
    assert first == again
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.ci_low is not None and first.ci_high is not None
    assert first.ci_low <= first.median <= first.ci_high  # type: ignore[operator]


@pytest.mark.parametrize("size", [40, 41])
def test_order_statistic_bootstrap_matches_the_textbook_bootstrap(size: int) -> None:
    """Same distribution as resampling: the CIs agree within Monte-Carlo noise."""
    values = np.random.default_rng(7).lognormal(2, 1, size=size)
    fast = stats.bootstrap_median_ci(values, seed=3, resamples=20_000)
    low, high = stats.naive_bootstrap_median_ci(values, seed=3, resamples=20_000)
    spread = np.subtract(*np.percentile(values, [75, 25]))
    assert fast.ci_low == pytest.approx(low, abs=0.1 * spread)
    assert fast.ci_high == pytest.approx(high, abs=0.1 * spread)


def test_bootstrap_drops_unknown_values_and_handles_tiny_groups() -> None:
    ci = stats.bootstrap_median_ci([np.nan, 5.0, np.nan], seed=0)
    assert (ci.n, ci.median, ci.ci_low, ci.ci_high) == (1, 5.0, 5.0, 5.0)
    empty = stats.bootstrap_median_ci([np.nan], seed=0)
    assert empty.n == 0 and empty.median is None


def test_kruskal_wallis_matches_scipy_and_refuses_degenerate_input() -> None:
    groups = {"a": np.array([1.0, 2, 3, 4]), "b": np.array([5.0, 6, 7]), "c": np.array([2.0, 9])}
    result = stats.kruskal_wallis(groups)
    expected = sps.kruskal(*groups.values())
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    same = stats.kruskal_wallis({"a": np.array([1.0, 1]), "b": np.array([1.0])})
    assert same.statistic is None and same.reason
    alone = stats.kruskal_wallis({"a": np.array([1.0, 2])})
    assert alone.p_value is None


def test_pairwise_mann_whitney_holm_and_rank_biserial() -> None:
    groups = {
        "high": np.array([10.0, 11, 12, 13, 14]),
        "low": np.array([1.0, 2, 3, 4, 5]),
        "mid": np.array([4.0, 6, 7, 8, 12]),
    }
    pairs = stats.pairwise_mann_whitney(groups)
    assert [(p.a, p.b) for p in pairs] == [("high", "low"), ("high", "mid"), ("low", "mid")]
    raw = [p.p_value for p in pairs]
    for pair in pairs:
        expected = sps.mannwhitneyu(groups[pair.a], groups[pair.b], alternative="two-sided")
        assert pair.p_value == pytest.approx(expected.pvalue)
    assert [p.p_adjusted for p in pairs] == pytest.approx(stats.holm(raw))  # type: ignore[arg-type]
    assert pairs[0].effect_size == pytest.approx(1.0)  # every "high" beats every "low"
    assert pairs[2].effect_size is not None and pairs[2].effect_size < 0


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=30))
def test_holm_properties(p_values: list[float]) -> None:
    adjusted = stats.holm(p_values)
    assert all(p <= a + 1e-15 <= 1 + 1e-15 for p, a in zip(p_values, adjusted, strict=True))
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    ranked = [adjusted[i] for i in order]
    assert ranked == sorted(ranked)  # the step-down keeps the order of the raw p-values
    assert min(adjusted) == pytest.approx(min(1.0, len(p_values) * min(p_values)))


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=60), st.integers(0, 2**32 - 1))
def test_ci_brackets_the_median_and_stays_within_the_data(values: list[int], seed: int) -> None:
    ci = stats.bootstrap_median_ci(values, seed=seed, resamples=200)
    assert ci.ci_low is not None and ci.ci_high is not None and ci.median is not None
    assert min(values) <= ci.ci_low <= ci.ci_high <= max(values)
    assert ci.median == pytest.approx(float(np.median(values)))
