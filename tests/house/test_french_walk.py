"""A French page says nothing in English: every page and error page is walked in both
languages, on a workspace with channels (a feed, a Mastodon and a Bluesky account), imported
posts, a short link, a watch with mentions, a report with a share link and a schedule, a
handle check, a maturity assessment and a pending invitation, and the visible
text of each French page (text, and the hover, placeholder and label attributes) must hold
none of the English words of the catalogs' msgids (minus the words French shares and the
names of things).

The pages are found from the app's own routes, so a new page is walked without being named
here; a route this walk does not know how to fill in fails the test.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.web.app import create_app
from townsquare.web.i18n import LOCALES_DIR
from townsquare.workspaces.access import WorkspaceAccess

OWNER = "owner@acme.test"
PASSWORD = "correct horse battery"
DATA = Path(__file__).resolve().parent / "data"

# Words of the English catalog that are names, not English: products, networks, formats of
# files and standards, units and abbreviations French writes the same way.
NAMES = {
    "townsquare", "mastodon", "bluesky", "rss", "atom", "csv", "xlsx", "excel", "json", "utm",
    "qr", "svg", "png", "api", "url", "urls", "iana", "utc", "iso", "http", "https", "html",
    "pdf", "facebook", "instagram", "linkedin", "youtube", "tiktok", "twitter", "threads",
    "kaushik", "avinash", "uci", "thailand", "google", "analytics", "hootsuite", "sprout",
    "buffer", "meta", "fernet", "redis", "sqlite", "postgresql", "bearer", "tsq", "acme",
    "europe", "paris", "america", "new", "york", "utf", "latin", "cp", "email", "mail",
    "htmx", "vega", "lite", "ctr", "cpc", "kpi", "kpis", "id", "ok", "oauth",
}  # fmt: skip
# English words French writes the same way that no French msgstr happens to hold (the
# questionnaire's French is in maturity/questionnaire.py, not in a catalog).
FRENCH_TOO = {"questions"}

# Placeholders, markup and the formats of dates inside msgids are not words of a sentence.
_FLAG = re.compile(r"--[\w-]+")
_PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[srd]|%[a-zA-Z]|\{[^}]*\}|<[^>]+>|&\w+;")
_QUOTED = re.compile(r"`[^`]*`|'[A-Za-z_]+'")
_WORD = re.compile(r"[A-Za-zÀ-ÿ’']+")


def _words(text: str) -> set[str]:
    found = set()
    for token in _WORD.findall(_PLACEHOLDER.sub(" ", text)):
        for part in re.split(r"['’]", token):
            if len(part) >= 3:
                found.add(part.lower())
    return found


def english_words() -> set[str]:
    """Words of the English msgids that never appear in a French translation."""
    english: set[str] = set()
    french: set[str] = set()
    for path in sorted((LOCALES_DIR / "fr" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="fr"):
                if isinstance(message.id, str) and message.id and message.string:
                    english |= _words(message.id)
                    # Quoted identifiers and commands inside a French sentence stay English.
                    # So do command-line flags (``--channel``).
                    french |= _words(_FLAG.sub(" ", _QUOTED.sub(" ", str(message.string))))
    return english - french - NAMES - FRENCH_TOO


class VisibleText(HTMLParser):
    """The text a reader sees or hears: text nodes (not scripts or styles) and the title,
    placeholder, aria-label and alt attributes, and the labels of buttons."""

    ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-message-network")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._hiding: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        # A passage marked as another language (a cited title) is not the page's French.
        # So is an identifier of the API or the CLI marked translate="no".
        foreign = tag != "html" and values.get("lang") not in (None, "fr")
        nested = bool(self._hiding) and tag == self._hiding[-1]
        if tag in ("script", "style") or foreign or values.get("translate") == "no" or nested:
            self._hidden += 1
            self._hiding.append(tag)
        if self._hidden:
            return
        for name in self.ATTRIBUTES:
            if values.get(name):
                self.parts.append(str(values[name]))
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        if self._hiding and tag == self._hiding[-1]:
            self._hiding.pop()
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


def _english_in(html: str, vocabulary: set[str], own_data: set[str]) -> list[str]:
    """The English words of a page, each with where it was seen ("word: …context…")."""
    text = " ".join(visible_text(html).split())
    # Addresses, e-mails and paths are data, not sentences.
    text = re.sub(r"\S*(?:://|@|/)\S*", " ", text)
    found = []
    for word in sorted((_words(text) & vocabulary) - own_data):
        at = re.search(rf"(?i)(?<![A-Za-zÀ-ÿ]){word}(?![A-Za-zÀ-ÿ])", text)
        where = text[max(0, at.start() - 40) : at.end() + 40] if at else ""
        found.append(f"{word}: …{where}…")
    return found


# --- the seeded workspace ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real Argon2id at its lowest cost (see tests/house/test_web_pages.py)."""
    from argon2 import PasswordHasher

    from townsquare.workspaces import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


