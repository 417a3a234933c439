"""Charts follow the page's language: the Vega-Lite spec of a French page carries the French
number and date conventions (config.locale), built from babel's CLDR data; English keeps
d3's defaults. (tests/browser/test_chart_locale_browser.py draws one with the real Vega.)"""

from __future__ import annotations

from townsquare.web.chart_locale import localized, vega_locale


def test_french_numbers_and_dates() -> None:
    locale = vega_locale("fr")
    assert locale is not None
    assert locale["number"]["decimal"] == ","
    assert locale["number"]["thousands"] == "\u202f"  # 1 000 with a narrow no-break space
    assert locale["time"]["shortMonths"][11] == "déc."
    assert locale["time"]["months"][0] == "janvier"
    assert locale["time"]["days"][:2] == ["dimanche", "lundi"]  # d3 starts on Sunday


def test_english_keeps_the_defaults() -> None:
    assert vega_locale("en") is None
    assert localized({"mark": "bar"}, "en") == {"mark": "bar"}


def test_localized_spec_keeps_its_config() -> None:
    spec = localized({"mark": "bar", "config": {"view": {"stroke": None}}}, "fr")
    assert spec is not None
    assert spec["config"]["view"] == {"stroke": None}
    assert spec["config"]["locale"] == vega_locale("fr")
    assert localized(None, "fr") is None
