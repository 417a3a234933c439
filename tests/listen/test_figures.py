"""Listen's figures from stored mentions: volume per day, share of voice, spikes, the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.house.test_web_pages import client, owner_client, post  # noqa: F401
from townsquare.db import Database
from townsquare.listening import figures, service, sources
from townsquare.listening.models import Source
from townsquare.networks.items import FoundItem
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

# A minute ago: the page counts up to the present, so the burst must not lie in the future.
NOW = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)


def _store(database: Database, items: list[FoundItem]) -> WorkspaceAccess:
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        source = Source(workspace_id=access.workspace_id, type="rss", target="https://x.test/")
        session.add(source)
        session.commit()
        sources.store_items(session, access, source, items)
        session.commit()
        return access


def _item(number: int, text: str, when: datetime, followers: int | None = None) -> FoundItem:
    return FoundItem(
        "rss", f"id-{number}", f"https://x.test/{number}", "", text, "someone", followers, when
    )


def test_volume_share_of_voice_and_spikes(owner_client: TestClient, database: Database) -> None:  # noqa: F811
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        service.create_watch(session, access, name="Acme", query="acme", kind="brand")
        service.create_watch(session, access, name="Rival", query="rivalco", kind="competitor")
        service.create_watch(session, access, name="Coats", query="manteau", kind="topic")
    items = [_item(n, "acme manteau", NOW - timedelta(days=1, hours=n), 100) for n in range(3)]
    items += [_item(10, "rivalco", NOW - timedelta(days=2), 300)]
    # A burst of Acme this hour, nothing at this hour in the four previous weeks.
    items += [_item(20 + n, "acme again", NOW) for n in range(6)]
    _store(database, items)
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        since, until = NOW - timedelta(days=7), NOW + timedelta(hours=1)
        voices = {v["watch"]: v for v in figures.share_of_voice(session, access, since, until)}
        assert set(voices) == {"Acme", "Rival"}  # topics are not voices
        assert (voices["Acme"]["mentions"], voices["Rival"]["mentions"]) == (9, 1)
        assert voices["Acme"]["share_by_mentions"] == 0.9
        assert (voices["Acme"]["reach"], voices["Rival"]["reach"]) == (300, 300)
        assert voices["Rival"]["share_by_reach"] == 0.5
        volume = figures.volume_by_day(session, access, since, until)
        acme = next(w for w in volume["watches"] if w["name"] == "Acme")
        assert acme["total"] == 9 and sum(acme["counts"]) == 9 and len(volume["days"]) in (8, 9)
        acme_id = acme["id"]
        (spike,) = figures.watch_spikes(session, access, acme_id, since, until)
        assert spike.count == 6 and spike.hour == NOW.replace(minute=0)
    page = owner_client.get(f"/w/acme/listen/mentions?watch={acme_id}&days=7")
    assert page.status_code == 200
    assert "90.0%" in page.text
    assert 'id="spikes"' in page.text and "6 mentions" in page.text
    assert post(owner_client, "/language", {"language": "fr", "next": "/"}).status_code == 303
    french = owner_client.get("/w/acme/listen/mentions?days=7").text
    assert "Part de voix" in french
    assert re.search("90,0[\u00a0\u202f]%", french)  # French decimal comma, no-break space
    assert owner_client.get("/w/acme/listen/mentions?watch=nope").status_code == 404
