"""Workspace isolation over every route of the app: a member of A never reaches B.

The routes are not listed by hand: the test walks ``app.routes``, so any route another
capability adds (``/api/v1/workspaces/{workspace}/…``, ``/w/{slug}/…``) is covered the day
it lands. Each path parameter is filled from :data:`PATH_PARAMS`; a parameter the table
does not know fails the test (:func:`test_every_path_parameter_is_known`), so no new route
can slip past it unnoticed.

The attacker, Alice, is an instance administrator and owner of workspace ``alpha``: the
most a user can be without belonging to ``bravo``. Bravo is seeded with one object of every
kind (channel, members, tokens, posts, snapshots, import profiles, links, tags, clicks).
For every route and every method, through a bearer token, a token restricted to alpha and
a browser session (with a valid CSRF token, so the request really reaches the access
check), Alice must get:

- 404 on bravo's workspace and on bravo's objects, whatever the method;
- 404 on bravo's objects named through her own workspace (``/workspaces/alpha/…/{B's id}``);
- never a server error, never a piece of bravo's data in any response;
- and bravo's rows are byte-for-byte the same afterwards.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.params import File, Form
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import Host, Mount, Route

from tests.conftest import ServerThread
from townsquare.channels import service as channel_service
from townsquare.channels.crypto import CredentialsBox
from townsquare.config import Settings
from townsquare.db import Base, Database
from townsquare.db.base import utcnow
from townsquare.web.app import create_app
from townsquare.web.security import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from townsquare.workspaces import invitations, service, sessions, tokens
from townsquare.workspaces.models import User

# Markers planted in bravo's data; none may appear in an answer to Alice (unless she typed
# it into the URL herself, e.g. an error message echoing the id she asked for).
B_NAME = "Bravo Confidential Brand"
B_HANDLE = "bravohandlemarker"
B_OWNER = "bob-owner@bravo-marker.test"
B_MEMBER = "carol-viewer@bravo-marker.test"
B_POST_TEXT = "bravo post text marker"
B_POST_ID = "bravo-external-id-marker"
B_LINK_SLUG = "bravolinkmarker"
B_TARGET = "https://bravo-target-marker.example/landing"
B_TAG = "bravotagmarker"
B_CAMPAIGN = "bravocampaignmarker"
B_PROFILE = "bravo profile marker"
B_SECRET = "bravo-credential-marker"
B_TOKEN_NAME = "bravo token marker"
MARKERS = (
    B_NAME,
    B_HANDLE,
    B_OWNER,
    B_MEMBER,
    B_POST_TEXT,
    B_POST_ID,
    B_LINK_SLUG,
    "bravo-target-marker",
    B_TAG,
    B_CAMPAIGN,
    B_PROFILE,
    B_SECRET,
    B_TOKEN_NAME,
)

# Mounted apps without workspace data (static files): nothing to isolate there.
SKIPPED_MOUNTS = {"/static"}
# Routes that are public on purpose and take no workspace: the short-link redirector
# answers anyone who has the link, without logging in; so does an invitation's page, whose
# single-use secret is the credential (tests/house/test_invitations.py).
PUBLIC_ROUTES = {"/{slug}", "/{slug}.qr", "/{slug}/qr", "/{slug}+", "/invitations/{token}"}
# A report's share link opens that one report to whoever has its secret token, no login
# (tested in tests/reports/test_web.py).
PUBLIC_ROUTES |= {"/r/{token}", "/r/{token}/pdf"}
# The publishing calendar's iCalendar feed opens to whoever has its secret address
# (tests/publish/test_ical.py).
PUBLIC_ROUTES |= {"/publish/ical/{token}.ics"}


@dataclass
class World:
    """Both workspaces and the ids of bravo's objects."""

    alpha: str = "alpha"
    bravo: str = "bravo"
    ids: dict[str, int] = field(default_factory=dict)
    alice_token: str = ""
    alice_restricted_token: str = ""
    alice_session: str = ""
    carol_token: str = ""  # carol is a viewer of bravo
    carol_session: str = ""


Kind = str  # "workspace": a workspace slug; "object": an id of bravo's; "name": a label
Filler = Callable[[World, str, Any], tuple[Kind, str]]


