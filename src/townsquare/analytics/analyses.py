"""The three analyses of Measure as pure functions over a :class:`PostFrame`.

Each returns exactly the JSON dict of the issue's contract (plus a few labelled extras):
``kpi_groups`` (``measure kpis``), ``format_comparison`` (``measure formats``) and
``best_times`` (``measure best-times``). No I/O: the service loads the frame.

Nothing loops over posts in Python: KPI sums per group are weighted ``np.bincount``s, and
the medians of formats and best times read order statistics of values sorted once and
split by group with a radix sort (no boolean mask per group over a million posts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from townsquare.analytics import formulas, kpis, stats
from townsquare.analytics.dataset import FloatArray, IntArray, PostFrame
from townsquare.analytics.kpis import INTERACTION_BASE, Kpi
from townsquare.analytics.kpis import MIN_SLOT_POSTS as MIN_SLOT_POSTS  # defined with the KPIs

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _codes(frame: PostFrame, by: str | None) -> tuple[IntArray, list[Any]]:
    """Group code of every post and the key of each code (codes index the keys)."""
    if by is None:
        return np.zeros(frame.n, dtype=np.int64), ["all"]
    if by == "format":
        return frame.format, list(frame.format_names)
    if by == "paid":
        return frame.paid.astype(np.int64) + 1, ["unknown", "organic", "paid"]
    raw = {"weekday": frame.weekday, "hour": frame.hour, "month": frame.month}[by]
    present = np.unique(raw)
    keys: list[Any] = []
    for value in present.tolist():
        if value < 0:
            keys.append(None)
        elif by == "month":
            keys.append(f"{value // 100:04d}-{value % 100:02d}")
        else:
            keys.append(int(value))
    return np.searchsorted(present, raw).astype(np.int64), keys


def _round(value: float | None) -> float | None:
    """9 significant digits (stable JSON); NaN/inf (never valid JSON) become None."""
    if value is None or not np.isfinite(value):
        return None
    return float(f"{value:.9g}")


def _finite(value: float | None) -> float | None:
    return value if value is not None and np.isfinite(value) else None


def kpi_groups(
    frame: PostFrame,
    *,
    by: str | None,
    components: Sequence[str] = INTERACTION_BASE,
    kpi_names: Sequence[str] = kpis.SUMMARY_KPIS,
    audience: tuple[IntArray, FloatArray] | None = None,
) -> dict[str, Any]:
    """``{"groups": [{"key", "posts", "kpis": {NAME: {...} | number | None}, "missing"}]}``.

    Rates carry ``mean_of_ratios`` and ``ratio_of_sums`` (percent) and ``n``, the posts
    (days for the daily rate) whose inputs were known. Counts are the mean per post. A
    ``None`` figure has its reason in the group's ``missing``. ``audience`` is the channel's
    follower snapshots (local day numbers, followers) sorted by day, for the growth rate.
    Every figure is computed for all groups in one pass (``formulas.grouped_*``).
    """
    codes, keys = _codes(frame, by)
    size = len(keys)
    columns = frame.metrics
    posts = np.bincount(codes, minlength=size)
    paid_posts = np.bincount(codes, weights=frame.paid == 1, minlength=size)
    per_kpi: dict[str, list[tuple[Any, str | None]]] = {}
    for name in kpi_names:
        kpi = kpis.REGISTRY[name]
        if kpi.kind == "count":
            counts = formulas.grouped_counts(kpi, columns, codes, size, components)
            per_kpi[name] = [(_round(c.mean), c.reason) for c in counts]
        elif kpi.kind == "rate":
            rates = formulas.grouped_rates(kpi, columns, codes, size, components)
            per_kpi[name] = [(_rate_dict(r), r.reason) for r in rates]
        elif kpi.kind == "daily":
            interactions = formulas.numerator_values(kpi, columns, components)
            followers = columns.get("followers_at_publish", np.full(frame.n, np.nan))
            daily = formulas.grouped_daily_engagement_rates(
                codes, size, frame.day, interactions, followers
            )
            per_kpi[name] = [(_rate_dict(r), r.reason) for r in daily]
        else:
            per_kpi[name] = [_growth(by, key, audience) for key in keys]
    groups = []
    for index, key in enumerate(keys):
        if posts[index] == 0:
            continue
        figures = {name: values[index][0] for name, values in per_kpi.items()}
        missing = {name: values[index][1] for name, values in per_kpi.items() if values[index][1]}
        groups.append(
            {
                "key": key,
                "posts": int(posts[index]),
                "paid_posts": int(paid_posts[index]),
                "kpis": figures,
                "missing": missing,
            }
        )
    return {"by": by, "groups": groups}


def _rate_dict(rate: formulas.RateSummary) -> dict[str, Any]:
    return {
        "mean_of_ratios": _round(rate.mean_of_ratios),
        "ratio_of_sums": _round(rate.ratio_of_sums),
        "n": rate.n,
    }


def _growth(
    by: str | None,
    key: Any,
    audience: tuple[IntArray, FloatArray] | None,
) -> tuple[float | None, str | None]:
    """Audience growth over the whole period, or over the month for ``--by month``."""
    if by not in (None, "month"):
        return None, (
            f"audience growth is a property of the channel over time, not of a {by} group: "
            "see it without --by or with --by month"
        )
    if audience is None or audience[0].size < 2:
        return None, "fewer than two follower counts of the channel in the period"
    snap_day, snap_followers = audience
    if by == "month":
        if key is None:
            return None, "the month of these posts is not known"
        month = np.datetime64(key, "M")
        first = month.astype("datetime64[D]").astype(np.int64)
        last = (month + 1).astype("datetime64[D]").astype(np.int64)
        inside = (snap_day >= first) & (snap_day < last)
        snap_followers = snap_followers[inside]
        if snap_followers.size < 2:
            return None, "fewer than two follower counts of the channel in this month"
    growth = formulas.audience_growth_rate(float(snap_followers[0]), float(snap_followers[-1]))
    if growth is None:
        return None, "the first follower count of the period is 0"
    return _round(growth), None


def _ci_entry(values: FloatArray, *, seed: int, resamples: int) -> dict[str, Any]:
    ci = stats.bootstrap_median_ci(values, seed=seed, resamples=resamples, presorted=True)
    return {
        "n": ci.n,
        "median": _round(ci.median),
        "mean": _round(ci.mean),
        "ci_low": _round(ci.ci_low),
        "ci_high": _round(ci.ci_high),
        "small_sample": ci.n < stats.SMALL_SAMPLE,
    }


class _Sorted:
    """The known values of a per-post KPI, sorted once, ready to be split by any grouping.

    Grouping sorted values by a small integer code with a stable sort keeps each group
    sorted (numpy's stable sort of 16-bit codes is a radix sort: linear time), so medians
    and bootstrap CIs read order statistics directly.
    """

    def __init__(self, values: FloatArray) -> None:
        self.known = np.isfinite(values)
        known_values = values[self.known]
        self.order = np.argsort(known_values)
        self.values = known_values[self.order]

    def groups(self, codes: IntArray, groups: int) -> tuple[FloatArray, list[slice]]:
        """Values ordered by (code, value); slice ``i`` holds code ``i``, sorted."""
        small = codes[self.known][self.order]
        if groups < 2**15:
            small = small.astype(np.int16)
        order = np.argsort(small, kind="stable")
        counts = np.bincount(small, minlength=groups)[:groups]
        ends = np.cumsum(counts)
        return self.values[order], [
            slice(int(e - c), int(e)) for c, e in zip(counts, ends, strict=True)
        ]


def _metric_header(kpi: Kpi, values: FloatArray) -> dict[str, Any]:
    return {
        "metric": kpi.name,
        "label": kpi.label,
        "unit": kpi.unit,
        "formula": kpi.formula,
        "posts": int(values.size),
        "posts_without_value": int((~np.isfinite(values)).sum()),
    }


def format_comparison(
    frame: PostFrame,
    kpi: Kpi,
    *,
    components: Sequence[str] = INTERACTION_BASE,
    seed: int,
    resamples: int = 2000,
) -> dict[str, Any]:
    """Medians with bootstrap CIs per format, Kruskal–Wallis, pairwise Mann–Whitney + Holm.

    Groups are ordered by median, highest first. ``effect_size`` is the rank-biserial
    correlation of ``a`` against ``b`` (positive: ``a`` tends to be higher).
    """
    values = formulas.per_post_values(kpi, frame.metrics, components)
    sorted_values, slices = _Sorted(values).groups(frame.format, len(frame.format_names))
    samples = {
        name: sorted_values[part]
        for name, part in zip(frame.format_names, slices, strict=True)
        if part.stop > part.start
    }
    known = np.isfinite(values)
    size = len(frame.format_names)
    paid_posts = np.bincount(frame.format[known], weights=frame.paid[known] == 1, minlength=size)
    groups = [
        {
            "key": name,
            **_ci_entry(v, seed=seed, resamples=resamples),
            "paid_posts": int(paid_posts[frame.format_names.index(name)]),
        }
        for name, v in samples.items()
    ]
    groups.sort(key=lambda g: (-(g["median"] if g["median"] is not None else -np.inf), g["key"]))
    ranked = {g["key"]: samples[g["key"]] for g in groups}
    test = stats.kruskal_wallis(ranked)
    test_dict: dict[str, Any] = {
        "name": test.name,
        "statistic": _round(test.statistic),
        "p_value": _finite(test.p_value),
    }
    if test.reason:
        test_dict["reason"] = test.reason
    pairwise = [
        {
            "a": pair.a,
            "b": pair.b,
            "p_value": _finite(pair.p_value),
            "p_adjusted": _finite(pair.p_adjusted),
            "effect_size": _round(pair.effect_size),
        }
        for pair in stats.pairwise_mann_whitney(ranked)
    ]
    return {
        **_metric_header(kpi, values),
        "groups": groups,
        "test": test_dict,
        "pairwise": pairwise,
        "method": {
            "ci": f"bootstrap percentile 95% CI of the median, {resamples} resamples, seed "
            f"{seed} (order-statistic sampling, exact resampling distribution)",
            "pairwise": "two-sided Mann-Whitney U, Holm-adjusted; effect size rank-biserial",
            "small_sample": f"fewer than {stats.SMALL_SAMPLE} posts",
        },
    }


def best_times(
    frame: PostFrame,
    kpi: Kpi,
    *,
    components: Sequence[str] = INTERACTION_BASE,
    seed: int,
    resamples: int = 2000,
    min_posts: int = MIN_SLOT_POSTS,
    top: int = 3,
) -> dict[str, Any]:
    """Weekday × hour cells (local time) with n, median and CI; recommended slots.

    Never sums a metric over a cell: a total only says how often one posts then. A slot is
    recommended when it has at least ``min_posts`` posts; slots are ranked by median and
    each carries its evidence (its CI against the channel's overall median).
    """
    values = formulas.per_post_values(kpi, frame.metrics, components)
    timed = (frame.weekday >= 1) & (frame.hour >= 0)
    cell_code = np.where(timed, (frame.weekday - 1) * 24 + frame.hour, 7 * 24)
    ranked = _Sorted(values)
    sorted_values, slices = ranked.groups(cell_code, 7 * 24 + 1)
    known = np.isfinite(values)
    paid_per_cell = np.bincount(
        cell_code[known], weights=frame.paid[known] == 1, minlength=7 * 24 + 1
    )
    cells = []
    for code, part in enumerate(slices[: 7 * 24]):
        if part.stop == part.start:
            continue
        entry = _ci_entry(sorted_values[part], seed=seed, resamples=resamples)
        cells.append(
            {
                "weekday": code // 24 + 1,
                "hour": code % 24,
                **entry,
                "paid_posts": int(paid_per_cell[code]),
            }
        )
    timed_values = ranked.values[timed[ranked.known][ranked.order]]
    overall = _ci_entry(timed_values, seed=seed, resamples=resamples)
    weekdays = _marginal(ranked, frame.weekday, range(1, 8), "weekday", seed, resamples)
    hours = _marginal(ranked, frame.hour, range(24), "hour", seed, resamples)
    return {
        **_metric_header(kpi, values),
        "timezone": frame.timezone,
        "posts_without_time": int((~timed).sum()),
        "overall": overall,
        "cells": cells,
        "weekdays": weekdays,
        "hours": hours,
        "recommended": _recommend(cells, overall, min_posts, top, kpi.unit),
        "method": {
            "cells": "local weekday (1 = Monday … 7 = Sunday, ISO) × hour in the channel's "
            "time zone; median per post, never summed",
            "ci": f"bootstrap percentile 95% CI of the median, {resamples} resamples, seed {seed}",
            "recommended": f"cells with at least {min_posts} posts, ranked by median",
        },
    }


def _marginal(
    ranked: _Sorted,
    codes: IntArray,
    keys: range,
    name: str,
    seed: int,
    resamples: int,
) -> list[dict[str, Any]]:
    valid = codes >= keys.start
    shifted = np.where(valid, codes - keys.start, len(keys))
    sorted_values, slices = ranked.groups(shifted, len(keys) + 1)
    return [
        {name: key, **_ci_entry(sorted_values[part], seed=seed, resamples=resamples)}
        for key, part in zip(keys, slices, strict=False)
        if part.stop > part.start
    ]


def _recommend(
    cells: list[dict[str, Any]],
    overall: dict[str, Any],
    min_posts: int,
    top: int,
    unit: str,
) -> list[dict[str, Any]]:
    eligible = [c for c in cells if c["n"] >= min_posts and c["median"] is not None]
    eligible.sort(key=lambda c: (-c["median"], -c["n"]))
    out = []
    overall_median = overall["median"]
    for cell in eligible[:top]:
        above = overall_median is not None and cell["ci_low"] > overall_median
        day = WEEKDAY_NAMES[cell["weekday"] - 1]
        pct = "%" if unit == "percent" else ""
        evidence = (
            f"{day} {cell['hour']:02d}:00: median {cell['median']:.3g}{pct} over {cell['n']} "
            f"posts (95% CI {cell['ci_low']:.3g}{pct}–{cell['ci_high']:.3g}{pct}) vs "
            f"{overall_median:.3g}{pct} for all posts; "
            + (
                "the whole CI is above the overall median"
                if above
                else "the CI overlaps the overall median: a lead, not a proof"
            )
            + (
                f"; {cell['paid_posts']} of these posts were paid (see --paid organic)"
                if cell["paid_posts"]
                else ""
            )
        )
        out.append(
            {
                "weekday": cell["weekday"],
                "hour": cell["hour"],
                "n": cell["n"],
                "median": cell["median"],
                "ci_low": cell["ci_low"],
                "ci_high": cell["ci_high"],
                "overall_median": overall_median,
                "ci_above_overall": bool(above),
                "small_sample": cell["small_sample"],
                "paid_posts": cell["paid_posts"],
                "evidence": evidence,
            }
        )
    return out
