"""Statistics for comparing groups of posts: median CIs, Kruskal–Wallis, pairwise tests.

Post metrics are heavy-tailed (a few posts take most of the reach), so groups are compared
by their medians with rank tests, never by means with t-tests.

**Bootstrap CI of the median, by order statistics.** The classic percentile bootstrap
resamples the ``n`` values with replacement ``B`` times and takes each resample's median:
``O(B·n)``, 2 000 × 1 000 000 draws for a big group. We draw the same thing in ``O(B)``
after one sort. A resample is ``n`` indices drawn uniformly from ``0..n−1``; its median is
the value at the ``k``-th smallest index (and the next one when ``n`` is even). The ``k``-th
smallest of ``n`` uniform indices is ``floor(n·U₍ₖ₎)`` where ``U₍ₖ₎ ~ Beta(k, n−k+1)`` is the
``k``-th order statistic of ``n`` continuous uniforms (flooring is monotone, so it commutes
with ordering), and the next order statistic is ``U₍ₖ₊₁₎ = U₍ₖ₎ + (1−U₍ₖ₎)·V`` with
``V ~ Beta(1, n−k)``. So each resample's median is drawn exactly from the distribution the
classic bootstrap samples, with a seeded generator: reproducible, and as cheap for a
million posts as for ten. The CI is the 2.5 % and 97.5 % quantiles of the ``B`` medians.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

SMALL_SAMPLE = 30  # below this, a group's median and CI are shown but flagged


@dataclass(frozen=True)
class MedianCI:
    n: int
    median: float | None
    mean: float | None
    ci_low: float | None
    ci_high: float | None


def bootstrap_median_ci(
    values: npt.ArrayLike,
    *,
    seed: int,
    resamples: int = 2000,
    confidence: float = 0.95,
    presorted: bool = False,
) -> MedianCI:
    """Median, mean and bootstrap percentile CI of the median (see module doc).

    NaN values are dropped first (unknown is not a value). Same ``seed`` and same values →
    same CI, whatever the order of the values.
    """
    data = np.asarray(values, dtype=np.float64)
    if not presorted:
        data = data[np.isfinite(data)]
        data = np.sort(data)
    n = int(data.size)
    if n == 0:
        return MedianCI(0, None, None, None, None)
    median = float(np.median(data)) if not presorted else _sorted_median(data)
    mean = float(data.mean())
    if n == 1:
        return MedianCI(1, median, mean, median, median)
    rng = np.random.default_rng(seed)
    medians = np.sort(_bootstrap_medians(data, rng, resamples))
    alpha = (1.0 - confidence) / 2.0
    low, high = _quantile_sorted(medians, alpha), _quantile_sorted(medians, 1.0 - alpha)
    return MedianCI(n, median, mean, low, high)


def _quantile_sorted(data: FloatArray, q: float) -> float:
    """numpy's default (linear) quantile of sorted data, without its per-call overhead."""
    position = q * (data.size - 1)
    below = int(np.floor(position))
    above = min(below + 1, data.size - 1)
    fraction = position - below
    return float(data[below] + (data[above] - data[below]) * fraction)


def _sorted_median(data: FloatArray) -> float:
    n = data.size
    mid = n // 2
    return float(data[mid]) if n % 2 else float((data[mid - 1] + data[mid]) / 2.0)


def _bootstrap_medians(data: FloatArray, rng: np.random.Generator, resamples: int) -> FloatArray:
    """``resamples`` bootstrap medians of the sorted ``data``, drawn by order statistics."""
    n = data.size
    if n % 2:
        k = (n + 1) // 2
        u = rng.beta(k, n - k + 1, size=resamples)
        return data[np.minimum((u * n).astype(np.int64), n - 1)]
    k = n // 2
    u_low = rng.beta(k, n - k + 1, size=resamples)
    u_high = u_low + (1.0 - u_low) * rng.beta(1, n - k, size=resamples)
    low = data[np.minimum((u_low * n).astype(np.int64), n - 1)]
    high = data[np.minimum((u_high * n).astype(np.int64), n - 1)]
    result: FloatArray = (low + high) / 2.0
    return result


def naive_bootstrap_median_ci(
    values: npt.ArrayLike, *, seed: int, resamples: int = 2000, confidence: float = 0.95
) -> tuple[float, float]:
    """The textbook resample-and-take-the-median bootstrap (reference for tests)."""
    data = np.asarray(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, data.size, size=(resamples, data.size))
    medians = np.median(data[picks], axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(medians, [alpha, 1.0 - alpha])
    return float(low), float(high)


@dataclass(frozen=True)
class TestResult:
    name: str
    statistic: float | None
    p_value: float | None
    reason: str | None = None


def kruskal_wallis(groups: Mapping[str, FloatArray]) -> TestResult:
    """Kruskal–Wallis H test across groups with at least one value each."""
    samples = [g for g in groups.values() if g.size > 0]
    if len(samples) < 2:
        return TestResult("kruskal-wallis", None, None, "fewer than two groups with values")
    pooled = np.concatenate(samples)
    if np.all(pooled == pooled[0]):
        return TestResult("kruskal-wallis", None, None, "every value is the same")
    from scipy import stats as sps  # imported here: scipy.stats costs ~1 s at CLI start-up

    result = sps.kruskal(*samples)
    return TestResult("kruskal-wallis", float(result.statistic), float(result.pvalue))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni step-down adjusted p-values, in the input order.

    Sorted ascending, the i-th smallest (from 0) is multiplied by (m − i); each adjusted
    value is at least the previous one (monotone) and at most 1.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class PairResult:
    a: str
    b: str
    p_value: float | None
    p_adjusted: float | None
    effect_size: float | None


def rank_biserial(u_a: float, n_a: int, n_b: int) -> float:
    """Rank-biserial correlation from the Mann–Whitney U of ``a``: 2U/(n_a·n_b) − 1.

    +1: every value of ``a`` beats every value of ``b``; −1: the reverse; 0: even.
    """
    return 2.0 * u_a / (n_a * n_b) - 1.0


def pairwise_mann_whitney(groups: Mapping[str, FloatArray]) -> list[PairResult]:
    """Two-sided Mann–Whitney U for every pair of non-empty groups, Holm-adjusted."""
    from scipy import stats as sps

    names = [name for name, values in groups.items() if values.size > 0]
    raw: list[tuple[str, str, float | None, float | None]] = []
    for a, b in combinations(names, 2):
        xa, xb = groups[a], groups[b]
        if np.all(xa == xa[0]) and np.all(xb == xa[0]):
            raw.append((a, b, 1.0, 0.0))
            continue
        result = sps.mannwhitneyu(xa, xb, alternative="two-sided")
        raw.append(
            (a, b, float(result.pvalue), rank_biserial(float(result.statistic), xa.size, xb.size))
        )
    tested = [p for _, _, p, _ in raw if p is not None]
    adjusted = iter(holm(tested))
    return [
        PairResult(a, b, p, next(adjusted) if p is not None else None, effect)
        for a, b, p, effect in raw
    ]
