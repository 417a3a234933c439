"""The questionnaire, the scoring method and the next steps (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townsquare.errors import ValidationError
from townsquare.maturity import questionnaire, scoring, steps

IDS = list(questionnaire.STATEMENTS)


def answers(value: int = 3, **changes: int) -> dict[str, int]:
    found = dict.fromkeys(IDS, value)
    found.update({key.replace("__", "."): v for key, v in changes.items()})
    return found


def test_questionnaire_shape() -> None:
    data = questionnaire.questions_json()
    assert data["scale"]["min"] == 1 and data["scale"]["max"] == 5
    assert [s["id"] for s in data["stages"]] == ["early", "emergent", "established", "networked"]
    assert [c["id"] for c in data["competencies"]] == [
        "strategy",
        "leadership",
        "culture",
        "community_management",
        "content",
        "governance",
        "tools",
        "metrics",
    ]
    for competency in data["competencies"]:
        assert set(competency["name"]) == {"fr", "en"}
        assert [s["stage"] for s in competency["statements"]] == list(questionnaire.STAGE_IDS)
        for statement in competency["statements"]:
            assert statement["text"]["fr"] and statement["text"]["en"]
            assert statement["text"]["fr"] != statement["text"]["en"]
    assert len(IDS) == 32 and len(set(IDS)) == 32


def test_scores_and_stages_follow_the_ladder() -> None:
    result = {
        c["id"]: c
        for c in scoring.score(
            answers(
                3,
                strategy__early=5,
                strategy__emergent=4,
                strategy__established=2,
                strategy__networked=5,
                tools__early=1,
                tools__emergent=5,
                tools__established=5,
                tools__networked=5,
                metrics__early=4,
                metrics__emergent=4,
                metrics__established=4,
                metrics__networked=4,
            )
        )
    }
    # (1 + 0.75 + 0.25 + 1) / 4 = 0.75; established is missing, so the networked practice
    # does not count for the stage.
    assert result["strategy"] == {"id": "strategy", "score": 75.0, "stage": "emergent"}
    assert result["tools"] == {"id": "tools", "score": 75.0, "stage": "early"}  # the floor
    assert result["metrics"] == {"id": "metrics", "score": 75.0, "stage": "networked"}
    assert result["culture"] == {"id": "culture", "score": 50.0, "stage": "early"}


@given(st.lists(st.integers(1, 5), min_size=32, max_size=32))
def test_scores_are_bounded_and_stages_known(values: list[int]) -> None:
    for item in scoring.score(dict(zip(IDS, values, strict=True))):
        assert 0 <= item["score"] <= 100
        assert item["stage"] in questionnaire.STAGE_IDS


def test_bad_answers_are_all_reported() -> None:
    bad = answers(3)
    bad["strategy.early"] = 6
    bad["tools.early"] = "a lot"  # type: ignore[assignment]
    del bad["metrics.networked"]
    bad["nonsense.x"] = 3
    with pytest.raises(ValidationError) as caught:
        scoring.parse_answers(bad)
    fields = [p["field"] for p in caught.value.problems]
    assert fields == ["strategy.early", "tools.early", "nonsense.x", "metrics.networked"]
    assert "(and 3 more)" in caught.value.message
    with pytest.raises(ValidationError, match="must map statement ids"):
        scoring.parse_answers([1, 2, 3])
    with pytest.raises(ValidationError):
        scoring.parse_answers({**answers(3), "strategy.early": True})
    assert scoring.parse_answers({**answers(3), "strategy.early": "5"})["strategy.early"] == 5


def test_next_steps_for_the_weakest_point_into_the_product() -> None:
    result = scoring.score(
        answers(4, metrics__emergent=1, metrics__established=1, tools__established=2)
    )
    found = steps.next_steps(result, "acme")
    assert [s["competency"] for s in found] == ["metrics", "tools"]  # others are networked
    assert found[0]["stage"] == "emergent"
    assert found[0]["url"] == "/w/acme/measure/glossary"
    assert found[0]["text"]["en"] == "Define your KPIs, each with its formula."
    assert found[1]["url"] == "/w/acme/links"
    # Monthly reporting leads to Reports, by name.
    metrics_later = steps.step_for("metrics", "emergent")
    assert metrics_later is not None and metrics_later.target == "reports"
    assert steps.TARGETS["reports"][1]["en"] == "Reports"
    weakest = steps.next_steps(scoring.score(answers(1)), "acme")
    assert [s["competency"] for s in weakest] == ["strategy", "leadership", "culture"]
    assert steps.next_steps(scoring.score(answers(5)), "acme") == []


def test_every_competency_has_a_step_towards_each_later_stage() -> None:
    for competency in questionnaire.COMPETENCIES:
        for stage in questionnaire.STAGE_IDS[:-1]:
            step = steps.step_for(competency.id, stage)
            assert step is not None and step.text["fr"] and step.text["en"]
    pointing = [s for s in steps.STEPS if s.target]
    assert len(pointing) >= 10


def test_compare() -> None:
    before = scoring.score(answers(2))
    after = scoring.score(answers(4))
    rows = scoring.compare(before, after)
    assert rows[0] == {
        "id": "strategy",
        "before": 25.0,
        "after": 75.0,
        "change": 50.0,
        "stage_before": "early",
        "stage_after": "networked",
    }