def _workspace(world: World, path: str, annotation: Any) -> tuple[Kind, str]:
    return "workspace", world.bravo


def _object(key: str) -> Filler:
    def fill(world: World, path: str, annotation: Any) -> tuple[Kind, str]:
        return "object", str(world.ids[key])

    return fill


def _by_type(key: str, text: str) -> Filler:
    """An object named by id when the route types it int, else by its name."""

    def fill(world: World, path: str, annotation: Any) -> tuple[Kind, str]:
        return "object", str(world.ids[key]) if _is_int(annotation) else text

    return fill


def _slug(world: World, path: str, annotation: Any) -> tuple[Kind, str]:
    # Pages are /w/{slug}/…; anywhere else a slug is a short link's.
    if path.startswith("/w/{slug}"):
        return "workspace", world.bravo
    return "object", B_LINK_SLUG


def _name(value: str) -> Filler:
    def fill(world: World, path: str, annotation: Any) -> tuple[Kind, str]:
        return "name", value

    return fill


# How to fill every path parameter of the app. A route with a parameter missing here fails
# test_every_path_parameter_is_known: add it, saying which of bravo's objects it names.
PATH_PARAMS: dict[str, Filler] = {
    "workspace": _workspace,
    "slug": _slug,
    "user_id": _object("member"),
    "member_id": _object("member"),
    "channel_id": _object("channel"),
    "channel": _by_type("channel", B_HANDLE),
    "token_id": _object("token"),
    "invitation_id": _object("invitation"),
    "post_id": _object("post"),
    "post": _object("post"),
    "link_id": _object("link"),
    "link": _by_type("link", B_LINK_SLUG),
    "link_slug": _by_type("link", B_LINK_SLUG),
    "profile_id": _object("profile"),
    "profile": _by_type("profile", B_PROFILE),
    "snapshot_id": _object("snapshot"),
    "click_id": _object("click"),
    "tag": _name(B_TAG),
    "campaign": _name(B_CAMPAIGN),
    "kpi": _name("interactions"),
    "metric": _name("interactions"),
    "name": _name("interactions"),
    "format": _name("svg"),
    "table": _name("kpis"),
    "section": _name("listen"),
    "preset": _name("generic"),
    "import_id": _name("1"),
    "upload_id": _name("1"),
    "check_id": _object("handle_check"),
    "assessment_id": _object("assessment"),
    "watch_id": _object("watch"),
    "source_id": _object("source"),
    "mention_id": _object("mention"),
    "mute_id": _object("mute"),
    "alert_id": _object("alert"),
    "report_id": _object("report"),
    "share_id": _object("share"),
    "delivery_id": _object("delivery"),
    "publish_post_id": _object("publish_post"),
    "media_id": _object("publish_media"),
    "variant_id": _object("publish_variant"),
    "webhook_id": _object("webhook"),
}

# Values for required query parameters and body fields (by name, else by type).
SAMPLES: dict[str, Any] = {
    "email": "probe@alpha.test",
    "role": "viewer",
    "network": "mastodon",
    "handle": "probe",
    "password": "a long enough password",
    "timezone": "UTC",
    "url": "https://example.com/",
    "target_url": "https://example.com/",
    "metric": "interactions",
    "by": "format",
    "preset": "generic",
    "format": "svg",
}
# Query/body fields that name an object: filled with bravo's, in alpha's requests too.
OBJECT_FIELDS = {
    "channel": lambda w: B_HANDLE,
    "channel_id": lambda w: w.ids["channel"],
    "channel_ids": lambda w: [w.ids["channel"]],
    "post_id": lambda w: w.ids["post"],
    "link_id": lambda w: w.ids["link"],
    "profile_id": lambda w: w.ids["profile"],
    "user_id": lambda w: w.ids["member"],
    "tag": lambda w: B_TAG,
    "campaign": lambda w: B_CAMPAIGN,
}


def _is_int(annotation: Any) -> bool:
    return annotation is int or int in typing.get_args(annotation)


