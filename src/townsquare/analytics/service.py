"""Measure's use cases: what the CLI, the REST API and the web pages call, identically.

Each function checks the caller's access, finds the channel in the caller's workspace,
loads its posts (``dataset.py``) and hands them to the pure analyses (``analyses.py``).
The returned dicts are the JSON of the issue's contract; CLI ``--json`` prints them as
they are and the API returns them as they are. Each also carries the scope it was computed
on: ``channel`` (handle, network, timezone), ``from``/``to``, ``paid`` (all, organic or
paid), ``interactions`` (the metrics this workspace sums as interactions) and ``notes``
(warnings in words about what the figures cannot say for this period).
"""

from __future__ import annotations

import difflib
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from townsquare.analytics import kpis
from townsquare.channels.models import Channel
from townsquare.channels.service import get_channel_by_handle
from townsquare.errors import ValidationError
from townsquare.messages import Message
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

if TYPE_CHECKING:
    from townsquare.analytics.dataset import PostFrame

# The numeric modules (analyses, dataset, formulas: numpy) are imported by the functions that
# compute, so that the command line starts without numpy.

GROUPINGS = ("format", "weekday", "hour", "month", "paid")
PAID_FILTERS = ("all", "organic", "paid")
DEFAULT_SEED = 20140101
LAST_DATE = date(9999, 12, 29)  # + 1 day, in any zone, still fits in a datetime
MAX_SEED = 2**63 - 1


def check_seed(seed: int) -> None:
    """The bootstrap's random generator takes seeds 0 to 2⁶³-1 (numpy refuses negatives)."""
    if not 0 <= seed <= MAX_SEED:
        raise ValidationError(
            "seed must be between 0 and 2⁶³-1 (got %(seed)s): e.g. --seed %(default)s",
            params={"seed": seed, "default": DEFAULT_SEED},
            field="seed",
        )


DEFAULT_RESAMPLES = 2000


def kpi_glossary() -> list[dict[str, Any]]:
    """Every KPI with its formula, unit, inputs and source."""
    return kpis.glossary()


def parse_date(value: date | str | None, *, field: str) -> date | None:
    """A ``YYYY-MM-DD`` date (from a flag or a query parameter), or None."""
    if value is None:
        return value
    if isinstance(value, date):
        parsed = value
    else:
        text = value.strip()
        if not text:
            return None
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                "'%(value)s' is not a date: write it as YYYY-MM-DD, e.g. 2014-03-31",
                params={"value": value},
                field=field,
            ) from None
    if parsed > LAST_DATE:
        # The period ends the next day at 00:00 local, then in UTC: year 10000 cannot be.
        raise ValidationError(
            "'%(value)s' is too far in the future: dates go up to %(last)s",
            params={"value": value, "last": LAST_DATE.isoformat()},
            field=field,
        )
    return parsed


def _check_choice(value: str | None, choices: tuple[str, ...], field: str) -> str | None:
    if not value:  # an empty query parameter (?by=) means "not given"
        return None
    if value in choices:
        return value
    close = difflib.get_close_matches(value, choices, n=1)
    hint = Message("did you mean %(name)s? ", name=close[0]) if close else ""
    raise ValidationError(
        "unknown %(field)s '%(value)s': %(hint)schoose one of %(choices)s",
        params={"field": field, "value": value, "hint": hint, "choices": ", ".join(choices)},
        field=field,
    )


class _Scope:
    """What every analysis starts from: a readable channel, a period, a paid filter."""

    def __init__(
        self,
        session: Session,
        access: WorkspaceAccess,
        channel_handle: str,
        date_from: date | str | None,
        date_to: date | str | None,
        paid: str,
    ) -> None:
        access.require(Role.VIEWER, "read measures")
        self.paid = _check_choice(paid, PAID_FILTERS, "paid") or "all"
        self.date_from = parse_date(date_from, field="from")
        self.date_to = parse_date(date_to, field="to")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationError(
                "--from %(date_from)s is after --to %(date_to)s: swap them",
                params={"date_from": self.date_from, "date_to": self.date_to},
                field="from",
            )
        self.channel: Channel = get_channel_by_handle(session, access, channel_handle)
        self.components = kpis.interaction_components(access.workspace.settings)
        self.session = session

    def load(self, metric_names: tuple[str, ...], fields: set[str]) -> PostFrame:
        from townsquare.analytics import dataset

        if self.paid != "all":
            fields = fields | {"paid"}
        frame = dataset.load_posts(
            self.session,
            self.channel.id,
            timezone=self.channel.timezone or "UTC",
            metric_names=metric_names,
            fields=frozenset(fields),
            date_from=self.date_from,
            date_to=self.date_to,
        )
        if self.paid == "all":
            return frame
        return frame.subset(frame.paid == (1 if self.paid == "paid" else 0))

    def notes(self) -> list[str]:
        """Warnings about what the figures can and cannot say for this period."""
        inside_month = (self.date_from is not None and self.date_from.day != 1) or (
            self.date_to is not None and (self.date_to + timedelta(days=1)).day != 1
        )
        if not inside_month:
            return []
        from townsquare.analytics import dataset

        vague = dataset.count_posts_without_day(
            self.session,
            self.channel.id,
            timezone=self.channel.timezone or "UTC",
            date_from=self.date_from,
            date_to=self.date_to,
        )
        if not vague:
            return []
        return [
            f"{vague} posts of this period know only their month (not their day): "
            "--from/--to inside a month is applied to a representative date of the month, "
            "so prefer whole months for them"
        ]

    def header(self) -> dict[str, Any]:
        return {
            "channel": {
                "handle": self.channel.handle,
                "network": self.channel.network,
                "timezone": self.channel.timezone,
            },
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "paid": self.paid,
            "interactions": list(self.components),
            "notes": self.notes(),
        }