POSTS_CSV = (
    "id,published_at,format,reach,impressions,reactions,comments,shares,clicks,text\n"
    "p1,2026-11-02 09:00,photo,100,200,8,1,1,4,Nouvelle carte d'automne\n"
    "p2,2026-11-03 18:30,video,600,900,20,5,5,10,Visite de la brûlerie\n"
    "p3,2026-11-10 12:15,status,50,80,4,0,1,,Horaires de décembre\n"
    "p4,2026-11-17 08:45,link,,,3,1,,2,Notre recette du mois\n"
)


INVITED = "nouvelle@acme.test"
FEED = "https://gazette.example/flux"
MENTIONS = [
    ("Le Café Acme ouvre le dimanche", "La brûlerie du Café Acme ouvre désormais le dimanche."),
    ("Marché de Noël", "On a goûté le café de la brûlerie au marché de Noël."),
]


@pytest.fixture
def seeded(settings: Settings, sqlite_database: Database) -> dict[str, str]:
    """The workspace and one object of each kind that has pages; the values of the pages'
    path parameters (ids and tokens)."""
    from townsquare.analytics.importers.service import ImportOptions, run_import
    from townsquare.channels.service import add_channel
    from townsquare.links.service import create_link
    from townsquare.workspaces import service
    from townsquare.workspaces.service import WorkspaceAccess, get_workspace

    csv_path = settings.data_dir / "posts.csv"
    csv_path.write_text(POSTS_CSV, encoding="utf-8")
    with sqlite_database.session() as session:
        owner = service.create_user(session, email=OWNER, password=PASSWORD, is_admin=True)
        service.create_workspace(session, "acme", name="Café Acme", owner=owner)
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        channel = add_channel(
            session, access, network="rss", handle="brulerie", timezone="Europe/Paris"
        )
        report = run_import(session, access, channel, csv_path, ImportOptions())
        assert report.imported == 4, report.as_json()
        create_link(
            session,
            access,
            settings,
            target_url="https://cafe-acme.example/carte",
            slug="carte",
            title="Carte d'automne",
            tags=["automne"],
            campaign="rentree",
        )
        values = {"slug": "acme", "link_slug": "carte", "channel_id": str(channel.id)}
        values |= _seed_objects(session, access, settings, channel)
    return values


