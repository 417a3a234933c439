"""Listen's web pages (all under ``/w/{slug}``, forms carry the CSRF token).

- ``GET /listen``: the watches, a form to create one;
- ``POST /listen/watches``: create; ``GET /listen/watches/{id}``: edit it and try it;
- ``POST /listen/watches/{id}/edit|delete``;
- ``POST /listen/try``: which watches a pasted text matches, its matched words highlighted
  (an htmx fragment);
- ``GET /listen/help``: the query language, with examples.

The mentions stream and the alerts pages are in stream_pages.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from townsquare.errors import TownsquareError
from townsquare.listening import service
from townsquare.listening.alerts import list_alerts
from townsquare.listening.language import detect
from townsquare.listening.matching import matched_spans, matches
from townsquare.listening.models import WATCH_KINDS, Watch
from townsquare.listening.query import parse
from townsquare.listening.text import TEXT_OFFSET, WORD_RE, Document, clean
from townsquare.validation import DbId
from townsquare.web.deps import DbSession, PageAccess
from townsquare.web.errors import status_for
from townsquare.web.forms import form_fields
from townsquare.web.security import verify_csrf
from townsquare.web.templating import render
from townsquare.workspaces.service import WorkspaceAccess

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _base(access: WorkspaceAccess) -> str:
    return f"/w/{access.workspace.slug}/listen"


def form_page(
    request: Request,
    access: WorkspaceAccess,
    template: str,
    context: dict[str, Any],
    *,
    error: TownsquareError | None,
    flags: tuple[str, ...],
) -> Response:
    """A Listen page with a form: the error of the last try (and its status), the flags
    that say what the last action did (``?created=1``…), the pages' base URL."""
    return render(
        request,
        template,
        {
            **context,
            "error": error,
            "base": _base(access),
            **{flag: request.query_params.get(flag, "") for flag in flags},
        },
        status_code=status_for(error) if error else 200,
    )


def _list_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    *,
    error: TownsquareError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    context = {
        "watches": service.list_watches(session, access),
        "kinds": WATCH_KINDS,
        "form": form or {"kind": "brand"},
    }
    return form_page(
        request,
        access,
        "listening/watches.html",
        context,
        error=error,
        flags=("created", "deleted"),
    )


@router.get("/w/{slug}/listen")
def listen_page(request: Request, session: DbSession, access: PageAccess) -> Response:
    return _list_page(request, session, access)


@router.post("/w/{slug}/listen/watches")
async def watch_create(request: Request, session: DbSession, access: PageAccess) -> Response:
    form = await form_fields(request, "name", "query", "kind")
    try:
        watch = service.create_watch(
            session, access, name=form["name"], query=form["query"], kind=form["kind"]
        )
    except TownsquareError as error:
        session.rollback()
        return _list_page(request, session, access, error=error, form=form)
    return RedirectResponse(f"{_base(access)}/watches/{watch.id}?created=1", status_code=303)


def _watch_page(
    request: Request,
    session: Session,
    access: WorkspaceAccess,
    watch: Watch,
    *,
    error: TownsquareError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    context = {
        "watch": watch,
        "kinds": WATCH_KINDS,
        "form": form or {"name": watch.name, "query": watch.query, "kind": watch.kind},
        "alerts": list_alerts(session, access, watch.id),
        "show_watch": False,
        "can_remove": False,
    }
    return form_page(
        request, access, "listening/watch.html", context, error=error, flags=("created", "saved")
    )


@router.get("/w/{slug}/listen/watches/{watch_id}")
def watch_page(
    request: Request, watch_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    return _watch_page(request, session, access, service.get_watch(session, access, watch_id))


@router.post("/w/{slug}/listen/watches/{watch_id}/edit")
async def watch_edit(
    request: Request, watch_id: DbId, session: DbSession, access: PageAccess
) -> Response:
    form = await form_fields(request, "name", "query", "kind")
    try:
        service.update_watch(
            session, access, watch_id, name=form["name"], query=form["query"], kind=form["kind"]
        )
    except TownsquareError as error:
        session.rollback()
        watch = service.get_watch(session, access, watch_id)
        return _watch_page(request, session, access, watch, error=error, form=form)
    return RedirectResponse(f"{_base(access)}/watches/{watch_id}?saved=1", status_code=303)


@router.post("/w/{slug}/listen/watches/{watch_id}/delete")
def watch_delete(watch_id: DbId, session: DbSession, access: PageAccess) -> Response:
    watch = service.get_watch(session, access, watch_id)
    name = watch.name
    service.delete_watch(session, access, watch_id)
    from urllib.parse import quote

    return RedirectResponse(f"{_base(access)}?deleted={quote(name)}", status_code=303)


def highlight(text: str, positions: set[int], offset: int) -> Markup:
    """``text`` escaped, with the words at ``positions`` (numbered from ``offset``) in <mark>."""
    normal = clean(text)
    pieces: list[Markup] = []
    last = 0
    for number, match in enumerate(WORD_RE.finditer(normal)):
        if number + offset in positions:
            pieces.append(escape(normal[last : match.start()]))
            pieces.append(Markup("<mark>{}</mark>").format(match.group(0)))
            last = match.end()
    pieces.append(escape(normal[last:]))
    return Markup("").join(pieces)


def try_text(
    session: Session, access: WorkspaceAccess, text: str, query: str = ""
) -> dict[str, Any]:
    """Which watches ``text`` matches (or the draft ``query``), with the hits highlighted."""
    document = Document(text, lang=detect(text))
    if query.strip():
        node = service.check_query(query)
        candidates = [("", node)]
    else:
        candidates = [(w.name, parse(w.query)) for w in service.list_watches(session, access)]
    matched = []
    positions: set[int] = set()
    for name, node in candidates:
        if matches(node, document):
            matched.append(name)
            positions |= matched_spans(node, document)
    return {
        "matched": matched,
        "lang": document.lang,
        "highlighted": highlight(text, positions, TEXT_OFFSET),
        "draft": bool(query.strip()),
    }


@router.post("/w/{slug}/listen/try")
async def listen_try(request: Request, session: DbSession, access: PageAccess) -> Response:
    service.require_tester(access)
    form = await form_fields(request, "text", "query")
    try:
        result = try_text(session, access, form["text"], form["query"])
        error = None
    except TownsquareError as caught:
        result, error = None, caught
    return render(request, "listening/_try_result.html", {"result": result, "error": error})


@router.get("/w/{slug}/listen/help")
def listen_help(request: Request, access: PageAccess) -> Response:
    return render(request, "listening/help.html", {"base": _base(access)})


def _formatted_voices(voices: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    """Share-of-voice rows with their numbers written in the reader's locale."""
    import re

    from babel import Locale
    from babel.numbers import format_decimal, format_percent

    # The locale's own percent pattern ("#,##0 %" in French, with its narrow space), one
    # decimal more.
    pattern = re.sub(r"0(?!.*0)", "0.0", Locale.parse(language).percent_formats[None].pattern)

    def percent(value: float | None) -> str:
        return "—" if value is None else format_percent(value, format=pattern, locale=language)

    return [
        {
            **voice,
            "mentions_text": format_decimal(voice["mentions"], locale=language),
            "reach_text": format_decimal(voice["reach"], locale=language),
            "share_by_mentions_text": percent(voice["share_by_mentions"]),
            "share_by_reach_text": percent(voice["share_by_reach"]),
        }
        for voice in voices
    ]
