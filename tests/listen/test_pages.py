"""Listen's pages: create, edit and delete a watch, try a text, the query language help."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.house.test_web_pages import client, count, owner_client, post  # noqa: F401
from townsquare.db import Database


def test_create_try_edit_delete(owner_client: TestClient, database: Database) -> None:  # noqa: F811
    page = owner_client.get("/w/acme/listen")
    assert page.status_code == 200
    assert "No watch yet" in page.text
    created = post(
        owner_client,
        "/w/acme/listen/watches",
        {"name": "Acme", "query": "(acme OR #acme) -emploi", "kind": "brand"},
    )
    assert created.status_code == 303
    watch_url = created.headers["location"].split("?")[0]
    shown = owner_client.get(created.headers["location"])
    assert "Watch created." in shown.text
    assert "(acme OR #acme) -emploi" in shown.text

    tried = post(owner_client, "/w/acme/listen/try", {"text": "J'adore <b>#ACME</b> !"})
    assert tried.status_code == 200
    assert "Matched by:</strong> Acme" in tried.text
    # The pasted text is escaped, the matched word highlighted.
    assert "&lt;b&gt;<mark>#ACME</mark>&lt;/b&gt;" in tried.text
    draft = post(
        owner_client, "/w/acme/listen/try", {"text": "Acme recrute", "query": "acme -recrute"}
    )
    assert "does not match" in draft.text
    bad_draft = post(owner_client, "/w/acme/listen/try", {"text": "x", "query": '"oops'})
    assert "unclosed quote at column 1" in bad_draft.text

    bad = post(
        owner_client, watch_url + "/edit", {"name": "Acme", "query": "acme AND", "kind": "brand"}
    )
    assert bad.status_code == 422
    assert "AND needs a term after it at column 9" in bad.text
    assert 'aria-invalid="true"' in bad.text
    with database.session() as session:
        from sqlalchemy import text

        assert session.execute(text("SELECT query FROM watches")).scalar_one() == (
            "(acme OR #acme) -emploi"
        )
    saved = post(
        owner_client, watch_url + "/edit", {"name": "Acme", "query": "acme", "kind": "topic"}
    )
    assert saved.status_code == 303
    assert "Watch saved." in owner_client.get(saved.headers["location"]).text

    deleted = post(owner_client, watch_url + "/delete")
    assert deleted.status_code == 303
    assert "Watch Acme deleted." in owner_client.get(deleted.headers["location"]).text
    assert count(database, "watches") == 0


def test_bad_new_watch_keeps_the_form(owner_client: TestClient, database: Database) -> None:  # noqa: F811
    answer = post(
        owner_client, "/w/acme/listen/watches", {"name": "Acme", "query": "lu*", "kind": "brand"}
    )
    assert answer.status_code == 422
    assert "at least 3 letters" in answer.text
    assert 'value="Acme"' in answer.text
    assert count(database, "watches") == 0


def test_pages_in_french(owner_client: TestClient) -> None:  # noqa: F811
    assert post(owner_client, "/language", {"language": "fr", "next": "/"}).status_code == 303
    listen = owner_client.get("/w/acme/listen")
    assert "Veilles" in listen.text and "Créer une veille" in listen.text
    helppage = owner_client.get("/w/acme/listen/help")
    assert "Le langage de requête" in helppage.text
    assert "à 3 mots d’écart au plus" in helppage.text