# --- walking the app ---------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: frozenset[str]
    dependant: Dependant | None  # None for a plain Starlette route
    host: str | None


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every route of the app with its full path, through mounts, hosts and included routers."""
    found: list[Endpoint] = []

    def walk(routes: list[Any], prefix: str, host: str | None) -> None:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):
                # FastAPI >= 0.16x keeps included routers lazily; ask it for the real routes.
                contexts = list(route.effective_route_contexts())
                plain = [
                    c.original_route for c in contexts if not isinstance(c.original_route, APIRoute)
                ]
                for context in contexts:
                    if isinstance(context.original_route, APIRoute):
                        found.append(
                            Endpoint(
                                prefix + context.path,
                                frozenset(context.methods or {"GET"}),
                                context.dependant,
                                host,
                            )
                        )
                walk(plain, prefix + route.include_context.prefix, host)
            elif isinstance(route, Mount):
                children = route.routes
                if not children:
                    assert route.path in SKIPPED_MOUNTS, (
                        f"mounted app at {route.path!r} has no routes to check: isolate it or "
                        "add it to SKIPPED_MOUNTS with the reason"
                    )
                    continue
                walk(children, prefix + route.path, host)
            elif isinstance(route, Host):
                walk(route.routes, prefix, route.host)
            elif isinstance(route, APIRoute):
                found.append(
                    Endpoint(prefix + route.path, frozenset(route.methods), route.dependant, host)
                )
            elif isinstance(route, Route):
                found.append(
                    Endpoint(prefix + route.path, frozenset(route.methods or {"GET"}), None, host)
                )
            else:
                pytest.fail(f"unknown kind of route {route!r}: teach test_isolation to walk it")

    walk(list(app.router.routes), "", None)
    return found


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


def _all_params(dependant: Dependant, kind: str) -> list[Any]:
    params = list(getattr(dependant, kind))
    for dep in dependant.dependencies:
        params += _all_params(dep, kind)
    return params


def _annotations(endpoint: Endpoint) -> dict[str, Any]:
    if endpoint.dependant is None:
        return {}
    return {p.name: p.field_info.annotation for p in _all_params(endpoint.dependant, "path_params")}


# --- the world ---------------------------------------------------------------------------


def _seed(database: Database, settings: Settings) -> World:
    from townsquare.analytics.models import ChannelSnapshot, ImportProfile, Post
    from townsquare.analytics.models import PostMetricSnapshot as Snapshot
    from townsquare.handles.models import HandleCheck
    from townsquare.links.models import Link, LinkClick, LinkTag
    from townsquare.listening.models import Alert, Mention, MentionWatch, Mute, Source, Watch
    from townsquare.maturity.models import MaturityAssessment

    world = World()
    box = CredentialsBox(settings.resolved_credentials_key())
    with database.session() as session:
        # Alice first: the first user is an instance administrator.
        alice = service.create_user(session, email="alice@alpha.test", password="alice password 1")
        assert alice.is_admin
        bob = service.create_user(session, email=B_OWNER, password="bob password 12")
        service.create_workspace(session, world.alpha, name="Alpha", owner=alice)
        bravo = service.create_workspace(session, world.bravo, name=B_NAME)
        bravo_access = service.WorkspaceAccess.operator(bravo)
        service.add_member(session, bravo_access, email=B_OWNER, role="owner")
        carol = service.create_user(
            session,
            email=B_MEMBER,
            password="carol password 1",
            workspace=world.bravo,
            role="viewer",
        )
        channel = channel_service.add_channel(
            session,
            bravo_access,
            network="mastodon",
            handle=B_HANDLE,
            display_name=B_NAME,
            credentials={"access_token": B_SECRET},
            box=box,
        )
        token = tokens.create_token(session, bob, name=B_TOKEN_NAME, workspace=world.bravo)
        invitation = invitations.invite(
            session,
            bravo_access,
            email="dana@bravo.test",
            role="editor",
            settings=settings,
            base_url="http://bravo.test",
        ).invitation
        now = utcnow()
        post = Post(
            workspace_id=bravo.id,
            channel_id=channel.id,
            external_id=B_POST_ID,
            published_at=now - timedelta(days=3),
            format="photo",
            text=B_POST_TEXT,
            tags=[B_TAG],
        )
        session.add(post)
        session.flush()
        snapshot = Snapshot(post_id=post.id, taken_at=now, impressions=1234, reach=999)
        profile = ImportProfile(workspace_id=bravo.id, name=B_PROFILE, mapping={"a": "text"})
        followers = ChannelSnapshot(
            workspace_id=bravo.id, channel_id=channel.id, date=date.today(), followers=4321
        )
        link = Link(
            workspace_id=bravo.id,
            slug=B_LINK_SLUG,
            target_url=B_TARGET,
            final_url=B_TARGET,
            title=B_NAME,
            campaign=B_CAMPAIGN,
            post_id=post.id,
        )
        session.add_all([snapshot, profile, followers, link])
        session.flush()
        tag = LinkTag(workspace_id=bravo.id, link_id=link.id, tag=B_TAG)
        click = LinkClick(
            link_id=link.id,
            workspace_id=bravo.id,
            clicked_at=now,
            click_date=now.date(),
            referrer_domain="bravo-target-marker.example",
        )
        handle_check = HandleCheck(
            workspace_id=bravo.id,
            name=B_HANDLE,
            networks=[],
            with_variants=True,
            results=[
                {"network": "x", "handle": B_HANDLE, "status": "taken", "reason": "", "url": ""}
            ],
            checked_at=now,
        )
        assessment = MaturityAssessment(
            workspace_id=bravo.id,
            taken_at=now,
            version="2026-12",
            answers={},
            competencies=[{"id": "strategy", "score": 50.0, "stage": "early"}],
        )
        watch = Watch(workspace_id=bravo.id, name=B_NAME, kind="brand", query=B_HANDLE)
        source = Source(workspace_id=bravo.id, type="rss", target="https://bravo.example/feed")
        session.add_all([tag, click, handle_check, assessment, watch, source])
        session.flush()
        mention = Mention(
            workspace_id=bravo.id,
            source_id=source.id,
            dedupe_key="bravo-mention",
            network="rss",
            url="https://bravo-target-marker.example/mention",
            text=B_POST_TEXT,
            published_at=now,
        )
        mute = Mute(workspace_id=bravo.id, kind="site", value="bravo-target-marker.example")
        alert = Alert(
            workspace_id=bravo.id,
            watch_id=watch.id,
            url_encrypted=b"bravo",
            url_display="https://bravo-target-marker.example/…",
        )
        session.add_all([mention, mute, alert])
        session.flush()
        session.add(MentionWatch(mention_id=mention.id, watch_id=watch.id))
        from townsquare.reports.models import Report, ReportDelivery, ReportShare

        report = Report(
            workspace_id=bravo.id,
            name=B_NAME,
            channels=[B_HANDLE],
            period="last-month",
            sections=["overview"],
            language="en",
        )
        session.add(report)
        session.flush()
        share = ReportShare(
            workspace_id=bravo.id,
            report_id=report.id,
            token_hash="0" * 64,
            prefix="tsr_bravo",
            expires_at=now + timedelta(days=1),
        )
        delivered = ReportDelivery(
            workspace_id=bravo.id,
            report_id=report.id,
            period_from=date.today(),
            period_to=date.today(),
            trigger="manual",
            status="review",
            recipients=[B_OWNER],
        )
        session.add_all([share, delivered])
        from townsquare.publish.models import PublishMedia, PublishPost, PublishVariant

        composed = PublishPost(
            workspace_id=bravo.id, parts=[{"text": B_POST_TEXT, "media": []}], campaign=B_CAMPAIGN
        )
        session.add(composed)
        session.flush()
        picture = PublishMedia(
            workspace_id=bravo.id,
            post_id=composed.id,
            sha256="0" * 64,
            filename=B_NAME,
            mime_type="image/png",
            size=1,
        )
        variant = PublishVariant(
            post_id=composed.id, workspace_id=bravo.id, channel_id=channel.id, overrides={}
        )
        from townsquare.publish.web_models import WebhookEndpoint

        webhook = WebhookEndpoint(
            workspace_id=bravo.id,
            url=B_TARGET,
            events=["post.published"],
            sealed_secret=box.seal({"secret": B_SECRET}),
        )
        session.add_all([picture, variant, webhook])
        session.commit()
        world.ids = {
            "watch": watch.id,
            "source": source.id,
            "mention": mention.id,
            "mute": mute.id,
            "alert": alert.id,
            "handle_check": handle_check.id,
            "assessment": assessment.id,
            "member": carol.id,
            "owner": bob.id,
            "channel": channel.id,
            "token": token.token.id,
            "invitation": invitation.id,
            "post": post.id,
            "snapshot": snapshot.id,
            "profile": profile.id,
            "link": link.id,
            "click": click.id,
            "report": report.id,
            "share": share.id,
            "delivery": delivered.id,
            "publish_post": composed.id,
            "publish_media": picture.id,
            "publish_variant": variant.id,
            "webhook": webhook.id,
        }
        world.alice_token = tokens.create_token(
            session, alice, name="alice", expires_in_days=None
        ).plaintext
        world.alice_restricted_token = tokens.create_token(
            session, alice, name="alice alpha", workspace=world.alpha
        ).plaintext
        _user, key = sessions.login(
            session,
            email="alice@alpha.test",
            password="alice password 1",
            client="test",
            policy=sessions.LoginPolicy(),
        )
        world.alice_session = key
        world.carol_token = tokens.create_token(session, carol, name="carol").plaintext
        _user, world.carol_session = sessions.login(
            session,
            email=B_MEMBER,
            password="carol password 1",
            client="test",
            policy=sessions.LoginPolicy(),
        )
    return world


def _bravo_rows(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that belongs to bravo or its people, to compare before and after."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with database.session() as session:
        bravo_id = session.scalar(sa.text("SELECT id FROM workspaces WHERE slug = 'bravo'"))
        people = [
            row[0]
            for row in session.execute(
                sa.select(User.id).where(User.email.in_([B_OWNER, B_MEMBER]))
            )
        ]
        for table in Base.metadata.sorted_tables:
            if "workspace_id" in table.c:
                query = sa.select(table).where(table.c.workspace_id == bravo_id)
            elif table.name == "workspaces":
                query = sa.select(table).where(table.c.id == bravo_id)
            elif table.name == "users":
                query = sa.select(table).where(table.c.id.in_(people))
            elif "user_id" in table.c:
                query = sa.select(table).where(table.c.user_id.in_(people))
            elif table.name == "post_metric_snapshots" or table.name == "post_latest_metrics":
                posts = sa.select(sa.text("id FROM posts WHERE workspace_id = :w"))
                query = sa.select(table).where(
                    table.c.post_id.in_(posts.params(w=bravo_id).scalar_subquery())
                )
            else:
                continue
            columns = [c for c in table.c if c.name not in ("last_used_at", "last_seen_at")]
            if "workspace_id" in table.c:
                # Rows of other workspaces pointing at bravo's objects: a write through
                # alpha that reached into bravo.
                for column, key in (("channel_id", "channel"), ("post_id", "post"),
                                    ("link_id", "link")):  # fmt: skip
                    if column in table.c:
                        ids = sa.select(sa.text(f"id FROM {key}s WHERE workspace_id = :w"))
                        stray = session.scalar(
                            sa.select(sa.func.count())
                            .select_from(table)
                            .where(
                                table.c.workspace_id != bravo_id,
                                table.c[column].in_(ids.params(w=bravo_id).scalar_subquery()),
                            )
                        )
                        rows[f"{table.name}.{column} from other workspaces"] = [(stray,)]
            result = session.execute(query.with_only_columns(*columns))
            rows[table.name] = sorted((tuple(map(repr, row)) for row in result), key=str)
    return rows


@pytest.fixture
def world(
    database: Database, db_settings: Settings
) -> Iterator[tuple[World, ServerThread, FastAPI]]:
    world = _seed(database, db_settings)
    # Handle checks (POST …/handles/check) must not ask the real platforms: every checker's
    # base URL (and every Mastodon instance) is on loopback, which the SSRF rule refuses, so
    # each platform answers "unknown" without a packet sent; the short timeout bounds it.
    loopback = "http://127.0.0.1:9"
    platforms = ("bluesky", "github", "rdap_fr", "rdap_com", "instagram", "threads", "x")
    platforms += ("tiktok", "facebook", "linkedin", "youtube")
    with database.session() as session:
        from townsquare.workspaces.models import Workspace

        for workspace in session.scalars(sa.select(Workspace)):
            workspace.settings = {
                **(workspace.settings or {}),
                "handles": {"mastodon_instances": [loopback]},
            }
        session.commit()
    settings = db_settings.model_copy(
        update={
            "handles_timeout": 1.0,
            "handles_base_urls": dict.fromkeys(platforms, loopback),
        }
    )
    app = create_app(settings, database=database)
    with ServerThread(app) as server:
        yield world, server, app


# --- requests ----------------------------------------------------------------------------


def _sample(name: str, annotation: Any, world: World) -> Any:
    if name in OBJECT_FIELDS:
        return OBJECT_FIELDS[name](world)
    if name in SAMPLES:
        return SAMPLES[name]
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and args:
        return _sample(name, args[0], world)
    if origin is typing.Literal:
        return typing.get_args(annotation)[0]
    if origin in (list, set, tuple) or annotation in (list, set, tuple):
        return []
    if origin is dict or annotation is dict:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return _model_body(annotation, world)
        if issubclass(annotation, enum.Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, bool):
            return False
        if issubclass(annotation, int):
            return 1
        if issubclass(annotation, float):
            return 1.0
        if issubclass(annotation, datetime):
            return "2024-01-01T00:00:00Z"
        if issubclass(annotation, date):
            return "2024-01-01"
    return "probe"


def _model_body(model: type[BaseModel], world: World) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if info.is_required() or name in OBJECT_FIELDS:
            body[key] = _sample(name, info.annotation, world)
    return body


@dataclass
class Call:
    method: str
    url: str
    params: dict[str, Any]
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None


def _build_call(endpoint: Endpoint, method: str, url: str, world: World) -> Call:
    call = Call(method, url, {})
    dependant = endpoint.dependant
    if dependant is None:
        return call
    for param in _all_params(dependant, "query_params"):
        if param.field_info.is_required() or param.name in OBJECT_FIELDS:
            call.params[param.name] = _sample(param.name, param.field_info.annotation, world)
    if method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return call
    bodies = dependant.body_params
    if bodies and all(isinstance(b.field_info, Form) for b in bodies):
        uploads = [b for b in bodies if isinstance(b.field_info, File)]
        call.files = {b.name: ("probe.csv", b"text\nprobe\n", "text/csv") for b in uploads}
        call.data = {
            b.name: str(_sample(b.name, b.field_info.annotation, world))
            for b in bodies
            if b not in uploads
        }
    elif len(bodies) == 1 and not getattr(bodies[0].field_info, "embed", False):
        call.json = _sample(bodies[0].name, bodies[0].field_info.annotation, world)
    elif bodies:
        call.json = {b.name: _sample(b.name, b.field_info.annotation, world) for b in bodies}
    return call


@dataclass
class Attempt:
    """One request Alice makes, and what it must answer."""

    endpoint: Endpoint
    method: str
    url: str
    expect_404: bool
    why: str


def attempts(endpoint: Endpoint, world: World) -> Iterator[Attempt]:
    """Every way Alice can aim this route at bravo."""
    if endpoint.path in PUBLIC_ROUTES:
        return
    names = path_params(endpoint.path)
    annotations = _annotations(endpoint)
    filled = {n: PATH_PARAMS[n](world, endpoint.path, annotations.get(n)) for n in names}
    kinds = {kind for kind, _ in filled.values()}
    methods = sorted(endpoint.methods - {"HEAD"})

    def url(workspace: str) -> str:
        values = {n: (workspace if kind == "workspace" else v) for n, (kind, v) in filled.items()}
        return re.sub(r"{(\w+)(?::\w+)?}", lambda m: values[m.group(1)], endpoint.path)

    if not names:
        # A route of no workspace (the account, the list of one's workspaces, the API
        # index): read it and look for bravo's data. Writes there are Alice's own business.
        if "GET" in methods and "logout" not in endpoint.path:
            yield Attempt(endpoint, "GET", endpoint.path, False, "global read")
        return
    for method in methods:
        if "workspace" in kinds:
            yield Attempt(endpoint, method, url(world.bravo), True, "bravo's workspace")
            if "object" in kinds:
                yield Attempt(endpoint, method, url(world.alpha), True, "bravo's object in alpha")
            elif method in ("GET", "HEAD"):
                yield Attempt(endpoint, method, url(world.alpha), False, "alpha, bravo's names")
            else:
                # A write into alpha naming bravo's channel, post or link in its body:
                # it must not read them, nor write rows that point at them.
                yield Attempt(endpoint, method, url(world.alpha), False, "alpha, bravo's ids")
        elif "object" in kinds:
            yield Attempt(endpoint, method, url(world.bravo), True, "bravo's object")


def _clients(world: World, server: ServerThread) -> dict[str, httpx.Client]:
    csrf = "isolation-test-csrf-token"
    cookies = {SESSION_COOKIE: world.alice_session, CSRF_COOKIE: csrf}
    viewer_cookies = {SESSION_COOKIE: world.carol_session, CSRF_COOKIE: csrf}
    return {
        "viewer token": httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {world.carol_token}"}
        ),
        "viewer session": httpx.Client(
            base_url=server.url, cookies=viewer_cookies, headers={CSRF_HEADER: csrf}
        ),
        "token": httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {world.alice_token}"}
        ),
        "restricted token": httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {world.alice_restricted_token}"},
        ),
        "session": httpx.Client(base_url=server.url, cookies=cookies, headers={CSRF_HEADER: csrf}),
    }


def _leaks(text: str, sent: str) -> list[str]:
    """Bravo's markers in an answer, except those Alice sent herself (echoed in errors)."""
    return [m for m in MARKERS if m in text and m not in sent]


