"""Saved checks on SQLite and PostgreSQL: save, list, re-check (a handle taken since), scope."""

from __future__ import annotations

import pytest

from tests.conftest import seed_workspace
from tests.handles.conftest import Platforms
from townsquare.db import Database
from townsquare.errors import NotFound, PermissionDenied, ValidationError
from townsquare.handles import service
from townsquare.workspaces.models import User
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess, get_workspace


def _access(session, slug: str = "acme") -> WorkspaceAccess:  # type: ignore[no-untyped-def]
    return WorkspaceAccess.operator(get_workspace(session, slug))


def test_save_list_and_recheck(database: Database, platforms: Platforms) -> None:
    seed_workspace(database)
    seed_workspace(database, slug="other", email="o@other.test")
    with database.session() as session:
        access = _access(session)
        service.set_mastodon_instances(session, access, platforms.settings, platforms.instances)
        record, results = service.check(
            session, access, platforms.settings, "newbrand", ["github", "mastodon"]
        )
        assert record is not None
        assert {r["status"] for r in results} == {"available"}
        check_id = record.id

    platforms.taken.add("newbrand")  # someone takes it since
    with database.session() as session:
        access = _access(session)
        assert [c.name for c in service.list_checks(session, access)] == ["newbrand"]
        again = service.recheck(session, access, platforms.settings, check_id)
        data = service.check_json(again)
    taken_host = platforms.mastodon_taken.removeprefix("http://")
    assert data["changes"] == [
        {
            "network": "mastodon",
            "handle": f"@newbrand@{taken_host}",
            "was": "available",
            "now": "taken",
        },
        {"network": "github", "handle": "newbrand", "was": "available", "now": "taken"},
    ]
    assert data["previous_checked_at"] is not None
    # Taken now: the variants were tried too.
    assert any(r["handle"] == "newbrand_fr" for r in data["results"])

    with database.session() as session:
        other = _access(session, "other")
        assert service.list_checks(session, other) == []
        with pytest.raises(NotFound):
            service.get_check(session, other, check_id)
        with pytest.raises(NotFound):
            service.recheck(session, other, platforms.settings, check_id)


def test_instances_are_validated_and_need_admin(database: Database, platforms: Platforms) -> None:
    seed_workspace(database)
    with database.session() as session:
        access = _access(session)
        with pytest.raises(ValidationError, match="not an instance address"):
            service.set_mastodon_instances(session, access, platforms.settings, ["a b://x"])
        guarded = platforms.settings.model_copy(update={"allow_private_urls": False})
        with pytest.raises(ValidationError, match="private, loopback"):
            service.set_mastodon_instances(session, access, guarded, ["http://127.0.0.1:9"])
        session.rollback()
        assert service.mastodon_instances(get_workspace(session, "acme"))[0] == (
            "https://mastodon.social"
        )
        viewer = WorkspaceAccess(access.workspace, User(email="v@x", password_hash=""), Role.VIEWER)
        with pytest.raises(PermissionDenied):
            service.set_mastodon_instances(session, viewer, platforms.settings, [])
        with pytest.raises(PermissionDenied):
            service.check(session, viewer, platforms.settings, "acme")
        assert service.set_mastodon_instances(
            session, access, platforms.settings, ["piaille.fr"]
        ) == ["https://piaille.fr"]
        assert service.set_mastodon_instances(session, access, platforms.settings, [])[0] == (
            "https://mastodon.social"
        )


def test_a_recheck_asks_the_custom_domain_of_the_saved_check(
    database: Database, platforms: Platforms
) -> None:
    """A check saved with a custom Bluesky domain asks that domain again, not NAME.com
    (the saved check forgot it: issue #13)."""
    seed_workspace(database)
    with database.session() as session:
        record, results = service.check(
            session,
            _access(session),
            platforms.settings,
            "acme",
            ["bluesky"],
            variants=0,
            bluesky_domain="Acme.FR.",
        )
        assert record is not None
        check_id = record.id
    asked = {r["handle"]: r["status"] for r in results}
    assert asked == {"acme.bsky.social": "taken", "acme.fr": "available"}

    with database.session() as session:
        again = service.recheck(session, _access(session), platforms.settings, check_id)
        data = service.check_json(again)
    assert data["bluesky_domain"] == "acme.fr"
    assert {r["handle"]: r["status"] for r in data["results"]} == asked
    assert data["changes"] == []
    with database.session() as session, pytest.raises(ValidationError, match="domain name"):
        service.check(
            session, _access(session), platforms.settings, "acme", ["bluesky"], bluesky_domain="x"
        )
