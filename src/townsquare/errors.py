"""The error hierarchy: one base class, one subclass per kind of failure.

Every message is written for a human: it says what was wrong and how to fix it. The web
layer maps each kind to an HTTP status (``web/errors.py``) and the CLI to an exit code
(``cli/errors.py``), in one place each.

    TownsquareError
    ├── ValidationError      bad input (HTTP 422, exit 2); ``field`` names the culprit
    ├── NotFound             no such object in this workspace (HTTP 404, exit 3)
    ├── Conflict             would duplicate something unique (HTTP 409, exit 4)
    ├── AuthenticationError  who are you? wrong password, expired token (HTTP 401, exit 5)
    ├── PermissionDenied     known user, role too low (HTTP 403, exit 6)
    ├── RateLimited          too many attempts; ``retry_after`` seconds (HTTP 429, exit 7)
    ├── TooLarge             an upload past TOWNSQUARE_MAX_UPLOAD_MB (HTTP 413, exit 2)
    └── NetworkError         a network (Mastodon, …) failed or refused (HTTP 502, exit 8)
        └── UnknownHost      the host of an address does not exist (HTTP 422, exit 2)

A message is declared once, as an English gettext template with named placeholders and its
values, never as an f-string, so that the web can show it in the reader's language::

    raise ValidationError(
        "unknown time zone %(value)r: use an IANA name such as Europe/Paris",
        params={"value": name},
        field="timezone",
    )

``error.message`` is then a :class:`townsquare.messages.Message`: the English text (what the
CLI prints and the API returns as ``message``) that also knows its template (``message_id``
in the API) and values (``params``). Problems (several at once) carry the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from townsquare.messages import Message


class TownsquareError(Exception):
    """Base class of every error townsquare raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        text = Message(message, params)
        super().__init__(text)
        self.message: Message = text
        self.field = field

    @property
    def message_id(self) -> str:
        """The gettext msgid of the message: its English template."""
        return self.message.id

    @property
    def params(self) -> dict[str, Any]:
        return self.message.params

    def __str__(self) -> str:
        return self.message


class ValidationError(TownsquareError):
    """Input that cannot be accepted; nothing was written."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        params: Mapping[str, Any] | None = None,
        problems: list[dict[str, object]] | None = None,
    ) -> None:
        super().__init__(message, field=field, params=params)
        # Several problems at once (an import with errors on many lines, a form); each
        # ``message`` is best a Message, so that it can be translated too.
        self.problems = problems or []


def problem(field: str | None, message: str, **params: Any) -> dict[str, object]:
    """One item of ``ValidationError.problems``: the field and a translatable message."""
    return {"field": field, "message": Message(message, params)}


class NotFound(TownsquareError):
    """The object does not exist, or not in a workspace the caller may see."""


class Conflict(TownsquareError):
    """The change would break a uniqueness rule (a slug or e-mail already taken)."""


class AuthenticationError(TownsquareError):
    """The caller could not be identified: wrong password, unknown or expired token."""


class PermissionDenied(TownsquareError):
    """The caller is known but their role does not allow this."""


class RateLimited(TownsquareError):
    """Too many attempts; try again after ``retry_after`` seconds."""

    def __init__(
        self, message: str, *, retry_after: int, params: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, params=params)
        self.retry_after = retry_after


class TooLarge(ValidationError):
    """An upload (or a request body) larger than the configured limit; nothing was kept."""


class NetworkError(TownsquareError):
    """A social network or feed failed, timed out or refused the request."""


class UnknownHost(NetworkError):
    """The host name of an address does not exist (DNS says so, it is not a timeout): a
    typo in what someone typed, so bad input (HTTP 422, exit 2), although it surfaces
    while connecting; code that retries a network's failures still catches it as one."""
