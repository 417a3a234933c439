"""Sources of mentions: adding them, polling them, storing what they find.

A poll fetches every due source concurrently (network time overlaps), then stores the
items one source at a time: each new item becomes a mention once per workspace (by the
network's id, else by its URL), with its language, and is matched against every watch of
the workspace. A source that fails waits longer before the next try (doubling, at most a
day) and says why on its health line; the others go on.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.channels.crypto import CredentialsBox
from townsquare.config import Settings
from townsquare.errors import NotFound, TownsquareError, ValidationError
from townsquare.listening.language import detect
from townsquare.listening.marks import load_mutes
from townsquare.listening.models import SOURCE_TYPES, Mention, MentionWatch, Source
from townsquare.listening.service import mention_sentiment, workspace_index
from townsquare.listening.text import Document
from townsquare.netguard import check_url, safe_http_client
from townsquare.networks import hackernews, reddit, rss, web
from townsquare.networks.items import FoundItem, PollResult
from townsquare.workspaces import audit
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

URL_SOURCES = ("rss", "web")
# Sources whose connector needs a connected account (issue "Connected channels").
NOT_YET = ("mastodon-tag", "mastodon-search", "bluesky-search")
MAX_BACKOFF = timedelta(days=1)
FETCH_THREADS = 32


def add_source(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    *,
    type: str,
    target: str,
    every_minutes: int = 15,
    selector: str | None = None,
    channel_id: int | None = None,
) -> Source:
    """A new source (editor or higher); URLs pass the SSRF rule before anything is stored."""
    access.require(Role.EDITOR, "add sources")
    kind = (type or "").strip().lower()
    if kind not in SOURCE_TYPES:
        raise ValidationError(
            f"unknown source type {type!r}: choose one of {', '.join(SOURCE_TYPES)}",
            field="type",
        )
    if kind in NOT_YET:
        raise ValidationError(
            f"{kind} sources need a connected Mastodon or Bluesky channel, which townsquare "
            "cannot connect yet: use rss, hackernews, reddit or web for now",
            field="type",
        )
    clean_target = validation.non_empty(target, field="target", max_length=2000)
    if kind in URL_SOURCES:
        check_url(clean_target, settings, field="target")
    if not 1 <= every_minutes <= 7 * 24 * 60:
        raise ValidationError(
            "every must be between 1 minute and a week (10,080 minutes)", field="every"
        )
    state: dict[str, Any] = {}
    if selector:
        if kind != "web":
            raise ValidationError("a CSS selector only applies to web sources", field="selector")
        web.page_lines("<p></p>", selector)  # refuses a selector that cannot be read
        state["selector"] = selector
    source = Source(
        workspace_id=access.workspace_id,
        type=kind,
        target=clean_target,
        every_minutes=every_minutes,
        channel_id=channel_id,
        state=state,
        next_poll_at=None,
    )
    session.add(source)
    audit.record(
        session,
        "source.added",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{kind}:{clean_target}"[:200],
    )
    session.commit()
    return source


def list_sources(session: Session, access: WorkspaceAccess) -> list[Source]:
    query = select(Source).where(Source.workspace_id == access.workspace_id).order_by(Source.id)
    return list(session.scalars(query))


def get_source(session: Session, access: WorkspaceAccess, source_id: int) -> Source:
    source = session.scalar(
        select(Source).where(Source.id == source_id, Source.workspace_id == access.workspace_id)
    )
    if source is None:
        raise NotFound(f"no source with id {source_id} in this workspace", field="source")
    return source


def delete_source(session: Session, access: WorkspaceAccess, source_id: int) -> None:
    access.require(Role.EDITOR, "remove sources")
    source = get_source(session, access, source_id)
    audit.record(
        session,
        "source.removed",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{source.type}:{source.target}"[:200],
    )
    session.delete(source)
    session.commit()


def source_json(source: Source) -> dict[str, object]:
    return {
        "id": source.id,
        "type": source.type,
        "target": source.target,
        "every": source.every_minutes,
        "last_polled_at": source.last_polled_at,
        "next_poll_at": source.next_poll_at,
        "items_last_poll": source.items_last_poll,
        "mentions_total": source.mentions_total,
        "error_count": source.error_count,
        "last_error": source.last_error,
    }


# --- polling -------------------------------------------------------------------------------


def fetch_source(
    client: httpx.Client, settings: Settings, kind: str, target: str, state: dict[str, Any]
) -> PollResult:
    """Ask the source's connector for what is new (no database here)."""
    if kind == "rss":
        return rss.fetch(client, target, state)
    if kind == "web":
        return web.fetch(client, target, state)
    if kind == "hackernews":
        return hackernews.fetch(client, target, state, api_url=settings.hackernews_api_url)
    if kind == "reddit":
        return reddit.fetch(client, target, state, base_url=settings.reddit_base_url)
    raise ValidationError(f"{kind} sources cannot be polled yet", field="type")


@dataclass
class PollReport:
    sources_polled: int = 0
    items_fetched: int = 0
    mentions_new: int = 0
    alerts_sent: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "sources_polled": self.sources_polled,
            "items_fetched": self.items_fetched,
            "mentions_new": self.mentions_new,
            "alerts_sent": self.alerts_sent,
            "errors": self.errors,
        }