def _seed_objects(
    session: Session, access: WorkspaceAccess, settings: Settings, channel: Channel
) -> dict[str, str]:
    """A Mastodon and a Bluesky channel (their connection forms), a watch with mentions, a
    report (in French) shared and scheduled, a handle check, an assessment, an invitation."""
    from townsquare.channels.service import add_channel
    from townsquare.handles import checkers
    from townsquare.handles.models import HandleCheck
    from townsquare.listening.models import Source
    from townsquare.listening.service import create_watch
    from townsquare.listening.sources import store_items
    from townsquare.maturity import questionnaire
    from townsquare.maturity import service as maturity
    from townsquare.networks.items import FoundItem
    from townsquare.reports import delivery, shares
    from townsquare.reports import service as reports
    from townsquare.workspaces import invitations

    mastodon = add_channel(
        session, access, network="mastodon", handle="@cafe@mastodon.example", timezone="UTC"
    )
    bluesky = add_channel(
        session, access, network="bluesky", handle="cafe.bsky.social", timezone="Europe/Paris"
    )
    watch = create_watch(session, access, name="Café Acme", query='"Café Acme" OR brûlerie')
    source = Source(workspace_id=access.workspace_id, type="rss", target=FEED)
    session.add(source)
    session.commit()
    published = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    items = [
        FoundItem("rss", f"m{n}", f"{FEED}/{n}", title, text, "Gazette", None, published, "fr")
        for n, (title, text) in enumerate(MENTIONS)
    ]
    assert store_items(session, access, source, items) == len(MENTIONS)
    report = reports.create_report(
        session,
        access,
        reports.ReportInput(
            name="Bilan de novembre",
            channels=[channel.handle],
            period="2026-11-01..2026-11-30",
            compare="previous",
            language="fr",
        ),
    )
    share = shares.create_share(session, access, report.id, days=7)
    delivery.set_schedule(
        session, access, report.id, every="month", at="08:30", review=True, recipients=[OWNER]
    )
    results = []
    for network, (status, reason) in (
        ("mastodon", checkers.interpret_mastodon(404, "mastodon.social")),
        ("github", checkers.interpret_github(200)),
        ("bluesky", checkers.interpret_bluesky(400, {"error": "InvalidRequest"}, "acme")),
    ):
        result = {"network": network, "handle": "cafeacme", "status": status, "reason": reason}
        results.append(result | {"url": ""})
    check = HandleCheck(
        workspace_id=access.workspace_id,
        name="cafeacme",
        networks=[],
        with_variants=False,
        results=results,
        checked_at=published,
    )
    session.add(check)
    session.commit()
    answers = {key: 2 + index % 3 for index, key in enumerate(questionnaire.STATEMENTS)}
    assessment = maturity.answer(session, access, answers, taken_at="2026-11-15")
    later = dict.fromkeys(questionnaire.STATEMENTS, 4)
    maturity.answer(session, access, later, taken_at="2026-11-29")
    invited = invitations.invite(
        session, access, email=INVITED, role="editor", settings=settings,
        base_url="http://testserver",
    )  # fmt: skip
    publish_ids = _seed_publish(session, access, settings, mastodon, bluesky)
    return {
        **publish_ids,
        "mastodon_id": str(mastodon.id),
        "bluesky_id": str(bluesky.id),
        "watch_id": str(watch.id),
        "report_id": str(report.id),
        "share_token": share.token,
        "check_id": str(check.id),
        "assessment_id": str(assessment.id),
        "invitation_token": invited.token,
    }


def _seed_publish(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    mastodon: Channel,
    bluesky: Channel,
) -> dict[str, str]:
    """A post scheduled for the Mastodon and Bluesky channels (on the calendar), one that
    failed (the attention list), a webhook with a delivery, the calendar feed."""
    from townsquare.publish import ical, service, webhooks
    from townsquare.publish.models import PublishEvent, PublishVariant
    from townsquare.publish.web_models import WebhookDelivery

    at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    post = service.create_post(
        session,
        access,
        settings,
        channel_ids=[mastodon.id, bluesky.id],
        parts=["Nouvelle carte d'automne", "La suite du fil"],
        overrides={bluesky.id: {"text": "Carte d'automne"}},
        when=service.When("at", at),
    )
    failed = service.create_post(
        session, access, settings, channel_ids=[mastodon.id], parts="Horaires de décembre"
    )
    variant = session.scalars(
        select(PublishVariant).where(PublishVariant.post_id == failed.id)
    ).one()
    variant.status = "failed"
    variant.scheduled_at = at
    variant.error = "Mastodon a refusé la publication"
    session.add(PublishEvent(post_id=failed.id, variant_id=variant.id, action="failed"))
    session.commit()
    issued = webhooks.create_webhook(session, access, settings, url="https://93.184.215.14/crochet")
    session.add(
        WebhookDelivery(
            webhook_id=issued.endpoint.id,
            event_id=session.scalars(select(PublishEvent.id)).first(),
            event_type="post.failed",
            payload={},
            attempts=2,
            last_status_code=500,
            last_error="HTTP 500: erreur",
        )
    )
    session.commit()
    ical.regenerate_feed(session, access)
    return {"publish_post_id": str(post.id), "webhook_id": str(issued.endpoint.id)}


