"""The poll's worker processes (listening/prepare.py) store exactly the mentions the
in-process path stores, and a source whose write fails leaves nothing half-written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.listen import test_sources
from tests.listen.test_sources import Site
from townsquare.config import Settings
from townsquare.listening import marks, prepare, service, sources
from townsquare.listening.models import Mention, MentionWatch, Source
from townsquare.workspaces.service import WorkspaceAccess, create_workspace, get_workspace

site = test_sources.site  # the feeds' server on loopback (fixture)
world = test_sources.world  # a workspace with two watches (fixture)
COLUMNS = (
    "dedupe_key", "network", "external_id", "url", "title", "text", "author",
    "author_followers", "published_at", "lang", "sentiment", "sentiment_auto",
    "sentiment_score",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _workers() -> Iterator[None]:
    yield
    prepare.shutdown()  # the processes this test started


def _workspace(session: Any, slug: str, settings: Settings, site: Site) -> WorkspaceAccess:
    if slug != "acme":
        create_workspace(session, slug, name=slug)
        access = WorkspaceAccess.operator(get_workspace(session, slug))
        service.create_watch(session, access, name="Acme", query="acme OR #acme", kind="brand")
        service.create_watch(session, access, name="Rival", query="rivalco", kind="competitor")
    access = WorkspaceAccess.operator(get_workspace(session, slug))
    for kind, target in (
        ("rss", site.url + "/feed.xml"),
        ("rss", site.url + "/alerts.xml"),
        ("rss", site.url + "/site.html"),
        ("rss", site.url + "/broken"),
        ("hackernews", "acme"),
        ("reddit", "acme"),
        ("web", site.url + "/page.html"),
    ):
        sources.add_source(session, access, settings, type=kind, target=target)
    marks.add_mute(session, access, "author", "lyonnais42")  # one Reddit post is muted
    return access


def _stored(session: Any, access: WorkspaceAccess) -> tuple[list[Any], list[Any]]:
    mentions = [
        (*(getattr(m, column) for column in COLUMNS), tuple(watches))
        for m, watches in service.list_mentions(session, access, limit=500)
    ]
    listed = sources.list_sources(session, access)
    # feed.xml and site.html (discovered to the same feed) yield the same items: which of
    # the two stores them first is a race, so their mentions are compared summed.
    health = [
        (s.type, s.target, s.items_last_poll, s.error_count, s.last_error, s.state) for s in listed
    ]
    return sorted(mentions, key=repr), [*health, sum(s.mentions_total for s in listed)]


def test_worker_processes_store_the_same_mentions_as_the_poll_process(
    world: tuple[object, Settings],
    site: Site,
) -> None:
    session, settings = world
    inside = _workspace(session, "acme", settings, site)
    workers = _workspace(session, "other", settings, site)
    expected = sources.poll(session, settings, inside, processes=False)  # type: ignore[arg-type]
    got = sources.poll(session, settings, workers, processes=True)  # type: ignore[arg-type]
    assert prepare._pool is not None  # the workers did run
    assert got.mentions_new == expected.mentions_new > 5
    assert (got.sources_polled, got.items_fetched) == (
        expected.sources_polled,
        expected.items_fetched,
    )
    assert [e["error"] for e in got.errors] == [e["error"] for e in expected.errors]
    assert _stored(session, workers) == _stored(session, inside)
    # The next poll through the workers stores nothing twice (304, dedupe keys).
    again = sources.poll(session, settings, workers, processes=True)  # type: ignore[arg-type]
    assert again.mentions_new == 0
    sources.poll(session, settings, inside, processes=False)  # type: ignore[arg-type]
    assert _stored(session, workers) == _stored(session, inside)


def test_a_source_whose_write_fails_leaves_nothing_half_written(
    world: tuple[object, Settings],
    site: Site,
) -> None:
    session, settings = world
    access = WorkspaceAccess.operator(get_workspace(session, "acme"))  # type: ignore[arg-type]
    source = sources.add_source(
        session, access, settings, type="rss", target=site.url + "/feed.xml"
    )  # type: ignore[arg-type]
    rows = prepare.mention_columns(list(prepare.by_key(_items()).items()))
    # The second mention names a watch that does not exist: its link cannot be written.
    prepared = prepare.Prepared(
        source.id,
        items=2,
        rows=[(rows[0], frozenset()), (rows[1], frozenset({999_999}))],  # type: ignore[list-item]
        state={},
    )
    prepared.rows = [(row, matched, None, None) for row, matched in prepared.rows]  # type: ignore[misc]
    mutes = marks.load_mutes(session, access)  # type: ignore[arg-type]
    assert sources.store_prepared(session, access, source, prepared, mutes) == 1  # type: ignore[arg-type]
    session.commit()  # type: ignore[attr-defined]
    keys = set(session.scalars(select(Mention.dedupe_key)))  # type: ignore[attr-defined]
    assert keys == {rows[0]["dedupe_key"]}  # the failed one: neither mention nor link
    assert session.scalar(select(func.count()).select_from(MentionWatch)) == 0  # type: ignore[attr-defined]
    assert session.get(Source, source.id) is not None  # type: ignore[attr-defined]


def _items() -> list[Any]:
    from townsquare.networks.items import FoundItem

    return [
        FoundItem(network="rss", external_id="a", url="https://a.example/1", title="Acme",
                  text="Acme est super"),
        FoundItem(network="rss", external_id="b", url="https://a.example/2", title="Autre",
                  text="Rien à dire"),
    ]  # fmt: skip


def test_a_chunk_whose_write_fails_goes_in_source_by_source(
    world: tuple[object, Settings], site: Site
) -> None:
    session, settings = world
    access = WorkspaceAccess.operator(get_workspace(session, "acme"))  # type: ignore[arg-type]
    first, second = (
        sources.add_source(session, access, settings, type="rss", target=f"{site.url}/{n}.xml")  # type: ignore[arg-type]
        for n in (1, 2)
    )
    rows = prepare.mention_columns(list(prepare.by_key(_items()).items()))
    watch = service.list_watches(session, access)[0].id  # type: ignore[arg-type]
    done = [
        (first, prepare.Prepared(first.id, 1, [(rows[0], frozenset({watch}), None, None)], {})),
        # A link to a watch that does not exist: the one INSERT fails, then only this
        # mention is left out (its link cannot be written, so neither is it).
        (second, prepare.Prepared(second.id, 1, [(rows[1], frozenset({999_999}), None, None)], {})),
    ]
    mutes = marks.load_mutes(session, access)  # type: ignore[arg-type]
    assert sources.store_prepared_many(session, access, done, mutes) == [1, 0]  # type: ignore[arg-type]
    session.commit()  # type: ignore[attr-defined]
    stored = session.execute(select(Mention.dedupe_key, Mention.source_id)).all()  # type: ignore[attr-defined]
    assert [tuple(row) for row in stored] == [(rows[0]["dedupe_key"], first.id)]
    links = session.scalars(select(MentionWatch.watch_id)).all()  # type: ignore[attr-defined]
    assert links == [watch]
