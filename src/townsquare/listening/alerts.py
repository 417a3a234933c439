"""Alerts: a watch's new mentions, digests and spikes, sent through apprise.

apprise speaks e-mail, Slack, Discord, Microsoft Teams, Matrix, ntfy, generic JSON webhooks
and many more from one URL, so townsquare writes no sender of its own. Modes:

- ``instant``: new mentions, grouped: at most one message per watch every
  ``group_minutes`` minutes (15 by default), listing what arrived since the last one;
- ``digest``: once a day at a local time (the workspace's time zone), what arrived since
  the last digest (nothing is sent on a day without news);
- ``spike``: an hour with far more mentions than usual (see spikes.py, from the watch's own
  threshold), once per hour, with how its mentions split between positive and negative;
- ``negative``: new mentions whose sentiment is negative, grouped like ``instant``.

Mentions deleted as noise are never sent. Messages are written in the language of the
watch's author (French or English; English when unknown).

A destination that fails is tried again later (the wait doubles, at most a day) with what
it missed, and its error is shown on the watch page; it never holds up the others.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.channels.crypto import CredentialsBox
from townsquare.config import Settings
from townsquare.errors import NetworkError, NotFound, TownsquareError, ValidationError
from townsquare.i18n import catalogs
from townsquare.listening import figures
from townsquare.listening.models import ALERT_MODES, Alert, Mention, MentionWatch, Watch
from townsquare.messages import Message
from townsquare.netguard import check_host
from townsquare.workspaces import audit
from townsquare.workspaces.models import User
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

MAX_LISTED = 10
LANGUAGES = ("en", "fr")
MAX_BACKOFF = timedelta(days=1)
_TIME_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def _plugin(url: str) -> Any:
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    if not plugin:
        raise ValidationError(
            "%(url)s is not a destination apprise knows: write it like "
            "mailto://user:password@example.com, json://hooks.example.com/path or "
            "ntfy://ntfy.sh/topic (see apprise's list of services)",
            params={"url": redact(url)},
            field="url",
        )
    return plugin


def redact(url: str) -> str:
    """The URL without user name, password and query (which may hold tokens)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{'/…' if parts.path.strip('/') else ''}"[:300]


def check_destination(url: str, settings: Settings) -> None:
    """Refuse a destination apprise cannot use, or whose server is a private address."""
    plugin = _plugin(url)
    host = getattr(plugin, "smtp_host", None) or getattr(plugin, "host", None)
    if host:
        port = getattr(plugin, "port", None) or 443
        check_host(str(host), int(port), settings, field="url")


def _clean_time(value: str | None) -> str | None:
    if value is None:
        return None
    match = _TIME_RE.fullmatch(value.strip())
    if not match:
        raise ValidationError(
            "--at %(value)r is not a time: write HH:MM, e.g. 08:30",
            params={"value": value},
            field="at",
        )
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def add_alert(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    box: CredentialsBox,
    *,
    watch: Watch,
    url: str,
    mode: str = "instant",
    at: str | None = None,
    group_minutes: int = 15,
) -> Alert:
    """A new alert for ``watch`` (editor or higher); mentions already stored are not sent."""
    access.require(Role.EDITOR, "add alerts")
    if mode not in ALERT_MODES:
        raise ValidationError(
            "unknown mode %(value)r: choose one of %(choices)s",
            params={"value": mode, "choices": list(ALERT_MODES)},
            field="mode",
        )
    if not 1 <= group_minutes <= 24 * 60:
        raise ValidationError("group minutes must be between 1 and 1,440", field="group_minutes")
    at_time = _clean_time(at) if mode == "digest" else None
    if mode == "digest" and at_time is None:
        at_time = "08:00"
    if at is not None and mode != "digest":
        raise ValidationError("--at only applies to digests (--mode digest)", field="at")
    check_destination(url.strip(), settings)
    newest = session.scalar(
        select(Mention.id)
        .where(Mention.workspace_id == access.workspace_id)
        .order_by(Mention.id.desc())
        .limit(1)
    )
    alert = Alert(
        workspace_id=access.workspace_id,
        watch_id=watch.id,
        url_encrypted=box.seal({"url": url.strip()}),
        url_display=redact(url),
        mode=mode,
        at_time=at_time,
        group_minutes=group_minutes,
        last_mention_id=newest or 0,
    )
    session.add(alert)
    audit.record(
        session,
        "alert.added",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=f"{watch.name}:{alert.url_display}"[:200],
    )
    session.commit()
    return alert


