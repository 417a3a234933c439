"""Saved mapping profiles: a workspace names a column mapping and its reading options once
(``--save-profile``, the wizard's "save as") and reuses it (``--profile``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare import validation
from townsquare.analytics.importers.service import ImportOptions
from townsquare.analytics.models import ImportProfile
from townsquare.errors import NotFound
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess


def list_profiles(session: Session, access: WorkspaceAccess) -> list[ImportProfile]:
    query = (
        select(ImportProfile)
        .where(ImportProfile.workspace_id == access.workspace_id)
        .order_by(ImportProfile.name)
    )
    return list(session.scalars(query))


def get_profile(session: Session, access: WorkspaceAccess, name: str) -> ImportProfile:
    profile = session.scalar(
        select(ImportProfile).where(
            ImportProfile.workspace_id == access.workspace_id, ImportProfile.name == name
        )
    )
    if profile is None:
        names = ", ".join(p.name for p in list_profiles(session, access)) or "none yet"
        raise NotFound(
            "no import profile %(name)r in workspace '%(slug)s' (saved profiles: %(names)s); save "
            "one with --save-profile",
            params={"name": name, "slug": access.workspace.slug, "names": names},
            field="profile",
        )
    return profile


def save_profile(
    session: Session, access: WorkspaceAccess, name: str, options: ImportOptions
) -> ImportProfile:
    """Save (or replace) a named mapping and its reading options for this workspace."""
    access.require(Role.EDITOR, "save import profiles")
    name = validation.non_empty(name, field="profile", max_length=100)
    profile = session.scalar(
        select(ImportProfile).where(
            ImportProfile.workspace_id == access.workspace_id, ImportProfile.name == name
        )
    )
    if profile is None:
        profile = ImportProfile(workspace_id=access.workspace_id, name=name)
        session.add(profile)
    profile.mapping = dict(options.mapping)
    profile.options = {
        key: value
        for key, value in {
            "preset": options.preset,
            "date_format": options.date_format,
            "timezone": options.timezone,
            "separator": options.separator,
            "encoding": options.encoding,
        }.items()
        if value
    }
    session.commit()
    return profile


def apply_profile(profile: ImportProfile, options: ImportOptions) -> ImportOptions:
    """Options from a profile; what the caller gave explicitly wins."""
    saved = profile.options or {}
    return ImportOptions(
        preset=saved.get("preset", "generic") if options.preset == "generic" else options.preset,
        mapping={**(profile.mapping or {}), **options.mapping},
        date_format=options.date_format or saved.get("date_format"),
        timezone=options.timezone or saved.get("timezone"),
        separator=options.separator or saved.get("separator"),
        encoding=options.encoding or saved.get("encoding"),
        dry_run=options.dry_run,
    )
