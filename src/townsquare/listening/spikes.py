"""Spikes: an hour with far more mentions than the same hour of the week usually has.

For each hour, the baseline is the same hour of the week in the previous ``weeks`` weeks
(Monday 9–10 is compared with the four previous Mondays 9–10, since volume follows the
week's rhythm). The score is robust to the baseline's own outliers:

    score = (count − median(baseline)) / (1.4826 × MAD(baseline) + 1)

MAD is the median absolute deviation (1.4826 × MAD estimates a standard deviation for
normal data); the +1 keeps a flat baseline (all zeros) from turning one mention into an
infinite score. An hour is a spike when its score reaches ``threshold`` and it has at least
``min_mentions`` mentions. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

DEFAULT_THRESHOLD = 3.0
DEFAULT_MIN_MENTIONS = 3
BASELINE_WEEKS = 4
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class HourScore:
    hour: datetime  # start of the hour (UTC)
    count: int
    baseline_median: float
    score: float
    is_spike: bool


def hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def score_hour(
    counts: Mapping[datetime, int],
    hour: datetime,
    *,
    weeks: int = BASELINE_WEEKS,
    threshold: float = DEFAULT_THRESHOLD,
    min_mentions: int = DEFAULT_MIN_MENTIONS,
) -> HourScore:
    """The score of ``hour`` against the same hour of the ``weeks`` weeks before it."""
    baseline = [counts.get(hour - WEEK * week, 0) for week in range(1, weeks + 1)]
    middle = median(baseline)
    mad = median(abs(value - middle) for value in baseline)
    count = counts.get(hour, 0)
    score = (count - middle) / (1.4826 * mad + 1)
    return HourScore(hour, count, middle, score, score >= threshold and count >= min_mentions)


def score_hours(
    counts: Mapping[datetime, int],
    start: datetime,
    end: datetime,
    **options: float,
) -> list[HourScore]:
    """Scores of every hour from ``start`` up to (not including) ``end``."""
    hour = hour_start(start)
    scores = []
    while hour < end:
        scores.append(score_hour(counts, hour, **options))  # type: ignore[arg-type]
        hour += timedelta(hours=1)
    return scores