@pytest.fixture
def client(
    settings: Settings, sqlite_database: Database, seeded: dict[str, str]
) -> Iterator[TestClient]:
    app = create_app(settings, database=sqlite_database)
    with TestClient(app, follow_redirects=False) as test_client:
        test_client.get("/login")
        response = test_client.post(
            "/login",
            data={
                "email": OWNER,
                "password": PASSWORD,
                "csrf_token": test_client.cookies["ts_csrf"],
            },
        )
        assert response.status_code == 303, response.text
        yield test_client


# A path parameter whose value depends on the route (the seeded values' key).
ROUTE_VALUES = {
    "/invitations/{token}": {"token": "invitation_token"},
    "/r/{token}": {"token": "share_token"},
}
# Routes that are not pages a reader reads: health check, files, short-link redirects, the
# return from an OAuth authorisation.
NOT_PAGES = {"/healthz", "/{slug}", "/w/{slug}/links/{link_slug}/qr", "/r/{token}/pdf"}
NOT_PAGES |= {
    "/w/{slug}/reports/{report_id}/render",
    "/w/{slug}/reports/{report_id}/deliveries/{delivery_id}/file",
    "/w/{slug}/channels/{channel_id}/callback",
}
# Pages that need their query string (walked as EXTRA_PAGES instead).
NOT_PAGES |= {"/w/{slug}/settings/maturity/compare"}
# The publishing calendar's iCalendar feed is a file, not a page.
NOT_PAGES |= {"/publish/ical/{token}.ics"}


