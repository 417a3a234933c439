"""Use cases of Handles: check a name everywhere, save the check, re-check it later.

Every query is scoped by the caller's workspace; each public function that writes is one
transaction. The checks themselves are done by ``handles.checkers`` (no database there).

The workspace chooses its Mastodon instances (``Workspace.settings["handles"]``); without a
choice the defaults of ``handles.plan`` are asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.config import Settings
from townsquare.db.base import utcnow
from townsquare.errors import NotFound, ValidationError
from townsquare.handles import plan as planning
from townsquare.handles import rules
from townsquare.handles.checkers import TAKEN, Result, Target, check_all
from townsquare.handles.models import HandleCheck
from townsquare.netguard import check_url
from townsquare.workspaces import audit
from townsquare.workspaces.models import Workspace
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

SETTINGS_KEY = "handles"
DEFAULT_VARIANTS = 4
MAX_VARIANTS = 8
MAX_SAVED_LIST = 200


# --- the workspace's choices -------------------------------------------------------------


def mastodon_instances(workspace: Workspace | None) -> list[str]:
    """The instances the workspace chose, else the defaults."""
    chosen = ((workspace.settings or {}).get(SETTINGS_KEY) or {}) if workspace else {}
    instances = chosen.get("mastodon_instances")
    return list(instances) if instances else list(planning.DEFAULT_MASTODON_INSTANCES)


def set_mastodon_instances(
    session: Session, access: WorkspaceAccess, settings: Settings, instances: Iterable[str]
) -> list[str]:
    """Choose the workspace's Mastodon instances (an empty list restores the defaults)."""
    access.require(Role.ADMIN, "choose the Mastodon instances of handle checks")
    parsed = planning.parse_instances(instances)
    for instance in parsed:
        check_url(instance, settings, field="instances")
    workspace = access.workspace
    values = dict(workspace.settings or {})
    values[SETTINGS_KEY] = {**(values.get(SETTINGS_KEY) or {}), "mastodon_instances": parsed}
    workspace.settings = values  # a new dict, so the JSON column is written
    session.add(workspace)
    audit.record(
        session,
        "handles.instances",
        workspace_id=access.workspace_id,
        user_id=access.user_id,
        details={"instances": parsed},
    )
    session.commit()
    return mastodon_instances(workspace)


# --- checking ----------------------------------------------------------------------------


def _variant_count(variants: int | bool) -> int:
    count = DEFAULT_VARIANTS if variants is True else int(variants)
    if not 0 <= count <= MAX_VARIANTS:
        raise ValidationError(
            "variants: between 0 and %(limit)d", params={"limit": MAX_VARIANTS}, field="variants"
        )
    return count


def _run(items: Sequence[Target | Result], settings: Settings) -> list[Result]:
    """Ask every target of ``items`` at once; the ``invalid`` results stay in their place."""
    targets = [item for item in items if isinstance(item, Target)]
    answers = iter(check_all(targets, settings))
    return [next(answers) if isinstance(item, Target) else item for item in items]


def check_name(
    settings: Settings,
    name: str,
    networks: Iterable[str] | None = None,
    *,
    instances: Sequence[str] | None = None,
    variants: int | bool = True,
    bluesky_domain: str | None = None,
) -> list[dict[str, str]]:
    """``[{"network", "handle", "status", "reason", "url"}, …]`` for ``name``, then its variants.

    Bluesky's custom domain is ``bluesky_domain`` (default ``NAME.com``).
    Variants (``NAME_fr``, ``NAMEofficiel``, ``getNAME``, …) are checked on the networks
    where the name itself is taken (on Mastodon, on the instances where it is taken).
    """
    clean = planning.parse_name(name)
    chosen = planning.parse_networks(networks)
    bluesky_domain = planning.parse_domain(bluesky_domain)
    count = _variant_count(variants)
    instance_list = list(instances) if instances is not None else mastodon_instances(None)
    items = planning.plan(clean, chosen, instances=instance_list, bluesky_domain=bluesky_domain)
    results = _run(items, settings)
    taken = [result for result in results if result.status == TAKEN]
    if taken and count:
        taken_networks = [n for n in chosen if any(r.network == n for r in taken)]
        taken_instances = [
            instance
            for instance in instance_list
            if any(r.network == "mastodon" and r.url.startswith(instance + "/") for r in taken)
        ]
        variant_items: list[Target | Result] = []
        for variant in rules.variants(clean, count):
            variant_items.extend(planning.plan(variant, taken_networks, instances=taken_instances))
        results.extend(_run(variant_items, settings))
    return [result.as_json() for result in results]


