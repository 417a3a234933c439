"""``townsquare post …`` and ``townsquare queue …``: compose, schedule, approve, cancel and
follow posts; each channel's weekly queue slots.

A channel is named by its handle (``--channel @brand@mastodon.social``, or
``network:handle`` when two networks share it). Times given to ``--at`` are wall times in
each channel's own time zone (``2026-12-24T09:30``), or instants with an offset. Every
command takes ``--json`` for scripts; errors go to stderr with the exit code of their kind
(2 for bad input, such as a post over its network's limit).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.channels.service import get_channel_by_handle
from townsquare.cli.common import console, open_session, operator_access, print_json, settings
from townsquare.errors import ValidationError
from townsquare.messages import Message
from townsquare.publish import media, service, slots
from townsquare.publish.models import PublishMedia, PublishPost
from townsquare.workspaces.access import WorkspaceAccess
from townsquare.workspaces.roles import Role

post_app = typer.Typer(
    help="Publish: compose, schedule, approve, cancel and follow posts.", no_args_is_help=True
)
queue_app = typer.Typer(help="Each channel's weekly queue slots.", no_args_is_help=True)

WORKSPACE = typer.Option(..., "--workspace", help="Workspace slug.")
JSON = typer.Option(False, "--json", help="Machine-readable output.")
AT = typer.Option(
    None, "--at", help="Local time in each channel's zone, e.g. 2026-12-24T09:30 (or with offset)."
)
QUEUE = typer.Option(False, "--queue", help="Take each channel's next free queue slot.")
NOW = typer.Option(False, "--now", help="Publish as soon as possible.")


def register(root: typer.Typer) -> None:
    root.add_typer(post_app, name="post")
    root.add_typer(queue_app, name="queue")


def _when(at: str | None, queue: bool, now: bool) -> service.When | None:
    chosen = [name for name, given in (("--at", at), ("--queue", queue), ("--now", now)) if given]
    if len(chosen) > 1:
        raise ValidationError(
            "choose one of --at, --queue and --now, not %(chosen)s",
            params={"chosen": chosen},
            field="schedule",
        )
    if at:
        return service.When("at", at)
    if queue:
        return service.QUEUE
    if now:
        return service.NOW
    return None


def _channel(session: Session, access: WorkspaceAccess, handle: str) -> Channel:
    return get_channel_by_handle(session, access, handle)


def _text_for(value: str) -> tuple[str, str]:
    handle, equals, text = value.partition("=")
    if not equals or not handle.strip():
        raise ValidationError(
            "--text-for takes HANDLE=TEXT, e.g. --text-for brand.bsky.social='Shorter text'",
            field="text_for",
        )
    return handle.strip(), text


def _summary(session: Session, post: PublishPost) -> dict[str, Any]:
    """What ``post create`` prints: the post and, per channel, where it stands."""
    data = service.post_json(session, post)
    keys = (
        "channel",
        "network",
        "status",
        "scheduled_at",
        "scheduled_local",
        "length",
        "limit",
        "unit",
    )
    return {
        "id": data["id"],
        "status": data["status"],
        "variants": [{key: variant[key] for key in keys} for variant in data["variants"]],
    }


def _print_variants(data: dict[str, Any]) -> None:
    table = Table(title=f"post {data['id']}: {data['status']}")
    for column in ("channel", "status", "scheduled (local)", "length"):
        table.add_column(column)
    for variant in data["variants"]:
        limit = variant.get("limit")
        table.add_row(
            variant["channel"],
            variant["status"],
            variant.get("scheduled_local") or variant.get("scheduled_at") or "",
            f"{variant['length']}/{limit}" if limit is not None else str(variant["length"]),
        )
    console.print(table)


@post_app.command("create")
def create(
    workspace: str = WORKSPACE,
    channel: list[str] = typer.Option(..., "--channel", help="Channel handle; repeat."),
    text: list[str] = typer.Option(
        ..., "--text", help="The text; repeat for a thread (each --text is one part)."
    ),
    text_for: list[str] = typer.Option(
        [], "--text-for", help="HANDLE=TEXT: this channel's own text; repeat."
    ),
    image: list[Path] = typer.Option([], "--image", help="An image file; repeat (with --alt)."),
    alt: list[str] = typer.Option([], "--alt", help="The alt text of the image at the same rank."),
    cw: str | None = typer.Option(None, "--cw", help="Content warning (Mastodon)."),
    link: str | None = typer.Option(None, "--link", help="A link added to the first part."),
    language: str | None = typer.Option(None, "--language", help="Language code, e.g. fr."),
    campaign: str | None = typer.Option(None, "--campaign", help="Campaign (UTM of short links)."),
    at: str | None = AT,
    queue: bool = QUEUE,
    now: bool = NOW,
    draft: bool = typer.Option(False, "--draft", help="Keep it as a draft."),
    author: str | None = typer.Option(
        None,
        "--author",
        help="E-mail of the member it is by; their role decides (default: the command line).",
    ),
    as_json: bool = JSON,
) -> None:
    """Compose a post for one or more channels; schedule it, queue it or publish it now."""
    when = _when(at, queue, now)
    if len(alt) > len(image):
        raise ValidationError("each --alt describes the --image at the same rank", field="alt")
    with open_session() as session:
        access = operator_access(session, workspace)
        if author is not None:
            access = _as_author(session, access, author)
        channels = [_channel(session, access, handle) for handle in channel]
        overrides: dict[int, dict[str, Any]] = {}
        for value in text_for:
            handle, own = _text_for(value)
            overrides[_channel(session, access, handle).id] = {"text": own}
        uploaded: list[int] = []
        try:
            for index, path in enumerate(image):
                data = _read_image(path)
                item = media.upload(
                    session,
                    access,
                    settings(),
                    data=data,
                    filename=path.name,
                    alt_text=alt[index] if index < len(alt) else None,
                    channels=channels,
                )
                uploaded.append(item.id)
            parts: list[dict[str, Any]] = [
                {"text": part, "media": uploaded if index == 0 else []}
                for index, part in enumerate(text)
            ]
            post = service.create_post(
                session,
                access,
                settings(),
                channel_ids=[item.id for item in channels],
                parts=parts,
                content_warning=cw,
                language=language,
                link_url=link,
                campaign=campaign,
                overrides=overrides,
                when=when,
                draft=draft,
                via="cli",
            )
        except BaseException:
            if uploaded:  # nothing half-written: the post failed, its images go too
                session.execute(delete(PublishMedia).where(PublishMedia.id.in_(uploaded)))
                session.commit()
            raise
        if uploaded:
            for item_id in uploaded:
                row = session.get(PublishMedia, item_id)
                if row is not None:
                    row.post_id = post.id
            session.commit()
        summary = _summary(session, post)
    if as_json:
        print_json(summary)
    else:
        _print_variants(summary)


def _as_author(session: Session, access: WorkspaceAccess, email: str) -> WorkspaceAccess:
    """The access of the member with e-mail ``email``: their role decides, as if they had
    made the post on the web (a contributor's post waits for approval, a viewer may not
    compose)."""
    from townsquare.workspaces.models import Membership, User

    row = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(
            func.lower(User.email) == email.strip().lower(),
            Membership.workspace_id == access.workspace_id,
        )
    ).first()
    if row is None:
        raise ValidationError(
            "no member of workspace '%(workspace)s' has the e-mail %(email)r: give --author "
            "the e-mail of a member (see `townsquare workspace members`)",
            params={"workspace": access.workspace.slug, "email": email},
            field="author",
        )
    user, role = row
    member = WorkspaceAccess(workspace=access.workspace, user=user, role=Role(role))
    # Before any image is uploaded, so that a viewer's refusal leaves nothing behind.
    member.require(Role.CONTRIBUTOR, "compose posts")
    return member


def _read_image(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ValidationError(
            "cannot read the image %(path)s: %(reason)s",
            params={"path": str(path), "reason": error.strerror or str(error)},
            field="image",
        ) from None


def _day_bound(value: str | None, field: str, timezone: str, *, end: bool) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            "invalid %(field)s date %(value)r: use YYYY-MM-DD",
            params={"field": field, "value": value},
            field=field,
        ) from None
    moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    return moment.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


@post_app.command("list")
def list_command(
    workspace: str = WORKSPACE,
    status: str | None = typer.Option(None, "--status", help="e.g. scheduled, failed, draft."),
    date_from: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    date_to: str | None = typer.Option(None, "--to", help="Last day (included), YYYY-MM-DD."),
    channel: str | None = typer.Option(None, "--channel", help="Only this channel's posts."),
    as_json: bool = JSON,
) -> None:
    """The workspace's posts, newest first (days in the workspace's time zone)."""
    with open_session() as session:
        access = operator_access(session, workspace)
        zone = access.workspace.timezone
        posts = service.list_posts(
            session,
            access,
            status=status,
            start=_day_bound(date_from, "from", zone, end=False),
            end=_day_bound(date_to, "to", zone, end=True),
            channel_id=_channel(session, access, channel).id if channel else None,
        )
        rows = [_list_row(session, post) for post in posts]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"posts of {workspace}")
    for column in ("id", "status", "channels", "next", "text"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["status"],
            ", ".join(v["channel"] for v in row["variants"]),
            row["scheduled_at"] or "",
            row["text"][:60],
        )
    console.print(table)


def _list_row(session: Session, post: PublishPost) -> dict[str, Any]:
    variants = service.variants_of(session, post)
    times = sorted(v.scheduled_at for v, _c in variants if v.scheduled_at is not None)
    return {
        "id": post.id,
        "status": post.status,
        "text": str((post.parts or [{}])[0].get("text") or ""),
        "campaign": post.campaign,
        "scheduled_at": times[0].astimezone(UTC).isoformat() if times else None,
        "created_at": post.created_at.astimezone(UTC).isoformat() if post.created_at else None,
        "variants": [
            {
                "channel": channel.handle,
                "network": channel.network,
                "status": variant.status,
                "scheduled_at": (
                    variant.scheduled_at.astimezone(UTC).isoformat()
                    if variant.scheduled_at
                    else None
                ),
                "url": variant.url,
            }
            for variant, channel in variants
        ],
    }


@post_app.command("show")
def show(
    post_id: int = typer.Argument(..., help="The post's id."),
    workspace: str = WORKSPACE,
    as_json: bool = JSON,
) -> None:
    """The post, each channel's variant (status, external id, URL, attempts, error) and its
    history."""
    with open_session() as session:
        access = operator_access(session, workspace)
        post = service.get_post(session, access, post_id)
        data = service.post_json(session, post)
        data["history"] = [
            service.event_json(event) for event in service.history(session, access, post.id)
        ]
    if as_json:
        print_json(data)
        return
    _print_variants(data)
    for event in data["history"]:
        console.print(f"{event['at']}  {event['action']}  {event['comment'] or ''}")


@post_app.command("schedule")
def schedule(
    post_id: int = typer.Argument(..., help="The post's id."),
    workspace: str = WORKSPACE,
    at: str | None = AT,
    queue: bool = QUEUE,
    now: bool = NOW,
    as_json: bool = JSON,
) -> None:
    """Schedule (or submit for approval, or reschedule) a post."""
    when = _when(at, queue, now)
    if when is None:
        raise ValidationError("say when: --at TIME, --queue or --now", field="schedule")
    with open_session() as session:
        access = operator_access(session, workspace)
        post = service.schedule_post(session, access, settings(), post_id, when)
        summary = _summary(session, post)
    _done(summary, as_json)


@post_app.command("approve")
def approve(
    post_id: int = typer.Argument(..., help="The post's id."),
    workspace: str = WORKSPACE,
    comment: str | None = typer.Option(None, "--comment", help="A note kept in the history."),
    as_json: bool = JSON,
) -> None:
    """Approve a submitted post: it is scheduled at its time."""
    with open_session() as session:
        access = operator_access(session, workspace)
        post = service.approve(session, access, settings(), post_id, comment=comment)
        summary = _summary(session, post)
    _done(summary, as_json)


@post_app.command("reject")
def reject(
    post_id: int = typer.Argument(..., help="The post's id."),
    workspace: str = WORKSPACE,
    comment: str | None = typer.Option(None, "--comment", help="What should change."),
    as_json: bool = JSON,
) -> None:
    """Send a submitted post back to its author (changes requested)."""
    note = comment or Message("rejected from the command line, without a comment")
    with open_session() as session:
        access = operator_access(session, workspace)
        post = service.request_changes(session, access, post_id, comment=str(note))
        summary = _summary(session, post)
    _done(summary, as_json)


@post_app.command("cancel")
def cancel(
    post_id: int = typer.Argument(..., help="The post's id."),
    workspace: str = WORKSPACE,
    channel: list[str] = typer.Option([], "--channel", help="Only these channels; repeat."),
    as_json: bool = JSON,
) -> None:
    """Cancel a post (or some of its channels) before it goes out."""
    with open_session() as session:
        access = operator_access(session, workspace)
        ids = [_channel(session, access, handle).id for handle in channel] or None
        post = service.cancel(session, access, post_id, channel_ids=ids)
        summary = _summary(session, post)
    _done(summary, as_json)


def _done(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(summary)
    else:
        _print_variants(summary)


@queue_app.command("slots")
def queue_slots(
    workspace: str = WORKSPACE,
    channel: str = typer.Option(..., "--channel", help="Channel handle."),
    set_: str | None = typer.Option(
        None, "--set", help='Replace the slots: "mon 09:00, wed 17:30" ("" clears them).'
    ),
    as_json: bool = JSON,
) -> None:
    """List (or set) the channel's weekly queue slots, in its time zone."""
    with open_session() as session:
        access = operator_access(session, workspace)
        target = _channel(session, access, channel)
        if set_ is not None:
            slots.set_slots(session, access, target, slots.parse_slots(set_))
        found = slots.list_slots(session, access, target)
        data: dict[str, Any] = {
            "channel": target.handle,
            "timezone": target.timezone,
            "slots": [slot.label for slot in found],
        }
    if as_json:
        print_json(data)
    else:
        console.print(
            f"{data['channel']} ({data['timezone']}): " + (", ".join(data["slots"]) or "-")
        )


@queue_app.command("recommended")
def queue_recommended(
    workspace: str = WORKSPACE,
    channel: str = typer.Option(..., "--channel", help="Channel handle."),
    metric: str = typer.Option("interactions", "--metric", help="The per-post KPI to rank by."),
    min_posts: int | None = typer.Option(None, "--min-posts", help="Posts a slot needs."),
    as_json: bool = JSON,
) -> None:
    """Slots Measure's best times recommend for the channel, with their evidence."""
    with open_session() as session:
        access = operator_access(session, workspace)
        target = _channel(session, access, channel)
        found = slots.recommended_slots(session, access, target, metric=metric, min_posts=min_posts)
        data = {
            "channel": target.handle,
            "timezone": target.timezone,
            "recommended": [item.as_json() for item in found],
        }
    if as_json:
        print_json(data)
        return
    for item in found:  # plain dataclasses: readable after the session closed
        console.print(f"{item.slot.label}: {item.evidence}")
