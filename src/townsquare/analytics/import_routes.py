"""Import wizard (web) and import API: both call ``analytics.importers.service``.

Wizard: upload (step 1) → preview of the first rows as they will be read, with the column
mapping (step 2) → import or dry run (step 3). The uploaded file waits in the data
directory under a random token between the steps, and is deleted once imported.

API: ``POST /api/v1/workspaces/{workspace}/imports`` (multipart: ``file``, ``channel``,
``preset``, ``map`` repeated as COLUMN=FIELD, ``date_format``, ``timezone``, ``separator``,
``encoding``, ``profile``, ``save_profile``, ``dry_run``) answers the CLI's ``--json``
report; 422 with the same report (and the usual ``error`` object) when the file has
problems.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from townsquare.analytics import uploads
from townsquare.analytics.importers import profiles, service
from townsquare.analytics.importers.fields import FIELDS
from townsquare.analytics.importers.presets import PRESET_INFO
from townsquare.channels.models import Channel
from townsquare.channels.service import get_channel_by_handle, list_channels
from townsquare.config import Settings
from townsquare.errors import NotFound, TownsquareError, ValidationError
from townsquare.web.deps import ApiAccess, AppSettings, DbSession, PageAccess
from townsquare.web.errors import error_body, status_for
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.roles import Role
from townsquare.workspaces.service import WorkspaceAccess

pages = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
api = APIRouter(tags=["imports"])


# --- uploads -----------------------------------------------------------------------------


def _upload_dir(settings: Settings, access: WorkspaceAccess) -> Path:
    return uploads.upload_dir(settings, access.workspace_id)


def save_upload(upload: UploadFile, folder: Path, settings: Settings) -> Path:
    """Copy an upload to ``folder``; TooLarge (413) past TOWNSQUARE_MAX_UPLOAD_MB."""
    return uploads.save(upload.file, folder, settings)


def _uploaded(settings: Settings, access: WorkspaceAccess, token: str) -> Path:
    """The file of an earlier step; the token is checked so no other path can be named."""
    path = _upload_dir(settings, access) / token
    if not uploads.TOKEN.match(token) or not path.exists():
        raise NotFound(
            "this upload is no longer available (already imported or expired): upload the "
            "file again",
            field="file",
        )
    return path


def _channel(session: Session, access: WorkspaceAccess, handle: str) -> Channel:
    if not handle.strip():
        raise ValidationError("choose the channel the posts belong to", field="channel")
    return get_channel_by_handle(session, access, handle.strip())


# --- the wizard --------------------------------------------------------------------------


def _context(session: Session, access: WorkspaceAccess, **values: Any) -> dict[str, Any]:
    base = f"/w/{access.workspace.slug}/measure"
    return {
        "base": base,
        "ws": f"/w/{access.workspace.slug}",
        "channels": list_channels(session, access),
        "presets": PRESET_INFO,
        "profiles": profiles.list_profiles(session, access),
        "fields": FIELDS,
        "form": {},
        "error": None,
        **values,
    }


@pages.get("/w/{slug}/measure/import")
def import_page(
    request: Request, session: DbSession, access: PageAccess, channel: str = ""
) -> Response:
    return render(
        request,
        "analytics/import_upload.html",
        _context(session, access, form={"channel": channel, "preset": "generic"}),
    )


def _options_from_form(
    session: Session,
    access: WorkspaceAccess,
    *,
    preset: str,
    profile: str,
    date_format: str,
    timezone: str,
    separator: str,
    encoding: str = "",
    mapping: dict[str, str] | None = None,
) -> service.ImportOptions:
    options = service.ImportOptions(
        preset=preset or "generic",
        mapping=mapping or {},
        date_format=date_format.strip() or None,
        timezone=timezone.strip() or None,
        separator=separator or None,
        encoding=encoding.strip() or None,
    )
    if profile:
        options = profiles.apply_profile(profiles.get_profile(session, access, profile), options)
    service.check_options(options)
    return options


def _preview_page(
    request: Request,
    session: DbSession,
    access: WorkspaceAccess,
    settings: Settings,
    *,
    token: str,
    filename: str,
    channel: Channel,
    options: service.ImportOptions,
    report: Any = None,
    save_profile: str = "",
    status_code: int = 200,
) -> Response:
    path = _uploaded(settings, access, token)
    preview = service.preview(path, options, timezone=channel.timezone)
    return render(
        request,
        "analytics/import_preview.html",
        _context(
            session,
            access,
            token=token,
            filename=filename,
            channel=channel,
            options=options,
            preview=preview,
            report=report,
            save_profile=save_profile,
        ),
        status_code=status_code,
    )


@pages.post("/w/{slug}/measure/import")
def import_upload(
    request: Request,
    session: DbSession,
    access: PageAccess,
    settings: AppSettings,
    file: Annotated[UploadFile | None, File()] = None,
    channel: Annotated[str, Form()] = "",
    preset: Annotated[str, Form()] = "generic",
    profile: Annotated[str, Form()] = "",
    date_format: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "channel": channel,
        "preset": preset,
        "profile": profile,
        "date_format": date_format,
        "timezone": timezone,
    }
    try:
        access.require(Role.EDITOR, "import posts")
        target = _channel(session, access, channel)
        options = _options_from_form(
            session,
            access,
            preset=preset,
            profile=profile,
            date_format=date_format,
            timezone=timezone,
            separator="",
        )
        if file is None or not file.filename:
            raise ValidationError("choose a CSV or XLSX file to import", field="file")
        path = save_upload(file, _upload_dir(settings, access), settings)
        try:
            return _preview_page(
                request,
                session,
                access,
                settings,
                token=path.name,
                filename=Path(file.filename).name,
                channel=target,
                options=options,
                save_profile=profile,
            )
        except TownsquareError:
            path.unlink(missing_ok=True)
            raise
    except TownsquareError as error:
        return render(
            request,
            "analytics/import_upload.html",
            _context(session, access, form=form, error=error),
            status_code=status_for(error),
        )


@pages.post("/w/{slug}/measure/import/confirm")
async def import_confirm(
    request: Request, session: DbSession, access: PageAccess, settings: AppSettings
) -> Response:
    form = await request.form()

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    columns = [c for c in form.getlist("column") if isinstance(c, str)]
    targets = [f for f in form.getlist("field") if isinstance(f, str)]
    # An unchosen select sends "": the column stays unmapped (and is reported as such).
    pairs = zip(columns, targets, strict=False)
    mapping = {c: f for c, f in pairs if f} if text("preset") == "generic" else {}
    token, filename, action = text("token"), text("filename"), text("action")
    try:
        access.require(Role.EDITOR, "import posts")
        target = _channel(session, access, text("channel"))
        options = _options_from_form(
            session,
            access,
            preset=text("preset"),
            profile="",
            date_format=text("date_format"),
            timezone=text("timezone"),
            separator=text("separator"),
            encoding=text("encoding"),
            mapping=mapping,
        )
        path = _uploaded(settings, access, token)
        if action == "preview":
            return _preview_page(
                request,
                session,
                access,
                settings,
                token=token,
                filename=filename,
                channel=target,
                options=options,
                save_profile=text("save_profile"),
            )
        options.dry_run = action == "dry_run"
        report = service.run_import(session, access, target, path, options)
    except TownsquareError as error:
        return render(
            request,
            "analytics/import_upload.html",
            _context(session, access, form={"channel": text("channel")}, error=error),
            status_code=status_for(error),
        )
    if not report.ok:
        return _preview_page(
            request,
            session,
            access,
            settings,
            token=token,
            filename=filename,
            channel=target,
            options=options,
            report=report,
            save_profile=text("save_profile"),
            status_code=422,
        )
    if options.dry_run:
        return _preview_page(
            request,
            session,
            access,
            settings,
            token=token,
            filename=filename,
            channel=target,
            options=options,
            report=report,
            save_profile=text("save_profile"),
        )
    saved = text("save_profile")
    if saved:
        profiles.save_profile(session, access, saved, options)
    path.unlink(missing_ok=True)
    return render(
        request,
        "analytics/import_result.html",
        _context(
            session,
            access,
            report=report,
            channel=target,
            filename=filename,
            saved_profile=saved,
        ),
    )


# --- the API -----------------------------------------------------------------------------


@api.post("/workspaces/{workspace}/imports")
def api_import(
    session: DbSession,
    access: ApiAccess,
    settings: AppSettings,
    file: Annotated[UploadFile, File(description="CSV or XLSX export")],
    channel: Annotated[str, Form(description="Channel handle (or network:handle)")],
    preset: Annotated[str, Form()] = "generic",
    map: Annotated[list[str] | None, Form(description="COLUMN=FIELD, repeated")] = None,
    date_format: Annotated[str | None, Form()] = None,
    timezone: Annotated[str | None, Form()] = None,
    separator: Annotated[str | None, Form()] = None,
    encoding: Annotated[str | None, Form()] = None,
    profile: Annotated[str | None, Form()] = None,
    save_profile: Annotated[str | None, Form()] = None,
    dry_run: Annotated[bool, Form()] = False,
) -> JSONResponse:
    """Import posts from a file; the answer is the CLI's ``--json`` report."""
    access.require(Role.EDITOR, "import posts")
    target = get_channel_by_handle(session, access, channel)
    options = service.ImportOptions(
        preset=preset,
        mapping=service.parse_map_options(map or []),
        date_format=date_format or None,
        timezone=timezone or None,
        separator=separator or None,
        encoding=encoding or None,
        dry_run=dry_run,
    )
    if profile:
        options = profiles.apply_profile(profiles.get_profile(session, access, profile), options)
    service.check_options(options)
    path = save_upload(file, _upload_dir(settings, access), settings)
    try:
        report = service.run_import(session, access, target, path, options)
    finally:
        path.unlink(missing_ok=True)
    body = report.as_json()
    if not report.ok:
        try:
            service.raise_for_problems(report)
        except ValidationError as error:
            return JSONResponse({**body, **error_body(error)}, status_code=422)
    if save_profile and not dry_run:
        profiles.save_profile(session, access, save_profile, options)
    return JSONResponse(body)


@api.get("/workspaces/{workspace}/import-profiles")
def api_import_profiles(session: DbSession, access: ApiAccess) -> list[dict[str, Any]]:
    """The workspace's saved mapping profiles."""
    return [
        {"name": p.name, "mapping": p.mapping, "options": p.options}
        for p in profiles.list_profiles(session, access)
    ]
