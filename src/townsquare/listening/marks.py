"""What people do with mentions: mark them, correct their sentiment, delete them as noise and
mute an author or a site ("never from this author/site").

A mention deleted as noise is kept, flagged: the next poll would otherwise bring it back; it
no longer shows in the stream, the figures or the alerts. A mute holds a folded author name
(case, accents and a leading ``@`` ignored, like ``author:``) or a host name (it covers its
subdomains, like ``site:``); items from it are not stored any more, and the mentions already
stored from it become noise. Every query is scoped by the caller's workspace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.errors import NotFound, ValidationError
from townsquare.listening.models import MUTE_KINDS, Mention, Mute
from townsquare.listening.sentiment import LABELS
from townsquare.listening.text import normal_author, url_host
from townsquare.workspaces import audit
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

# Mark name (the API's and the forms' word) → column of Mention.
MARKS = {"read": "is_read", "important": "is_important", "to_answer": "to_answer"}


def get_mention(session: Session, access: WorkspaceAccess, mention_id: int) -> Mention:
    mention = None
    if 0 < mention_id <= validation.MAX_ID:
        mention = session.scalar(
            select(Mention).where(
                Mention.workspace_id == access.workspace_id, Mention.id == mention_id
            )
        )
    if mention is None:
        raise NotFound(
            "no mention with id %(mention_id)s in this workspace",
            params={"mention_id": mention_id},
            field="mention",
        )
    return mention


def set_mark(
    session: Session, access: WorkspaceAccess, mention_id: int, mark: str, value: bool = True
) -> Mention:
    """Mark (or unmark) a mention as read, important or to answer (contributor or higher)."""
    access.require(Role.CONTRIBUTOR, "mark mentions")
    # Found first: another workspace's mention is "not found" whatever the form says.
    mention = get_mention(session, access, mention_id)
    column = MARKS.get(mark)
    if column is None:
        raise ValidationError(
            "unknown mark %(value)r: choose one of %(choices)s",
            params={"value": mark, "choices": list(MARKS)},
            field="mark",
        )
    setattr(mention, column, bool(value))
    session.commit()
    return mention


def correct_sentiment(
    session: Session, access: WorkspaceAccess, mention_id: int, sentiment: str | None
) -> Mention:
    """Set a mention's sentiment by hand (it then counts instead of the classifier's);
    ``None`` or ``"auto"`` gives the classifier's back."""
    access.require(Role.CONTRIBUTOR, "correct sentiments")
    mention = get_mention(session, access, mention_id)
    clean = (sentiment or "auto").strip().lower()
    if clean == "auto":
        mention.sentiment = mention.sentiment_auto
        mention.sentiment_corrected_at = None
        mention.sentiment_corrected_by = None
    elif clean in LABELS:
        mention.sentiment = clean
        mention.sentiment_corrected_at = datetime.now(UTC)
        mention.sentiment_corrected_by = access.user_id
    else:
        raise ValidationError(
            "unknown sentiment %(value)r: choose one of %(choices)s",
            params={"value": sentiment, "choices": [*LABELS, "auto"]},
            field="sentiment",
        )
    audit.record(
        session,
        "mention.sentiment_corrected",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{mention.id}:{clean}",
    )
    session.commit()
    return mention


# --- noise and mutes -----------------------------------------------------------------------


def author_key(author: str | None) -> str:
    """How a mute names an author: folded, without a leading ``@`` (as ``author:`` compares)."""
    return normal_author(author)[:300]


def site_key(url_or_host: str | None) -> str:
    """A URL's (or a host's) host name, lower case, without ``www.``."""
    text = (url_or_host or "").strip()
    host = url_host(text if "//" in text else f"//{text}")
    return (host[4:] if host.startswith("www.") else host)[:300]


@dataclass(frozen=True)
class Mutes:
    """A workspace's mute list, to test items against at ingestion (pure)."""

    authors: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()

    def blocks(self, author: str | None, url: str | None) -> bool:
        if self.authors and author and author_key(author) in self.authors:
            return True
        if self.sites and url:
            host = site_key(url)
            return any(host == site or host.endswith(f".{site}") for site in self.sites)
        return False


