"""Spikes: robust scores against the same hour of the previous weeks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from townsquare.listening.spikes import WEEK, score_hour, score_hours

MONDAY_9 = datetime(2026, 11, 30, 9, tzinfo=UTC)


def test_a_burst_is_a_spike_and_a_usual_peak_is_not() -> None:
    # Every Monday 9–10 has about 20 mentions: 22 this week is usual; 90 is a spike.
    counts = {MONDAY_9 - WEEK * k: v for k, v in zip(range(1, 5), [20, 18, 21, 19], strict=True)}
    usual = score_hour({**counts, MONDAY_9: 22}, MONDAY_9)
    assert not usual.is_spike and usual.baseline_median == 19.5
    burst = score_hour({**counts, MONDAY_9: 90}, MONDAY_9)
    assert burst.is_spike and burst.score > 10


def test_a_quiet_hour_needs_several_mentions() -> None:
    assert not score_hour({MONDAY_9: 2}, MONDAY_9).is_spike  # 2 < min_mentions
    assert score_hour({MONDAY_9: 5}, MONDAY_9).is_spike  # from nothing to 5
    assert not score_hour({MONDAY_9: 5}, MONDAY_9, threshold=6).is_spike  # the user's threshold


def test_one_past_outlier_does_not_hide_a_spike() -> None:
    counts = {MONDAY_9 - WEEK: 200, MONDAY_9 - 2 * WEEK: 3, MONDAY_9 - 3 * WEEK: 4}
    counts[MONDAY_9 - 4 * WEEK] = 2
    assert score_hour({**counts, MONDAY_9: 40}, MONDAY_9).is_spike  # median 3.5, not the mean


def test_score_hours_covers_every_hour() -> None:
    scores = score_hours({}, MONDAY_9, MONDAY_9 + timedelta(hours=5))
    assert [s.hour for s in scores] == [MONDAY_9 + timedelta(hours=h) for h in range(5)]
    assert all(s.score == 0 and not s.is_spike for s in scores)


@given(st.lists(st.integers(0, 50), min_size=4, max_size=4), st.integers(0, 500))
def test_more_mentions_never_lower_the_score(baseline: list[int], count: int) -> None:
    counts = {MONDAY_9 - WEEK * (k + 1): v for k, v in enumerate(baseline)}
    lower = score_hour({**counts, MONDAY_9: count}, MONDAY_9)
    higher = score_hour({**counts, MONDAY_9: count + 1}, MONDAY_9)
    assert higher.score > lower.score
