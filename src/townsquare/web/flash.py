"""Success messages after a change ("Channel added.", "Short link created."): a flash.

A form that changes something answers with a redirect (303) to the page to show next; the
message rides along in a short-lived cookie holding a message key and its parameters, and
the next page rendered (``templating.render``) shows it once, in the reader's language, and
clears the cookie. Keys come from :data:`MESSAGES` only: a forged cookie can choose among
these sentences, never write its own text, and its parameters are escaped like any value.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response


def _n(message: str) -> str:
    """Marks a message for the catalog; it is translated when shown."""
    return message


FLASH_COOKIE = "ts_flash"
MAX_AGE = 60  # seconds: long enough for the redirect, short enough never to surprise

MESSAGES = {
    "channel.added": _n("Channel %(name)s added."),
    "channel.saved": _n("Channel %(name)s saved."),
    "channel.removed": _n("Channel %(name)s removed."),
    "workspace.created": _n("Workspace %(name)s created."),
    "member.added": _n("%(email)s is now a member of this workspace."),
    "member.role": _n("Role of %(email)s changed."),
    "member.removed": _n("%(email)s no longer has access to this workspace."),
    "link.created": _n("Short link %(url)s created."),
    "link.disabled": _n("Short link %(slug)s disabled."),
    "link.enabled": _n("Short link %(slug)s enabled again."),
}


def redirect(to: str, key: str, /, **params: Any) -> RedirectResponse:
    """A 303 to ``to`` that shows the message ``key`` on the page it lands on."""
    if key not in MESSAGES:
        raise KeyError(f"unknown flash message {key!r}: add it to web/flash.py MESSAGES")
    response = RedirectResponse(to, status_code=303)
    value = json.dumps({"key": key, "params": {k: str(v) for k, v in params.items()}})
    response.set_cookie(FLASH_COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="lax")
    return response


def pending(request: Request) -> tuple[str, dict[str, str]] | None:
    """The message waiting in the request's cookie, if it is a known one."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        key, params = data["key"], data.get("params") or {}
    except (ValueError, KeyError, TypeError):
        return None
    if key not in MESSAGES or not isinstance(params, dict):
        return None
    return key, {str(name): str(value) for name, value in params.items()}


def text(gettext: Any, key: str, params: dict[str, str]) -> str:
    """The message in the reader's language; a missing parameter leaves the sentence as is."""
    message: str = gettext(MESSAGES[key])
    try:
        return message % params
    except (KeyError, ValueError, TypeError):
        return message


def clear(response: Response) -> None:
    response.delete_cookie(FLASH_COOKIE, httponly=True, samesite="lax")
