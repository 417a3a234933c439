"""Sentences for humans that the web can translate: an English template and its values.

A :class:`Message` *is* its English text (a ``str``), so the CLI, the logs and the API print
it as they always did; it also keeps the gettext msgid it came from (``id``, an English
template with named placeholders such as ``%(value)r``) and the values (``params``), so that
the web layer renders it in the reader's language::

    Message("unknown time zone %(value)r: use an IANA name such as Europe/Paris", value=name)

Errors (``townsquare.errors``) and import problems take the template and its values the same
way; a template is always a string literal, so that the catalogs can list every one of them
(tests/house/test_messages.py checks it). Pure module: no I/O, no web.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, overload

logger = logging.getLogger(__name__)

Gettext = Callable[[str], str]
NumberFormat = Callable[[int | float], str]
JsonValue = str | int | float | bool | None


class Message(str):
    """An English sentence (the ``str`` value) with its msgid ``id`` and ``params``."""

    id: str
    params: dict[str, Any]

    def __new__(
        cls, template: str, params: Mapping[str, Any] | None = None, **values: Any
    ) -> Message:
        if isinstance(template, Message) and not params and not values:
            return template
        merged = {**(params or {}), **values}
        text = fill(template, merged) if merged else template
        message = super().__new__(cls, text)
        message.id = str(template) if not isinstance(template, Message) else template.id
        message.params = merged
        return message

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (self.id, self.params))

    def json_params(self) -> dict[str, JsonValue | list[JsonValue]]:
        """The values as JSON can carry them (numbers and text as they are, the rest as text)."""
        return {key: _json_value(value) for key, value in self.params.items()}

    def localize(self, gettext: Gettext, number: NumberFormat | None = None) -> str:
        """This sentence in another language: its translated template, filled with the values
        (numbers written by ``number``, e.g. babel's French ``1 000``; nested messages
        translated too). A translation whose placeholders do not match its values falls
        back to English rather than failing a page."""
        template = gettext(self.id)
        if not self.params:
            return template
        values = {key: _localized(value, gettext, number) for key, value in self.params.items()}
        try:
            return fill(template, values)
        except (KeyError, TypeError, ValueError):
            logger.warning("the translation of %r does not fit its values", self.id)
            return str(self)


def fill(template: str, values: Mapping[str, Any]) -> str:
    """``template % values``: the template's named placeholders filled in (a list or tuple
    value, e.g. of choices, written as its items joined by commas)."""
    return template % {key: _joined(value) for key, value in values.items()}


def _joined(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return value


def translate(text: str, gettext: Gettext, number: NumberFormat | None = None) -> str:
    """A Message in the reader's language; a plain string through gettext as it is."""
    if isinstance(text, Message):
        return text.localize(gettext, number)
    return gettext(text) if text else text


def _localized(value: Any, gettext: Gettext, number: NumberFormat | None) -> Any:
    if isinstance(value, list | tuple):
        return [_localized(item, gettext, number) for item in value]
    if isinstance(value, Message):
        return value.localize(gettext, number)
    if number is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    return value


def _json_value(value: Any) -> JsonValue | list[JsonValue]:
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]  # type: ignore[misc]
    if isinstance(value, Message):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def message_parts(value: str | None) -> tuple[str | None, dict[str, Any] | None]:
    """A message as stored: its template and its values as JSON (a plain string: itself)."""
    if value is None:
        return None, None
    if isinstance(value, Message):
        return value.id, (value.json_params() or None)
    return str(value), None


def stored_message(key: str | None, params: dict[str, Any] | None) -> Message | None:
    """The message a template and its stored values make (None for no key)."""
    if key is None:
        return None
    if not params:
        return Message(key)
    try:
        return Message(key, params)
    except (KeyError, TypeError, ValueError):  # values that no longer fit the template
        return Message(key)


class StoredMessage:
    """A row's message kept in two of its attributes: the template (``key``, a text column)
    and its values (``params``, a JSON column). Reading gives a :class:`Message` (or None);
    writing a Message stores its template and values, a plain string is stored as it is."""

    def __init__(self, key: str, params: str) -> None:
        self.key, self.params = key, params

    @overload
    def __get__(self, row: None, owner: type | None = None) -> StoredMessage: ...
    @overload
    def __get__(self, row: object, owner: type | None = None) -> Message | None: ...
    def __get__(self, row: object | None, owner: type | None = None) -> Any:
        if row is None:
            return self
        return stored_message(getattr(row, self.key), getattr(row, self.params))

    def __set__(self, row: object, value: str | None) -> None:
        key, params = message_parts(value)
        setattr(row, self.key, key)
        setattr(row, self.params, params)