def _strip_nul(text: str) -> str:
    # A feed may hold NUL characters; PostgreSQL cannot store them and they mean nothing.
    return text.replace("\x00", "")


def _dedupe_key(item: FoundItem) -> str:
    if item.external_id:
        return f"{item.network}:{item.external_id}"[:600]
    return f"url:{(item.url or '').strip()}"[:600]


def _backoff(source: Source) -> timedelta:
    delay = timedelta(minutes=source.every_minutes) * (2 ** min(source.error_count, 10))
    return min(delay, MAX_BACKOFF)


def _claim(session: Session, source: Source, now: datetime) -> bool:
    """Take the source for this poll; False when another poller took it first."""
    claimed = session.execute(
        update(Source)
        .where(
            Source.id == source.id,
            or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now),
        )
        .values(next_poll_at=now + timedelta(minutes=source.every_minutes))
    )
    session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def store_items(
    session: Session, access: WorkspaceAccess, source: Source, items: list[FoundItem]
) -> int:
    """Store the items not seen before as mentions, matched against the watches; how many."""
    if not items:
        return 0
    keys = {_dedupe_key(item): item for item in items}
    existing = set(
        session.scalars(
            select(Mention.dedupe_key).where(
                Mention.workspace_id == access.workspace_id, Mention.dedupe_key.in_(list(keys))
            )
        )
    )
    index, _names = workspace_index(session, access)
    mutes = load_mutes(session, access)
    new = 0
    for key, item in keys.items():
        if key in existing or mutes.blocks(item.author, item.url):
            continue
        text = _strip_nul(item.text)
        title = _strip_nul(item.title)
        lang = (item.lang or "").split("-")[0].lower() or detect(f"{title}\n{text}")
        feeling = mention_sentiment(title, text, lang)
        mention = Mention(
            workspace_id=access.workspace_id,
            source_id=source.id,
            dedupe_key=key,
            network=item.network,
            external_id=(item.external_id or None) and item.external_id[:300],
            url=(item.url or None) and item.url[:4000],
            title=title[:1000] or None,
            text=text,
            author=(item.author or None) and _strip_nul(item.author)[:300],
            author_followers=item.author_followers,
            published_at=item.published_at,
            lang=lang or None,
            sentiment=feeling and feeling.label,
            sentiment_auto=feeling and feeling.label,
            sentiment_score=feeling and feeling.score,
        )
        document = Document(
            text, title=title, url=item.url or "", author=item.author or "", lang=lang,
            network=item.network,
        )  # fmt: skip
        try:
            with session.begin_nested():
                session.add(mention)
                session.flush()
                for watch_id in index.match(document):
                    session.add(MentionWatch(mention_id=mention.id, watch_id=watch_id))
                session.flush()
        except IntegrityError:
            continue  # another poller stored it a moment ago
        new += 1
    return new


def poll(
    session: Session,
    settings: Settings,
    access: WorkspaceAccess,
    *,
    source_id: int | None = None,
    due_only: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    box: CredentialsBox | None = None,
) -> PollReport:
    """Poll the workspace's sources (one, or those due), fetching them concurrently.

    With ``box`` (the key of stored secrets), the instant alerts of the workspace are sent
    right after, and counted in the report.
    """
    access.require(Role.EDITOR, "poll sources")
    started = now()
    if source_id is not None:
        sources = [get_source(session, access, source_id)]
    else:
        sources = list_sources(session, access)
        if due_only:
            sources = [s for s in sources if s.next_poll_at is None or s.next_poll_at <= started]
    claimed = [s for s in sources if not due_only or _claim(session, s, started)]
    work = [(s.id, s.type, s.target, dict(s.state or {})) for s in claimed]
    report = PollReport()
    with safe_http_client(settings) as client:

        def fetch_one(job: tuple[int, str, str, dict[str, Any]]) -> PollResult | Exception:
            _id, kind, target, state = job
            try:
                return fetch_source(client, settings, kind, target, state)
            except TownsquareError as error:
                return error

        with ThreadPoolExecutor(max_workers=min(FETCH_THREADS, max(len(work), 1))) as pool:
            results = list(pool.map(fetch_one, work))
    for source, result in zip(claimed, results, strict=True):
        report.sources_polled += 1
        finished = now()
        source.last_polled_at = finished
        if isinstance(result, Exception):
            source.error_count += 1
            source.last_error = str(result)[:1000]
            source.next_poll_at = finished + _backoff(source)
            report.errors.append({"source": source.id, "error": str(result)})
            session.commit()
            continue
        report.items_fetched += len(result.items)
        new = store_items(session, access, source, result.items)
        report.mentions_new += new
        source.state = result.state
        source.error_count = 0
        source.last_error = None
        source.items_last_poll = len(result.items)
        source.mentions_total += new
        source.next_poll_at = finished + timedelta(minutes=source.every_minutes)
        session.commit()
    if box is not None and report.mentions_new:
        from townsquare.listening.alerts import run_alerts

        report.alerts_sent = run_alerts(session, settings, box, access, modes=("instant",))
    return report
