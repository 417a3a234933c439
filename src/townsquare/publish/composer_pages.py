"""The composer and the post page (under ``/w/{slug}``, forms carry the CSRF token).

- ``GET /publish/new``: compose once for several channels: the thread's parts, images with
  their alt text, a link, a content warning, the language, an adapted text and warning per
  channel (a tab each; empty follows the original), and when: at a local time (each
  channel's zone), the next free queue slot (the recommended slots shown with their
  evidence), now, a draft; with approval on, scheduling submits it;
- ``POST /publish/count``: the counters, as each network counts (an htmx fragment, the
  same rules as the service's check before scheduling), live while typing;
- ``POST /publish/new``: create (303 to the post page) or the form again with the error;
- ``GET /publish/posts/{publish_post_id}``: the post, its variants (status, time, permalink,
  attempts, error, metrics), its history, and what the reader may do: approve, request
  changes with a comment, schedule again, cancel;
- ``POST /publish/posts/{publish_post_id}/approve|changes|schedule|cancel``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from townsquare.channels.models import Channel
from townsquare.channels.service import channel_label
from townsquare.config import Settings
from townsquare.errors import TownsquareError, ValidationError
from townsquare.networks.base import with_link
from townsquare.publish import calendar, server_limits, service
from townsquare.publish.limits import check_part
from townsquare.publish.models import PublishEvent, PublishMedia
from townsquare.publish.pages import base, language_of, workspace_channels
from townsquare.validation import DbId, parse_id
from townsquare.web.deps import AppSettings, DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.i18n import translations
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.models import User
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

MAX_IMAGES = 4
PUBLISHABLE = ("mastodon", "bluesky")
ACTIONS = ("at", "queue", "now", "draft")


def _publishable(session: Session, access: WorkspaceAccess) -> list[Channel]:
    return [c for c in workspace_channels(session, access) if c.network in PUBLISHABLE]


def _form_state(data: FormData | None) -> dict[str, Any]:
    """What the composer's form holds, as the template shows it back."""
    if data is None:
        return {"parts": [""], "channels": [], "overrides": {}, "alts": [""] * MAX_IMAGES}
    parts = [str(value) for value in data.getlist("part")] or [""]
    if data.get("add_part"):
        parts.append("")
    overrides = {}
    for key in data:
        if key.startswith("text_for_") or key.startswith("cw_for_"):
            overrides[key] = str(data.get(key) or "")
    return {
        "parts": parts,
        "channels": [str(value) for value in data.getlist("channel")],
        "overrides": overrides,
        "link_url": str(data.get("link_url") or ""),
        "content_warning": str(data.get("content_warning") or ""),
        "language": str(data.get("language") or ""),
        "campaign": str(data.get("campaign") or ""),
        "at": str(data.get("at") or ""),
        "alts": [str(data.get(f"alt_{n}") or "") for n in range(1, MAX_IMAGES + 1)],
    }


def _channel_ids(state: dict[str, Any]) -> list[int]:
    return [parse_id(value, field="channel", what="channel") for value in state["channels"]]


def counters(
    session: Session, access: WorkspaceAccess, state: dict[str, Any], gettext: Any
) -> list[dict[str, Any]]:
    """Per chosen channel and part: the length as the network counts it, its limit, and
    the problems (pcore's check counts the same way before scheduling)."""
    found = []
    chosen = set(state["channels"])
    for channel in _publishable(session, access):
        if str(channel.id) not in chosen:
            continue
        limits = server_limits.limits_of(session, channel)
        adapted = state["overrides"].get(f"text_for_{channel.id}", "").strip()
        parts = [adapted] if adapted else [p for p in state["parts"] if p.strip()] or [""]
        warning_key = f"cw_for_{channel.id}"
        warning = (
            state["overrides"][warning_key]
            if state["overrides"].get(warning_key, "").strip()
            else state.get("content_warning", "")
        ) or None
        rows = []
        for index, text in enumerate(parts):
            text = text.replace("\r\n", "\n").strip()
            if index == 0 and state.get("link_url", "").strip():
                text = with_link(text, state["link_url"].strip())
            checked = check_part(limits, text, content_warning=warning)
            rows.append(
                {
                    "part": index + 1,
                    "length": checked.length,
                    "limit": checked.limit,
                    "unit": checked.unit,
                    "bytes": len(text.encode()) if limits.max_bytes else None,
                    "max_bytes": limits.max_bytes,
                    "problems": checked.problems,
                    "ok": checked.ok,
                }
            )
        found.append(
            {
                "channel": channel,
                "label": channel_label(channel, gettext),
                "rows": rows,
                "adapted": bool(adapted),
            }
        )
    return found


