"""The workspace's publish settings page (under ``/w/{slug}``, forms carry the CSRF token).

- ``GET /publish/settings``: approval (posts need approval, nobody approves their own,
  viewers may approve), short links, the webhooks and the calendar feed;
- ``POST /publish/settings``: save the approval and short-link settings (admin);
- ``POST /publish/settings/webhooks``: add an endpoint; the page then shows its secret once;
- ``GET /publish/settings/webhooks/{webhook_id}``: its delivery log;
- ``POST /publish/settings/webhooks/{webhook_id}/enable|disable|delete``;
- ``POST /publish/settings/ical``: make a new secret calendar address (shown once; the
  previous one stops); ``POST /publish/settings/ical/revoke``: no address at all.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from townsquare.errors import TownsquareError
from townsquare.publish import ical, service, webhooks
from townsquare.publish.pages import base
from townsquare.validation import DbId
from townsquare.web.deps import AppSettings, DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.forms import form_fields
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

FLAGS = ("needs_approval", "forbid_self_approval", "viewers_can_approve", "shorten_links")
EVENT_LABELS = {
    "post.published": "A post was published",
    "post.failed": "A post failed",
    "post.needs_approval": "A post needs approval",
}


def _settings_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    *,
    error: TownsquareError | None = None,
    form: dict[str, Any] | None = None,
    new_secret: str = "",
    new_webhook: int | None = None,
    feed_url: str = "",
) -> Response:
    is_admin = access.role.at_least(Role.ADMIN)
    return render(
        request,
        "publish/settings.html",
        {
            "base": base(access),
            "here": "settings",
            "publish_settings": service.get_settings(session, access),
            "is_admin": is_admin,
            "webhooks": webhooks.list_webhooks(session, access) if is_admin else [],
            "events": webhooks.EVENTS,
            "event_labels": EVENT_LABELS,
            "feed": ical.has_feed(session, access),
            "feed_url": feed_url,
            "new_secret": new_secret,
            "new_webhook": new_webhook,
            "error": error,
            "form": form or {"events": list(webhooks.EVENTS)},
            "saved": request.query_params.get("saved", ""),
            "zone": access.workspace.timezone or "UTC",
        },
        status_code=status_for(error) if error else 200,
    )


@router.get("/w/{slug}/publish/settings")
def settings_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    return _settings_page(request, session, access)


@router.post("/w/{slug}/publish/settings")
async def settings_save(request: Request, session: DbSession, access: PageAccess) -> Response:
    form = await form_fields(request, *FLAGS)
    try:
        service.update_settings(
            session, access, **{flag: form[flag] in ("on", "true", "1") for flag in FLAGS}
        )
    except TownsquareError as error:
        session.rollback()
        return _settings_page(request, session, access, error=error)
    return RedirectResponse(f"{base(access)}/settings?saved=settings", status_code=303)


@router.post("/w/{slug}/publish/settings/webhooks")
async def webhook_create(
    request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    data = await request.form()
    url = str(data.get("url") or "")
    events = [str(value) for value in data.getlist("events")]
    try:
        issued = webhooks.create_webhook(session, access, settings, url=url, events=events)
    except TownsquareError as error:
        session.rollback()
        return _settings_page(
            request, session, access, error=error, form={"url": url, "events": events}
        )
    return _settings_page(
        request, session, access, new_secret=issued.secret, new_webhook=issued.endpoint.id
    )


@router.get("/w/{slug}/publish/settings/webhooks/{webhook_id}")
def webhook_page(
    request: Request, webhook_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    endpoint = webhooks.get_webhook(session, access, webhook_id)
    return render(
        request,
        "publish/webhook.html",
        {
            "base": base(access),
            "here": "settings",
            "endpoint": endpoint,
            "deliveries": webhooks.recent_deliveries(session, access, endpoint.id),
            "event_labels": EVENT_LABELS,
            "zone": access.workspace.timezone or "UTC",
        },
    )


def _webhook_action(
    request: Request, webhook_id: int, action: str, session: Session, access: WorkspaceAccess
) -> Response:
    try:
        if action == "delete":
            webhooks.delete_webhook(session, access, webhook_id)
        else:
            webhooks.set_enabled(session, access, webhook_id, action == "enable")
    except TownsquareError as error:
        session.rollback()
        if status_for(error) == 404:
            raise
        return _settings_page(request, session, access, error=error)
    return RedirectResponse(f"{base(access)}/settings?saved=webhook", status_code=303)


@router.post("/w/{slug}/publish/settings/webhooks/{webhook_id}/enable")
def webhook_enable(
    request: Request, webhook_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    return _webhook_action(request, webhook_id, "enable", session, access)


@router.post("/w/{slug}/publish/settings/webhooks/{webhook_id}/disable")
def webhook_disable(
    request: Request, webhook_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    return _webhook_action(request, webhook_id, "disable", session, access)


@router.post("/w/{slug}/publish/settings/webhooks/{webhook_id}/delete")
def webhook_delete(
    request: Request, webhook_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    return _webhook_action(request, webhook_id, "delete", session, access)


@router.post("/w/{slug}/publish/settings/ical")
def ical_regenerate(request: Request, session: DbSession, access: PageAccess) -> Response:
    try:
        token = ical.regenerate_feed(session, access)
    except TownsquareError as error:
        session.rollback()
        return _settings_page(request, session, access, error=error)
    url = str(request.base_url).rstrip("/") + ical.feed_path(token)
    return _settings_page(request, session, access, feed_url=url)


@router.post("/w/{slug}/publish/settings/ical/revoke")
def ical_revoke(request: Request, session: DbSession, access: PageAccess) -> Response:
    try:
        ical.revoke_feed(session, access)
    except TownsquareError as error:
        session.rollback()
        return _settings_page(request, session, access, error=error)
    return RedirectResponse(f"{base(access)}/settings?saved=ical", status_code=303)
