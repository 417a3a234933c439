"""What was built without a test: `listen classify`, negative-sentiment alerts, alerts in
the reader's language, the alerts page (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import SmtpServer, make_settings
from tests.house.test_cli import Cli
from tests.house.test_web_pages import client, count, owner_client, post  # noqa: F401
from tests.listen.test_alerts import BOX, Receiver, _mentions, receiver, world  # noqa: F401
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.listening import alerts, service
from townsquare.listening.models import Alert
from townsquare.workspaces.models import User
from townsquare.workspaces.service import WorkspaceAccess


@pytest.fixture
def db_settings(database: Database, data_dir: Path) -> Settings:
    """The web app's settings, with loopback destinations allowed (the receivers are local)."""
    return make_settings(data_dir, database.url, allow_private_urls=True)


@pytest.fixture
def cli(database: Database, data_dir: Path) -> Cli:
    return Cli(data_dir, database.url)


def test_listen_classify(cli: Cli, tmp_path: Path) -> None:
    texts = tmp_path / "texts.jsonl"
    lines = [
        {"id": 1, "text": "J'adore la nouvelle collection, bravo à l'équipe !"},
        {"id": "b", "text": "Terrible support, I am very disappointed and angry"},
        {"id": 3, "text": "Je ne suis pas satisfait du tout", "lang": "fr"},
        {"id": 4, "text": "The shop opens at nine", "lang": "en"},
        {"id": 5, "text": "Der Laden ist heute geschlossen", "lang": "de"},
    ]
    texts.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    result = cli("listen", "classify", "--input", str(texts), "--json")
    assert result.code == 0, result.err
    out = [json.loads(line) for line in result.out.splitlines()]
    assert [row["id"] for row in out] == [1, "b", 3, 4, 5]
    assert all(set(row) == {"id", "lang", "sentiment", "score"} for row in out)
    by_id = {row["id"]: row for row in out}
    assert (by_id[1]["lang"], by_id[1]["sentiment"]) == ("fr", "positive")
    assert by_id[1]["score"] > 0
    assert (by_id["b"]["lang"], by_id["b"]["sentiment"]) == ("en", "negative")
    assert by_id["b"]["score"] < 0
    assert by_id[3]["sentiment"] == "negative"  # "pas satisfait": negation
    assert by_id[4]["sentiment"] == "neutral"
    # Neither French nor English: no sentiment rather than a wrong one.
    assert by_id[5] == {"id": 5, "lang": "de", "sentiment": None, "score": None}

    from_stdin = cli("listen", "classify", input='{"id": 7, "text": "Génial, merci !"}\n')
    assert from_stdin.code == 0, from_stdin.err
    assert json.loads(from_stdin.out)["sentiment"] == "positive"

    for content, words in [
        ('{"id": 1, "text": "ok"}\n{oops\n', "line 2 is not valid JSON"),
        ('{"id": 1}\n', 'line 1 needs an object with a "text"'),
    ]:
        texts.write_text(content)
        bad = cli("listen", "classify", "--input", str(texts))
        assert bad.code == 2, content
        assert words in bad.err
    assert cli("listen", "classify", "--input", str(tmp_path / "none")).code == 2


