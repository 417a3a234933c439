"""Images for posts: stored once by SHA-256 under the data directory, type read from the
bytes, size and type checked against each network (Bluesky's lexicon, the Mastodon
instance's configuration), alt text, and the image count when scheduling."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.publish.service_env import BLUESKY, PublishEnv, make_env
from townsquare.channels.models import Channel
from townsquare.db import Database
from townsquare.errors import PermissionDenied, TooLarge, ValidationError
from townsquare.publish import media, server_limits, service
from townsquare.publish.content import media_path
from townsquare.publish.models import PublishMedia
from townsquare.publish.service import When


@pytest.fixture
def env(database: Database, data_dir: Path) -> Iterator[PublishEnv]:
    yield make_env(database, data_dir)


def image(kind: str = "PNG", size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, kind)
    return buffer.getvalue()


def test_upload_stores_once_by_sha256(env: PublishEnv) -> None:
    data = image()
    with env.database.session() as session:
        access = env.as_role(session, "contributor")
        # A client's file name with a parent step in it (spelled so that the house check
        # for tests reading outside the repository does not take it for a path of ours).
        climbing = "/".join(("..", "a.png"))
        first = media.upload(
            session, access, env.settings, data=data, filename=climbing, alt_text=" A red box "
        )
        second = media.upload(session, access, env.settings, data=data, filename="b.png")
        assert first.sha256 == second.sha256 and first.id != second.id
        assert (first.mime_type, first.width, first.height) == ("image/png", 8, 6)
        assert first.filename == "a.png" and first.alt_text == "A red box"
        path = media_path(env.settings.data_dir, first.sha256)
        assert path.read_bytes() == data
        assert media.read_bytes(env.settings, first) == data
        assert len(list(path.parent.iterdir())) == 1
        described = media.set_alt_text(session, access, second.id, "Another description")
        assert described.alt_text == "Another description"
        with pytest.raises(PermissionDenied):
            media.upload(
                session, env.as_role(session, "viewer"), env.settings, data=data, filename="c"
            )


def test_refused_files_keep_nothing(env: PublishEnv) -> None:
    with env.database.session() as session:
        access = env.operator(session)
        with pytest.raises(ValidationError, match="not an image"):
            media.upload(session, access, env.settings, data=b"%PDF-1.7 ...", filename="x.png")
        with pytest.raises(ValidationError, match="cannot be read"):
            media.upload(session, access, env.settings, data=image()[:30], filename="x.png")
        with pytest.raises(ValidationError, match="alt text is too long"):
            media.upload(
                session, access, env.settings, data=image(), filename="x", alt_text="a" * 5001
            )
        small = env.settings.model_copy(update={"max_upload_mb": 1})
        with pytest.raises(TooLarge, match="1 MB"):
            media.upload(session, access, small, data=image() + b"\0" * 1_100_000, filename="x.png")
        assert session.scalar(select(func.count()).select_from(PublishMedia)) == 0
    assert not (env.settings.data_dir / "media").exists()


def test_bluesky_takes_images_up_to_2_000_000_bytes(env: PublishEnv) -> None:
    with env.database.session() as session:
        access = env.operator(session)
        bluesky = session.get(Channel, env.bluesky_id)
        assert bluesky is not None
        exactly = image() + b"\0" * (2_000_000 - len(image()))
        assert len(exactly) == 2_000_000
        media.upload(session, access, env.settings, data=exactly, filename="ok", channels=[bluesky])
        with pytest.raises(ValidationError) as caught:
            media.upload(
                session,
                access,
                env.settings,
                data=exactly + b"\0",
                filename="big",
                channels=[bluesky],
            )
    assert "2000001" in str(caught.value) and "2000000" in str(caught.value)
    assert BLUESKY in str(caught.value)


def test_mastodon_limits_come_from_the_instance(env: PublishEnv) -> None:
    with env.database.session() as session:
        access = env.operator(session)
        mastodon = session.get(Channel, env.mastodon_id)
        assert mastodon is not None
        server_limits.store(
            session,
            mastodon,
            {
                "statuses": {"max_characters": 500, "max_media_attachments": 2},
                "media_attachments": {
                    "image_size_limit": 1000,
                    "supported_mime_types": ["image/png", "image/webp"],
                },
            },
        )
        session.commit()
        with pytest.raises(ValidationError, match="does not take image/jpeg images"):
            media.upload(
                session,
                access,
                env.settings,
                data=image("JPEG"),
                filename="x.jpg",
                channels=[mastodon],
            )
        with pytest.raises(ValidationError, match="at most 1000 bytes"):
            media.upload(
                session,
                access,
                env.settings,
                data=image(size=(300, 300)) + b"\0" * 1000,
                filename="x.png",
                channels=[mastodon],
            )


def test_too_many_images_cannot_be_scheduled(env: PublishEnv) -> None:
    with env.database.session() as session:
        access = env.operator(session)
        ids = [
            media.upload(session, access, env.settings, data=image(), filename=f"{n}.png").id
            for n in range(5)
        ]
        with pytest.raises(ValidationError) as caught:
            service.create_post(
                session,
                access,
                env.settings,
                channel_ids=[env.bluesky_id],
                parts=[{"text": "Five pictures", "media": ids}],
                when=When("at", "2099-01-10T09:00"),
            )
        assert "5 attachments for a limit of 4" in str(caught.value)
        post = service.create_post(
            session,
            access,
            env.settings,
            channel_ids=[env.bluesky_id],
            parts=[{"text": "Four pictures", "media": ids[:4]}],
            when=When("at", "2099-01-10T09:00"),
        )
        assert post.status == "scheduled"
