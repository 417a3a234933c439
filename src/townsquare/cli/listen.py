"""``townsquare watch``: Listen's saved queries, and matching documents against them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import typer
from rich.table import Table

from townsquare.cli.common import console, open_session, operator_access, print_json
from townsquare.errors import ValidationError
from townsquare.listening import service
from townsquare.listening.models import WATCH_KINDS, Watch

watch_app = typer.Typer(help="Watches: saved queries that find mentions.", no_args_is_help=True)


def watch_json(watch: Watch) -> dict[str, object]:
    return {"id": watch.id, "name": watch.name, "kind": watch.kind, "query": watch.query}


@watch_app.command("create")
def create(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    name: str = typer.Option(..., "--name", help="A name for the watch, unique in the workspace."),
    query: str = typer.Option(..., "--query", help='e.g. acme OR "acme corp" -job'),
    kind: str = typer.Option("brand", "--kind", help=f"One of: {', '.join(WATCH_KINDS)}."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a watch; a query that cannot be read is refused with its column."""
    with open_session() as session:
        access = operator_access(session, workspace)
        data = watch_json(service.create_watch(session, access, name=name, query=query, kind=kind))
    if as_json:
        print_json(data)
    else:
        console.print(f"created watch {data['name']} ({data['kind']}) in {workspace}")


