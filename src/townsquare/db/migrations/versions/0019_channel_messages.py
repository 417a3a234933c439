"""channels: status_reason and last_error stored as a message (template + values)

Until now a channel's ``status_reason`` and ``last_error`` held the English sentence; they
now hold its template (the catalogs' msgid) beside its values (``*_params``, JSON), so that
each reader sees them in their language. Existing sentences are converted by matching them
against the templates of the catalogs shipped with this version; a sentence that matches
none stays as it is (shown in English, as before).

Revision ID: 0019_channel_messages
Revises: 0015_h7perf
Create Date: 2026-12-02 15:30:00
"""

from __future__ import annotations

import ast
import re
from functools import cache
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0019_channel_messages"
down_revision = "0018_publish_web"
branch_labels = None
depends_on = None

_COLUMNS = (("status_reason", "status_reason_params"), ("last_error", "last_error_params"))
_PLACEHOLDER = re.compile(r"%\((\w+)\)([sdr])")


@cache
def _templates() -> list[tuple[re.Pattern[str], str, dict[str, str]]]:
    """(pattern, template, conversions) of every msgid with placeholders, most specific
    (most literal text) first."""
    from babel.messages.pofile import read_po

    from townsquare.i18n import LOCALES_DIR

    found: dict[str, tuple[re.Pattern[str], str, dict[str, str]]] = {}
    for path in sorted((LOCALES_DIR / "fr" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for entry in catalog:
            template = entry.id if isinstance(entry.id, str) else None
            if not template or "%(" not in template or template in found:
                continue
            pattern, conversions, position, seen = "", {}, 0, set()
            for match in _PLACEHOLDER.finditer(template):
                pattern += re.escape(template[position : match.start()].replace("%%", "%"))
                name, kind = match.group(1), match.group(2)
                if name in seen:  # the same value twice: it must be the same text
                    pattern += f"(?P={name})"
                else:
                    pattern += f"(?P<{name}>.+?)" if kind != "d" else f"(?P<{name}>-?\\d+)"
                    seen.add(name)
                conversions[name] = kind
                position = match.end()
            pattern += re.escape(template[position:].replace("%%", "%"))
            found[template] = (re.compile(f"^{pattern}$", re.DOTALL), template, conversions)
    literal = {t: len(_PLACEHOLDER.sub("", t)) for t in found}
    return sorted(found.values(), key=lambda item: -literal[item[1]])


def _value(text: str, kind: str) -> Any:
    if kind == "r":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    if kind == "d" or text.isdigit():
        return int(text)
    return text


def message_of(sentence: str) -> tuple[str, dict[str, Any] | None]:
    """(template, values) of an English sentence; (sentence, None) when none matches."""
    for pattern, template, conversions in _templates():
        match = pattern.match(sentence)
        if match:
            values = {name: _value(match.group(name), kind) for name, kind in conversions.items()}
            return template, values
    return sentence, None


def _fill(template: str, params: dict[str, Any] | None) -> str:
    if not params:
        return template
    try:
        return template % params
    except (KeyError, TypeError, ValueError):
        return template


def upgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        for _text, params in _COLUMNS:
            batch_op.add_column(sa.Column(params, sa.JSON(), nullable=True))
    channels = sa.table(
        "channels",
        sa.column("id", sa.Integer()),
        *(sa.column(text, sa.Text()) for text, _ in _COLUMNS),
        *(sa.column(params, sa.JSON()) for _, params in _COLUMNS),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(channels.c.id, *(channels.c[text] for text, _ in _COLUMNS)).where(
            sa.or_(*(channels.c[text].is_not(None) for text, _ in _COLUMNS))
        )
    ).all()
    for row in rows:
        values: dict[str, Any] = {}
        for text, params in _COLUMNS:
            sentence = getattr(row, text)
            if sentence is None:
                continue
            template, found = message_of(sentence)
            if found is not None:
                values[text], values[params] = template, found
        if values:
            connection.execute(sa.update(channels).where(channels.c.id == row.id).values(**values))


def downgrade() -> None:
    channels = sa.table(
        "channels",
        sa.column("id", sa.Integer()),
        *(sa.column(text, sa.Text()) for text, _ in _COLUMNS),
        *(sa.column(params, sa.JSON()) for _, params in _COLUMNS),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(channels)).all()
    for row in rows:
        values = {
            text: _fill(getattr(row, text), getattr(row, params))
            for text, params in _COLUMNS
            if getattr(row, text) is not None and getattr(row, params)
        }
        if values:
            connection.execute(sa.update(channels).where(channels.c.id == row.id).values(**values))
    with op.batch_alter_table("channels", schema=None) as batch_op:
        for _text, params in _COLUMNS:
            batch_op.drop_column(params)