def check(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    name: str,
    networks: Iterable[str] | None = None,
    *,
    variants: int | bool = True,
    save: bool = True,
    bluesky_domain: str | None = None,
) -> tuple[HandleCheck | None, list[dict[str, str]]]:
    """Check ``name`` with the workspace's instances; ``save`` keeps it to re-check later."""
    access.require(Role.CONTRIBUTOR, "check handles")
    chosen = planning.parse_networks(networks)
    asked = [] if len(chosen) == len(planning.NETWORKS) else chosen
    bluesky_domain = planning.parse_domain(bluesky_domain)
    results = check_name(
        settings,
        name,
        chosen,
        instances=mastodon_instances(access.workspace),
        variants=variants,
        bluesky_domain=bluesky_domain,
    )
    if not save:
        return None, results
    record = HandleCheck(
        workspace_id=access.workspace_id,
        name=planning.parse_name(name),
        networks=asked,
        with_variants=bool(_variant_count(variants)),
        bluesky_domain=bluesky_domain,
        results=results,
        checked_at=utcnow(),
        created_by=access.user_id,
    )
    session.add(record)
    session.commit()
    return record, results


def list_checks(session: Session, access: WorkspaceAccess) -> list[HandleCheck]:
    query = (
        select(HandleCheck)
        .where(HandleCheck.workspace_id == access.workspace_id)
        .order_by(HandleCheck.checked_at.desc(), HandleCheck.id.desc())
        .limit(MAX_SAVED_LIST)
    )
    return list(session.scalars(query))


def get_check(session: Session, access: WorkspaceAccess, check_id: int) -> HandleCheck:
    record = session.scalar(
        select(HandleCheck).where(
            HandleCheck.id == check_id, HandleCheck.workspace_id == access.workspace_id
        )
    )
    if record is None:
        raise NotFound(
            "no saved handle check %(id)s in this workspace: list them with "
            "`townsquare handles saved --workspace W`",
            params={"id": check_id},
            field="id",
        )
    return record


def recheck(
    session: Session, access: WorkspaceAccess, settings: Settings, check_id: int
) -> HandleCheck:
    """Ask again for a saved check; the results before are kept beside the new ones."""
    access.require(Role.CONTRIBUTOR, "check handles")
    record = get_check(session, access, check_id)
    results = check_name(
        settings,
        record.name,
        record.networks or None,
        instances=mastodon_instances(access.workspace),
        variants=DEFAULT_VARIANTS if record.with_variants else 0,
        bluesky_domain=record.bluesky_domain,
    )
    record.previous_results = record.results
    record.previous_checked_at = record.checked_at
    record.results = results
    record.checked_at = utcnow()
    session.commit()
    return record


def delete_check(session: Session, access: WorkspaceAccess, check_id: int) -> None:
    access.require(Role.CONTRIBUTOR, "delete a handle check")
    session.delete(get_check(session, access, check_id))
    session.commit()


def changes(record: HandleCheck) -> list[dict[str, str]]:
    """What changed since the check before: ``[{"network", "handle", "was", "now"}]``."""
    if record.previous_results is None:
        return []
    before = {(r["network"], r["handle"]): r["status"] for r in record.previous_results}
    found: list[dict[str, str]] = []
    for result in record.results:
        was = before.get((result["network"], result["handle"]))
        if was is not None and was != result["status"]:
            found.append(
                {
                    "network": result["network"],
                    "handle": result["handle"],
                    "was": was,
                    "now": result["status"],
                }
            )
    return found


def check_json(record: HandleCheck) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "networks": record.networks or list(planning.NETWORKS),
        "bluesky_domain": record.bluesky_domain,
        "checked_at": record.checked_at,
        "previous_checked_at": record.previous_checked_at,
        "results": record.results,
        "changes": changes(record),
    }