@watch_app.command("list")
def list_watches(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List a workspace's watches."""
    with open_session() as session:
        rows = [
            watch_json(w)
            for w in service.list_watches(session, operator_access(session, workspace))
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "kind", "query")
    for row in rows:
        table.add_row(*(str(row[key]) for key in ("id", "name", "kind", "query")))
    console.print(table)


@watch_app.command("delete")
def delete(
    workspace: str = typer.Option(..., "--workspace"),
    watch: str = typer.Option(..., "--watch", help="Name or id."),
) -> None:
    """Delete a watch."""
    with open_session() as session:
        access = operator_access(session, workspace)
        found = service.get_watch(session, access, watch)
        service.delete_watch(session, access, found.id)
    console.print(f"deleted watch {watch} from {workspace}")


_OPTIONAL_FIELDS = ("title", "url", "author", "network")


def _json_lines(source: TextIO) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank line; each object has a "text" string."""
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValidationError(
                "line %(line)s is not valid JSON (%(reason)s): send one JSON object per line",
                params={"line": number, "reason": error.msg},
                field="input",
            ) from None
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            raise ValidationError(
                'line %(line)s needs an object with a "text" string, e.g. {"id": 1, "text": "…"}',
                params={"line": number},
                field="input",
            )
        lang = value.get("lang")
        if lang is not None and not isinstance(lang, str):
            raise ValidationError(
                'line %(line)s: "%(key)s" must be a string',
                params={"line": number, "key": "lang"},
                field="input",
            )
        yield number, value


def _documents(source: TextIO) -> Iterator[service.MatchInput]:
    for number, value in _json_lines(source):
        fields = {}
        for key in _OPTIONAL_FIELDS:
            field_value = value.get(key)
            if field_value is not None and not isinstance(field_value, str):
                raise ValidationError(
                    'line %(line)s: "%(key)s" must be a string',
                    params={"line": number, "key": key},
                    field="input",
                )
            fields[key] = field_value or ""
        yield service.MatchInput(
            id=value.get("id"), text=value["text"], lang=value.get("lang"), **fields
        )


def _open_input(input_file: Path | None) -> TextIO:
    if input_file is None:
        return sys.stdin
    if not input_file.is_file():
        raise ValidationError(
            "%(path)s is not a file", params={"path": str(input_file)}, field="input"
        )
    return input_file.open(encoding="utf-8")


@watch_app.command("match")
def match(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    input_file: Path | None = typer.Option(
        None, "--input", help="JSON Lines file of documents (default: standard input)."
    ),
    as_json: bool = typer.Option(True, "--json", help="One JSON line per document (default)."),
) -> None:
    """Which of the workspace's watches each document matches (JSON Lines in and out).

    Each input line is {"id", "text", "title"?, "url"?, "author"?, "lang"?, "network"?};
    a document without "lang" has its language detected.
    """
    with open_session() as session:
        index, names = service.workspace_index(session, operator_access(session, workspace))
    source = _open_input(input_file)
    try:
        out = sys.stdout
        for document_id, watches in service.match_documents(index, names, _documents(source)):
            out.write(json.dumps({"id": document_id, "watches": watches}, ensure_ascii=False))
            out.write("\n")
    finally:
        if input_file is not None:
            source.close()


# --- sources, polling, mentions ------------------------------------------------------------

source_app = typer.Typer(help="Sources: feeds, searches and pages that mentions come from.")
listen_app = typer.Typer(help="Listen: poll sources, classify texts.", no_args_is_help=True)
mentions_app = typer.Typer(help="Mentions found by the watches.", no_args_is_help=True)


@source_app.command("add")
def source_add(
    workspace: str = typer.Option(..., "--workspace", help="Workspace slug."),
    type_: str = typer.Option(
        ...,
        "--type",
        help="rss, hackernews, reddit or web (mastodon-tag, mastodon-search, "
        "bluesky-search need a connected channel).",
    ),
    target: str = typer.Option(..., "--target", help="The feed or page URL, or the search query."),
    channel: str | None = typer.Option(None, "--channel", help="Channel (Mastodon/Bluesky)."),
    every: int = typer.Option(15, "--every", help="Minutes between polls."),
    selector: str | None = typer.Option(
        None, "--selector", help="web: the CSS selector of the part to watch."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Add a source to a workspace."""
    from townsquare.cli.common import settings
    from townsquare.listening import sources

    with open_session() as session:
        access = operator_access(session, workspace)
        channel_id = None
        if channel:
            from townsquare.channels.service import get_channel_by_handle

            channel_id = get_channel_by_handle(session, access, channel).id
        source = sources.add_source(
            session,
            access,
            settings(),
            type=type_,
            target=target,
            every_minutes=every,
            selector=selector,
            channel_id=channel_id,
        )
        data = sources.sources_json(session, [source])[0]
    if as_json:
        print_json(data)
    else:
        console.print(f"added {data['type']} source {data['id']} to {workspace}")


@source_app.command("list")
def source_list(
    workspace: str = typer.Option(..., "--workspace"),
    language: str = typer.Option("en", "--language", help="en or fr: the notices' language."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List a workspace's sources and their health (the last error, and the notice: what a
    source cannot do, whether a hashtag is streamed or polled and why)."""
    from townsquare.listening import sources

    if language not in NOTICE_LANGUAGES:
        raise ValidationError(
            "unsupported language %(language)r: choose en or fr",
            params={"language": language},
            field="language",
        )
    with open_session() as session:
        rows = sources.sources_json(
            session, sources.list_sources(session, operator_access(session, workspace))
        )
    if as_json:
        print_json(rows)
        return
    table = Table("id", "type", "target", "every", "last poll", "mentions", "last error", "notice")
    for row in rows:
        table.add_row(
            *(
                str(row[key] if row[key] is not None else "")
                for key in ("id", "type", "target", "every", "last_polled_at", "mentions_total")
            ),
            str(row["last_error"] or ""),
            _in_language(row["notice"], language),
        )
    console.print(table)


NOTICE_LANGUAGES = ("en", "fr")


def _in_language(text: object, language: str) -> str:
    """A notice (a Message, or a stored sentence that is a msgid) in ``language``."""
    if not isinstance(text, str) or not text:
        return ""
    if language == "en":
        return str(text)
    from townsquare.i18n import catalogs
    from townsquare.messages import translate

    return translate(text, catalogs(language).gettext)


@source_app.command("remove")
def source_remove(
    workspace: str = typer.Option(..., "--workspace"),
    source: int = typer.Option(..., "--source", help="Source id."),
) -> None:
    """Remove a source (its mentions stay)."""
    from townsquare.listening import sources

    with open_session() as session:
        sources.delete_source(session, operator_access(session, workspace), source)
    console.print(f"removed source {source} from {workspace}")


@listen_app.command("poll")
def listen_poll(
    workspace: str = typer.Option(..., "--workspace"),
    source: int | None = typer.Option(None, "--source", help="Only this source."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Poll the workspace's sources now and store the new mentions."""
    from townsquare.cli.common import settings
    from townsquare.listening import sources

    with open_session() as session:
        from townsquare.channels.crypto import CredentialsBox

        box = CredentialsBox(settings().resolved_credentials_key())
        report = sources.poll(
            session, settings(), operator_access(session, workspace), source_id=source, box=box
        )
    data = report.as_json()
    if as_json:
        print_json(data)
        return
    console.print(
        f"{data['sources_polled']} source(s) polled, {data['items_fetched']} item(s), "
        f"{data['mentions_new']} new mention(s)"
    )
    for problem in report.errors:
        console.print(f"[red]source {problem['source']}:[/] {problem['error']}", highlight=False)


@listen_app.command("classify")
def listen_classify(
    input_file: Path | None = typer.Option(
        None, "--input", help="JSON Lines file of texts (default: standard input)."
    ),
    as_json: bool = typer.Option(True, "--json", help="One JSON line per text (default)."),
) -> None:
    """The sentiment of each text, offline (JSON Lines in and out).

    Each input line is {"id", "text", "lang"?}; each output line {"id", "lang", "sentiment",
    "score"}: sentiment negative, neutral or positive, score from -1 to 1 (French and English;
    null for other languages). A text without "lang" has its language detected.
    """
    from townsquare.listening.language import detect

    source = _open_input(input_file)
    try:
        out = sys.stdout
        for _number, value in _json_lines(source):
            text = value["text"]
            lang = (value.get("lang") or detect(text)).split("-")[0].lower()
            feeling = service.mention_sentiment("", text, lang)
            line = {
                "id": value.get("id"),
                "lang": lang or None,
                "sentiment": feeling.label if feeling else None,
                "score": feeling.score if feeling else None,
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    finally:
        if input_file is not None:
            source.close()


@mentions_app.command("list")
def mentions_list(
    workspace: str = typer.Option(..., "--workspace"),
    watch: str | None = typer.Option(None, "--watch", help="Only this watch (name or id)."),
    since: str | None = typer.Option(None, "--since", help="YYYY-MM-DD or ISO date-time."),
    sentiment: str | None = typer.Option(None, "--sentiment", help="negative, neutral, positive"),
    lang: str | None = typer.Option(None, "--lang", help="e.g. fr"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The mentions found, newest first."""
    since_at = _parse_since(since) if since else None
    with open_session() as session:
        rows = [
            service.mention_json(mention, watches)
            for mention, watches in service.list_mentions(
                session,
                operator_access(session, workspace),
                watch=watch,
                since=since_at,
                sentiment=sentiment,
                lang=lang,
            )
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("published", "network", "author", "title / text", "watches")
    for row in rows:
        text = str(row["title"] or row["text"] or "")[:80]
        table.add_row(
            str(row["published_at"] or ""),
            str(row["network"]),
            str(row["author"] or ""),
            text,
            ", ".join(row["watches"]),  # type: ignore[arg-type]
        )
    console.print(table)


def _parse_since(value: str) -> Any:
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            "--since %(value)r is not a date: write YYYY-MM-DD or 2026-12-01T08:00",
            params={"value": value},
            field="since",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


alert_app = typer.Typer(help="Alerts: where a watch's news is sent (apprise URLs).")


@alert_app.command("add")
def alert_add(
    workspace: str = typer.Option(..., "--workspace"),
    watch: str = typer.Option(..., "--watch", help="Name or id of the watch."),
    url: str = typer.Option(
        ..., "--url", help="An apprise URL: mailto://…, json://…, slack://…, ntfy://…"
    ),
    mode: str = typer.Option("instant", "--mode", help="instant, digest or spike."),
    at: str | None = typer.Option(None, "--at", help="digest: local time HH:MM (08:00)."),
    group_minutes: int = typer.Option(
        15, "--group-minutes", help="instant: at most one message per this many minutes."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Send a watch's new mentions, digests or spikes somewhere."""
    from townsquare.channels.crypto import CredentialsBox
    from townsquare.cli.common import settings
    from townsquare.listening import alerts

    with open_session() as session:
        access = operator_access(session, workspace)
        found = service.get_watch(session, access, watch)
        alert = alerts.add_alert(
            session,
            access,
            settings(),
            CredentialsBox(settings().resolved_credentials_key()),
            watch=found,
            url=url,
            mode=mode,
            at=at,
            group_minutes=group_minutes,
        )
        data = alerts.alert_json(alert)
    if as_json:
        print_json(data)
    else:
        console.print(f"alert {data['id']} ({data['mode']}) added to watch {watch}")


@alert_app.command("list")
def alert_list(
    workspace: str = typer.Option(..., "--workspace"), as_json: bool = typer.Option(False, "--json")
) -> None:
    """List a workspace's alerts (secrets of their URLs hidden) and their last errors."""
    from townsquare.listening import alerts

    with open_session() as session:
        rows = [
            alerts.alert_json(a)
            for a in alerts.list_alerts(session, operator_access(session, workspace))
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "watch", "url", "mode", "last sent", "last error")
    for row in rows:
        table.add_row(
            *(str(row[k] or "") for k in ("id", "watch_id", "url", "mode", "last_sent_at")),
            str(row["last_error"] or ""),
        )
    console.print(table)
