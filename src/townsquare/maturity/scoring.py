"""From answers to scores and stages: the method, as pure functions.

1. Every statement is answered on the scale (1 = not true at all … 5 = entirely true).
   An answer counts as ``(value − min) / (max − min)``, from 0 to 1.
2. A competency's **score** (0 to 100) is the mean of its statements' answers × 100,
   rounded to one decimal: every stage weighs the same.
3. A competency's **stage** is climbed rung by rung: a stage is reached when its statement
   is answered at least "mostly true" (4 of 5, ``REACHED_AT``) and every stage below is
   reached too. The first stage (early: hierarchy) is the floor, where a competency is
   until the next one is reached; a practice of a higher stage does not count while a lower
   one is missing, since a ladder with a missing rung is not climbed.
4. The **weakest** competencies are the lowest scores (ties in the questionnaire's order),
   at most ``WEAKEST`` of them, among those not yet at the last stage (a next step is the
   step to the stage after the one reached).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from townsquare.errors import ValidationError, problem
from townsquare.maturity.questionnaire import (
    COMPETENCIES,
    SCALE_MAX,
    SCALE_MIN,
    STAGE_IDS,
    STATEMENTS,
)
from townsquare.messages import Message

REACHED_AT = 4
WEAKEST = 3


def parse_answers(raw: Any) -> dict[str, int]:
    """``{statement id: value}`` checked whole: every statement, each on the scale.

    All the problems are reported at once (``ValidationError.problems``), nothing is kept.
    """
    if not isinstance(raw, Mapping):
        raise ValidationError(
            'answers must map statement ids to values, e.g. {"strategy.early": 4, …}: see '
            "`townsquare maturity questions --json`",
            field="answers",
        )
    problems: list[dict[str, object]] = []
    answers: dict[str, int] = {}
    for key, value in raw.items():
        if key not in STATEMENTS:
            problems.append(problem(str(key), "unknown statement %(key)r", key=key))
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            number = None
        else:
            try:
                number = int(value)
            except ValueError:
                number = None
        if number is None or not SCALE_MIN <= number <= SCALE_MAX:
            problems.append(
                problem(
                    key,
                    "%(key)s: %(value)r is not on the scale (%(low)s to %(high)s)",
                    key=key,
                    value=value,
                    low=SCALE_MIN,
                    high=SCALE_MAX,
                )
            )
            continue
        answers[key] = number
    missing = [key for key in STATEMENTS if key not in raw]
    problems.extend(problem(key, "%(key)s: no answer", key=key) for key in missing)
    if problems:
        first = problems[0]
        more = (
            Message(" (and %(count)s more)", count=len(problems) - 1) if len(problems) > 1 else ""
        )
        raise ValidationError(
            "%(first)s%(more)s: answer every statement with a value from %(low)s to %(high)s",
            params={"first": first["message"], "more": more, "low": SCALE_MIN, "high": SCALE_MAX},
            field=str(first["field"]),
            problems=problems,
        )
    return answers


def normalised(value: int) -> float:
    return (value - SCALE_MIN) / (SCALE_MAX - SCALE_MIN)


def score(answers: Mapping[str, int]) -> list[dict[str, Any]]:
    """``[{"id", "score", "stage"}, …]`` per competency, in the questionnaire's order."""
    results: list[dict[str, Any]] = []
    for competency in COMPETENCIES:
        values = [answers[s.id] for s in competency.statements]
        mean = sum(normalised(v) for v in values) / len(values)
        reached = STAGE_IDS[0]
        for statement in competency.statements:
            if answers[statement.id] < REACHED_AT:
                break
            reached = statement.stage
        results.append({"id": competency.id, "score": round(mean * 100, 1), "stage": reached})
    return results


def weakest(competencies: list[dict[str, Any]], limit: int = WEAKEST) -> list[dict[str, Any]]:
    """The competencies with the lowest scores, lowest first (ties: questionnaire order)."""
    order = {item["id"]: index for index, item in enumerate(competencies)}
    room = [c for c in competencies if c["stage"] != STAGE_IDS[-1]]
    return sorted(room, key=lambda c: (c["score"], order[c["id"]]))[:limit]


def compare(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per competency: both scores, the change (after − before) and both stages."""
    earlier = {item["id"]: item for item in before}
    rows: list[dict[str, Any]] = []
    for item in after:
        old = earlier.get(item["id"])
        rows.append(
            {
                "id": item["id"],
                "before": old["score"] if old else None,
                "after": item["score"],
                "change": round(item["score"] - old["score"], 1) if old else None,
                "stage_before": old["stage"] if old else None,
                "stage_after": item["stage"],
            }
        )
    return rows
