"""Handles' REST API, under ``/api/v1/workspaces/{workspace}/handles/…`` (see handles/service.py).

- ``POST /handles/check`` ``{"name", "networks": [...], "variants": 4, "save": true}`` → the
  list of results, as ``townsquare handles check NAME --json`` prints it;
- ``GET /handles/checks`` (saved checks), ``GET|DELETE /handles/checks/{id}``,
  ``POST /handles/checks/{id}/recheck`` (with ``changes`` since the check before);
- ``GET|PUT /handles/instances`` ``{"mastodon_instances": [...]}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from townsquare.handles import service
from townsquare.validation import DbId
from townsquare.web.deps import ApiAccess, AppSettings, DbSession

router = APIRouter(tags=["handles"])
PREFIX = "/workspaces/{workspace}/handles"


class CheckRequest(BaseModel):
    name: str = Field(description="The name to check (a leading @ is dropped)")
    networks: list[str] = Field(default_factory=list, description="Default: every network")
    variants: int = Field(default=service.DEFAULT_VARIANTS, description="Variants to try if taken")
    save: bool = Field(default=True, description="Keep the check to re-check it later")
    bluesky_domain: str | None = Field(
        default=None, description="Custom domain checked as a Bluesky handle; default NAME.com"
    )


class ResultOut(BaseModel):
    network: str
    handle: str
    status: str = Field(description="available, taken, invalid or unknown")
    reason: str
    url: str


class Instances(BaseModel):
    mastodon_instances: list[str]


@router.post(PREFIX + "/check", response_model=list[ResultOut])
def api_check(
    body: CheckRequest,
    response: Response,
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
) -> list[dict[str, str]]:
    record, results = service.check(
        session,
        access,
        settings,
        body.name,
        body.networks,
        variants=body.variants,
        save=body.save,
        bluesky_domain=body.bluesky_domain,
    )
    if record is not None:
        response.headers["Location"] = f"/api/v1{PREFIX}/checks/{record.id}".replace(
            "{workspace}", access.workspace.slug
        )
    return results


@router.get(PREFIX + "/checks")
def api_checks(session: DbSession, access: ApiAccess) -> list[dict[str, Any]]:
    return [service.check_json(record) for record in service.list_checks(session, access)]


@router.get(PREFIX + "/checks/{check_id}")
def api_saved_check(check_id: DbId, session: DbSession, access: ApiAccess) -> dict[str, Any]:
    return service.check_json(service.get_check(session, access, check_id))


@router.post(PREFIX + "/checks/{check_id}/recheck")
def api_recheck(
    check_id: DbId, session: DbSession, access: ApiAccess, settings: AppSettings
) -> dict[str, Any]:
    return service.check_json(service.recheck(session, access, settings, check_id))


@router.delete(PREFIX + "/checks/{check_id}", status_code=204)
def api_delete_check(check_id: DbId, session: DbSession, access: ApiAccess) -> Response:
    service.delete_check(session, access, check_id)
    return Response(status_code=204)


@router.get(PREFIX + "/instances", response_model=Instances)
def api_instances(access: ApiAccess) -> Instances:
    return Instances(mastodon_instances=service.mastodon_instances(access.workspace))


@router.put(PREFIX + "/instances", response_model=Instances)
def api_set_instances(
    body: Instances, session: DbSession, access: ApiAccess, settings: AppSettings
) -> Instances:
    current = service.set_mastodon_instances(session, access, settings, body.mastodon_instances)
    return Instances(mastodon_instances=current)