# --- the tests ---------------------------------------------------------------------------


def unknown_path_params(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (param, endpoint.path)
        for endpoint in endpoints(app)
        if endpoint.path not in PUBLIC_ROUTES
        for param in path_params(endpoint.path)
        if param not in PATH_PARAMS
    }


def test_every_path_parameter_is_known(settings: Settings) -> None:
    app = create_app(settings)
    unknown = unknown_path_params(app)
    assert not unknown, (
        "path parameters test_isolation.py cannot fill, so these routes are not checked for "
        f"workspace isolation: {sorted(unknown)}; add them to PATH_PARAMS"
    )


def test_a_new_unknown_parameter_is_caught(settings: Settings) -> None:
    from fastapi import APIRouter

    app = create_app(settings)
    router = APIRouter()

    @router.get("/workspaces/{workspace}/gadgets/{gadget_id}")
    def gadget(workspace: str, gadget_id: int) -> None: ...

    app.include_router(router, prefix="/api/v1")
    assert unknown_path_params(app) == {
        ("gadget_id", "/api/v1/workspaces/{workspace}/gadgets/{gadget_id}")
    }


def test_routes_are_walked(settings: Settings) -> None:
    """The walk sees the house's own scoped routes (so it would see anyone's)."""
    app = create_app(settings)
    paths = {e.path for e in endpoints(app)}
    for expected in (
        "/api/v1/workspaces/{workspace}/channels/{channel_id}",
        "/api/v1/workspaces/{workspace}/members/{user_id}",
        "/api/v1/tokens/{token_id}",
        "/w/{slug}/channels",
        "/w/{slug}/members/{user_id}/remove",
    ):
        assert expected in paths


