"""A French chart drawn by the vendored Vega in a real browser writes 1 000, 100,0 and
1 déc. 2026 (the spec's config.locale from townsquare/web/chart_locale.py)."""

from __future__ import annotations

import json
from typing import Any

from townsquare.web.chart_locale import localized

SPEC: dict[str, Any] = {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
    "data": {"values": [{"day": "2026-12-01", "value": 1000}, {"day": "2026-12-02", "value": 2.5}]},
    "mark": "bar",
    "encoding": {
        "x": {
            "field": "day",
            "type": "temporal",
            "timeUnit": "utcyearmonthdate",
            "axis": {"format": "%-d %b %Y"},
        },
        "y": {"field": "value", "type": "quantitative", "axis": {"format": ",.1f"}},
    },
}


def _labels(page: Any, base_url: str, language: str) -> str:
    scripts = "".join(
        f'<script src="{base_url}/static/vendor/{name}"></script>'
        for name in ("vega-6.2.0.min.js", "vega-lite-6.4.1.min.js", "vega-embed-7.1.0.min.js")
    )
    page.set_content(f'<html><body><div id="chart"></div>{scripts}</body></html>')
    spec = localized(json.loads(json.dumps(SPEC)), language)
    page.evaluate(
        "spec => vegaEmbed('#chart', spec, {renderer: 'svg', actions: false}).then(() => true)",
        spec,
    )
    page.wait_for_selector("#chart svg text")
    return " ".join(page.locator("#chart svg text").all_text_contents())


def test_french_chart_numbers_and_dates(page: Any, live_server: Any) -> None:
    french = _labels(page, live_server.url, "fr")
    assert "1\u202f000,0" in french, french
    assert "100,0" in french and "100.0" not in french, french  # the decimal comma
    assert "1 déc. 2026" in french, french
    english = _labels(page, live_server.url, "en")
    assert "1,000.0" in english and "1 Dec 2026" in english, english
