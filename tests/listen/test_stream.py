"""The mentions stream: sentiment at ingestion, corrections, marks, noise and mutes, tops,
CSV, on SQLite and PostgreSQL, through the services and the pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.house.test_web_pages import client, owner_client, post  # noqa: F401
from townsquare.db import Database
from townsquare.errors import NotFound, ValidationError
from townsquare.listening import figures, marks, service, sources, tops
from townsquare.listening.models import Mention, Source
from townsquare.networks.items import FoundItem
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


def _item(number: int, text: str, author: str, url: str, followers: int | None = None) -> FoundItem:
    return FoundItem(
        "rss", f"id-{number}", url, "", text, author, followers, NOW - timedelta(hours=number)
    )


ITEMS = [
    _item(1, "J'adore Acme, livraison rapide 😍", "Julie", "https://blog.example.fr/a", 120),
    _item(2, "Acme: je ne suis pas satisfait du service client", "@Marc", "https://forum.test/1"),
    _item(3, "I love the new Acme app, great work", "julie", "https://www.news.example.com/2"),
    _item(4, "Acme est nul, le colis est arrivé cassé", "spammer", "https://spam.example.net/x"),
    _item(5, "Acme horaires d'ouverture du magasin", "Shop", "https://sub.spam.example.net/y"),
]


def _seed(database: Database) -> WorkspaceAccess:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        service.create_watch(session, access, name="Acme", query="acme", kind="brand")
        source = Source(workspace_id=access.workspace_id, type="rss", target="https://x.test/")
        session.add(source)
        session.commit()
        assert sources.store_items(session, access, source, ITEMS) == 5
        session.commit()
        return access


def _mention(session, access: WorkspaceAccess, number: int) -> Mention:  # type: ignore[no-untyped-def]
    return session.scalars(
        select(Mention).where(
            Mention.workspace_id == access.workspace_id, Mention.external_id == f"id-{number}"
        )
    ).one()


def test_sentiment_corrections_marks_noise_and_mutes(
    owner_client: TestClient,  # noqa: F811
    database: Database,
) -> None:
    _seed(database)
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        feelings = {n: _mention(session, access, n).sentiment for n in range(1, 6)}
        assert feelings == {
            1: "positive",
            2: "negative",
            3: "positive",
            4: "negative",
            5: "neutral",
        }
        first = _mention(session, access, 1)
        assert first.sentiment_auto == "positive" and first.sentiment_score > 0.05
        listed = service.list_mentions(session, access, sentiment="negative")
        assert sorted(m.external_id for m, _w in listed) == ["id-2", "id-4"]

        # A correction counts instead of the classifier's label, and can be undone.
        marks.correct_sentiment(session, access, _mention(session, access, 5).id, "negative")
        since, until = NOW - timedelta(days=1), NOW + timedelta(hours=1)
        assert figures.corrections(session, access, since, until) == {
            "classified": 5,
            "corrected": 1,
            "changed": 1,
        }
        by_day = figures.sentiment_by_day(session, access, since, until)
        assert sum(by_day["negative"]) == 3 and sum(by_day["neutral"]) == 0
        with pytest.raises(ValidationError, match="unknown sentiment 'angry'"):
            marks.correct_sentiment(session, access, first.id, "angry")
        marks.correct_sentiment(session, access, _mention(session, access, 5).id, "auto")
        assert _mention(session, access, 5).sentiment == "neutral"

        marks.set_mark(session, access, first.id, "important")
        marks.set_mark(session, access, first.id, "read")
        filtered = service.list_mentions(
            session, access, filters=service.MentionFilter(mark="important")
        )
        assert [m.id for m, _w in filtered] == [first.id]
        unread = service.list_mentions(
            session, access, filters=service.MentionFilter(mark="unread")
        )
        assert first.id not in [m.id for m, _w in unread] and len(unread) == 4
        with pytest.raises(ValidationError, match="unknown mark 'starred'"):
            marks.set_mark(session, access, first.id, "starred")
        with pytest.raises(NotFound):
            marks.set_mark(session, access, 10**9, "read")

        # Tops: authors by mentions, sites without www., terms without common words.
        top = tops.tops(session, access, since, until)
        assert top["authors"][0]["mentions"] == 1
        assert {"site": "news.example.com", "mentions": 1} in top["sites"]
        assert top["terms"][0] == {"term": "acme", "mentions": 5}
        assert all(row["term"] not in ("est", "the", "le") for row in top["terms"])

        # Never from this site: the stored ones from it and its subdomains become noise.
        spam = _mention(session, access, 4)
        marks.delete_as_noise(session, access, spam.id, mute="site")
        left = {m.external_id for m, _w in service.list_mentions(session, access)}
        assert left == {"id-1", "id-2", "id-3"}
        marks.add_mute(session, access, "author", "@JULIE")
        assert [m.value for m in marks.list_mutes(session, access)] == ["julie", "spam.example.net"]
        left = {m.external_id for m, _w in service.list_mentions(session, access)}
        assert left == {"id-2"}
        assert figures.volume_by_day(session, access, since, until)["watches"][0]["total"] == 1
        with pytest.raises(ValidationError, match="nothing to mute"):
            marks.add_mute(session, access, "site", "   ")
        # The mute list applies at ingestion.
        source = session.scalars(select(Source)).first()
        assert source is not None
        later = [
            _item(10, "Acme encore", "Julie", "https://elsewhere.test/1"),
            _item(11, "Acme promo", "Bob", "https://deep.spam.example.net/2"),
            _item(12, "Acme nouvelle boutique", "Bob", "https://fine.test/3"),
        ]
        assert sources.store_items(session, access, source, later) == 1
        session.commit()


def test_stream_page_actions_and_csv(owner_client: TestClient, database: Database) -> None:  # noqa: F811
    access = _seed(database)
    with database.session() as session:
        positive = _mention(session, access, 1).id
        neutral = _mention(session, access, 5).id
        watch_id = service.get_watch(session, access, "Acme").id
    page = owner_client.get(f"/w/acme/listen/mentions?watch={watch_id}&days=7")
    assert page.status_code == 200
    assert 'id="sentiment-chart"' in page.text and 'id="top-terms"' in page.text
    assert "Never from this author" in page.text
    back = f"/w/acme/listen/mentions?watch={watch_id}&days=7"
    done = post(
        owner_client,
        f"/w/acme/listen/mentions/{neutral}/sentiment",
        {"sentiment": "positive", "next": back},
    )
    assert done.status_code == 303 and done.headers["location"] == back
    marked = post(
        owner_client,
        f"/w/acme/listen/mentions/{positive}/mark",
        {"mark": "to_answer", "value": "1", "next": "https://evil.test/"},
    )
    assert marked.headers["location"] == "/w/acme/listen/mentions"  # never elsewhere
    filtered = owner_client.get("/w/acme/listen/mentions?mark=to_answer")
    assert filtered.text.count('<article class="mention') == 1
    assert "1 of 5 sentiments corrected by hand" in owner_client.get(back).text
    noise = post(owner_client, f"/w/acme/listen/mentions/{neutral}/noise", {"mute": "author"})
    assert noise.status_code == 303
    assert "Muted authors and sites" in owner_client.get(back).text

    exported = owner_client.get("/w/acme/listen/mentions.csv?sentiment=positive")
    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {row["id"] for row in rows} == {str(positive), str(_id(database, access, 3))}
    assert {row["sentiment"] for row in rows} == {"positive"}
    first = next(row for row in rows if row["id"] == str(positive))
    assert first["to_answer"] == "true" and first["watches"] == "Acme"
    assert post(owner_client, "/language", {"language": "fr", "next": "/"}).status_code == 303
    french = owner_client.get("/w/acme/listen/mentions.csv?sentiment=positive")
    assert french.text.startswith("\ufeff")
    header = french.text.lstrip("\ufeff").splitlines()[0].split(";")
    assert header[:3] == ["Identifiant", "Publiée le (UTC)", "Réseau"]
    assert "Sentiment par jour" in owner_client.get(back).text
    bad = owner_client.get("/w/acme/listen/mentions?from=2026-13-01")
    assert bad.status_code == 422


def _id(database: Database, access: WorkspaceAccess, number: int) -> int:
    with database.session() as session:
        return _mention(session, access, number).id
