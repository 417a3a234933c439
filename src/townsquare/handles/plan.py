"""Which questions to ask for a name: the networks, their handles, the invalid verdicts.

Pure logic: :func:`plan` turns a name and the chosen networks into checker targets, and
answers ``invalid`` at once (with the rule broken) where a platform would refuse the name,
so no platform is asked about a handle it cannot have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from townsquare.errors import ValidationError
from townsquare.handles import rules
from townsquare.handles.checkers import INVALID, Result, Target

NETWORKS: tuple[str, ...] = (
    "bluesky",
    "mastodon",
    "github",
    "domain",
    "instagram",
    "x",
    "tiktok",
    "facebook",
    "linkedin",
    "youtube",
    "threads",
)
CLOSED_NETWORKS = ("instagram", "x", "tiktok", "facebook", "linkedin", "youtube", "threads")
DOMAIN_TLDS = ("fr", "com")
BLUESKY_DOMAIN = "bsky.social"
# A few large instances, French first: the workspace chooses its own list in Settings.
DEFAULT_MASTODON_INSTANCES: tuple[str, ...] = (
    "https://mastodon.social",
    "https://piaille.fr",
    "https://mamot.fr",
    "https://framapiaf.org",
    "https://mastodon.online",
)
MAX_INSTANCES = 20


def parse_name(name: str) -> str:
    """The name to check, or a ValidationError saying how to write it."""
    cleaned = rules.clean_name(name or "")
    if not cleaned:
        raise ValidationError("give a name to check, e.g. townsquare", field="name")
    if len(cleaned) > rules.MAX_NAME_LENGTH:
        raise ValidationError(
            "the name is %(length)d characters long: at most %(limit)d",
            params={"length": len(cleaned), "limit": rules.MAX_NAME_LENGTH},
            field="name",
        )
    if any(ch.isspace() for ch in cleaned):
        raise ValidationError(
            "%(value)r contains spaces: a handle is one word (try %(hint)r)",
            params={"value": cleaned, "hint": cleaned.replace(" ", "")},
            field="name",
        )
    return cleaned


def parse_networks(networks: Iterable[str] | None) -> list[str]:
    """The networks asked for (every one when none is given), validated and in our order."""
    chosen = [n.strip().lower() for n in (networks or []) if n and n.strip()]
    unknown = [n for n in chosen if n not in NETWORKS]
    if unknown:
        raise ValidationError(
            "unknown network %(value)r: choose among %(choices)s",
            params={"value": unknown[0], "choices": list(NETWORKS)},
            field="network",
        )
    return [n for n in NETWORKS if n in chosen] if chosen else list(NETWORKS)


DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def parse_domain(domain: str | None) -> str | None:
    """A custom domain for a Bluesky handle (``acme.fr``), lower-cased; None when not given."""
    if domain is None or not domain.strip():
        return None
    text = domain.strip().lower().rstrip(".")
    if DOMAIN.fullmatch(text) is None:
        raise ValidationError(
            "%(value)r is not a domain name: write it as acme.fr",
            params={"value": domain.strip()},
            field="domain",
        )
    return text


def parse_instance(url: str) -> str:
    """A Mastodon instance as ``https://host`` (a bare host name gets https://)."""
    text = url.strip().rstrip("/")
    if not text:
        raise ValidationError("an instance address is empty", field="instances")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise ValidationError(
            "%(value)r is not an instance address: write it as mastodon.social or "
            "https://mastodon.social",
            params={"value": url.strip()},
            field="instances",
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("",):
        raise ValidationError(
            "%(value)r is not an instance address: write it as mastodon.social or "
            "https://mastodon.social",
            params={"value": url.strip()},
            field="instances",
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def parse_instances(urls: Iterable[str]) -> list[str]:
    found: list[str] = []
    for url in urls:
        if url.strip():
            instance = parse_instance(url)
            if instance not in found:
                found.append(instance)
    if len(found) > MAX_INSTANCES:
        raise ValidationError(
            "%(count)d instances: at most %(limit)d, keep the ones that matter",
            params={"count": len(found), "limit": MAX_INSTANCES},
            field="instances",
        )
    return found


def _invalid(network: str, handle: str, reason: str) -> Result:
    return Result(network, handle, INVALID, reason, "")


def plan(
    name: str,
    networks: Sequence[str],
    *,
    instances: Sequence[str] = DEFAULT_MASTODON_INSTANCES,
    bluesky_domain: str | None = None,
) -> list[Target | Result]:
    """A target per question for ``name``, or an ``invalid`` result where it cannot be.

    Bluesky is asked for ``NAME.bsky.social`` and for a custom domain (``bluesky_domain``,
    by default ``NAME.com``); Mastodon once per instance; domains for ``.fr`` and ``.com``.
    """
    items: list[Target | Result] = []
    for network in networks:
        if network == "bluesky":
            handle = f"{name}.{BLUESKY_DOMAIN}".lower()
            reason = rules.invalid_reason("bluesky", name)
            items.append(
                _invalid(network, handle, reason) if reason else Target(network, name, handle)
            )
            custom = (bluesky_domain or f"{name}.com").lower()
            label_reason = rules.invalid_reason("domain", custom.split(".")[0])
            items.append(
                _invalid(network, custom, label_reason)
                if label_reason
                else Target(network, name, custom, custom)
            )
        elif network == "mastodon":
            reason = rules.invalid_reason("mastodon", name)
            for instance in instances:
                handle = f"@{name}@{urlsplit(instance).netloc}"
                items.append(
                    _invalid(network, handle, reason)
                    if reason
                    else Target(network, name, handle, instance)
                )
        elif network == "domain":
            reason = rules.invalid_reason("domain", name)
            for tld in DOMAIN_TLDS:
                handle = f"{name}.{tld}".lower()
                items.append(
                    _invalid(network, handle, reason)
                    if reason
                    else Target(network, name, handle, tld)
                )
        else:
            reason = rules.invalid_reason(network, name)
            items.append(_invalid(network, name, reason) if reason else Target(network, name, name))
    return items