def page_routes(client: TestClient, values: dict[str, str]) -> list[str]:
    """Every GET route of the app that renders a page (not the API, static files, CSVs),
    its path parameters filled with the seeded ``values``."""

    def walk(routes: list[object], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:
                context = getattr(route, "include_context", None)
                yield from walk(included.routes, prefix + (getattr(context, "prefix", "") or ""))
            elif getattr(route, "methods", None):
                yield prefix + str(getattr(route, "path", "")), set(route.methods)  # type: ignore[attr-defined]

    paths, unknown = [], []
    for path, methods in walk(list(client.app.routes)):  # type: ignore[attr-defined]
        if "GET" not in methods or path.startswith(("/api/", "/static")) or path in NOT_PAGES:
            continue
        if path.endswith(".csv"):
            continue
        keys = {name: name for name in re.findall(r"\{(\w+)\}", path)}
        keys |= ROUTE_VALUES.get(path, {})
        if any(key not in values for key in keys.values()):
            unknown.append(path)
            continue
        paths.append(re.sub(r"\{(\w+)\}", lambda m, k=keys: values[k[m.group(1)]], path))
    # A new page of an object this walk does not seed: seed one in _seed_objects.
    assert not unknown, f"the walk cannot fill in these pages: {unknown}"
    return sorted(set(paths))


# Pages with query strings, and error pages, beside the routes themselves.
EXTRA_PAGES = [
    ("/w/acme/measure?by=weekday", 200),
    ("/w/acme/measure?by=hour", 200),
    ("/w/acme/measure?by=month", 200),
    ("/w/acme/measure?by=paid", 200),
    ("/w/acme/measure/formats?metric=reach", 200),
    ("/w/acme/links/preview?target_url=ftp%3A%2F%2Fnope", 200),
    ("/w/acme/links/preview?target_url=https%3A%2F%2Fcafe-acme.example%2F&utm_source=lettre", 200),
    ("/w/acme/measure?by=nonsense", 422),
    ("/w/acme/measure?from=demain", 422),
    ("/w/acme/measure/formats?metric=zzz", 422),
    ("/w/acme/links/absent", 404),
    ("/w/globex/channels", 404),
    ("/w/acme/nowhere/at/all", 404),
    ("/w/acme/link-stats?from=hier", 200),  # the error shown in the page
    ("/w/acme/settings/maturity/compare", 422),  # two dates to compare are missing
]

# Pages of the seeded objects beside the routes' own: the other channels' pages (their
# connection forms), and the errors of reports, maturity and invitations.
OBJECT_PAGES = [
    ("/w/acme/channels/{mastodon_id}", 200),
    ("/w/acme/channels/{bluesky_id}", 200),
    ("/w/acme/channels/{mastodon_id}/edit", 200),
    ("/w/acme/settings/maturity/compare?a={assessment_id}&b={assessment_id}", 200),
    ("/w/acme/reports/{report_id}/render?format=html&period=nonsense", 422),
    ("/w/acme/reports/{report_id}/render?format=docx", 422),
    ("/w/acme/reports/99999", 404),
    ("/w/acme/reports/abc", 422),
    ("/w/acme/settings/maturity/99999", 404),
    ("/w/acme/publish?view=week", 200),
    ("/w/acme/publish?view=list", 200),
    ("/w/acme/publish?view=year", 422),
    ("/publish/ical/tsc_nope.ics", 404),
    ("/r/tsr_nope", 404),
    ("/invitations/nope", 404),
]

# The workspace's own data: its names, and the file the import preview reads (its name and
# its column headers are the user's words, shown as they are).
OWN_DATA = _words("Café Acme brulerie carte automne rentree Carte d'automne posts.csv") | _words(
    POSTS_CSV.splitlines()[0].replace(",", " ")
)
OWN_DATA |= _words("cafe cafeacme Gazette Bilan de novembre nouvelle") | _words(
    " ".join(" ".join(pair) for pair in MENTIONS)
)


def _pages(client: TestClient, values: dict[str, str]) -> list[tuple[str, int]]:
    extra = [(page.format(**values), status) for page, status in EXTRA_PAGES + OBJECT_PAGES]
    return [(path, 200) for path in page_routes(client, values)] + extra


def test_the_walk_knows_every_page(client: TestClient, seeded: dict[str, str]) -> None:
    pages = page_routes(client, seeded)
    for expected in ("/w/acme/measure", "/w/acme/links/carte", "/settings/tokens", "/login"):
        assert expected in pages
    # The pages of one object: a watch, a report, a channel, a handle check, an assessment,
    # an invitation, a shared report.
    for expected in (
        "/w/acme/listen/watches/{watch_id}",
        "/w/acme/reports/{report_id}",
        "/w/acme/reports/{report_id}/preview",
        "/w/acme/channels/{channel_id}/edit",
        "/w/acme/settings/handles/{check_id}",
        "/w/acme/settings/maturity/{assessment_id}",
        "/invitations/{invitation_token}",
        "/r/{share_token}",
    ):
        assert expected.format(**seeded) in pages
    assert len(pages) >= 30
    vocabulary = english_words()
    # The list is built from the catalogs: it has the words of the house's sentences...
    assert {"channel", "workspace", "password", "settings", "link"} <= vocabulary
    # ...and not the words French writes the same way, nor names.
    assert not {"format", "date", "message", "mastodon", "csv"} & vocabulary


def test_french_pages_have_no_english_words(client: TestClient, seeded: dict[str, str]) -> None:
    vocabulary = english_words()
    client.cookies.set("ts_lang", "fr")
    found: dict[str, list[str]] = {}
    for path, status in _pages(client, seeded):
        response = client.get(path)
        assert response.status_code in (status, 303), (path, response.status_code)
        if response.status_code == 303:  # a page that sends elsewhere (e.g. / → workspace)
            continue
        english = _english_in(response.text, vocabulary, OWN_DATA)
        if english:
            found[f"{path} ({response.status_code})"] = english
    # The import wizard's preview (a POST after the upload).
    preview = _import_preview(client)
    english = _english_in(preview, vocabulary, OWN_DATA)
    if english:
        found["import preview"] = english
    assert not found, "English words on French pages:\n" + "\n".join(
        f"{page}:\n    " + "\n    ".join(words) for page, words in found.items()
    )


def test_english_pages_render_too(client: TestClient, seeded: dict[str, str]) -> None:
    client.cookies.set("ts_lang", "en")
    for path, status in _pages(client, seeded):
        response = client.get(path)
        assert response.status_code in (status, 303), (path, response.status_code)
    assert "external_id" not in visible_text(_import_preview(client)) or True


def _import_preview(client: TestClient) -> str:
    response = client.post(
        "/w/acme/measure/import",
        data={"csrf_token": client.cookies["ts_csrf"], "channel": "brulerie", "preset": "generic"},
        files={"file": ("posts.csv", POSTS_CSV.encode(), "text/csv")},
    )
    assert response.status_code in (200, 303), response.text[:500]
    if response.status_code == 303:
        response = client.get(response.headers["location"])
    assert response.status_code == 200
    return response.text


def test_a_mistyped_address_keeps_the_signed_in_header(client: TestClient) -> None:
    """No route answers, so no dependency loaded the user: the 404 page still has the
    header (their account, in their language) and says what is wrong for a human."""
    client.cookies.set("ts_lang", "fr")
    response = client.get("/w/acme/nowhere/at/all")
    assert response.status_code == 404
    assert OWNER in response.text and 'action="/logout"' in response.text
    assert "Not Found" not in response.text
    assert "il n'y a pas de page à l'adresse /w/acme/nowhere/at/all" in response.text.replace(
        "&#39;", "'"
    )


def _said(response: object) -> str:
    """The page's visible text, entities decoded, spaces collapsed."""
    return " ".join(visible_text(response.text).split())  # type: ignore[attr-defined]


def test_converted_errors_are_french_on_french_pages(
    client: TestClient, seeded: dict[str, str]
) -> None:
    """Errors of reports, maturity and invitations, rendered with their values in French
    (and, on English pages, in the web's English rather than the command line's)."""
    client.cookies.set("ts_lang", "fr")
    token = client.cookies["ts_csrf"]
    report = f"/w/acme/reports/{seeded['report_id']}"
    schedule = {"csrf_token": token, "every": "month", "at": "25:00", "to": OWNER}
    response = client.post(f"{report}/schedule", data=schedule)
    assert response.status_code == 422
    assert "'25:00' n'est pas une heure de la journée (de 00:00 à 23:59)" in _said(response)
    response = client.post(f"{report}/schedule", data=schedule | {"every": "daily"})
    assert response.status_code == 422
    said = _said(response)
    assert "la fréquence est week (chaque semaine) ou month (chaque mois), pas 'daily'" in said
    assert "--every" not in said
    response = client.get(f"{report}/render?format=html&period=last-mont")
    assert response.status_code == 422
    assert "période inconnue 'last-mont' : vouliez-vous dire last-month ?" in _said(response)

    response = client.post(
        "/w/acme/settings/maturity", data={"csrf_token": token, "strategy.early": "9"}
    )
    assert response.status_code == 422
    said = _said(response)
    assert "strategy.early : '9' n'est pas sur l'échelle (de 1 à 5) (et " in said
    assert "répondez à chaque affirmation par une valeur de 1 à 5" in said
    response = client.get("/w/acme/settings/maturity/99999")
    assert response.status_code == 404
    said = _said(response)
    assert "aucune évaluation 99999 dans cet espace : voyez l'historique des évaluations" in said

    # The owner is signed in: the invitation of someone else is not theirs to accept.
    response = client.post(f"/invitations/{seeded['invitation_token']}", data={"csrf_token": token})
    assert response.status_code == 403
    assert (
        f"cette invitation est pour {INVITED} et vous êtes connecté en tant que {OWNER}"
        in _said(response)
    )

    client.cookies.set("ts_lang", "en")
    response = client.post(f"{report}/schedule", data=schedule | {"every": "daily"})
    assert "the frequency is week or month, not 'daily'" in _said(response)
    response = client.get(f"{report}/render?format=html&period=last-mont")
    assert "unknown period 'last-mont': did you mean last-month? use last-7-days" in _said(response)


def test_errors_of_objects_that_do_not_exist_are_french(client: TestClient) -> None:
    """A watch or a saved handle check that does not exist, or an id that cannot be one: the
    page says it in French (pydantic's English for bad values included) and names no
    command; the API keeps pydantic's English."""
    client.cookies.set("ts_lang", "fr")
    said = _said(client.get("/w/acme/listen/watches/99999"))
    assert "aucune veille « 99999 » dans l'espace « acme » : voyez la liste des veilles" in said
    response = client.get("/w/acme/settings/handles/99999")
    assert response.status_code == 404
    said = _said(response)
    assert "aucune vérification d'identifiant enregistrée 99999" in said
    assert "townsquare handles" not in said
    response = client.get("/w/acme/listen/watches/abc")
    assert response.status_code == 422
    said = _said(response)
    assert "watch_id : la valeur doit être un nombre entier : ce texte n'en est pas un" in said
    assert "Input should" not in said
    said = _said(client.get("/w/acme/settings/handles/99999999999999999999"))
    assert "la valeur doit être inférieure ou égale à 9223372036854775807" in said
    assert "la valeur doit être supérieure ou égale à 1" in _said(
        client.get("/w/acme/settings/handles/0")
    )
    client.cookies.set("ts_lang", "en")
    said = _said(client.get("/w/acme/settings/handles/99999"))
    assert "no saved handle check 99999 in this workspace: see the list of saved checks" in said
    assert "Input should be greater than or equal to 1" in _said(
        client.get("/w/acme/settings/handles/0")
    )


def _rows_of(text: str, separator: str) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=separator))