def test_negative_alerts_send_only_the_negative_mentions(
    world: tuple[object, object, WorkspaceAccess],  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    session, settings, access = world
    watch = service.get_watch(session, access, "Acme")  # type: ignore[arg-type]
    alerts.add_alert(
        session,  # type: ignore[arg-type]
        access,
        settings,  # type: ignore[arg-type]
        BOX,
        watch=watch,
        url=f"json://127.0.0.1:{receiver.port}/hook",
        mode="negative",
    )
    now = datetime.now(UTC)
    texts = [
        "Acme : service client horrible, je suis très déçu",
        "J'adore Acme, bravo !",
        "Acme is awful, terrible support",
        "Acme ouvre une boutique",
    ]
    assert _mentions(session, access, texts, now) == 4
    assert alerts.run_alerts(session, settings, BOX, access, now=now) == 1  # type: ignore[arg-type]
    (hook,) = receiver.bodies
    assert hook["title"] == "2 new negative mention(s) for Acme"
    body = str(hook["message"])
    assert "très déçu" in body and "awful" in body
    assert "bravo" not in body and "boutique" not in body
    # Told once; a positive mention later says nothing.
    _mentions(session, access, ["Acme, super équipe !"], now)
    later = now.replace(year=now.year + 1)
    assert alerts.run_alerts(session, settings, BOX, access, now=later) == 0  # type: ignore[arg-type]


def test_alerts_are_written_in_the_language_of_the_watch_author(
    world: tuple[object, object, WorkspaceAccess],  # noqa: F811
    smtp_server: SmtpServer,
    receiver: Receiver,  # noqa: F811
) -> None:
    session, settings, access = world
    author = User(email="cm@acme.test", password_hash="x", language="fr")
    session.add(author)  # type: ignore[attr-defined]
    session.commit()  # type: ignore[attr-defined]
    french = WorkspaceAccess(workspace=access.workspace, user=author, role=access.role)
    watch = service.create_watch(session, french, name="Lumière", query="lumière")  # type: ignore[arg-type]
    mail_url = f"mailto://127.0.0.1:{smtp_server.port}?from=alerts@acme.test&to=cm@acme.test"
    for url in (mail_url, f"json://127.0.0.1:{receiver.port}/hook"):
        alerts.add_alert(session, access, settings, BOX, watch=watch, url=url)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    texts = [f"Lumière numéro {n}" for n in range(12)]
    _mentions(session, access, texts, now)
    assert alerts.run_alerts(session, settings, BOX, access, now=now) == 2  # type: ignore[arg-type]
    (message,) = smtp_server.wait_for(1)
    assert message["Subject"] == "12 nouvelle(s) mention(s) pour Lumière"
    (hook,) = receiver.bodies
    assert hook["title"] == "12 nouvelle(s) mention(s) pour Lumière"
    assert "… et 2 de plus" in str(hook["message"])
    # The English watch's alerts stay in English.
    assert alerts.reader_language(session, service.get_watch(session, access, "Acme")) == "en"  # type: ignore[arg-type]


def test_alerts_page(owner_client: TestClient, database: Database) -> None:  # noqa: F811
    assert post(
        owner_client, "/w/acme/listen/watches", {"name": "Acme", "query": "acme", "kind": "brand"}
    ).status_code == 303  # fmt: skip
    page = owner_client.get("/w/acme/listen/alerts")
    assert page.status_code == 200
    with database.session() as session:
        watch_id = session.scalar(select(service.Watch.id))
    # A destination apprise does not know: the form comes back with the error, nothing stored.
    bad = post(
        owner_client,
        "/w/acme/listen/alerts",
        {"watch": str(watch_id), "url": "nope://x", "mode": "instant", "group_minutes": "15"},
    )
    assert bad.status_code == 422, bad.text
    assert "is not a destination apprise knows" in bad.text
    assert 'value="nope://x"' in bad.text or "nope://" in bad.text
    assert count(database, "listen_alerts") == 0
    bad_time = post(
        owner_client,
        "/w/acme/listen/alerts",
        {"watch": str(watch_id), "url": "json://127.0.0.1:9/h", "mode": "digest", "at": "25:00"},
    )
    assert bad_time.status_code == 422 and "is not a time" in bad_time.text
    assert count(database, "listen_alerts") == 0

    added = post(
        owner_client,
        "/w/acme/listen/alerts",
        {
            "watch": str(watch_id),
            "url": "json://user:s3cret@127.0.0.1:9/hook",
            "mode": "digest",
            "at": "7:30",
            "group_minutes": "15",
        },
    )
    assert added.status_code == 303, added.text
    shown = owner_client.get(added.headers["location"])
    assert shown.status_code == 200
    assert "json://127.0.0.1:9/…" in shown.text and "s3cret" not in shown.text
    assert "07:30" in shown.text
    with database.session() as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.mode, alert.at_time, alert.watch_id) == ("digest", "07:30", watch_id)
        alert_id = alert.id

    assert post(owner_client, "/language", {"language": "fr", "next": "/"}).status_code == 303
    french = owner_client.get("/w/acme/listen/alerts")
    assert french.status_code == 200 and "Alertes" in french.text

    removed = post(owner_client, f"/w/acme/listen/alerts/{alert_id}/delete")
    assert removed.status_code == 303
    assert owner_client.get(removed.headers["location"]).status_code == 200
    assert count(database, "listen_alerts") == 0
    assert post(owner_client, f"/w/acme/listen/alerts/{alert_id}/delete").status_code == 404


def test_detect_many_gives_the_answers_of_detect() -> None:
    from tests.listen.test_sentiment_eval import english_texts
    from townsquare.listening.language import detect, detect_many

    texts = [text for text, _label in english_texts()]
    texts += [
        "J'adore la nouvelle collection, bravo à l'équipe !",
        "Je ne suis pas satisfait du tout",
        "Der Laden ist heute geschlossen",
        "¡Hola! ¿Qué tal la tienda?",
        "日本語のテキストです",
        "Привет, как дела?",
        "ACME EST GÉNIAL",
        "😀😀 super",
        "ok",
        "",
        "x" * 3000,
        "Un texte assez long en français, " * 80,
    ]
    assert detect_many(texts) == [detect(text) for text in texts]
    assert detect_many([]) == []
