"""Publish's use cases on SQLite and PostgreSQL: compose, adapt, validate, approve,
schedule (DST-safe), queue, publish now, cancel, expire, short links, history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import SmtpServer
from tests.networks_servers import MastodonServer
from tests.publish.service_env import BLUESKY, MASTODON, PublishEnv, make_env
from townsquare.db import Database
from townsquare.errors import Conflict, PermissionDenied, ValidationError
from townsquare.links.models import Link
from townsquare.publish import service, slots
from townsquare.publish.content import effective_parts
from townsquare.publish.core_models import PublishPostLink
from townsquare.publish.models import (
    PublishEvent,
    PublishPart,
    PublishPost,
    PublishVariant,
)
from townsquare.publish.service import When

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def env(database: Database, data_dir: Path) -> Iterator[PublishEnv]:
    yield make_env(database, data_dir)


def _actions(env: PublishEnv, post_id: int) -> list[str]:
    with env.database.session() as session:
        return list(
            session.scalars(
                select(PublishEvent.action)
                .where(PublishEvent.post_id == post_id)
                .order_by(PublishEvent.id)
            )
        )


def _variants(env: PublishEnv, post_id: int) -> dict[int, PublishVariant]:
    with env.database.session() as session:
        rows = session.scalars(select(PublishVariant).where(PublishVariant.post_id == post_id))
        return {row.channel_id: row for row in rows}


def _create(env: PublishEnv, role: str = "editor", n: int = 1, **options: object) -> int:
    with env.database.session() as session:
        access = env.operator(session) if role == "operator" else env.as_role(session, role, n)
        values: dict[str, object] = {
            "channel_ids": [env.mastodon_id, env.bluesky_id],
            "parts": "Hello from townsquare",
            "now": NOW,
        }
        values.update(options)
        post = service.create_post(session, access, env.settings, **values)  # type: ignore[arg-type]
        return post.id


def test_draft_then_schedule_in_each_channels_zone(env: PublishEnv) -> None:
    post_id = _create(env)
    assert {v.status for v in _variants(env, post_id).values()} == {"draft"}
    with env.database.session() as session:
        access = env.as_role(session, "editor")
        post = service.schedule_post(
            session, access, env.settings, post_id, When("at", "2026-01-10T09:00"), now=NOW
        )
        data = service.post_json(session, post)
    assert data["status"] == "scheduled"
    by_channel = {v["channel"]: v for v in data["variants"]}
    # 09:00 in Paris (UTC+1 in January) and in New York (UTC-5).
    assert by_channel[MASTODON]["scheduled_at"] == "2026-01-10T08:00:00+00:00"
    assert by_channel[BLUESKY]["scheduled_at"] == "2026-01-10T14:00:00+00:00"
    assert by_channel[MASTODON]["scheduled_local"] == "2026-01-10T09:00+01:00"
    assert by_channel[MASTODON]["length"] == 21 and by_channel[MASTODON]["limit"] == 500
    assert by_channel[BLUESKY]["limit"] == 300 and by_channel[BLUESKY]["unit"] == "graphemes"
    assert _actions(env, post_id) == ["created", "scheduled", "scheduled"]


def test_over_the_limit_cannot_be_scheduled_and_writes_nothing(env: PublishEnv) -> None:
    with pytest.raises(ValidationError) as caught:
        _create(env, parts="é" * 301, when=When("at", "2026-01-10T09:00"))
    message = str(caught.value)
    assert "301" in message and "300" in message and BLUESKY in message
    assert caught.value.params["length"] == 301 and caught.value.params["limit"] == 300
    with env.database.session() as session:
        assert session.scalar(select(func.count()).select_from(PublishPost)) == 0
    # As a draft it may be over (the author is still writing).
    post_id = _create(env, parts="é" * 301)
    with (
        env.database.session() as session,
        pytest.raises(ValidationError, match="301 graphemes for a limit of 300"),
    ):
        service.schedule_post(
            session, env.as_role(session, "editor"), env.settings, post_id, service.NOW
        )


def test_adaptation_per_channel_and_unchanged_variants_follow(env: PublishEnv) -> None:
    post_id = _create(
        env,
        content_warning="spoilers",
        overrides={env.bluesky_id: {"text": "Short for Bluesky"}},
    )
    with env.database.session() as session:
        access = env.as_role(session, "editor")
        service.edit_post(session, access, env.settings, post_id, parts="New original")
        post = service.get_post(session, access, post_id)
        texts = {
            channel.handle: (
                effective_parts(post, variant)[0]["text"],
                service.effective_content_warning(post, variant),
            )
            for variant, channel in service.variants_of(session, post)
        }
    assert texts[MASTODON] == ("New original", "spoilers")
    assert texts[BLUESKY] == ("Short for Bluesky", "spoilers")
    assert _actions(env, post_id) == ["created", "edited"]


def test_a_thread_with_text_for_one_channel(env: PublishEnv) -> None:
    post_id = _create(env, parts=["First part", {"text": "Second part", "media": []}])
    with env.database.session() as session:
        post = service.get_post(session, env.operator(session), post_id)
        assert [part["text"] for part in post.parts] == ["First part", "Second part"]


@pytest.mark.parametrize(
    ("wall", "readings"),
    [
        # Spring forward in Paris: 02:00 → 03:00, 02:30 never happens.
        ("2026-03-29T02:30", ("2026-03-29T01:30+01:00", "2026-03-29T03:30+02:00")),
        # Fall back: 02:30 happens twice.
        ("2026-10-25T02:30", ("2026-10-25T02:30+02:00", "2026-10-25T02:30+01:00")),
    ],
)
def test_dst_gap_and_overlap_are_refused_with_both_readings(
    env: PublishEnv, wall: str, readings: tuple[str, str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        _create(env, channel_ids=[env.mastodon_id], when=When("at", wall))
    message = str(caught.value)
    assert wall in message and "Europe/Paris" in message
    assert readings[0] in message and readings[1] in message
    # Written with its offset, the same wall time is one instant and is accepted.
    post_id = _create(env, channel_ids=[env.mastodon_id], when=When("at", readings[1]))
    variant = _variants(env, post_id)[env.mastodon_id]
    assert variant.status == "scheduled"


def test_a_time_in_the_past_is_refused(env: PublishEnv) -> None:
    with pytest.raises(ValidationError, match="in the past"):
        _create(env, when=When("at", "2026-01-01T09:00"))


def test_queue_takes_the_next_free_slot_of_each_channel(env: PublishEnv) -> None:
    with env.database.session() as session:
        access = env.as_role(session, "editor")
        mastodon = session.get(slots.Channel, env.mastodon_id)
        assert mastodon is not None
        slots.set_slots(session, access, mastodon, slots.parse_slots("mon 09:00, Wed 17:30"))
        assert [s.label for s in slots.list_slots(session, access, mastodon)] == [
            "mon 09:00",
            "wed 17:30",
        ]
    first = _create(env, channel_ids=[env.mastodon_id], when=service.QUEUE)
    second = _create(env, channel_ids=[env.mastodon_id], when=service.QUEUE)
    third = _create(env, channel_ids=[env.mastodon_id], when=service.QUEUE)
    # Monday 12:00 UTC is past Monday 09:00 Paris: Wednesday 17:30, then next Monday 09:00.
    times = [_variants(env, p)[env.mastodon_id].scheduled_at for p in (first, second, third)]
    assert times == [
        datetime(2026, 1, 7, 16, 30, tzinfo=UTC),
        datetime(2026, 1, 12, 8, 0, tzinfo=UTC),
        datetime(2026, 1, 14, 16, 30, tzinfo=UTC),
    ]
    assert all(_variants(env, p)[env.mastodon_id].from_queue for p in (first, second, third))
    # A cancelled post frees its slot.
    with env.database.session() as session:
        service.cancel(session, env.as_role(session, "editor"), first)
    fourth = _create(env, channel_ids=[env.mastodon_id], when=service.QUEUE)
    assert _variants(env, fourth)[env.mastodon_id].scheduled_at == times[0]
    # A channel without slots says how to set them.
    with pytest.raises(ValidationError, match="no queue slots"):
        _create(env, channel_ids=[env.bluesky_id], when=service.QUEUE)


def test_queue_slot_in_a_dst_gap_is_skipped() -> None:
    # Sunday 29 March 2026 02:30 does not exist in Paris: the next Sunday's is taken.
    found = list(
        slots.occurrences(
            [slots.Slot(6, "02:30")],
            "Europe/Paris",
            datetime(2026, 3, 28, tzinfo=UTC),
            days=8,
        )
    )
    assert found == [datetime(2026, 4, 5, 0, 30, tzinfo=UTC)]


def test_publish_now(env: PublishEnv) -> None:
    post_id = _create(env, when=service.NOW)
    variants = _variants(env, post_id)
    assert {v.status for v in variants.values()} == {"scheduled"}
    assert {v.scheduled_at for v in variants.values()} == {NOW}


def _approval_on(env: PublishEnv, **options: bool) -> None:
    with env.database.session() as session:
        service.update_settings(session, env.operator(session), needs_approval=True, **options)


def test_contributor_submits_editor_approves(env: PublishEnv) -> None:
    _approval_on(env)
    post_id = _create(env, "contributor", when=When("at", "2026-01-10T09:00"))
    assert {v.status for v in _variants(env, post_id).values()} == {"pending_approval"}
    with env.database.session() as session:
        with pytest.raises(PermissionDenied):
            service.approve(session, env.as_role(session, "contributor"), env.settings, post_id)
        with pytest.raises(PermissionDenied):
            service.approve(session, env.as_role(session, "viewer"), env.settings, post_id)
        post = service.approve(
            session, env.as_role(session, "editor"), env.settings, post_id, comment="ok", now=NOW
        )
        assert post.status == "scheduled"
        editor = env.as_role(session, "editor")
        assert post.approved_by == editor.user_id
    assert _actions(env, post_id) == ["created", "submitted", "approved", "scheduled", "scheduled"]


def test_contributors_submit_even_without_the_setting(env: PublishEnv) -> None:
    post_id = _create(env, "contributor", when=When("at", "2026-01-10T09:00"))
    assert {v.status for v in _variants(env, post_id).values()} == {"pending_approval"}
    editor_post = _create(env, "editor", when=When("at", "2026-01-10T09:00"))
    assert {v.status for v in _variants(env, editor_post).values()} == {"scheduled"}


def test_nobody_approves_their_own_post(env: PublishEnv) -> None:
    _approval_on(env)
    post_id = _create(env, "editor", 1, when=When("at", "2026-01-10T09:00"))
    assert {v.status for v in _variants(env, post_id).values()} == {"pending_approval"}
    with env.database.session() as session:
        with pytest.raises(PermissionDenied, match="another member must approve it"):
            service.approve(session, env.as_role(session, "editor", 1), env.settings, post_id)
        service.approve(session, env.as_role(session, "editor", 2), env.settings, post_id, now=NOW)
    assert {v.status for v in _variants(env, post_id).values()} == {"scheduled"}


def test_self_approval_allowed_when_the_setting_says_so(env: PublishEnv) -> None:
    _approval_on(env, forbid_self_approval=False)
    post_id = _create(env, "editor", 1, when=When("at", "2026-01-10T09:00"))
    assert {v.status for v in _variants(env, post_id).values()} == {"scheduled"}
    assert _actions(env, post_id)[:2] == ["created", "approved"]


def test_viewers_may_approve_when_allowed(env: PublishEnv) -> None:
    _approval_on(env, viewers_can_approve=True)
    post_id = _create(env, "contributor", when=When("at", "2026-01-10T09:00"))
    with env.database.session() as session:
        service.approve(session, env.as_role(session, "viewer"), env.settings, post_id, now=NOW)
    assert {v.status for v in _variants(env, post_id).values()} == {"scheduled"}


def test_request_changes_then_resubmit(env: PublishEnv) -> None:
    _approval_on(env)
    post_id = _create(env, "contributor", when=When("at", "2026-01-10T09:00"))
    with env.database.session() as session:
        editor = env.as_role(session, "editor")
        with pytest.raises(ValidationError, match="comment is required"):
            service.request_changes(session, editor, post_id, comment=" ")
        post = service.request_changes(session, editor, post_id, comment="Add the date")
        assert post.status == "changes_requested"
        events = service.history(session, editor, post_id)
        assert events[-1].action == "changes_requested" and events[-1].comment == "Add the date"
        contributor = env.as_role(session, "contributor")
        service.edit_post(session, contributor, env.settings, post_id, parts="On 10 January")
        post = service.schedule_post(
            session, contributor, env.settings, post_id, When("at", "2026-01-10T10:00"), now=NOW
        )
        assert post.status == "pending_approval"
    assert _actions(env, post_id)[-3:] == ["changes_requested", "edited", "submitted"]


def test_editing_an_approved_post_as_contributor_needs_approval_again(env: PublishEnv) -> None:
    _approval_on(env)
    post_id = _create(env, "contributor", when=When("at", "2026-01-10T09:00"))
    with env.database.session() as session:
        service.approve(session, env.as_role(session, "editor"), env.settings, post_id, now=NOW)
        post = service.edit_post(
            session, env.as_role(session, "contributor"), env.settings, post_id, parts="Changed"
        )
        assert post.status == "pending_approval"


def test_cancel_and_already_being_published(env: PublishEnv) -> None:
    post_id = _create(env, when=When("at", "2026-01-10T09:00"))
    variant = _variants(env, post_id)[env.mastodon_id]
    with env.database.session() as session:
        # The dispatcher has started sending the Mastodon part.
        session.add(
            PublishPart(variant_id=variant.id, position=0, status="sending", idempotency_key="k1")
        )
        session.commit()
        editor = env.as_role(session, "editor")
        with pytest.raises(Conflict, match="already being published"):
            service.cancel(session, editor, post_id)
        with pytest.raises(Conflict, match="already being published"):
            service.edit_post(session, editor, env.settings, post_id, parts="late")
        post = service.cancel(session, editor, post_id, channel_ids=[env.bluesky_id])
        assert post.status == "scheduled"
    variants = _variants(env, post_id)
    assert variants[env.bluesky_id].status == "cancelled"
    assert variants[env.mastodon_id].status == "scheduled"


def test_reschedule_deletes_pending_parts(env: PublishEnv) -> None:
    post_id = _create(env, channel_ids=[env.mastodon_id], when=When("at", "2026-01-10T09:00"))
    variant = _variants(env, post_id)[env.mastodon_id]
    with env.database.session() as session:
        session.add(
            PublishPart(variant_id=variant.id, position=0, status="pending", idempotency_key="k2")
        )
        session.commit()
        service.schedule_post(
            session,
            env.as_role(session, "editor"),
            env.settings,
            post_id,
            When("at", "2026-01-11T09:00"),
            now=NOW,
        )
        assert session.scalar(select(func.count()).select_from(PublishPart)) == 0
    assert _variants(env, post_id)[env.mastodon_id].scheduled_at == datetime(
        2026, 1, 11, 8, 0, tzinfo=UTC
    )
    assert _actions(env, post_id)[-1] == "rescheduled"


def test_expire_unapproved_tells_author_and_approvers(
    database: Database, data_dir: Path, smtp_server: SmtpServer
) -> None:
    env = make_env(database, data_dir, smtp_url=smtp_server.url)
    _approval_on(env)
    post_id = _create(env, "contributor", when=When("at", "2026-01-10T09:00"))
    with env.database.session() as session:
        assert service.expire_unapproved(session, datetime(2026, 1, 10, 7, 0, tzinfo=UTC)) == 0
        # Paris's 09:00 (08:00 UTC) has passed, New York's (14:00 UTC) not yet.
        count = service.expire_unapproved(
            session, datetime(2026, 1, 10, 8, 1, tzinfo=UTC), env.settings
        )
        assert count == 1
        assert service.expire_unapproved(session, datetime(2026, 1, 10, 8, 1, tzinfo=UTC)) == 0
    variants = _variants(env, post_id)
    assert variants[env.mastodon_id].status == "expired"
    assert variants[env.bluesky_id].status == "pending_approval"
    assert "expired" in _actions(env, post_id)
    message = smtp_server.wait_for(1)[0]
    recipients = message["To"]
    assert "contributor1@acme.test" in recipients and "editor1@acme.test" in recipients
    assert "viewer1@acme.test" not in recipients
    assert "expired" in message["Subject"] and "expiré" in message["Subject"]
    assert "n’a pas été approuvée à temps" in message.get_content()


def test_approving_after_the_time_expires_instead(env: PublishEnv) -> None:
    _approval_on(env)
    post_id = _create(env, "contributor", when=When("at", "2026-01-10T09:00"))
    with env.database.session() as session:
        post = service.approve(
            session,
            env.as_role(session, "editor"),
            env.settings,
            post_id,
            now=datetime(2026, 1, 10, 9, 0, tzinfo=UTC),
        )
        assert post.status == "scheduled"  # New York still to come; Paris expired
    variants = _variants(env, post_id)
    assert variants[env.mastodon_id].status == "expired"


def test_short_links_with_utm_tied_to_the_post(env: PublishEnv) -> None:
    with env.database.session() as session:
        service.update_settings(session, env.operator(session), shorten_links=True)
    post_id = _create(
        env,
        parts="Spring sale: https://shop.example/spring. Also https://shop.example/",
        campaign="spring-26",
        when=When("at", "2026-01-10T09:00"),
    )
    with env.database.session() as session:
        post = service.get_post(session, env.operator(session), post_id)
        links = {
            (link.target_url, link.utm_source): link
            for link in session.scalars(select(Link).order_by(Link.id))
        }
        ties = list(session.scalars(select(PublishPostLink)))
        sent = {
            channel.network: effective_parts(post, variant)[0]["text"]
            for variant, channel in service.variants_of(session, post)
        }
    assert len(links) == 4 and len(ties) == 4
    spring = links[("https://shop.example/spring", "mastodon")]
    assert spring.utm_medium == "social" and spring.utm_campaign == "spring-26"
    assert spring.campaign == "spring-26"
    assert spring.final_url == (
        "https://shop.example/spring?utm_source=mastodon&utm_medium=social&utm_campaign=spring-26"
    )
    assert links[("https://shop.example/spring", "bluesky")].utm_source == "bluesky"
    assert f"http://127.0.0.1:8000/{spring.slug}." in sent["mastodon"]
    assert "shop.example" not in sent["mastodon"] and "shop.example" not in sent["bluesky"]
    assert {tie.post_id for tie in ties} == {post_id}


def test_short_links_off_by_default(env: PublishEnv) -> None:
    _create(env, parts="See https://shop.example/", when=When("at", "2026-01-10T09:00"))
    with env.database.session() as session:
        assert session.scalar(select(func.count()).select_from(Link)) == 0


def test_post_status_from_its_variants() -> None:
    assert service.post_status(["scheduled", "scheduled"]) == "scheduled"
    assert service.post_status(["published", "failed"]) == "failed"
    assert service.post_status(["published", "cancelled"]) == "published"
    assert service.post_status(["cancelled", "cancelled"]) == "cancelled"
    assert service.post_status(["published", "publishing"]) == "publishing"
    assert service.post_status([]) == "draft"


def test_list_posts_by_status_and_period(env: PublishEnv) -> None:
    draft = _create(env)
    scheduled = _create(env, when=When("at", "2026-01-10T09:00"))
    with env.database.session() as session:
        access = env.operator(session)
        assert [p.id for p in service.list_posts(session, access, status="draft")] == [draft]
        found = service.list_posts(
            session,
            access,
            start=datetime(2026, 1, 10, tzinfo=UTC),
            end=datetime(2026, 1, 11, tzinfo=UTC),
        )
        assert [p.id for p in found] == [scheduled]
        with pytest.raises(ValidationError, match="unknown status"):
            service.list_posts(session, access, status="sent")


def test_media_of_another_workspace_or_unknown_is_refused(env: PublishEnv) -> None:
    with pytest.raises(Exception, match="no uploaded image 999"):
        _create(env, parts=[{"text": "x", "media": [999]}])


def test_empty_post_and_unknown_channel(env: PublishEnv) -> None:
    with pytest.raises(ValidationError, match="empty"):
        _create(env, parts="   ")
    with pytest.raises(Exception, match="no channel with id 4242"):
        _create(env, channel_ids=[4242])
    assert timedelta(0) == timedelta(0)


def test_mastodon_limit_from_the_instance_cached_per_channel(
    database: Database, data_dir: Path, mastodon_server: MastodonServer
) -> None:
    from townsquare.channels import service as channels
    from townsquare.channels.crypto import CredentialsBox

    env = make_env(database, data_dir, allow_private_urls=True)
    configuration = {
        "configuration": {
            "statuses": {"max_characters": 120, "characters_reserved_per_url": 23},
            "media_attachments": {"image_size_limit": 1_000_000},
        }
    }
    mastodon_server.fault(
        path_regex=r"^/api/v2/instance/?$", status=200, body=configuration, methods=["GET"]
    )
    with env.database.session() as session:
        channel = channels.add_channel(
            session,
            env.operator(session),
            network="mastodon",
            handle=mastodon_server.handle(),
            credentials=mastodon_server.credentials(),
            box=CredentialsBox(env.settings.resolved_credentials_key()),
        )
        channel_id = channel.id
    with pytest.raises(ValidationError, match="121 characters for a limit of 120"):
        _create(env, channel_ids=[channel_id], parts="x" * 121, when=service.NOW)
    # The first (refused) post cached nothing; a draft asks the instance and caches it.
    draft = _create(env, channel_ids=[channel_id], parts="x" * 121)
    mastodon_server.clear_faults()  # the instance now says 500: the cache still says 120
    with env.database.session() as session:
        data = service.post_json(session, service.get_post(session, env.operator(session), draft))
        assert data["variants"][0]["limit"] == 120
        with pytest.raises(ValidationError, match="121 characters for a limit of 120"):
            service.schedule_post(session, env.operator(session), env.settings, draft, service.NOW)