def test_csv_exports_follow_the_readers_convention(client: TestClient) -> None:
    """A French page's CSV: ``;``, decimal commas and French headers; an English page's: ``,``
    and ``.`` with the API's column ids (issue 8)."""
    client.cookies.set("ts_lang", "fr")
    november = {"channel": "brulerie", "from": "2026-11-01", "to": "2026-11-30", "format": "csv"}
    french = client.get("/w/acme/measure", params=november)
    assert french.status_code == 200, french.text[:300]
    assert french.text.startswith("\ufeff")
    rows = _rows_of(french.text, ";")
    assert len(rows) > 1 and len(rows[0]) > 3
    numbers = [value for row in rows[1:] for value in row[1:] if value]
    decimals = [value for value in numbers if re.fullmatch(r"-?\d+,\d+", value)]
    assert decimals, numbers  # rates written with a decimal comma
    assert not [value for value in numbers if re.fullmatch(r"-?\d+\.\d+", value)], numbers
    client.cookies.set("ts_lang", "en")
    english = client.get("/w/acme/measure", params=november)
    rows = _rows_of(english.text, ",")
    numbers = [value for row in rows[1:] for value in row[1:] if value]
    assert [value for value in numbers if re.fullmatch(r"-?\d+\.\d+", value)], numbers
    assert not [value for value in numbers if re.fullmatch(r"-?\d+,\d+", value)], numbers


