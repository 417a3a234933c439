"""``townsquare source list``'s table shows each source's notice beside its last error (what
the JSON and the REST API carry): a hashtag streamed or polled and why, an instance without
full-text search; in English, or in French with ``--language fr``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import Seed
from tests.house.test_cli import Cli
from townsquare.db import Database
from townsquare.listening import stream_state
from townsquare.listening.models import Source
from townsquare.messages import Message
from townsquare.networks.mastodon_listen import NO_FULL_TEXT
from townsquare.workspaces.access import get_workspace

NO_STREAMING = Message(
    "the instance announces no streaming API (no streaming URL in /api/v2/instance)"
)


def _sources(database: Database, workspace: str) -> None:
    until = datetime.now(UTC) + timedelta(minutes=10)  # the listener renews it while it runs
    with database.session() as session:
        workspace_id = get_workspace(session, workspace).id
        session.add_all(
            [
                Source(
                    workspace_id=workspace_id,
                    type="mastodon-tag",
                    target="acme",
                    every_minutes=15,
                    state={
                        stream_state.KEY: stream_state.stream_part("polling", NO_STREAMING, until)
                    },
                    last_error="m.test answered 503",
                ),
                Source(
                    workspace_id=workspace_id,
                    type="mastodon-search",
                    target="acme coffee",
                    every_minutes=30,
                    state={"notice": str(NO_FULL_TEXT)},
                ),
            ]
        )
        session.commit()


def test_the_table_shows_the_notice_in_english_or_french(
    database: Database, data_dir: Path, seed: Seed
) -> None:
    _sources(database, seed.workspace)
    cli = Cli(data_dir, database.url)
    cli.env["COLUMNS"] = "1000"  # one line per source: the sentences are not wrapped

    english = cli("source", "list", "--workspace", seed.workspace)
    assert english.code == 0, english.err
    assert "notice" in english.out.splitlines()[1]  # the heading, beside "last error"
    tag, search = [line for line in english.out.splitlines() if "│ mastodon-" in line]
    assert "m.test answered 503" in tag
    assert (
        "polling every 15 minutes, not streaming: the instance announces no streaming API "
        "(no streaming URL in /api/v2/instance)"
    ) in tag
    assert str(NO_FULL_TEXT) in search

    french = cli("source", "list", "--workspace", seed.workspace, "--language", "fr")
    assert french.code == 0, french.err
    tag, search = [line for line in french.out.splitlines() if "│ mastodon-" in line]
    assert (
        "relève toutes les 15 minutes, sans diffusion en direct : l'instance n'annonce aucune "
        "API de flux en direct (pas d'URL de streaming dans /api/v2/instance)"
    ) in tag
    assert "m.test answered 503" in tag  # a stored error is a sentence, not a message
    assert "l'instance n'a trouvé aucun message pour cette recherche : Mastodon ne" in search

    as_json = cli("source", "list", "--workspace", seed.workspace, "--json")
    notices = [row["notice"] for row in json.loads(as_json.out)]
    assert notices[1] == str(NO_FULL_TEXT) and notices[0].startswith("polling every 15")

    refused = cli("source", "list", "--workspace", seed.workspace, "--language", "de")
    assert refused.code == 2 and "unsupported language 'de': choose en or fr" in refused.err
