"""An alert's last error is a message (template + values): the alerts page and the API show
it in the reader's language; an error stored before 0022_alert_messages keeps its text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import free_port, make_settings
from tests.house.test_web_pages import client, owner_client, post  # noqa: F401
from tests.listen.test_alerts import BOX, _mentions
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.listening import alerts, service
from townsquare.listening.models import Alert
from townsquare.workspaces.service import WorkspaceAccess, get_workspace

TEMPLATE = "the alert could not be sent: %(reason)s"


@pytest.fixture
def db_settings(database: Database, data_dir: Path) -> Settings:
    """The web app's settings, with loopback destinations allowed (the destination is local)."""
    return make_settings(data_dir, database.url, allow_private_urls=True)


def _failing_alert(database: Database, settings: Settings) -> int:
    """An alert whose destination refuses connections, after one failed send."""
    with database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        watch = service.get_watch(session, access, "Acme")
        alert = alerts.add_alert(
            session, access, settings, BOX, watch=watch, url=f"json://127.0.0.1:{free_port()}/x"
        )
        _mentions(session, access, ["Acme"], datetime.now(UTC))
        assert alerts.run_alerts(session, settings, BOX, access) == 0
        return alert.id


def test_the_last_error_is_shown_in_the_readers_language(
    owner_client: TestClient,  # noqa: F811
    database: Database,
    db_settings: Settings,
) -> None:
    made = post(
        owner_client, "/w/acme/listen/watches", {"name": "Acme", "query": "acme", "kind": "brand"}
    )
    assert made.status_code == 303
    alert_id = _failing_alert(database, db_settings)
    with database.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None and alert.failures == 1
        assert alert.last_error_key == TEMPLATE
        assert alert.last_error_params and alert.last_error_params["reason"]
        reason = alert.last_error_params["reason"]

    api = f"/api/v1/workspaces/acme/alerts/{alert_id}"
    english = owner_client.get(api).json()
    assert english["last_error"] == f"the alert could not be sent: {reason}"
    assert english["last_error_id"] == TEMPLATE
    assert english["last_error_params"] == {"reason": reason}

    assert post(owner_client, "/language", {"language": "fr", "next": "/"}).status_code == 303
    french = owner_client.get(api).json()
    assert french["last_error"] == f"l'alerte n'a pas pu être envoyée : {reason}"
    assert french["last_error_id"] == TEMPLATE
    listed = owner_client.get("/api/v1/workspaces/acme/alerts").json()
    assert [row["last_error"] for row in listed] == [french["last_error"]]
    page = owner_client.get("/w/acme/listen/alerts")
    assert page.status_code == 200
    assert "pas pu être envoyée" in page.text and "could not be sent" not in page.text

    # A sentence stored before the messages (no values) is shown as it was.
    with database.session() as session:
        alert = session.scalars(select(Alert)).one()
        alert.last_error_key, alert.last_error_params = "connection refused by x.test", None
        session.commit()
    old = owner_client.get(api).json()
    assert old["last_error"] == "connection refused by x.test"
    assert old["last_error_params"] == {}
    assert "connection refused by x.test" in owner_client.get("/w/acme/listen/alerts").text