def list_alerts(
    session: Session, access: WorkspaceAccess, watch_id: int | None = None
) -> list[Alert]:
    query = select(Alert).where(Alert.workspace_id == access.workspace_id)
    if watch_id is not None:
        query = query.where(Alert.watch_id == watch_id)
    return list(session.scalars(query.order_by(Alert.id)))


def alert_json(alert: Alert) -> dict[str, object]:
    return {
        "id": alert.id,
        "watch_id": alert.watch_id,
        "url": alert.url_display,
        "mode": alert.mode,
        "at": alert.at_time,
        "group_minutes": alert.group_minutes,
        "last_sent_at": alert.last_sent_at,
        "failures": alert.failures,
        "last_error": alert.last_error,
        "next_attempt_at": alert.next_attempt_at,
    }


def get_alert(session: Session, access: WorkspaceAccess, alert_id: int) -> Alert:
    alert = session.scalar(
        select(Alert).where(Alert.workspace_id == access.workspace_id, Alert.id == alert_id)
    )
    if alert is None:
        raise NotFound(
            "no alert with id %(alert_id)s in this workspace",
            params={"alert_id": alert_id},
            field="alert",
        )
    return alert


def delete_alert(session: Session, access: WorkspaceAccess, alert_id: int) -> None:
    """Remove an alert (editor or higher)."""
    access.require(Role.EDITOR, "remove alerts")
    alert = get_alert(session, access, alert_id)
    audit.record(
        session,
        "alert.removed",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        target=alert.url_display[:200],
    )
    session.delete(alert)
    session.commit()


def _send(settings: Settings, url: str, title: str, body: str) -> None:
    """One message through apprise; NetworkError with apprise's words when it fails."""
    import apprise

    check_destination(url, settings)  # again: the host's address may have changed
    sender = apprise.Apprise()
    sender.add(url)
    with apprise.LogCapture(level=apprise.logging.WARNING) as captured:
        sent = sender.notify(title=title, body=body)
        log = captured.getvalue().strip()
    if not sent:
        reason = log.splitlines()[-1] if log else "the destination refused the message"
        raise NetworkError(
            "the alert could not be sent: %(reason)s", params={"reason": reason[:900]}
        )


def _new_mentions(session: Session, alert: Alert) -> list[Mention]:
    query = (
        select(Mention)
        .join(MentionWatch, MentionWatch.mention_id == Mention.id)
        .where(
            MentionWatch.watch_id == alert.watch_id,
            Mention.id > alert.last_mention_id,
            Mention.is_noise.is_(False),
        )
        .order_by(Mention.id)
    )
    if alert.mode == "negative":
        query = query.where(Mention.sentiment == "negative")
    return list(session.scalars(query))


def _mentions_body(mentions: list[Mention]) -> list[str | Message]:
    """The lines of a message listing mentions: their titles (or texts) and links."""
    lines: list[str | Message] = []
    for mention in mentions[:MAX_LISTED]:
        label = mention.title or " ".join(mention.text.split())[:140]
        lines.append(f"- {label}" + (f"\n  {mention.url}" if mention.url else ""))
    if len(mentions) > MAX_LISTED:
        lines.append(Message("… and %(count)s more", count=len(mentions) - MAX_LISTED))
    return lines


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def reader_language(session: Session, watch: Watch) -> str:
    """The language alerts about ``watch`` are written in: its author's (French or English),
    else English."""
    if watch.created_by is not None:
        author = session.get(User, watch.created_by)
        if author is not None and author.language in LANGUAGES:
            return author.language
    return "en"


def localized(text: str | Message, language: str) -> str:
    """A message's sentence in ``language`` (its English text for English)."""
    if language == "en" or not isinstance(text, Message):
        return str(text)

    def number(value: int | float) -> str:
        return str(value) if isinstance(value, int) else str(format_decimal(value, locale=language))

    return text.localize(catalogs(language).gettext, number)


