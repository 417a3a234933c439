"""``townsquare watch``: Listen's saved queries, and matching documents against them."""

from __future__ import annotations

import json
import sys
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


def _documents(source: TextIO) -> Any:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValidationError(
                f"line {number} is not valid JSON ({error.msg}): send one JSON object per line",
                field="input",
            ) from None
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            raise ValidationError(
                f'line {number} needs an object with a "text" string, e.g. '
                '{"id": 1, "text": "…"}',
                field="input",
            )
        fields = {}
        for key in _OPTIONAL_FIELDS:
            field_value = value.get(key)
            if field_value is not None and not isinstance(field_value, str):
                raise ValidationError(f'line {number}: "{key}" must be a string', field="input")
            fields[key] = field_value or ""
        lang = value.get("lang")
        if lang is not None and not isinstance(lang, str):
            raise ValidationError(f'line {number}: "lang" must be a string', field="input")
        yield service.MatchInput(id=value.get("id"), text=value["text"], lang=lang, **fields)


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
    if input_file is not None and not input_file.is_file():
        raise ValidationError(f"{input_file} is not a file", field="input")
    source = input_file.open(encoding="utf-8") if input_file is not None else sys.stdin
    try:
        out = sys.stdout
        for document_id, watches in service.match_documents(index, names, _documents(source)):
            out.write(json.dumps({"id": document_id, "watches": watches}, ensure_ascii=False))
            out.write("\n")
    finally:
        if input_file is not None:
            source.close()