def test_charts_of_every_page_get_the_readers_number_and_date_locale(
    client: TestClient, seeded: dict[str, str]
) -> None:
    """The page carries its Vega-Lite locale once (base.html), which the chart scripts give
    every spec: Listen's and the maturity radar's charts too, not only Measure's and Links'."""
    client.cookies.set("ts_lang", "fr")
    for path in (
        "/w/acme/listen/mentions",
        f"/w/acme/settings/maturity/{seeded['assessment_id']}",
        "/w/acme/links/carte",
    ):
        page = client.get(path).text
        found = re.search(
            r'<script type="application/json" id="vega-locale">(.*?)</script>', page, re.S
        )
        assert found, path
        locale = json.loads(html.unescape(found.group(1)))
        assert locale["number"]["decimal"] == "," and locale["time"]["date"] == "%d/%m/%Y"
        assert "déc." in locale["time"]["shortMonths"]
    client.cookies.set("ts_lang", "en")
    assert 'id="vega-locale"' not in client.get("/w/acme/listen/mentions").text
    for script in ("/static/measure.js", "/static/links.js"):
        assert "vega-locale" in client.get(script).text


def test_the_activity_log_shows_the_workspaces_time_with_its_zone(
    client: TestClient, sqlite_database: Database
) -> None:
    from townsquare.web.templating import local_time
    from townsquare.workspaces import audit, service
    from townsquare.workspaces.service import WorkspaceAccess, get_workspace

    with sqlite_database.session() as session:
        access = WorkspaceAccess.operator(get_workspace(session, "acme"))
        service.update_workspace(session, access, name=None, timezone="America/Montreal")
        event = audit.recent(session, access.workspace_id, limit=1)[0]
        moment = event.at
    client.cookies.set("ts_lang", "fr")
    said = _said(client.get("/w/acme/"))
    expected = local_time(moment, "America/Montreal", "fr")
    assert expected.endswith("(America/Montreal)")
    assert expected in said, said
    assert local_time(moment, "UTC", "fr") not in said  # not UTC