def _recommended(session: Session, access: WorkspaceAccess, channels: list[Channel]) -> Any:
    from townsquare.publish import web_support

    return web_support.recommended_slots(session, access, channels)


def _composer_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    *,
    state: dict[str, Any],
    error: TownsquareError | None = None,
) -> Response:
    gettext = translations(language_of(request)).gettext
    channels = _publishable(session, access)
    publish_settings = service.get_settings(session, access)
    return render(
        request,
        "publish/composer.html",
        {
            "base": base(access),
            "here": "new",
            "channels": channels,
            "channel_names": {c.id: channel_label(c, gettext) for c in channels},
            "other_channels": [
                c for c in workspace_channels(session, access) if c.network not in PUBLISHABLE
            ],
            "form": state,
            "counters": counters(session, access, state, gettext),
            "recommended": _recommended(session, access, channels),
            "needs_approval": bool(publish_settings.needs_approval)
            or not access.role.at_least(Role.EDITOR),
            "max_images": MAX_IMAGES,
            "error": error,
            "language": language_of(request),
        },
        status_code=status_for(error) if error else 200,
    )


@router.get("/w/{slug}/publish/new")
def composer(request: Request, session: DbSession, access: PageAccess) -> Response:
    access.require(Role.CONTRIBUTOR, "compose posts")
    state = _form_state(None)
    wanted = request.query_params.get("channel", "")
    if wanted:
        state["channels"] = [wanted]
    state["at"] = request.query_params.get("at", "")
    # "Compose it again" from the attention list brings the failed post's text.
    state["parts"] = [request.query_params.get("text", "")]
    return _composer_page(request, session, access, state=state)


@router.post("/w/{slug}/publish/count")
async def count(request: Request, session: DbSession, access: PageAccess) -> Response:
    access.require(Role.CONTRIBUTOR, "compose posts")
    state = _form_state(await request.form())
    gettext = translations(language_of(request)).gettext
    try:
        found = counters(session, access, state, gettext)
    except TownsquareError as error:
        return render(request, "publish/_counters.html", {"counters": [], "error": error})
    return render(request, "publish/_counters.html", {"counters": found, "error": None})


async def _store_images(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    data: FormData,
    channels: list[Channel],
) -> list[int]:
    """The uploaded images (each with its alt text, which is asked for) as media ids."""
    from townsquare.publish import web_support

    ids = []
    for number in range(1, MAX_IMAGES + 1):
        upload = data.get(f"image_{number}")
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        alt = str(data.get(f"alt_{number}") or "").strip()
        if not alt:
            raise ValidationError(
                "image %(number)s has no alt text: describe it for people who cannot see it",
                params={"number": number},
                field=f"alt_{number}",
            )
        content = await upload.read()
        ids.append(
            web_support.store_image(
                session,
                access,
                settings,
                filename=upload.filename,
                content=content,
                alt_text=alt,
                channels=channels,
            )
        )
    return ids


