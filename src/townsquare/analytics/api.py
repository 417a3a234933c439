"""Measure's REST API: KPIs, formats, best times (JSON identical to the CLI's ``--json``).

The query parameters are the CLI's flags (``channel``, ``by``, ``from``, ``to``, ``paid``,
``metric``, ``seed``, ``min_posts``) and each route returns the service's dict unchanged,
so ``GET …/measure/kpis?channel=C&by=format`` equals ``townsquare measure kpis --channel C
--by format --json``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from townsquare.analytics import analyses, service
from townsquare.web.deps import ApiAccess, CurrentApiIdentity, DbSession

router = APIRouter(tags=["measure"])

CHANNEL = Query(..., description="Channel handle (or network:handle) in the workspace.")
DATE_FROM = Query(None, alias="from", description="First local day, YYYY-MM-DD.")
DATE_TO = Query(None, alias="to", description="Last local day (included), YYYY-MM-DD.")
PAID = Query("all", description="all, organic or paid posts.")
METRIC = Query("interactions", description="A per-post KPI name (see GET /api/v1/kpis).")
SEED = Query(service.DEFAULT_SEED, description="Bootstrap seed (same seed, same CI).")


@router.get("/kpis", summary="The KPI registry: every formula, unit, input and source")
def kpi_registry(identity: CurrentApiIdentity) -> dict[str, Any]:
    return {"kpis": service.kpi_glossary()}


@router.get(
    "/workspaces/{workspace}/measure/kpis",
    summary="KPIs per group (rates as mean of ratios and ratio of sums)",
)
def measure_kpis(
    access: ApiAccess,
    session: DbSession,
    channel: str = CHANNEL,
    by: str | None = Query(None, description="format, weekday, hour, month or paid."),
    date_from: str | None = DATE_FROM,
    date_to: str | None = DATE_TO,
    paid: str = PAID,
) -> dict[str, Any]:
    return service.measure_kpis(
        session, access, channel, by=by, date_from=date_from, date_to=date_to, paid=paid
    )


@router.get(
    "/workspaces/{workspace}/measure/formats",
    summary="Formats compared on one KPI: medians, bootstrap CIs, Kruskal-Wallis, pairwise",
)
def measure_formats(
    access: ApiAccess,
    session: DbSession,
    channel: str = CHANNEL,
    metric: str = METRIC,
    date_from: str | None = DATE_FROM,
    date_to: str | None = DATE_TO,
    paid: str = PAID,
    seed: int = SEED,
) -> dict[str, Any]:
    return service.measure_formats(
        session,
        access,
        channel,
        metric=metric,
        date_from=date_from,
        date_to=date_to,
        paid=paid,
        seed=seed,
    )


@router.get(
    "/workspaces/{workspace}/measure/best-times",
    summary="Median KPI per weekday × hour in the channel's time zone; recommended slots",
)
def measure_best_times(
    access: ApiAccess,
    session: DbSession,
    channel: str = CHANNEL,
    metric: str = METRIC,
    date_from: str | None = DATE_FROM,
    date_to: str | None = DATE_TO,
    paid: str = PAID,
    seed: int = SEED,
    min_posts: int = Query(analyses.MIN_SLOT_POSTS, description="Posts a slot needs."),
) -> dict[str, Any]:
    return service.measure_best_times(
        session,
        access,
        channel,
        metric=metric,
        date_from=date_from,
        date_to=date_to,
        paid=paid,
        seed=seed,
        min_posts=min_posts,
    )