def load_mutes(session: Session, access: WorkspaceAccess) -> Mutes:
    rows = list_mutes(session, access)
    return Mutes(
        authors=frozenset(m.value for m in rows if m.kind == "author"),
        sites=frozenset(m.value for m in rows if m.kind == "site"),
    )


def list_mutes(session: Session, access: WorkspaceAccess) -> list[Mute]:
    query = select(Mute).where(Mute.workspace_id == access.workspace_id)
    return list(session.scalars(query.order_by(Mute.kind, Mute.value)))


def _mute_value(kind: str, value: str) -> str:
    if kind not in MUTE_KINDS:
        raise ValidationError(
            "unknown mute %(value)r: choose one of %(choices)s",
            params={"value": kind, "choices": list(MUTE_KINDS)},
            field="kind",
        )
    key = author_key(value) if kind == "author" else site_key(value)
    if not key:
        raise ValidationError(
            "nothing to mute: give an author's name or a site's host name (example.com)",
            field="value",
        )
    return key


def add_mute(session: Session, access: WorkspaceAccess, kind: str, value: str) -> Mute:
    """Never store items from this author or site again; its stored mentions become noise."""
    access.require(Role.EDITOR, "mute authors and sites")
    key = _mute_value(kind, value)
    mute = session.scalar(
        select(Mute).where(
            Mute.workspace_id == access.workspace_id, Mute.kind == kind, Mute.value == key
        )
    )
    if mute is None:
        mute = Mute(
            workspace_id=access.workspace_id, kind=kind, value=key, created_by=access.user_id
        )
        session.add(mute)
        audit.record(
            session,
            "listen.muted",
            workspace_id=access.workspace_id,
            user_id=access.user_id,
            target=f"{kind}:{key}"[:200],
        )
    mutes = Mutes(authors=frozenset({key}) if kind == "author" else frozenset())
    if kind == "site":
        mutes = Mutes(sites=frozenset({key}))
    _noise_where(session, access, mutes)
    session.commit()
    return mute


def _noise_where(session: Session, access: WorkspaceAccess, mutes: Mutes) -> int:
    """Flag as noise the stored mentions the mutes block; how many."""
    candidates: Iterable[Mention] = session.scalars(
        select(Mention).where(
            Mention.workspace_id == access.workspace_id, Mention.is_noise.is_(False)
        )
    )
    flagged = 0
    for mention in candidates:
        if mutes.blocks(mention.author, mention.url):
            mention.is_noise = True
            flagged += 1
    return flagged


def remove_mute(session: Session, access: WorkspaceAccess, mute_id: int) -> None:
    """Let items from this author or site in again (mentions already flagged stay noise)."""
    access.require(Role.EDITOR, "mute authors and sites")
    mute = session.scalar(
        select(Mute).where(Mute.workspace_id == access.workspace_id, Mute.id == mute_id)
    )
    if mute is None:
        raise NotFound("no mute with id %(mute_id)s in this workspace", params={"mute_id": mute_id})
    session.delete(mute)
    session.commit()


def delete_as_noise(
    session: Session, access: WorkspaceAccess, mention_id: int, *, mute: str | None = None
) -> Mention:
    """Hide a mention as noise; ``mute="author"`` or ``"site"`` also mutes where it came from."""
    access.require(Role.CONTRIBUTOR, "delete mentions as noise")
    mention = get_mention(session, access, mention_id)
    if mute:
        source = mention.author if mute == "author" else mention.url
        if mute in MUTE_KINDS and not source:
            raise ValidationError(
                "this mention has no %(kind)s to mute", params={"kind": mute}, field="mute"
            )
        add_mute(session, access, mute, source or "")
    mention.is_noise = True
    session.commit()
    return mention


def mute_json(mute: Mute) -> dict[str, object]:
    return {"id": mute.id, "kind": mute.kind, "value": mute.value, "created_at": mute.created_at}