@router.post("/w/{slug}/publish/new")
async def compose(
    request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    access.require(Role.CONTRIBUTOR, "compose posts")
    data = await request.form()
    state = _form_state(data)
    action = str(data.get("action") or "")
    if data.get("pick_at"):
        state["at"] = str(data.get("pick_at"))
    if data.get("add_part") or data.get("pick_at") or action not in ACTIONS:
        return _composer_page(request, session, access, state=state)
    try:
        chosen = set(_channel_ids(state))
        targets = [c for c in _publishable(session, access) if c.id in chosen]
        media = await _store_images(session, access, settings, data, targets)
        texts = [part for part in state["parts"] if part.strip()]
        parts: list[dict[str, Any]] = [{"text": text, "media": []} for text in texts] or [
            {"text": "", "media": []}
        ]
        parts[0]["media"] = media
        overrides: dict[int, dict[str, Any]] = {}
        for channel_id in _channel_ids(state):
            text = state["overrides"].get(f"text_for_{channel_id}", "").strip()
            warning = state["overrides"].get(f"cw_for_{channel_id}", "").strip()
            override: dict[str, Any] = {}
            if text:
                override["parts"] = [{"text": text, "media": media}]
            if warning:
                override["content_warning"] = warning
            if override:
                overrides[channel_id] = override
        when = None if action == "draft" else service.When.parse(action, state["at"] or None)
        post = service.create_post(
            session,
            access,
            settings,
            channel_ids=_channel_ids(state),
            parts=parts,
            content_warning=state["content_warning"] or None,
            language=state["language"] or None,
            link_url=state["link_url"] or None,
            campaign=state["campaign"] or None,
            overrides=overrides,
            when=when,
            draft=action == "draft",
        )
    except TownsquareError as error:
        session.rollback()
        return _composer_page(request, session, access, state=state, error=error)
    return RedirectResponse(f"{base(access)}/posts/{post.id}?created=1", status_code=303)


# --- the post page ---------------------------------------------------------------------------


def _post_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    post_id: int,
    *,
    error: TownsquareError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    from townsquare.publish import web_support

    gettext = translations(language_of(request)).gettext
    post = service.get_post(session, access, post_id)
    variants = service.variants_of(session, post)
    events = service.history(session, access, post.id)
    users = _names(session, events, post.author_id)
    publish_settings = service.get_settings(session, access)
    waiting = any(variant.status == "pending_approval" for variant, _ in variants)
    is_author = access.user_id is not None and post.author_id == access.user_id
    media = list(
        session.scalars(
            select(PublishMedia).where(
                PublishMedia.workspace_id == access.workspace_id,
                PublishMedia.id.in_(
                    {media_id for part in post.parts or [] for media_id in part.get("media", [])}
                ),
            )
        )
    )
    return render(
        request,
        "publish/post.html",
        {
            "base": base(access),
            "here": "",
            "post": post,
            "variants": [
                {
                    "variant": variant,
                    "channel": channel,
                    "label": channel_label(channel, gettext),
                    "check": service.check_variant(session, post, variant, channel),
                    "metrics": web_support.metrics_of(session, variant),
                }
                for variant, channel in variants
            ],
            "events": events,
            "users": users,
            "media": media,
            "status_labels": calendar.STATUS_LABELS,
            "action_labels": calendar.ACTION_LABELS,
            "can_approve": waiting
            and service.can_approve(publish_settings, access)
            and not (publish_settings.forbid_self_approval and is_author),
            "is_author": is_author,
            "can_schedule": access.role.at_least(Role.EDITOR) or is_author,
            "zone": access.workspace.timezone or "UTC",
            "created": request.query_params.get("created", ""),
            "done": request.query_params.get("done", ""),
            "error": error,
            "form": form or {},
        },
        status_code=status_for(error) if error else 200,
    )


def _names(session: Session, events: list[PublishEvent], author_id: int | None) -> dict[int, str]:
    ids = {event.user_id for event in events if event.user_id is not None}
    if author_id is not None:
        ids.add(author_id)
    if not ids:
        return {}
    return {
        user.id: user.display_name or user.email
        for user in session.scalars(select(User).where(User.id.in_(ids)))
    }


@router.get("/w/{slug}/publish/posts/{publish_post_id}")
def post_page(
    request: Request, publish_post_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    return _post_page(request, session, access, publish_post_id)


async def _post_action(
    request: Request,
    post_id: int,
    action: str,
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
) -> Response:
    data = await request.form()
    form = {key: str(data.get(key) or "") for key in ("comment", "at", "when")}
    try:
        if action == "approve":
            service.approve(session, access, settings, post_id, comment=form["comment"] or None)
        elif action == "changes":
            service.request_changes(session, access, post_id, comment=form["comment"])
        elif action == "cancel":
            service.cancel(session, access, post_id)
        else:
            when = service.When.parse(form["when"] or "at", form["at"] or None)
            service.schedule_post(session, access, settings, post_id, when)
    except TownsquareError as error:
        session.rollback()
        if status_for(error) == 404:
            raise
        return _post_page(request, session, access, post_id, error=error, form=form)
    return RedirectResponse(f"{base(access)}/posts/{post_id}?done={action}", status_code=303)


@router.post("/w/{slug}/publish/posts/{publish_post_id}/approve")
async def post_approve(
    request: Request,
    publish_post_id: DbId,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
) -> Response:
    return await _post_action(request, publish_post_id, "approve", session, access, settings)


@router.post("/w/{slug}/publish/posts/{publish_post_id}/changes")
async def post_request_changes(
    request: Request,
    publish_post_id: DbId,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
) -> Response:
    return await _post_action(request, publish_post_id, "changes", session, access, settings)


@router.post("/w/{slug}/publish/posts/{publish_post_id}/schedule")
async def post_schedule(
    request: Request,
    publish_post_id: DbId,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
) -> Response:
    return await _post_action(request, publish_post_id, "schedule", session, access, settings)


@router.post("/w/{slug}/publish/posts/{publish_post_id}/cancel")
async def post_cancel(
    request: Request,
    publish_post_id: DbId,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
) -> Response:
    return await _post_action(request, publish_post_id, "cancel", session, access, settings)
