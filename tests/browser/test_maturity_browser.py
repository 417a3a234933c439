"""The maturity assessment filled in Debian's chromium: the radar is drawn, the stages and
the next steps shown, in English and then in French (through the language picker)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ServerThread
from townsquare.maturity import questionnaire

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]

DRAWN = '#radar[data-state="drawn"] svg'


@pytest.mark.usefixtures("logged_in")
def test_fill_the_assessment_and_see_radar_stages_and_steps(
    page: Any, live_server: ServerThread
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/w/acme/settings/maturity")
    form = page.locator("#maturity-form")
    for statement in questionnaire.STATEMENTS:
        # Metrics and measurement answered low: it becomes the weakest competency.
        value = "1" if statement.startswith("metrics.") else "4"
        if statement == "tools.networked":
            value = "2"
        form.locator(f"input[name='{statement}'][value='{value}']").check()
    form.get_by_role("button", name="See the results").click()
    page.wait_for_url("**/settings/maturity/*")
    page.wait_for_selector(DRAWN)
    # The radar draws a closed line per assessment: 8 points + the first again.
    assert page.locator(f"{DRAWN} path").count() > 0
    scores = page.locator("#maturity-scores")
    assert scores.locator("tr[data-competency='metrics'] .stage").text_content() == (
        "Early: hierarchy"
    )
    assert scores.locator("tr[data-competency='tools'] .stage").text_content() == (
        "Established community"
    )
    assert scores.locator("tr[data-competency='strategy'] .stage").text_content() == (
        "Networked organisation"
    )
    steps = page.locator("#next-steps li")
    assert steps.count() == 2
    first = steps.nth(0)
    assert "Define your KPIs, each with its formula." in first.text_content()
    assert first.get_by_role("link").get_attribute("href") == "/w/acme/measure/glossary"
    assert steps.nth(1).get_by_role("link").text_content() == "Handle availability"

    page.select_option("#language-picker", "fr")
    page.wait_for_function("document.documentElement.lang === 'fr'")
    page.wait_for_selector(DRAWN)
    assert page.locator("h1").text_content().startswith("Évaluation de maturité du")
    assert page.locator("#maturity-scores tr[data-competency='metrics'] .stage").text_content() == (
        "Débuts : hiérarchie"
    )
    assert (
        "Définissez vos KPI, chacun avec sa formule."
        in page.locator("#next-steps li").nth(0).text_content()
    )
    assert page.locator("#next-steps li").nth(0).get_by_role("link").text_content() == (
        "Glossaire des KPI"
    )
    # The radar's labels are French too.
    assert page.locator(f"{DRAWN} text", has_text="Indicateurs et mesure").count() == 1
    assert errors == []
