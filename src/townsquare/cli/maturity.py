"""``townsquare maturity``: the community maturity self-assessment.

``questions --json`` prints the questionnaire; ``answer --input FILE`` scores a file that
maps statement ids to values on the scale (``-`` reads stdin); ``history`` lists the
assessments, oldest first; ``compare`` puts two of them side by side.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from townsquare.cli.common import console, open_session, operator_access, print_json
from townsquare.errors import ValidationError
from townsquare.maturity import questionnaire, service

app = typer.Typer(help="Community maturity self-assessment.", no_args_is_help=True)


def _read(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ValidationError(
            "cannot read %(path)s: %(reason)s: give a JSON file of answers",
            params={"path": path, "reason": error.strerror},
            field="input",
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError(
            '%(path)s is not JSON (%(reason)s, line %(line)s): write {"strategy.early": 4, …}',
            params={"path": path, "reason": error.msg, "line": error.lineno},
            field="input",
        ) from None


def _show(data: dict[str, Any]) -> None:
    table = Table(title=f"assessment {data['id']} — {data['taken_at']:%Y-%m-%d}")
    for column in ("competency", "score", "stage"):
        table.add_column(column)
    for item in data["competencies"]:
        name = questionnaire.competency(item["id"]).name["en"]
        table.add_row(name, f"{item['score']:.1f}", questionnaire.stage(item["stage"]).name["en"])
    console.print(table)
    for step in data["next_steps"]:
        where = f" → {step['label']['en']} ({step['url']})" if step["url"] else ""
        console.print(f"• {step['text']['en']}{where}")


@app.command("questions")
def questions(as_json: bool = typer.Option(False, "--json")) -> None:
    """The questionnaire: the scale, the stages, each competency's statements (fr and en)."""
    data = service.questions()
    if as_json:
        print_json(data)
        return
    for competency in data["competencies"]:
        console.print(f"[bold]{competency['name']['en']}[/]")
        for statement in competency["statements"]:
            console.print(f"  {statement['id']}: {statement['text']['en']}")


@app.command("answer")
def answer(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    input_: str = typer.Option(
        ..., "--input", help='JSON file {"statement id": value, …}; - for stdin.'
    ),
    taken_at: str | None = typer.Option(
        None, "--taken-at", help="When it was taken (YYYY-MM-DD); default now."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Score and save an assessment: scores, stages and next steps."""
    answers = _read(input_)
    with open_session() as session:
        access = operator_access(session, workspace)
        record = service.answer(session, access, answers, taken_at=taken_at)
        data = service.assessment_json(record, access.workspace.slug)
    if as_json:
        print_json(data)
        return
    _show(data)


@app.command("history")
def history(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The workspace's assessments, oldest first."""
    with open_session() as session:
        access = operator_access(session, workspace)
        data = [service.assessment_json(r, workspace) for r in service.history(session, access)]
    if as_json:
        print_json(data)
        return
    table = Table()
    table.add_column("id")
    table.add_column("taken at")
    for competency in questionnaire.COMPETENCIES:
        table.add_column(competency.id)
    for item in data:
        scores = [f"{c['score']:.0f}" for c in item["competencies"]]
        table.add_row(str(item["id"]), f"{item['taken_at']:%Y-%m-%d}", *scores)
    console.print(table)


@app.command("compare")
def compare(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    before: str = typer.Option(..., "--from", help="A date (YYYY-MM-DD): the assessment then."),
    after: str = typer.Option(..., "--to", help="A later date (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """How each competency moved between the assessments in force on two dates."""
    with open_session() as session:
        data = service.compare_dates(session, operator_access(session, workspace), before, after)
    if as_json:
        print_json(data)
        return
    table = Table()
    for column in ("competency", "before", "after", "change", "stage before", "stage after"):
        table.add_column(column)
    for row in data["competencies"]:
        table.add_row(
            row["id"],
            str(row["before"]),
            str(row["after"]),
            str(row["change"]),
            str(row["stage_before"]),
            str(row["stage_after"]),
        )
    console.print(table)