def _digest_due(alert: Alert, zone: ZoneInfo, now: datetime) -> bool:
    hours, minutes = (int(part) for part in (alert.at_time or "08:00").split(":"))
    local_now = now.astimezone(zone)
    today_at = datetime.combine(local_now.date(), time(hours, minutes), tzinfo=zone)
    if local_now < today_at:
        return False
    return alert.last_sent_at is None or alert.last_sent_at < today_at.astimezone(UTC)


def _message(
    session: Session,
    access: WorkspaceAccess,
    alert: Alert,
    watch: Watch,
    now: datetime,
) -> tuple[Message, list[str | Message], dict[str, Any]] | None:
    """(title, body lines, changes on success) of what the alert has to say now, or None."""
    if alert.mode == "spike":
        # The hours since the last spike told, at most a day back; the current hour counts
        # as soon as it passes the threshold (and is then not told twice).
        if alert.last_spike_hour is not None:
            start = alert.last_spike_hour + timedelta(hours=1)
        else:
            start = now - timedelta(hours=1)
        start = max(start, now - timedelta(days=1))
        hours = figures.watch_spikes(session, access, watch.id, start, now)
        if not hours:
            return None
        spike = hours[-1]
        title = Message(
            "Spike on %(watch)s: %(count)s mentions in an hour", watch=watch.name, count=spike.count
        )
        body = Message(
            "%(count)s mentions between %(start)s and %(end)s UTC; usually %(usual)s. "
            "%(positive)s positive, %(negative)s negative, %(neutral)s neutral.",
            count=spike.count,
            start=f"{spike.hour:%Y-%m-%d %H:00}",
            end=f"{spike.hour + timedelta(hours=1):%H:00}",
            usual=_number(spike.baseline_median),
            positive=spike.positive,
            negative=spike.negative,
            neutral=spike.neutral,
        )
        return title, [body], {"last_spike_hour": spike.hour}
    mentions = _new_mentions(session, alert)
    if not mentions:
        return None
    if alert.mode in ("instant", "negative"):
        if alert.last_sent_at and now - alert.last_sent_at < timedelta(minutes=alert.group_minutes):
            return None
        if alert.mode == "negative":
            title = Message(
                "%(count)s new negative mention(s) for %(watch)s",
                count=len(mentions),
                watch=watch.name,
            )
        else:
            title = Message(
                "%(count)s new mention(s) for %(watch)s", count=len(mentions), watch=watch.name
            )
    else:
        if not _digest_due(alert, ZoneInfo(access.workspace.timezone), now):
            return None
        title = Message(
            "Digest for %(watch)s: %(count)s new mention(s)", watch=watch.name, count=len(mentions)
        )
    return title, _mentions_body(mentions), {"last_mention_id": mentions[-1].id}


def run_alerts(
    session: Session,
    settings: Settings,
    box: CredentialsBox,
    access: WorkspaceAccess,
    *,
    now: datetime | None = None,
    modes: tuple[str, ...] = ALERT_MODES,
) -> int:
    """Send what each of the workspace's alerts has to say now; how many messages went out."""
    moment = now or datetime.now(UTC)
    sent = 0
    for alert in list_alerts(session, access):
        if alert.mode not in modes:
            continue
        if alert.next_attempt_at and alert.next_attempt_at > moment:
            continue  # failed lately: waiting before the next try
        watch = session.get(Watch, alert.watch_id)
        if watch is None:
            continue
        message = _message(session, access, alert, watch, moment)
        if message is None:
            continue
        title, lines, changes = message
        language = reader_language(session, watch)
        try:
            url = str(box.open(alert.url_encrypted)["url"])
            body = "\n".join(localized(line, language) for line in lines)
            _send(settings, url, localized(title, language), body)
        except TownsquareError as error:
            alert.failures += 1
            alert.last_error = error.message
            delay = timedelta(minutes=2) * (2 ** min(alert.failures, 10))
            alert.next_attempt_at = moment + min(delay, MAX_BACKOFF)
            session.commit()
            continue
        for key, value in changes.items():
            setattr(alert, key, value)
        alert.last_sent_at = moment
        alert.failures = 0
        alert.last_error = None
        alert.next_attempt_at = None
        session.commit()
        sent += 1
    return sent
