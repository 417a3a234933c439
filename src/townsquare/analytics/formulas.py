"""KPI formulas: pure functions over numpy columns (NaN = unknown), no I/O.

The registry (``kpis.py``) says what each KPI is; this module computes it: per-post values
(a count, or a rate in percent), a group's **mean of per-post ratios** and **ratio of
sums** over the posts whose inputs are known, the daily engagement rate, audience growth,
and the same figures for every group at once in one ``np.bincount`` pass.

Unknown is not zero: a post with an unknown input gets an unknown value, and a group where
no post has the inputs gets ``None`` with a reason, never a figure computed from zeros.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from townsquare.analytics.kpis import INTERACTION_BASE, Kpi, expand, required_inputs
from townsquare.messages import Message

FloatArray = npt.NDArray[np.float64]

# How inputs are named in sentences (reasons for a missing figure).
INPUT_LABELS = {
    "followers_at_publish": "followers at publish time",
    "engaged_users": "engaged users",
    "video_views": "video views",
}

# --- per-post values -------------------------------------------------------------------


def _sum_known(columns: Mapping[str, FloatArray], names: Sequence[str]) -> FloatArray:
    """Element-wise sum; NaN wherever any term is unknown (unknown + 3 is unknown)."""
    total = np.array(columns[names[0]], dtype=np.float64, copy=True)
    for name in names[1:]:
        total += columns[name]
    return total


def numerator_values(
    kpi: Kpi, columns: Mapping[str, FloatArray], components: Sequence[str] = INTERACTION_BASE
) -> FloatArray:
    return _sum_known(columns, expand(kpi.numerator, components))


def per_post_values(
    kpi: Kpi, columns: Mapping[str, FloatArray], components: Sequence[str] = INTERACTION_BASE
) -> FloatArray:
    """The KPI of every post: a count, or a rate in percent. NaN = unknown or undefined.

    A rate whose denominator is 0 or unknown is undefined for that post (NaN), not 0.
    """
    num = numerator_values(kpi, columns, components)
    if kpi.kind == "count":
        return num
    if kpi.denominator is None or kpi.kind != "rate":
        raise ValueError(f"{kpi.name} has no per-post value ({kpi.kind})")
    den = np.asarray(columns[kpi.denominator], dtype=np.float64)
    out = np.full(num.shape, np.nan)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    np.divide(num, den, out=out, where=ok)
    out[ok] *= 100.0
    return out


# --- group aggregates ------------------------------------------------------------------


@dataclass(frozen=True)
class RateSummary:
    """A rate over a group: both averages, the posts that had its inputs, and why not."""

    mean_of_ratios: float | None
    ratio_of_sums: float | None
    n: int
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mean_of_ratios": self.mean_of_ratios,
            "ratio_of_sums": self.ratio_of_sums,
            "n": self.n,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


def _absent_reason(absent: Sequence[str]) -> str:
    # The names are msgids too, so that the web says the whole reason in French.
    names = [Message(INPUT_LABELS.get(name, name)) for name in absent]
    return Message("no post has %(names)s: the source does not provide it", names=names)


def missing_reason(kpi: Kpi, columns: Mapping[str, FloatArray], components: Sequence[str]) -> str:
    """Which inputs are unknown for every post of the group (for a ``None`` figure)."""
    absent = [
        name
        for name in required_inputs(kpi, components)
        if name in columns and not np.isfinite(columns[name]).any()
    ]
    if absent:
        return _absent_reason(absent)
    return Message("no post has every input of this KPI known with a positive denominator")


def summarise_rate(
    kpi: Kpi, columns: Mapping[str, FloatArray], components: Sequence[str] = INTERACTION_BASE
) -> RateSummary:
    """Mean of per-post ratios and ratio of sums, over the posts whose inputs are known.

    Both use the same posts (numerator and denominator known, denominator > 0), so the two
    figures differ only by how they weigh posts.
    """
    num = numerator_values(kpi, columns, components)
    den = np.asarray(columns[kpi.denominator or ""], dtype=np.float64)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    n = int(ok.sum())
    if n == 0:
        return RateSummary(None, None, 0, missing_reason(kpi, columns, components))
    num_ok, den_ok = num[ok], den[ok]
    return RateSummary(
        mean_of_ratios=float(np.mean(num_ok / den_ok) * 100.0),
        ratio_of_sums=float(num_ok.sum() / den_ok.sum() * 100.0),
        n=n,
    )


@dataclass(frozen=True)
class CountSummary:
    """A count over a group: mean per post over the posts where it is known."""

    mean: float | None
    n: int
    reason: str | None = None


def summarise_count(
    kpi: Kpi, columns: Mapping[str, FloatArray], components: Sequence[str] = INTERACTION_BASE
) -> CountSummary:
    values = numerator_values(kpi, columns, components)
    known = values[np.isfinite(values)]
    if known.size == 0:
        return CountSummary(None, 0, missing_reason(kpi, columns, components))
    return CountSummary(float(known.mean()), int(known.size))


def daily_engagement_rate(
    day: npt.NDArray[np.int64],
    interactions: FloatArray,
    followers: FloatArray,
) -> RateSummary:
    """Daily engagement rate over the days that have posts.

    ``day`` is the local calendar day of each post (any integer code; negative = the day is
    not known). Per day: sum of interactions / followers that day (the largest
    followers-at-publish of the day's posts). Posts with unknown interactions or followers
    are left out; a day with none left is not counted.
    """
    ok = (day >= 0) & np.isfinite(interactions) & np.isfinite(followers) & (followers > 0)
    if not ok.any():
        if not (day >= 0).any():
            reason = Message(
                "the calendar day of the posts is not known (source gives only month/hour)"
            )
        else:
            reason = Message("no post of a known day has both interactions and followers")
        return RateSummary(None, None, 0, reason)
    days, inverse = np.unique(day[ok], return_inverse=True)
    day_interactions = np.bincount(inverse, weights=interactions[ok], minlength=days.size)
    day_followers = np.full(days.size, -np.inf)
    np.maximum.at(day_followers, inverse, followers[ok])
    return RateSummary(
        mean_of_ratios=float(np.mean(day_interactions / day_followers) * 100.0),
        ratio_of_sums=float(day_interactions.sum() / day_followers.sum() * 100.0),
        n=int(days.size),
    )


# --- the same figures for many groups at once ---------------------------------------------
#
# ``codes`` gives each post its group (0..groups−1). Sums per group are ``np.bincount``
# with weights: one pass over the posts per figure, no sort, no copy per group. Each
# result is the one ``summarise_*`` gives for that group's posts alone (tested).


def _missing_by_group(
    kpi: Kpi,
    columns: Mapping[str, FloatArray],
    codes: npt.NDArray[np.int64],
    groups: int,
    components: Sequence[str],
) -> list[str]:
    known = {
        name: np.bincount(codes, weights=np.isfinite(columns[name]), minlength=groups)
        for name in required_inputs(kpi, components)
        if name in columns
    }
    reasons = []
    for group in range(groups):
        absent = [name for name, counts in known.items() if counts[group] == 0]
        reasons.append(
            _absent_reason(absent)
            if absent
            else Message("no post has every input of this KPI known with a positive denominator")
        )
    return reasons


def grouped_rates(
    kpi: Kpi,
    columns: Mapping[str, FloatArray],
    codes: npt.NDArray[np.int64],
    groups: int,
    components: Sequence[str] = INTERACTION_BASE,
) -> list[RateSummary]:
    """:func:`summarise_rate` of every group."""
    num = numerator_values(kpi, columns, components)
    den = np.asarray(columns[kpi.denominator or ""], dtype=np.float64)
    # Posts without the inputs weigh 0 instead of being filtered out: no compaction copy
    # of the million-long arrays (den > 0 is False for NaN).
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (den > 0) & np.isfinite(num)
        ratio = np.where(ok, num / den, 0.0)
    counts = np.bincount(codes, weights=ok, minlength=groups)
    ratio_sums = np.bincount(codes, weights=ratio, minlength=groups)
    num_sums = np.bincount(codes, weights=np.where(ok, num, 0.0), minlength=groups)
    den_sums = np.bincount(codes, weights=np.where(ok, den, 0.0), minlength=groups)
    reasons: list[str] | None = None
    out = []
    for group in range(groups):
        n = int(counts[group])
        if n == 0:
            reasons = reasons or _missing_by_group(kpi, columns, codes, groups, components)
            out.append(RateSummary(None, None, 0, reasons[group]))
            continue
        out.append(
            RateSummary(
                mean_of_ratios=float(ratio_sums[group] / n * 100.0),
                ratio_of_sums=float(num_sums[group] / den_sums[group] * 100.0),
                n=n,
            )
        )
    return out


def grouped_counts(
    kpi: Kpi,
    columns: Mapping[str, FloatArray],
    codes: npt.NDArray[np.int64],
    groups: int,
    components: Sequence[str] = INTERACTION_BASE,
) -> list[CountSummary]:
    """:func:`summarise_count` of every group."""
    values = numerator_values(kpi, columns, components)
    known = np.isfinite(values)
    counts = np.bincount(codes[known], minlength=groups)
    sums = np.bincount(codes[known], weights=values[known], minlength=groups)
    reasons: list[str] | None = None
    out = []
    for group in range(groups):
        if counts[group] == 0:
            reasons = reasons or _missing_by_group(kpi, columns, codes, groups, components)
            out.append(CountSummary(None, 0, reasons[group]))
        else:
            out.append(CountSummary(float(sums[group] / counts[group]), int(counts[group])))
    return out


def grouped_daily_engagement_rates(
    codes: npt.NDArray[np.int64],
    groups: int,
    day: npt.NDArray[np.int64],
    interactions: FloatArray,
    followers: FloatArray,
) -> list[RateSummary]:
    """:func:`daily_engagement_rate` of every group (days are taken within each group)."""
    ok = (day >= 0) & np.isfinite(interactions) & np.isfinite(followers)
    ok[ok] = followers[ok] > 0
    if not ok.any():
        return [_no_daily(day, codes, group) for group in range(groups)]
    key = codes[ok] * (1 << 32) + day[ok]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sorted_key)) + 1))
    day_interactions = np.add.reduceat(interactions[ok][order], starts)
    day_followers = np.maximum.reduceat(followers[ok][order], starts)
    day_group = sorted_key[starts] >> 32
    days = np.bincount(day_group, minlength=groups)
    ratio_sums = np.bincount(day_group, weights=day_interactions / day_followers, minlength=groups)
    inter_sums = np.bincount(day_group, weights=day_interactions, minlength=groups)
    follower_sums = np.bincount(day_group, weights=day_followers, minlength=groups)
    out = []
    for group in range(groups):
        n = int(days[group])
        if n == 0:
            out.append(_no_daily(day, codes, group))
            continue
        out.append(
            RateSummary(
                mean_of_ratios=float(ratio_sums[group] / n * 100.0),
                ratio_of_sums=float(inter_sums[group] / follower_sums[group] * 100.0),
                n=n,
            )
        )
    return out


def _no_daily(day: npt.NDArray[np.int64], codes: npt.NDArray[np.int64], group: int) -> RateSummary:
    if not (day[codes == group] >= 0).any():
        reason = Message(
            "the calendar day of the posts is not known (source gives only month/hour)"
        )
    else:
        reason = Message("no post of a known day has both interactions and followers")
    return RateSummary(None, None, 0, reason)


def audience_growth_rate(
    followers_start: float | None, followers_end: float | None
) -> float | None:
    """(end − start) / start × 100; ``None`` when either end is unknown or start is 0."""
    if followers_start is None or followers_end is None or followers_start <= 0:
        return None
    return (followers_end - followers_start) / followers_start * 100.0
