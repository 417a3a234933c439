"""A channel's ``status_reason`` and ``last_error`` are stored as a message (template and
values), so that the channel page, the banner and the e-mail say them in the reader's
language; migration 0019 converts the English sentences stored before."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import Seed
from tests.connected import ConnectedWeb, mastodon_web  # noqa: F401
from tests.house.test_web_pages import post
from tests.networks_servers import MastodonServer
from townsquare.channels import connect
from townsquare.channels.models import Channel
from townsquare.db import Database
from townsquare.db.migrate import alembic_config, current_revision, head_revision, upgrade
from townsquare.errors import AuthenticationError

REFUSED = "%(instance)s refused the access token (401): it is wrong, expired or revoked; "
REFUSED += "reconnect the channel with a new token"


def test_a_refused_token_is_stored_as_a_message_and_shown_in_french(
    mastodon_web: ConnectedWeb,  # noqa: F811
    mastodon_server: MastodonServer,
) -> None:
    web, database, channel_id = mastodon_web.web, mastodon_web.database, mastodon_web.channel_id
    mastodon_server.revoke()
    with database.session() as session, pytest.raises(AuthenticationError):
        connect.sync_channel(
            session,
            mastodon_web.access(session),
            channel_id,
            mastodon_web.settings,
            mastodon_web.box,
        )
    with database.session() as session:
        row = session.execute(
            sa.text(
                "SELECT status_reason, status_reason_params, last_error, last_error_params "
                "FROM channels WHERE id = :id"
            ),
            {"id": channel_id},
        ).one()
        stored = session.get(Channel, channel_id)
        assert stored is not None
        english = str(stored.status_reason)
    # The template and its values, not the sentence.
    assert row[0] == REFUSED and row[2] == REFUSED
    params = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    assert params == {"instance": mastodon_server.url}
    assert english.startswith(f"{mastodon_server.url} refused the access token (401)")

    page = web.get(f"/w/acme/channels/{channel_id}")
    assert "refused the access token" in page.text
    assert post(web, "/language", {"language": "fr"}).status_code == 303
    french = web.get(f"/w/acme/channels/{channel_id}")
    assert french.status_code == 200
    assert f"{mastodon_server.url} a refusé le jeton d’accès (401)" in french.text
    assert "refused the access token" not in french.text
    banner = web.get("/w/acme/channels")
    assert "reconnect-banner" in banner.text and "a refusé le jeton" in banner.text


def test_migration_0019_converts_the_stored_sentences(database: Database, seed: Seed) -> None:
    engine = database.engine
    command.downgrade(alembic_config(engine), "0015_h7perf")  # before: English sentences
    sentence = (
        "http://127.0.0.1:8931 refused the access token (401): it is wrong, expired or "
        "revoked; reconnect the channel with a new token"
    )
    table = sa.Table("channels", sa.MetaData(), autoload_with=engine)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        workspace_id = connection.execute(
            sa.text("SELECT id FROM workspaces WHERE slug = :slug"), {"slug": seed.workspace}
        ).scalar_one()
        rows = [
            (sentence, sentence),
            (None, "a sentence no template makes"),
            ("disconnected", None),
        ]
        for number, (reason, error) in enumerate(rows):
            connection.execute(
                table.insert().values(
                    workspace_id=workspace_id,
                    network="mastodon",
                    handle=f"@c{number}@x.test",
                    timezone="UTC",
                    status="needs_reconnection",
                    status_reason=reason,
                    last_error=error,
                    sync_interval_minutes=30,
                    history_complete=False,
                    created_at=now,
                )
            )
    upgrade(engine)
    with database.session() as session:
        channels = {c.handle: c for c in session.scalars(sa.select(Channel))}
        first, second, third = (channels[f"@c{n}@x.test"] for n in range(3))
        assert first.status_reason_key == REFUSED and first.last_error_key == REFUSED
        assert first.status_reason_params == {"instance": "http://127.0.0.1:8931"}
        assert str(first.status_reason) == sentence  # the same English as before
        # No template matches: kept as it was, shown in English.
        assert second.last_error_key == "a sentence no template makes"
        assert second.last_error_params is None
        assert third.status_reason == "disconnected"

    command.downgrade(alembic_config(engine), "0015_h7perf")  # and back: the sentences again
    with engine.connect() as connection:
        texts = connection.execute(
            sa.select(table.c.status_reason, table.c.last_error).order_by(table.c.handle)
        ).all()
    assert [tuple(t) for t in texts] == [
        (sentence, sentence),
        (None, "a sentence no template makes"),
        ("disconnected", None),
    ]
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
