"""Who clicked, as far as a user agent and a Referer tell: bot or human, device class, OS,
browser, referring domain (pure: no I/O; the click writer calls it, cached).

Bot or human. A click is a bot's when the user agent declares one: ua-parser's "Spider"
device (Googlebot, bingbot, …) or a known link-preview fetcher (Slackbot,
facebookexternalhit, Twitterbot, LinkedInBot, Discordbot, TelegramBot, WhatsApp, Skype,
iMessage/Applebot, Pinterest, Embedly, …), or an empty user agent (a HEAD request counts as
a bot's too: links/click_rows.py). Command-line clients (curl, wget, HTTP libraries) are
counted as humans: they do not call themselves bots and are most often a person checking a
link by hand. Headless browsers likewise count as humans.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit


class Classified(NamedTuple):
    is_bot: bool
    bot_name: str | None
    device_class: str
    os: str | None
    browser: str | None


# Link-preview fetchers and crawlers ua-parser may not flag as "Spider". Checked as a
# case-insensitive substring of the user agent; the first match names the bot.
PREVIEW_BOTS = (
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "slackbot",
    "slack-imgproxy",
    "twitterbot",
    "linkedinbot",
    "discordbot",
    "telegrambot",
    "whatsapp",
    "skypeuripreview",
    "applebot",
    "pinterestbot",
    "pinterest/",
    "redditbot",
    "embedly",
    "iframely",
    "mastodon",
    "bluesky",
    "googlebot",
    "google-inspectiontool",
    "adsbot-google",
    "bingbot",
    "bingpreview",
    "yandexbot",
    "duckduckbot",
    "baiduspider",
    "petalbot",
    "ahrefsbot",
    "semrushbot",
    "vkshare",
    "viber",
    "snapchat",
    "outbrain",
    "quora link preview",
    "bitlybot",
    "tumblr",
    "flipboard",
    "mattermost",
    "rocket.chat",
    "zoominfobot",
    "gptbot",
    "chatgpt-user",
    "claudebot",
    "perplexitybot",
)
_PREVIEW_PATTERN = re.compile("|".join(re.escape(name) for name in PREVIEW_BOTS), re.IGNORECASE)
_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "ChromeOS", "Fedora", "FreeBSD",
     "Debian", "OpenBSD", "NetBSD", "Arch Linux", "Linux Mint"}
)  # fmt: skip


@lru_cache(maxsize=8192)
def classify_user_agent(user_agent: str) -> Classified:
    """Device class, OS, browser and bot-ness of a user agent (cached: UAs repeat a lot)."""
    if not user_agent.strip():
        return Classified(True, "no user agent", "bot", None, None)
    from ua_parser import parse

    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    os_name = result.os.family if result.os else None
    device = result.device
    preview = _PREVIEW_PATTERN.search(user_agent)
    if (device is not None and device.family == "Spider") or preview:
        name = browser or (preview.group(0) if preview else None)
        if preview and (not name or name == "Other"):
            name = preview.group(0)
        return Classified(True, (name or "bot")[:100], "bot", os_name, browser)
    lowered = user_agent.lower()
    device_family = (device.family if device else "") or ""
    brand = (device.brand if device else "") or ""
    if (
        device_family in ("iPad", "Kindle")
        or "tablet" in brand.lower()
        or "tablet" in lowered
        or (os_name == "Android" and "mobile" not in lowered)
    ):
        device_class = "tablet"
    elif "mobi" in lowered or os_name in ("iOS", "Android") or device_family == "iPhone":
        device_class = "mobile"
    elif os_name in _DESKTOP_OS or (os_name and os_name.startswith("Windows")):
        device_class = "desktop"
    else:
        device_class = "other"
    return Classified(False, None, device_class, os_name, browser)


@lru_cache(maxsize=8192)
def referrer_domain(referrer: str) -> str | None:
    """The host name of a Referer header, lower case, no port, path or query."""
    if not referrer:
        return None
    try:
        host = urlsplit(referrer.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.lower().rstrip(".")[:255] or None