def test_member_of_alpha_gets_404_on_everything_of_bravo(
    world: tuple[World, ServerThread, FastAPI], database: Database
) -> None:
    world_, server, app = world
    before = _bravo_rows(database)
    clients = _clients(world_, server)
    failures: list[str] = []
    checked = 0
    # Reads first: a write that wrongly succeeds (a delete) must not hide a read's leak.
    planned = sorted(
        (attempt for endpoint in endpoints(app) for attempt in attempts(endpoint, world_)),
        key=lambda a: a.method not in ("GET", "HEAD"),
    )
    try:
        for attempt in planned:
            endpoint = attempt.endpoint
            is_api = endpoint.path.startswith("/api/")
            modes = ("token", "restricted token", "session") if is_api else ("session",)
            for mode in modes:
                call = _build_call(endpoint, attempt.method, attempt.url, world_)
                headers = {"host": endpoint.host} if endpoint.host else None
                response = clients[mode].request(
                    call.method,
                    call.url,
                    params=call.params,
                    json=call.json,
                    data=call.data,
                    files=call.files or None,
                    headers=headers,
                    follow_redirects=False,
                )
                checked += 1
                label = f"{call.method} {call.url} ({mode}; {attempt.why})"
                if attempt.expect_404 and response.status_code != 404:
                    failures.append(f"{label}: {response.status_code} instead of 404")
                elif response.status_code >= 500:
                    failures.append(f"{label}: server error {response.status_code}")
                elif attempt.why != "global read" and response.status_code == 303:
                    location = response.headers.get("location", "")
                    if location.startswith(("/login", "/setup")):
                        failures.append(f"{label}: session not recognised ({location})")
                sent = f"{call.url} {call.params} {call.json} {call.data}"
                leaked = _leaks(response.text + str(response.headers), sent)
                if leaked:
                    failures.append(f"{label}: response shows bravo's {leaked}")
    finally:
        for client in clients.values():
            client.close()
    assert checked > 50
    assert not failures, f"{len(failures)} isolation failures:\n" + "\n".join(failures)
    assert _bravo_rows(database) == before, "a request from alpha changed bravo's data"


