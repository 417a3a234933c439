"""Listen's REST API for mentions (filters, marks, corrections, noise, CSV, figures), mutes and
alerts, against a live server on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Seed, ServerThread
from townsquare.db import Database
from townsquare.listening import service, sources
from townsquare.listening.models import Source
from townsquare.networks.items import FoundItem
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
TEXTS = [
    ("Acme, j'adore !", "Julie", "https://blog.example.fr/1"),
    ("Acme : pas satisfait du tout", "Marc", "https://forum.test/2"),
    ("Acme is terrible, awful support", "spam", "https://spam.example.net/3"),
]


def _seed_mentions(database: Database, seed: Seed) -> None:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, seed.workspace))
        service.create_watch(session, access, name="Acme", query="acme")
        source = Source(workspace_id=access.workspace_id, type="rss", target="https://x.test/")
        session.add(source)
        session.commit()
        items = [
            FoundItem("rss", f"n{n}", url, "", text, author, None, NOW - timedelta(hours=n))
            for n, (text, author, url) in enumerate(TEXTS)
        ]
        assert sources.store_items(session, access, source, items) == 3
        session.commit()


def test_mentions_mutes_and_alerts_api(
    live_server: ServerThread, seed: Seed, database: Database
) -> None:
    _seed_mentions(database, seed)
    base = f"{live_server.url}/api/v1/workspaces/{seed.workspace}"
    with httpx.Client(headers=seed.headers, timeout=30) as client:
        listed = client.get(base + "/mentions")
        assert listed.status_code == 200
        by_author = {m["author"]: m for m in listed.json()}
        assert [by_author[a]["sentiment"] for a in ("Julie", "Marc", "spam")] == [
            "positive",
            "negative",
            "negative",
        ]
        julie = by_author["Julie"]
        assert julie["sentiment_auto"] == "positive" and julie["sentiment_corrected"] is False
        negative = client.get(base + "/mentions", params={"sentiment": "negative"}).json()
        assert {m["author"] for m in negative} == {"Marc", "spam"}
        bad = client.get(base + "/mentions", params={"mark": "starred"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "mark"

        changed = client.patch(
            base + f"/mentions/{julie['id']}",
            json={"important": True, "to_answer": True, "sentiment": "neutral"},
        )
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["important"] and body["to_answer"] and not body["read"]
        assert body["sentiment"] == "neutral" and body["sentiment_corrected"] is True
        assert body["sentiment_auto"] == "positive"
        wrong = client.patch(base + f"/mentions/{julie['id']}", json={"sentiment": "happy"})
        assert wrong.status_code == 422
        assert client.patch(base + "/mentions/999999", json={"read": True}).status_code == 404

        since = (NOW - timedelta(days=1)).isoformat()
        until = (NOW + timedelta(hours=1)).isoformat()
        figures = client.get(
            base + "/mentions/figures", params={"since": since, "until": until, "watch": "Acme"}
        )
        assert figures.status_code == 200, figures.text
        data = figures.json()
        assert data["corrections"] == {"classified": 3, "corrected": 1, "changed": 1}
        assert sum(data["sentiment_by_day"]["negative"]) == 2
        assert data["tops"]["terms"][0] == {"term": "acme", "mentions": 3}

        exported = client.get(base + "/mentions.csv", params={"mark": "important"})
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [row["author"] for row in rows] == ["Julie"]
        assert rows[0]["sentiment"] == "neutral" and rows[0]["sentiment_corrected"] == "true"

        spam = by_author["spam"]
        noise = client.post(base + f"/mentions/{spam['id']}/noise", json={"mute": "site"})
        assert noise.status_code == 204
        mutes = client.get(base + "/mutes").json()
        assert [(m["kind"], m["value"]) for m in mutes] == [("site", "spam.example.net")]
        assert {m["author"] for m in client.get(base + "/mentions").json()} == {"Julie", "Marc"}
        added = client.post(base + "/mutes", json={"kind": "author", "value": "@MARC"})
        assert added.status_code == 201 and added.json()["value"] == "marc"
        assert client.post(base + "/mutes", json={"kind": "x", "value": "y"}).status_code == 422
        assert client.delete(base + f"/mutes/{added.json()['id']}").status_code == 204

        alert = client.post(
            base + "/alerts",
            json={"watch": "Acme", "url": "json://user:pw@93.184.215.14/hook", "mode": "negative"},
        )
        assert alert.status_code == 201, alert.text
        made = alert.json()
        assert made["mode"] == "negative" and made["url"] == "json://93.184.215.14/…"
        assert made["failures"] == 0 and made["last_error"] is None
        refused = client.post(
            base + "/alerts", json={"watch": "Acme", "url": "json://93.184.215.14/", "mode": "x"}
        )
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "mode"
        assert client.get(base + "/alerts", params={"watch": "Acme"}).json()[0]["id"] == made["id"]
        assert client.get(base + f"/alerts/{made['id']}").json()["mode"] == "negative"
        assert client.delete(base + f"/alerts/{made['id']}").status_code == 204
        assert client.get(base + f"/alerts/{made['id']}").status_code == 404

        watch = client.get(base + "/watches").json()[0]
        assert watch["spike_threshold"] == 3.0
        tuned = client.patch(base + f"/watches/{watch['id']}", json={"spike_threshold": 5})
        assert tuned.status_code == 200 and tuned.json()["spike_threshold"] == 5.0
        too_low = client.patch(base + f"/watches/{watch['id']}", json={"spike_threshold": 0.2})
        assert too_low.status_code == 422


def test_figures_refuse_a_period_they_cannot_answer_in_words(
    live_server: ServerThread, seed: Seed
) -> None:
    """Far-off years overflowed in a zone shift (500) and a ten-thousand-year span built a
    per-day series for 35 s: both are now a 422 that names the field and the bound."""
    base = f"{live_server.url}/api/v1/workspaces/{seed.workspace}/mentions/figures"
    cases = {
        ("0001-01-01T00:00:00+01:00", "2000-01-01T00:00:00Z"): ("since", "1970"),
        ("2000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"): ("until", "2200"),
        ("1990-01-01T00:00:00Z", "2100-01-01T00:00:00Z"): ("until", "3660"),
        ("2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"): ("until", "after"),
        ("2026-01-01T00:00:00", "2026-02-01T00:00:00Z"): ("since", "time zone"),
    }
    with httpx.Client(headers=seed.headers, timeout=30) as client:
        for (since, until), (field, words) in cases.items():
            answer = client.get(base, params={"since": since, "until": until})
            assert answer.status_code == 422, (since, until, answer.text)
            error = answer.json()["error"]
            assert error["field"] == field and words in error["message"], error
        fine = client.get(
            base, params={"since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"}
        )
        assert fine.status_code == 200 and len(fine.json()["sentiment_by_day"]["days"]) == 31
