"""Publish's pages with the real app: compose for Mastodon and Bluesky with live counting,
the post page and approval by another member, the calendar (month, week, list, filters,
drag to reschedule), the attention list, the settings with webhooks and the iCal feed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.house.test_web_pages import client, log_in, owner_client, post  # noqa: F401
from tests.publish import web_seed
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.publish.models import PublishVariant
from townsquare.workspaces import service
from townsquare.workspaces.access import WorkspaceAccess, get_workspace

SOON = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=30, second=0, microsecond=0)


def _variants(database: Database) -> list[PublishVariant]:
    with database.session() as session:
        rows = list(session.scalars(select(PublishVariant).order_by(PublishVariant.id)))
        session.expunge_all()
        return rows


def _compose(owner: TestClient, ids: dict[str, int], **extra: str) -> object:
    data = {
        "channel": [str(ids["mastodon"]), str(ids["bluesky"])],
        "part": "Nouvelle carte d’hiver ☕🇫🇷 https://cafe.example/carte",
        "at": SOON.strftime("%Y-%m-%dT%H:%M"),
        "action": "at",
        "language": "fr",
        **extra,
    }
    return post(owner, "/w/acme/publish/new", data)  # type: ignore[arg-type]


def test_compose_count_schedule_and_see_it_on_the_calendar(
    owner_client: TestClient,  # noqa: F811
    database: Database,
) -> None:
    ids = web_seed.channels(database)
    page = owner_client.get("/w/acme/publish/new")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text and 'hx-post="/w/acme/publish/count"' in page.text
    # Live counting as each network counts: a URL is 23 on Mastodon; Bluesky counts graphemes
    # and bytes; 301 graphemes are over Bluesky's 300.
    text = "é🇫🇷👍🏽 https://example.com/a/very/long/path/that/is/longer/than/23"
    counted = post(
        owner_client,
        "/w/acme/publish/count",
        {"channel": [str(ids["mastodon"]), str(ids["bluesky"])], "part": text},  # type: ignore[dict-item]
    )
    assert counted.status_code == 200
    mastodon = re.search(
        rf'data-channel="{ids["mastodon"]}".*?class="count">(\d+)<', counted.text, re.S
    )
    bluesky = re.search(
        rf'data-channel="{ids["bluesky"]}".*?class="count">(\d+)<', counted.text, re.S
    )
    assert mastodon and mastodon.group(1) == str(3 + 1 + 23)
    assert bluesky and bluesky.group(1) == str(3 + 1 + len(text.split(" ")[1]))
    over = post(
        owner_client, "/w/acme/publish/count", {"channel": str(ids["bluesky"]), "part": "a" * 301}
    )
    assert "301 graphemes for a limit of 300: shorten it by 1" in over.text

    created = _compose(owner_client, ids)
    assert created.status_code == 303, created.text  # type: ignore[attr-defined]
    location = created.headers["location"]  # type: ignore[attr-defined]
    shown = owner_client.get(location)
    assert "Post created." in shown.text
    assert shown.text.count('data-status="scheduled"') == 2
    variants = _variants(database)
    assert {v.status for v in variants} == {"scheduled"}
    # Each channel's own zone: 09:30 UTC for Mastodon, 09:30 in Paris for Bluesky.
    by_channel = {v.channel_id: v.scheduled_at for v in variants}
    assert by_channel[ids["mastodon"]] == SOON
    assert by_channel[ids["bluesky"]] != SOON

    month = owner_client.get(f"/w/acme/publish?date={SOON.date().isoformat()}")
    assert month.status_code == 200
    assert month.text.count('class="cal-entry status-scheduled') == 2
    assert 'draggable="true"' in month.text
    week = owner_client.get(f"/w/acme/publish?view=week&date={SOON.date().isoformat()}")
    assert f'data-slot="{SOON.date().isoformat()}T09"' in week.text
    listed = owner_client.get(
        f"/w/acme/publish?view=list&date={SOON.date().isoformat()}&channel={ids['bluesky']}"
    )
    assert listed.text.count('class="move-form"') == 1
    none = owner_client.get(f"/w/acme/publish?date={SOON.date().isoformat()}&status=published")
    assert "cal-entry" not in none.text


def test_drag_to_reschedule_and_a_refused_slot(
    owner_client: TestClient,  # noqa: F811
    database: Database,
) -> None:
    ids = web_seed.channels(database)
    assert _compose(owner_client, ids).status_code == 303  # type: ignore[attr-defined]
    mastodon = next(v for v in _variants(database) if v.channel_id == ids["mastodon"])
    target = SOON + timedelta(days=1)
    moved = post(
        owner_client,
        f"/w/acme/publish/variants/{mastodon.id}/move",
        {"slot": target.date().isoformat(), "view": "month", "date": SOON.date().isoformat()},
        headers={"HX-Request": "true"},
    )
    assert moved.status_code == 200
    assert moved.text.startswith('<section id="calendar"') and "Post rescheduled." in moved.text
    after = {v.channel_id: v for v in _variants(database)}
    # A day of the month view keeps the time of day (the workspace's zone is UTC).
    assert after[ids["mastodon"]].scheduled_at == target
    assert after[ids["bluesky"]].scheduled_at != target  # the other channel stays
    past = post(
        owner_client,
        f"/w/acme/publish/variants/{mastodon.id}/move",
        {"slot": "2020-01-01T09:00", "view": "list"},
        headers={"HX-Request": "true"},
    )
    assert past.status_code == 422 and "in the past" in past.text
    without_js = post(
        owner_client,
        f"/w/acme/publish/variants/{mastodon.id}/move",
        {"slot": (target + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "view": "list"},
    )
    assert without_js.status_code == 303 and "moved=" in without_js.headers["location"]
    assert _variants(database)[0].scheduled_at == target + timedelta(hours=2)
    # The CSRF token is required.
    refused = owner_client.post(
        f"/w/acme/publish/variants/{mastodon.id}/move", data={"slot": "2030-01-01"}
    )
    assert refused.status_code == 403


def test_approval_by_another_member(
    owner_client: TestClient,  # noqa: F811
    database: Database,
) -> None:
    ids = web_seed.channels(database)
    saved = post(
        owner_client,
        "/w/acme/publish/settings",
        {"needs_approval": "on", "forbid_self_approval": "on"},
    )
    assert saved.status_code == 303
    assert "Settings saved." in owner_client.get(saved.headers["location"]).text
    assert "This post needs approval" in owner_client.get("/w/acme/publish/new").text
    created = _compose(owner_client, ids)
    location = created.headers["location"].split("?")[0]  # type: ignore[attr-defined]
    assert {v.status for v in _variants(database)} == {"pending_approval"}
    page = owner_client.get(location)
    assert 'id="approval"' not in page.text  # nobody approves their own post
    with database.session() as session:
        service.create_user(session, email="ed@acme.test", password="correct horse battery")
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        service.add_member(session, access, email="ed@acme.test", role="editor")
    owner_client.cookies.clear()
    log_in(owner_client, "ed@acme.test", "correct horse battery")
    page = owner_client.get(location)
    assert 'id="approval"' in page.text
    empty = post(owner_client, location + "/changes", {"comment": ""})
    assert empty.status_code == 422 and "a comment is required" in empty.text
    changes = post(owner_client, location + "/changes", {"comment": "Ajoute le prix"})
    assert changes.status_code == 303
    history = owner_client.get(location).text
    assert "Changes requested" in history and "Ajoute le prix" in history
    assert {v.status for v in _variants(database)} == {"changes_requested"}
    # The editor resubmits it at its time, then approves it (another member than its author).
    again = post(
        owner_client, location + "/schedule", {"when": "at", "at": SOON.strftime("%Y-%m-%dT%H:%M")}
    )
    assert again.status_code == 303, again.text
    assert {v.status for v in _variants(database)} == {"pending_approval"}
    approved = post(owner_client, location + "/approve", {"comment": "Parfait"})
    assert approved.status_code == 303, approved.text
    page = owner_client.get(approved.headers["location"]).text
    assert "Post approved." in page and page.count('data-status="scheduled"') == 2
    assert {v.status for v in _variants(database)} == {"scheduled"}
    calendar = owner_client.get(f"/w/acme/publish?date={SOON.date().isoformat()}")
    assert calendar.text.count("cal-entry status-scheduled") == 2


def test_attention_lists_failed_and_uncertain_posts(
    owner_client: TestClient,  # noqa: F811
    database: Database,
) -> None:
    ids = web_seed.channels(database)
    assert "Nothing needs attention" in owner_client.get("/w/acme/publish/attention").text
    now = datetime.now(UTC)
    web_seed.variant(
        database, ids["mastodon"], text="Refusé", status="failed", scheduled_at=now,
        error="Mastodon refused the post: Text character limit of 500 exceeded",
    )  # fmt: skip
    web_seed.variant(database, ids["bluesky"], text="Perdu", status="uncertain", scheduled_at=now)
    web_seed.variant(
        database, ids["bluesky"], text="Parti", status="published", published_at=now,
        url="https://bsky.app/profile/cafe.bsky.social/post/3x",
    )  # fmt: skip
    page = owner_client.get("/w/acme/publish/attention").text
    assert "Refusé" in page and "Perdu" in page and "Parti" not in page
    assert "character limit of 500 exceeded" in page
    assert "do not post it again by hand" in page
    again = re.search(r'href="(/w/acme/publish/new\?[^"]+)"', page)
    assert again is not None
    composer = owner_client.get(again.group(1).replace("&amp;", "&"))
    assert ">Refusé</textarea>" in composer.text
    assert f'value="{ids["mastodon"]}" checked' in composer.text
    listed = owner_client.get("/w/acme/publish?view=list").text
    assert "https://bsky.app/profile/cafe.bsky.social/post/3x" in listed


def test_settings_webhooks_and_ical_feed(
    owner_client: TestClient,  # noqa: F811
    database: Database,
) -> None:
    ids = web_seed.channels(database)
    page = owner_client.get("/w/acme/publish/settings")
    assert page.status_code == 200 and "No webhook yet." in page.text
    private = post(
        owner_client,
        "/w/acme/publish/settings/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": "post.published"},
    )
    assert private.status_code == 422 and "private, loopback" in private.text
    added = post(
        owner_client,
        "/w/acme/publish/settings/webhooks",
        {"url": "https://93.184.215.14/hook", "events": ["post.failed", "post.published"]},  # type: ignore[dict-item]
    )
    assert added.status_code == 200
    secret = re.search(r'<code class="token-value">(whsec_[^<]+)</code>', added.text)
    assert secret is not None
    again = owner_client.get("/w/acme/publish/settings")
    assert secret.group(1) not in again.text and "https://93.184.215.14/hook" in again.text
    webhook_id = re.search(r'data-webhook="(\d+)"', again.text)
    assert webhook_id is not None
    log = owner_client.get(f"/w/acme/publish/settings/webhooks/{webhook_id.group(1)}")
    assert log.status_code == 200 and "Nothing sent yet" in log.text
    paused = post(owner_client, f"/w/acme/publish/settings/webhooks/{webhook_id.group(1)}/disable")
    assert (
        paused.status_code == 303 and "paused" in owner_client.get("/w/acme/publish/settings").text
    )
    deleted = post(owner_client, f"/w/acme/publish/settings/webhooks/{webhook_id.group(1)}/delete")
    assert deleted.status_code == 303
    assert "No webhook yet." in owner_client.get("/w/acme/publish/settings").text

    web_seed.variant(
        database, ids["bluesky"], text="Au calendrier", status="scheduled",
        scheduled_at=datetime.now(UTC) + timedelta(days=2),
    )  # fmt: skip
    made = post(owner_client, "/w/acme/publish/settings/ical")
    found = re.search(r'<code class="token-value">(http[^<]+\.ics)</code>', made.text)
    assert found is not None
    feed_path = found.group(1).removeprefix("http://testserver")
    owner_client.cookies.clear()  # the feed needs no login
    feed = owner_client.get(feed_path)
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in feed.text and "Au calendrier" in feed.text
    assert owner_client.get("/publish/ical/tsc_nope.ics").status_code == 404


def test_pages_in_french(owner_client: TestClient, database: Database) -> None:  # noqa: F811
    web_seed.channels(database)
    assert post(owner_client, "/language", {"language": "fr", "next": "/"}).status_code == 303
    calendar = owner_client.get("/w/acme/publish")
    assert "Calendrier de publication" in calendar.text
    composer = owner_client.get("/w/acme/publish/new")
    assert (
        "Rédiger une publication" in composer.text and "Programmer à cette heure" in composer.text
    )
    settings = owner_client.get("/w/acme/publish/settings")
    assert "Paramètres de publication" in settings.text


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 120, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_image_needs_its_alt_text(
    owner_client: TestClient,  # noqa: F811
    database: Database,
) -> None:
    ids = web_seed.channels(database)
    data = {
        "csrf_token": owner_client.cookies["ts_csrf"],
        "channel": [str(ids["mastodon"]), str(ids["bluesky"])],
        "part": "Notre vitrine",
        "action": "draft",
    }
    files = {"image_1": ("vitrine.png", _png(), "image/png")}
    missing = owner_client.post("/w/acme/publish/new", data=data, files=files)
    assert missing.status_code == 422 and "image 1 has no alt text" in missing.text
    assert 'name="alt_1" value="" aria-invalid="true"' in missing.text
    saved = owner_client.post(
        "/w/acme/publish/new", data={**data, "alt_1": "La vitrine du café"}, files=files
    )
    assert saved.status_code == 303, saved.text
    page = owner_client.get(saved.headers["location"])
    assert "vitrine.png" in page.text and "La vitrine du café" in page.text
    assert {v.status for v in _variants(database)} == {"draft"}


def test_the_composer_proposes_recommended_slots_with_their_evidence(
    owner_client: TestClient,  # noqa: F811
    database: Database,
) -> None:
    from tests.browser.test_measure_browser import seeded_posts
    from tests.measure.conftest import insert_posts
    from townsquare.channels.models import Channel

    ids = web_seed.channels(database)
    with database.session() as session:
        channel = session.get(Channel, ids["bluesky"])
        assert channel is not None
        # 12 posts each on Monday 9:00, Tuesday 18:00 and Thursday 8:00 (Paris).
        insert_posts(session, channel, seeded_posts())
    page = owner_client.get("/w/acme/publish/new")
    assert 'id="recommended"' in page.text
    assert re.search(r"median [\d.]+ over 12 posts \(95% CI", page.text)
    picks = re.findall(r'name="pick_at" value="([0-9T:-]+)"', page.text)
    slots = {(datetime.fromisoformat(pick).weekday(), pick[-5:]) for pick in picks}
    assert slots == {(0, "09:00"), (1, "18:00"), (3, "08:00")}
    picked = post(
        owner_client,
        "/w/acme/publish/new",
        {"channel": str(ids["bluesky"]), "part": "Lundi", "pick_at": picks[0]},
    )
    assert picked.status_code == 200
    assert f'name="at" value="{picks[0]}"' in picked.text


def test_the_history_says_a_post_came_from_the_command_line(
    owner_client: TestClient,  # noqa: F811
    database: Database,
    db_settings: Settings,
) -> None:
    from townsquare.publish import service as publish

    ids = web_seed.channels(database)
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        made = publish.create_post(
            session,
            access,
            db_settings,
            channel_ids=[ids["mastodon"]],
            parts="Made in a terminal",
            via="cli",
        )
        post_id = made.id
    page = owner_client.get(f"/w/acme/publish/posts/{post_id}")
    assert page.status_code == 200
    history = page.text.split('id="history"')[1]
    assert "from the command line" in history
    assert post(owner_client, "/language", {"language": "fr", "next": "/"}).status_code == 303
    french = owner_client.get(f"/w/acme/publish/posts/{post_id}").text.split('id="history"')[1]
    assert "depuis la ligne de commande" in french
