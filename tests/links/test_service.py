"""Link use cases on SQLite and PostgreSQL: create, edit, disable, delete, bad input."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import make_settings, seed_workspace
from tests.links.conftest import LinksEnv, add_click
from townsquare.errors import Conflict, NotFound, PermissionDenied, ValidationError
from townsquare.links import service
from townsquare.links.models import Link, LinkClick, LinkTag
from townsquare.workspaces.models import User
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess, get_workspace


def _count(env: LinksEnv, model: type) -> int:
    with env.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_create_with_utm_tags_and_options(links_env: LinksEnv) -> None:
    with links_env.database.session() as session:
        access = links_env.access(session)
        link = service.create_link(
            session,
            access,
            links_env.settings,
            target_url="https://Shop.example/spring?ref=1",
            slug="Spring-Sale",
            utm={"utm_source": "mastodon", "utm_medium": "social", "utm_campaign": "spring"},
            tags=["Promo", "promo", "ete, news"],
            campaign="Spring 2026",
            expires_at="2099-12-31",
            max_clicks=100,
            password="open sesame",
            fallback_url="https://shop.example/",
            permanent=True,
        )
        data = service.link_json(
            link, links_env.settings, service.tags_of(session, [link])[link.id]
        )
        target = service.resolve_for_redirect(session, "SPRING-SALE")
    assert data["slug"] == "spring-sale"
    assert data["short_url"] == "http://127.0.0.1:8000/spring-sale"
    assert data["target_url"] == (
        "https://shop.example/spring?ref=1&utm_source=mastodon&utm_medium=social"
        "&utm_campaign=spring"
    )
    assert data["destination_url"] == "https://shop.example/spring?ref=1"
    assert data["tags"] == ["ete", "news", "promo"]
    assert data["redirect_status"] == 301 and data["has_password"] is True
    assert data["expires_at"].astimezone(UTC) > datetime(2099, 12, 31, tzinfo=UTC)
    assert target is not None and target.final_url == data["target_url"]
    assert target.password_hash and target.password_hash.startswith("$argon2")
    assert target.unavailable_reason() is None


def test_generated_slug_when_none_given(links_env: LinksEnv) -> None:
    with links_env.database.session() as session:
        link = service.create_link(
            session, links_env.access(session), links_env.settings, target_url="https://a.example"
        )
        assert len(link.slug) == 7


BAD_CREATE = [
    ({"target_url": "javascript:alert(1)"}, "target_url"),
    ({"target_url": "data:text/html,x"}, "target_url"),
    ({"target_url": "file:///etc/passwd"}, "target_url"),
    ({"target_url": "https://u:p@example.com"}, "target_url"),
    ({"target_url": "https://go.example.com/other"}, "target_url"),  # loop: links_host
    ({"target_url": "http://127.0.0.1:8000/abc"}, "target_url"),  # loop: base_url
    ({"slug": "api"}, "slug"),
    ({"slug": "bad slug"}, "slug"),
    ({"slug": "x" * 65}, "slug"),
    ({"expires_at": "31/12/2099"}, "expires_at"),
    ({"expires_at": "2001-01-01"}, "expires_at"),
    ({"max_clicks": -1}, "max_clicks"),
    ({"max_clicks": 0}, "max_clicks"),
    ({"max_clicks": "many"}, "max_clicks"),
    ({"password": "abc"}, "password"),
    ({"fallback_url": "javascript:void(0)"}, "fallback_url"),
    ({"utm": {"utm_source": "s" * 201}}, "utm_source"),
    ({"tags": ["t" * 101]}, "tags"),
    ({"campaign": "c" * 201}, "campaign"),
]


def test_bad_input_is_refused_and_nothing_written(links_env: LinksEnv) -> None:
    """Every kind of bad input, on one database each (validation is the same code)."""
    for kwargs, field in BAD_CREATE:
        arguments: dict[str, object] = {"target_url": "https://ok.example/", "tags": ["a"]}
        arguments.update(kwargs)
        with links_env.database.session() as session, pytest.raises(ValidationError) as caught:
            service.create_link(
                session,
                links_env.access(session),
                links_env.settings,
                **arguments,  # type: ignore[arg-type]
            )
        assert caught.value.field == field, (kwargs, caught.value.message)
        assert caught.value.message
    assert _count(links_env, Link) == 0
    assert _count(links_env, LinkTag) == 0


def test_duplicate_slug_is_a_conflict_across_workspaces(links_env: LinksEnv) -> None:
    seed_workspace(links_env.database, slug="other", email="o@other.test")
    with links_env.database.session() as session:
        service.create_link(
            session,
            links_env.access(session),
            links_env.settings,
            target_url="https://a.example",
            slug="promo",
        )
        with pytest.raises(Conflict, match="already taken") as caught:
            service.create_link(
                session,
                links_env.access(session, "other"),
                links_env.settings,
                target_url="https://b.example",
                slug="PROMO",
                tags=["x"],
            )
    assert caught.value.field == "slug"
    assert _count(links_env, Link) == 1 and _count(links_env, LinkTag) == 0


def test_isolation_between_workspaces(links_env: LinksEnv) -> None:
    seed_workspace(links_env.database, slug="other", email="o@other.test")
    with links_env.database.session() as session:
        service.create_link(
            session,
            links_env.access(session),
            links_env.settings,
            target_url="https://a.example",
            slug="mine",
        )
        other = links_env.access(session, "other")
        assert service.list_links(session, other) == []
        for call in (
            lambda: service.get_link(session, other, "mine"),
            lambda: service.set_enabled(session, other, "mine", False),
            lambda: service.delete_link(session, other, "mine"),
            lambda: service.update_link(
                session, other, links_env.settings, "mine", target_url="https://evil.example"
            ),
        ):
            with pytest.raises(NotFound):
                call()
        assert service.get_link(session, links_env.access(session), "mine").is_enabled


def test_viewer_cannot_create(links_env: LinksEnv) -> None:
    with links_env.database.session() as session:
        workspace = get_workspace(session, "acme")
        user = session.scalar(select(User))
        viewer = WorkspaceAccess(workspace=workspace, user=user, role=Role.VIEWER)
        with pytest.raises(PermissionDenied):
            service.create_link(session, viewer, links_env.settings, target_url="https://a.example")


def test_update_target_utm_and_tags(links_env: LinksEnv) -> None:
    with links_env.database.session() as session:
        access = links_env.access(session)
        service.create_link(
            session,
            access,
            links_env.settings,
            target_url="https://a.example/x",
            slug="edit-me",
            utm={"utm_source": "news"},
            tags=["old"],
            max_clicks=5,
        )
        link = service.update_link(
            session,
            access,
            links_env.settings,
            "edit-me",
            target_url="https://b.example/y?k=v",
            utm={"utm_medium": "email"},
            tags=["new"],
            max_clicks=None,
        )
        assert link.final_url == "https://b.example/y?k=v&utm_source=news&utm_medium=email"
        assert link.max_clicks is None
        assert service.tags_of(session, [link])[link.id] == ["new"]
        # A bad change leaves the row as it was.
        with pytest.raises(ValidationError):
            service.update_link(
                session,
                access,
                links_env.settings,
                "edit-me",
                target_url="https://c.example/",
                max_clicks=-3,
            )
        session.expire_all()
        again = service.get_link(session, access, "edit-me")
        assert again.target_url == "https://b.example/y?k=v"


def test_disable_enable_and_expiry_reasons(links_env: LinksEnv) -> None:
    with links_env.database.session() as session:
        access = links_env.access(session)
        service.create_link(
            session,
            access,
            links_env.settings,
            target_url="https://a.example",
            slug="onoff",
            max_clicks=2,
        )
        service.set_enabled(session, access, "onoff", False)
        target = service.resolve_for_redirect(session, "onoff")
        assert target is not None and target.unavailable_reason() == "disabled"
        service.set_enabled(session, access, "onoff", True)
        target = service.resolve_for_redirect(session, "onoff")
        assert target is not None and target.unavailable_reason() is None
        later = datetime.now(UTC) + timedelta(days=3)
        service.update_link(session, access, links_env.settings, "onoff", expires_at=later)
        target = service.resolve_for_redirect(session, "onoff")
        assert target is not None
        assert target.unavailable_reason(now=later + timedelta(seconds=1)) == "expired"
    assert service.resolve_for_redirect(session, "nope") is None


@pytest.mark.parametrize("keep", [True, False])
def test_delete_keeps_or_deletes_clicks(links_env: LinksEnv, keep: bool) -> None:
    with links_env.database.session() as session:
        access = links_env.access(session)
        link = service.create_link(
            session,
            access,
            links_env.settings,
            target_url="https://a.example",
            slug="gone",
            tags=["t"],
        )
        for _ in range(3):
            add_click(session, link.id, access.workspace_id, day=date(2026, 1, 5))
        session.commit()
        result = service.delete_link(session, access, "gone", keep_clicks=keep)
        assert result.clicks == 3 and result.clicks_kept is keep
        # The slug is free again, and a new link never inherits kept clicks.
        fresh = service.create_link(
            session, access, links_env.settings, target_url="https://b.example", slug="gone"
        )
        assert fresh.id != link.id
    assert _count(links_env, LinkClick) == (3 if keep else 0)
    assert _count(links_env, LinkTag) == 0


def test_generated_slugs_never_collide_under_concurrency(links_env: LinksEnv) -> None:
    """Threads race to create links with one-character slugs (31 values): collisions are
    certain, and every one must be caught by the unique index and retried."""
    created: list[str] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(8):
                with links_env.database.session() as session:
                    link = service.create_link(
                        session,
                        links_env.access(session),
                        links_env.settings,
                        target_url="https://a.example",
                        generated_length=1,
                    )
                    created.append(link.slug)
        except BaseException as error:  # collected: the assertion below shows it
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(created) == 64 == len(set(created)) == _count(links_env, Link)


def test_short_url_precedence(tmp_path: Path) -> None:
    def short(**extra: object) -> str:
        return service.short_url(make_settings(tmp_path, None, **extra), "abc")

    assert short(links_base_url="https://go.example/", base_url="https://app.example") == (
        "https://go.example/abc"
    )
    assert short(base_url="https://app.example/") == "https://app.example/abc"
    assert short(links_host="go.example") == "http://go.example/abc"
    assert short(links_host="go.example", secure_cookies=True) == "https://go.example/abc"
    assert short() == "http://127.0.0.1:8000/abc"


def test_edits_invalidate_the_redirector_cache(links_env: LinksEnv) -> None:
    from townsquare.links.cache import LinkCache

    cache = LinkCache(links_env.database, ttl=3600)
    with links_env.database.session() as session:
        access = links_env.access(session)
        assert cache.load("cached") is None  # an unknown slug is cached too…
        service.create_link(
            session, access, links_env.settings, target_url="https://a.example/", slug="cached"
        )
        assert cache.get_fresh("cached") == (False, None)  # …and forgotten on creation
        loaded = cache.load("cached")
        assert loaded is not None and loaded.final_url == "https://a.example/"
        service.update_link(
            session, access, links_env.settings, "cached", target_url="https://b.example/"
        )
        assert cache.get_fresh("cached") == (False, None)
        assert (cache.load("cached") or loaded).final_url == "https://b.example/"
        service.set_enabled(session, access, "cached", False)
        assert cache.get_fresh("cached") == (False, None)
        cache.load("cached")
        service.delete_link(session, access, "cached")
        assert cache.get_fresh("cached") == (False, None)
        assert cache.load("cached") is None
