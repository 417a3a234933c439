"""What a ``mastodon-tag`` source's state says about its stream (pure: plain data in and out).

The stream listener (listening/streaming.py) writes ``state["stream"]``: the mode
(``streaming``, ``polling``), why it polls (a message's template and values, so that the
web can translate it), and until when this holds (the listener renews it while it runs; a
listener that stopped, or streaming turned off, lets it lapse). A poll keeps that part of
the state (:func:`carry_over`); the source's health line shows it (:func:`notice`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from townsquare.messages import Message

KEY = "stream"
STREAMING = Message(
    "streaming: each new status with #%(tag)s is stored as soon as it is posted (polling "
    "only to catch up after a reconnection)"
)
POLLING = Message("polling every %(every)s minutes, not streaming: %(reason)s")
RECONNECTING = Message(
    "polling every %(every)s minutes until the stream is back (reconnecting): %(reason)s"
)


def stream_part(mode: str, reason: Message | None, until: datetime) -> dict[str, Any]:
    """What goes into ``state["stream"]``."""
    part: dict[str, Any] = {"mode": mode, "until": until.astimezone(UTC).isoformat()}
    if reason is not None:
        part["reason"] = {"id": reason.id, "params": reason.json_params()}
    return part


def carry_over(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """A poll's new state, keeping what the stream listener wrote in the old one."""
    part = (old or {}).get(KEY)
    return {**new, KEY: part} if part and KEY not in new else new


def mode(state: dict[str, Any] | None, now: datetime | None = None) -> str | None:
    """``streaming``, ``polling`` or ``reconnecting`` while the listener says so, else None."""
    part = (state or {}).get(KEY)
    if not isinstance(part, dict):
        return None
    try:
        until = datetime.fromisoformat(str(part.get("until")))
    except ValueError:
        return None
    if until < (now or datetime.now(UTC)):
        return None  # the listener stopped renewing it (stopped, or streaming turned off)
    return str(part.get("mode") or "") or None


def notice(
    state: dict[str, Any] | None, tag: str, every: int, now: datetime | None = None
) -> Message | None:
    """The health line of a hashtag source: streaming, or polling and why; None when no
    listener looked at it lately."""
    current = mode(state, now)
    if current is None:
        return None
    if current == "streaming":
        return Message(STREAMING, tag=tag)
    reason_part = (state or {}).get(KEY, {}).get("reason") or {}
    reason = Message(str(reason_part.get("id") or "unknown"), reason_part.get("params") or {})
    template = RECONNECTING if current == "reconnecting" else POLLING
    return Message(template, every=every, reason=reason)
