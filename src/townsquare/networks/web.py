"""Web pages watched for changes (like changedetection.io): the page's text, or the part an
optional CSS selector picks, compared with the previous poll's; new lines are a mention.

The first poll only records the page (nothing has changed yet).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import httpx

from townsquare.errors import ValidationError
from townsquare.messages import Message
from townsquare.networks.items import FoundItem, PollResult, get_limited, raise_for_status

MAX_LINES_KEPT = 5000
WHAT = Message("the page")


def page_lines(page_html: str, selector: str | None = None) -> tuple[str, list[str]]:
    """The page's title and its visible lines (of the part ``selector`` picks)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page_html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for hidden in soup(["script", "style", "noscript", "template"]):
        hidden.decompose()
    parts: list[Any]
    if selector:
        try:
            parts = list(soup.select(selector))
        except Exception as error:  # soupsieve raises its own SelectorSyntaxError
            raise ValidationError(
                "the CSS selector %(selector)r cannot be read (%(error)s): write a selector "
                "such as main, #news or .article p",
                params={"selector": selector, "error": str(error)},
                field="selector",
            ) from None
    else:
        parts = [soup.body or soup]
    lines: list[str] = []
    for part in parts:
        for line in part.get_text("\n").splitlines():
            clean = " ".join(line.split())
            if clean:
                lines.append(clean)
    return title, lines


def fetch(client: httpx.Client, url: str, state: dict[str, Any]) -> PollResult:
    response, body = get_limited(client, url, what=WHAT)
    raise_for_status(response, WHAT)
    selector = state.get("selector")
    title, lines = page_lines(body.decode(response.encoding or "utf-8", "replace"), selector)
    new_state: dict[str, Any] = {"lines": lines[:MAX_LINES_KEPT]}
    if selector:
        new_state["selector"] = selector
    if "lines" not in state:
        return PollResult(state=new_state)  # the first look: nothing is new yet
    seen = set(state["lines"])
    added = [line for line in lines if line not in seen]
    if not added:
        return PollResult(state=new_state)
    text = "\n".join(added)
    digest = hashlib.sha256(f"{url}\n{text}".encode()).hexdigest()[:32]
    item = FoundItem(
        network="web",
        external_id=f"{url}#{digest}",
        url=url,
        title=title,
        text=text,
        published_at=datetime.now(UTC),
    )
    return PollResult(items=[item], state=new_state)