def test_alpha_still_sees_its_own(world: tuple[World, ServerThread, FastAPI]) -> None:
    """The 404s above come from isolation, not from a broken login: Alice reads alpha."""
    world_, server, _app = world
    clients = _clients(world_, server)
    try:
        for mode in ("token", "restricted token", "session"):
            client = clients[mode]
            response = client.get("/api/v1/workspaces/alpha/channels")
            assert response.status_code == 200, (mode, response.text)
            me = client.get("/api/v1/me").json()
            assert [w["slug"] for w in me["workspaces"]] == ["alpha"], mode
        page = clients["session"].get("/w/alpha/channels", follow_redirects=False)
        assert page.status_code == 200
    finally:
        for client in clients.values():
            client.close()


def test_a_viewer_writes_nothing_anywhere(
    world: tuple[World, ServerThread, FastAPI], database: Database
) -> None:
    """Carol only reads bravo: every write route of bravo (others' capabilities included)
    refuses her with a 4xx, and bravo's rows stay the same."""
    world_, server, app = world
    before = _bravo_rows(database)
    clients = _clients(world_, server)
    failures: list[str] = []
    checked = 0
    try:
        for endpoint in endpoints(app):
            names = path_params(endpoint.path)
            if endpoint.path in PUBLIC_ROUTES or not names:
                continue
            annotations = _annotations(endpoint)
            filled = {n: PATH_PARAMS[n](world_, endpoint.path, annotations.get(n)) for n in names}
            if "workspace" not in {kind for kind, _ in filled.values()}:
                continue
            values = {n: v for n, (_kind, v) in filled.items()}
            url = re.sub(r"{(\w+)(?::\w+)?}", lambda m, v=values: v[m.group(1)], endpoint.path)
            is_api = endpoint.path.startswith("/api/")
            for method in sorted(endpoint.methods - {"GET", "HEAD", "OPTIONS"}):
                for mode in ("viewer token", "viewer session") if is_api else ("viewer session",):
                    call = _build_call(endpoint, method, url, world_)
                    response = clients[mode].request(
                        call.method,
                        call.url,
                        params=call.params,
                        json=call.json,
                        data=call.data,
                        files=call.files or None,
                        follow_redirects=False,
                    )
                    checked += 1
                    if not 400 <= response.status_code < 500:
                        failures.append(f"{method} {url} ({mode}): {response.status_code}")
    finally:
        for client in clients.values():
            client.close()
    assert checked > 10
    assert not failures, "a viewer could write:\n" + "\n".join(failures)
    assert _bravo_rows(database) == before, "a viewer's request changed bravo's data"