def _inputs(names: tuple[str, ...] | list[str], components: tuple[str, ...]) -> tuple[str, ...]:
    needed: list[str] = []
    for name in names:
        kpi = kpis.REGISTRY[name]
        if kpi.kind == "channel":
            continue
        for column in kpis.required_inputs(kpi, components):
            if column not in needed:
                needed.append(column)
    return tuple(needed)


def _snapshot(days: Any, followers: Any, index: int) -> dict[str, Any] | None:
    if days.size == 0:
        return None
    day = date.fromordinal(date(1970, 1, 1).toordinal() + int(days[index]))
    return {"date": day.isoformat(), "followers": int(followers[index])}


def measure_kpis(
    session: Session,
    access: WorkspaceAccess,
    channel_handle: str,
    *,
    by: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    paid: str = "all",
    extra_kpis: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``{"groups": [{"key", "posts", "kpis": {NAME: {...} or number}}], ...}``.

    Rates: ``{"mean_of_ratios", "ratio_of_sums", "n"}`` in percent; counts: mean per post;
    ``None`` with the reason in the group's ``missing``. ``extra_kpis`` adds KPIs of the
    registry to :data:`kpis.SUMMARY_KPIS` (reports add the reach and impressions counts).
    """
    from townsquare.analytics import analyses, dataset, formulas

    names = kpis.SUMMARY_KPIS + tuple(n for n in extra_kpis if n not in kpis.SUMMARY_KPIS)
    by = _check_choice(by, GROUPINGS, "by")
    scope = _Scope(session, access, channel_handle, date_from, date_to, paid)
    fields = {"paid", "day"}
    if by == "format":
        fields.add("format")
    elif by in ("weekday", "hour"):
        fields.add("weekday_hour")
    elif by == "month":
        fields.add("month")
    frame = scope.load(_inputs(names, scope.components), fields)
    days, followers = dataset.audience_series(
        session, scope.channel.id, date_from=scope.date_from, date_to=scope.date_to
    )
    result = analyses.kpi_groups(
        frame, by=by, components=scope.components, kpi_names=names, audience=(days, followers)
    )
    first = _snapshot(days, followers, 0)
    last = _snapshot(days, followers, -1)
    growth = (
        formulas.audience_growth_rate(float(followers[0]), float(followers[-1]))
        if days.size >= 2
        else None
    )
    return {
        **scope.header(),
        "by": by,
        "posts": frame.n,
        "groups": result["groups"],
        "audience": {
            "audience_growth_rate": growth,
            "first": first,
            "last": last,
            "snapshots": int(days.size),
        },
        "labels": {
            "mean_of_ratios": "mean of per-post ratios (each post weighs the same)",
            "ratio_of_sums": "sum of numerators / sum of denominators (big posts weigh more)",
        },
    }


def measure_formats(
    session: Session,
    access: WorkspaceAccess,
    channel_handle: str,
    *,
    metric: str,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    paid: str = "all",
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
) -> dict[str, Any]:
    """``{"metric", "groups": [...], "test": {...}, "pairwise": [...]}``."""
    from townsquare.analytics import analyses

    check_seed(seed)
    kpi = kpis.get_kpi(metric, per_post=True)
    scope = _Scope(session, access, channel_handle, date_from, date_to, paid)
    frame = scope.load(kpis.required_inputs(kpi, scope.components), {"format", "paid"})
    result = analyses.format_comparison(
        frame, kpi, components=scope.components, seed=seed, resamples=resamples
    )
    return {**scope.header(), **result}


def measure_best_times(
    session: Session,
    access: WorkspaceAccess,
    channel_handle: str,
    *,
    metric: str,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    paid: str = "all",
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
    min_posts: int = kpis.MIN_SLOT_POSTS,
) -> dict[str, Any]:
    """``{"metric", "timezone", "cells": [...], "recommended": [...], ...}``."""
    from townsquare.analytics import analyses

    check_seed(seed)
    kpi = kpis.get_kpi(metric, per_post=True)
    if min_posts < 1:
        raise ValidationError("--min-posts must be at least 1", field="min_posts")
    scope = _Scope(session, access, channel_handle, date_from, date_to, paid)
    frame = scope.load(kpis.required_inputs(kpi, scope.components), {"weekday_hour", "paid"})
    result = analyses.best_times(
        frame,
        kpi,
        components=scope.components,
        seed=seed,
        resamples=resamples,
        min_posts=min_posts,
    )
    return {**scope.header(), **result}
