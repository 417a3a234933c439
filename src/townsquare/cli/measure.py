"""``townsquare measure``: KPIs per group, format comparison, best times, the KPI glossary.

Every command calls the same service function as the REST API and the web pages;
``--json`` prints its dict unchanged, otherwise Rich tables.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from townsquare.analytics import service
from townsquare.analytics.kpis import MIN_SLOT_POSTS, REGISTRY, SUMMARY_KPIS
from townsquare.cli.common import console, open_session, operator_access, print_json

app = typer.Typer(
    help="Measure: KPIs with explicit formulas, format comparison, best time to post.",
    no_args_is_help=True,
)

WORKSPACE = typer.Option(..., "--workspace", "-w", help="Workspace slug.")
CHANNEL = typer.Option(..., "--channel", "-c", help="Channel handle (or network:handle).")
DATE_FROM = typer.Option(None, "--from", help="First local day, YYYY-MM-DD.")
DATE_TO = typer.Option(None, "--to", help="Last local day (included), YYYY-MM-DD.")
PAID = typer.Option("all", "--paid", help="all, organic or paid posts.")
METRIC = typer.Option(
    "interactions", "--metric", "-m", help="A per-post KPI (see `townsquare measure glossary`)."
)
SEED = typer.Option(service.DEFAULT_SEED, "--seed", help="Bootstrap seed (same seed, same CI).")
JSON = typer.Option(False, "--json", help="Print JSON instead of tables.")


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if abs(value) >= 1000:
            text = f"{value:,.0f}"
        elif abs(value) >= 100:
            text = f"{value:.1f}".removesuffix(".0")
        else:
            text = f"{value:.3g}"
        return text + ("%" if unit == "percent" else "")
    return str(value)


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _notes(result: dict[str, Any]) -> None:
    for note in result.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")


@app.command("kpis")
def kpis_command(
    workspace: str = WORKSPACE,
    channel: str = CHANNEL,
    by: str | None = typer.Option(None, "--by", help="format, weekday, hour, month or paid."),
    date_from: str | None = DATE_FROM,
    date_to: str | None = DATE_TO,
    paid: str = PAID,
    as_json: bool = JSON,
) -> None:
    """Every KPI per group: rates as mean of per-post ratios AND ratio of sums."""
    with open_session() as session:
        result = service.measure_kpis(
            session,
            operator_access(session, workspace),
            channel,
            by=by,
            date_from=date_from,
            date_to=date_to,
            paid=paid,
        )
    if as_json:
        print_json(result)
        return
    groups = result["groups"]
    table = Table(title=f"KPIs of {channel} by {by or 'nothing (all posts)'}")
    table.add_column("KPI")
    table.add_column("average")
    for group in groups:
        table.add_column(f"{group['key']}\n{group['posts']} posts", justify="right")
    table.add_row("Paid posts", "count", *[str(g["paid_posts"]) for g in groups])
    for name in SUMMARY_KPIS:
        kpi = REGISTRY[name]
        if kpi.kind in ("rate", "daily"):
            for label, field in (
                ("mean of ratios", "mean_of_ratios"),
                ("ratio of sums", "ratio_of_sums"),
            ):
                table.add_row(
                    kpi.label if field == "mean_of_ratios" else "",
                    label,
                    *[_fmt((g["kpis"][name] or {}).get(field), kpi.unit) for g in groups],
                )
        else:
            average = "mean per post" if kpi.kind == "count" else "over the period"
            table.add_row(kpi.label, average, *[_fmt(g["kpis"][name], kpi.unit) for g in groups])
    console.print(table)
    _notes(result)
    reasons = {reason for g in groups for reason in g["missing"].items()}
    for name, reason in sorted(reasons):
        console.print(f"[dim]{REGISTRY[name].label}: {reason}[/]")


@app.command("formats")
def formats_command(
    workspace: str = WORKSPACE,
    channel: str = CHANNEL,
    metric: str = METRIC,
    date_from: str | None = DATE_FROM,
    date_to: str | None = DATE_TO,
    paid: str = PAID,
    seed: int = SEED,
    as_json: bool = JSON,
) -> None:
    """Compare formats on one per-post KPI: medians, bootstrap CIs, rank tests."""
    with open_session() as session:
        result = service.measure_formats(
            session,
            operator_access(session, workspace),
            channel,
            metric=metric,
            date_from=date_from,
            date_to=date_to,
            paid=paid,
            seed=seed,
        )
    if as_json:
        print_json(result)
        return
    unit = result["unit"]
    table = Table(title=f"{result['label']} by format ({result['formula']})")
    for column in ("format", "posts", "of which paid", "median", "95% CI of median", "mean", ""):
        table.add_column(column, justify="left" if column == "format" else "right")
    for group in result["groups"]:
        table.add_row(
            group["key"],
            str(group["n"]),
            str(group["paid_posts"]),
            _fmt(group["median"], unit),
            f"{_fmt(group['ci_low'], unit)} – {_fmt(group['ci_high'], unit)}",
            _fmt(group["mean"], unit),
            "small sample" if group["small_sample"] else "",
        )
    console.print(table)
    _notes(result)
    test = result["test"]
    console.print(
        f"Kruskal–Wallis H = {_fmt(test['statistic'])}, p = {_p(test['p_value'])}"
        + (f" ({test['reason']})" if test.get("reason") else "")
    )
    pairs = Table(title="Pairwise Mann–Whitney (Holm-adjusted)")
    for column in ("a", "b", "p", "p adjusted", "rank-biserial"):
        pairs.add_column(column, justify="right")
    for pair in result["pairwise"]:
        pairs.add_row(
            pair["a"],
            pair["b"],
            _p(pair["p_value"]),
            _p(pair["p_adjusted"]),
            _fmt(pair["effect_size"]),
        )
    console.print(pairs)


@app.command("best-times")
def best_times_command(
    workspace: str = WORKSPACE,
    channel: str = CHANNEL,
    metric: str = METRIC,
    date_from: str | None = DATE_FROM,
    date_to: str | None = DATE_TO,
    paid: str = PAID,
    seed: int = SEED,
    min_posts: int = typer.Option(
        MIN_SLOT_POSTS, "--min-posts", help="Posts a slot needs to be recommended."
    ),
    as_json: bool = JSON,
) -> None:
    """Median KPI per weekday × hour (channel time zone) and the recommended slots."""
    with open_session() as session:
        result = service.measure_best_times(
            session,
            operator_access(session, workspace),
            channel,
            metric=metric,
            date_from=date_from,
            date_to=date_to,
            paid=paid,
            seed=seed,
            min_posts=min_posts,
        )
    if as_json:
        print_json(result)
        return
    unit = result["unit"]
    cells = {(c["weekday"], c["hour"]): c for c in result["cells"]}
    hours = sorted({c["hour"] for c in result["cells"]})
    table = Table(
        title=f"Median {result['label']} per post, {result['timezone']} (posts in brackets)"
    )
    table.add_column("hour")
    from townsquare.analytics.analyses import WEEKDAY_NAMES

    for day in WEEKDAY_NAMES:
        table.add_column(day[:3], justify="right")
    for hour in hours:
        row = [f"{hour:02d}:00"]
        for weekday in range(1, 8):
            cell = cells.get((weekday, hour))
            row.append(f"{_fmt(cell['median'], unit)} ({cell['n']})" if cell else "")
        table.add_row(*row)
    console.print(table)
    _notes(result)
    if not result["recommended"]:
        console.print(
            f"No slot has {min_posts} posts or more yet: no recommendation (see --min-posts)."
        )
    for slot in result["recommended"]:
        console.print(f"• {slot['evidence']}")


@app.command("glossary")
def glossary_command(as_json: bool = JSON) -> None:
    """Every KPI: name, formula, unit and source."""
    entries = service.kpi_glossary()
    if as_json:
        print_json({"kpis": entries})
        return
    table = Table(title="KPI glossary")
    for column in ("name", "formula", "unit", "source"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(entry["name"], entry["formula"], entry["unit"], entry["source"])
    console.print(table)
