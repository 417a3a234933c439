"""Checking a name against local servers that answer like each platform (taken and free)."""

from __future__ import annotations

import time

import pytest

from tests.handles.conftest import Platforms, base_urls, closed_port_url
from townsquare.errors import ValidationError
from townsquare.handles import checkers
from townsquare.handles.service import check_name


def _by_handle(results: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    return {(r["network"], r["handle"]): r for r in results}


def test_taken_name_on_every_platform(platforms: Platforms) -> None:
    results = check_name(platforms.settings, "acme", instances=platforms.instances, variants=0)
    found = _by_handle(results)
    taken_host = platforms.mastodon_taken.removeprefix("http://")
    free_host = platforms.mastodon_free.removeprefix("http://")
    expected = {
        ("bluesky", "acme.bsky.social"): "taken",
        ("bluesky", "acme.com"): "taken",
        ("mastodon", f"@acme@{taken_host}"): "taken",
        ("mastodon", f"@acme@{free_host}"): "available",
        ("github", "acme"): "taken",
        ("domain", "acme.fr"): "taken",
        ("domain", "acme.com"): "taken",
        ("instagram", "acme"): "taken",
        ("threads", "acme"): "taken",
        ("tiktok", "acme"): "taken",
        ("youtube", "acme"): "taken",
        ("x", "acme"): "unknown",  # a login wall tells nothing
        ("facebook", "acme"): "invalid",  # fewer than 5 characters
        ("linkedin", "acme"): "unknown",  # the authwall
    }
    assert {key: found[key]["status"] for key in expected} == expected
    assert set(found) == set(expected)
    assert list(results[0]) == ["network", "handle", "status", "reason", "url"]
    assert "login page" in found[("x", "acme")]["reason"]
    assert "login page" in found[("linkedin", "acme")]["reason"]
    assert found[("facebook", "acme")]["reason"].startswith("length: at least 5")
    assert found[("github", "acme")]["url"] == "https://github.com/acme"
    assert found[("mastodon", f"@acme@{taken_host}")]["url"] == f"{platforms.mastodon_taken}/@acme"


def test_free_name_is_available_where_platforms_tell(platforms: Platforms) -> None:
    results = check_name(platforms.settings, "zebrafree", instances=platforms.instances)
    statuses = {(r["network"], r["handle"]): r["status"] for r in results}
    assert statuses.pop(("x", "zebrafree")) == "unknown"
    assert statuses.pop(("linkedin", "zebrafree")) == "unknown"
    assert set(statuses.values()) == {"available"}, statuses
    # Nothing taken: no variant asked.
    assert {r["handle"].split("@")[1 if r["network"] == "mastodon" else 0] for r in results} >= {
        "zebrafree"
    }
    assert not any("_fr" in r["handle"] for r in results)


def test_variants_are_checked_where_the_name_is_taken(platforms: Platforms) -> None:
    results = check_name(
        platforms.settings, "acme", ["github", "mastodon", "x"], instances=platforms.instances
    )
    variants = [r for r in results if r["handle"] not in ("acme",) and "@acme@" not in r["handle"]]
    # Taken on GitHub and one instance; X is unknown, so no variant is tried there.
    taken_host = platforms.mastodon_taken.removeprefix("http://")
    assert [(r["network"], r["handle"], r["status"]) for r in variants] == [
        ("mastodon", f"@acme_fr@{taken_host}", "taken"),
        ("github", "acme_fr", "invalid"),  # no underscore on GitHub
        ("mastodon", f"@acmeofficiel@{taken_host}", "taken"),
        ("github", "acmeofficiel", "taken"),
        ("mastodon", f"@getacme@{taken_host}", "available"),
        ("github", "getacme", "available"),
        ("mastodon", f"@acmefr@{taken_host}", "available"),
        ("github", "acmefr", "available"),
    ]


def test_unreachable_and_slow_platforms_are_unknown(platforms: Platforms) -> None:
    urls = base_urls(platforms.url)
    urls["github"] = f"{platforms.url}/slow"
    urls["youtube"] = closed_port_url()
    settings = platforms.settings.model_copy(
        update={"handles_base_urls": urls, "handles_timeout": 0.5}
    )
    started = time.monotonic()
    results = check_name(settings, "acme", ["github", "youtube", "tiktok"], variants=0)
    elapsed = time.monotonic() - started
    found = {r["network"]: r for r in results}
    assert found["github"]["status"] == "unknown"
    assert found["github"]["reason"] == "no answer within 0.5 s"
    assert found["youtube"]["status"] == "unknown"
    assert found["youtube"]["reason"].startswith("could not reach 127.0.0.1:")
    assert found["tiktok"]["status"] == "taken"
    assert elapsed < 2.5  # the slow platform does not hold the others up


def test_the_ssrf_rule_applies_to_every_checker(platforms: Platforms) -> None:
    guarded = platforms.settings.model_copy(update={"allow_private_urls": False})
    results = check_name(guarded, "acme", ["github", "mastodon"], instances=platforms.instances)
    assert {r["status"] for r in results} == {"unknown"}
    assert all("private, loopback or link-local" in r["reason"] for r in results)


def test_bad_input_is_refused_before_asking(platforms: Platforms) -> None:
    with pytest.raises(ValidationError, match="unknown network"):
        check_name(platforms.settings, "acme", ["orkut"])
    with pytest.raises(ValidationError, match="variants"):
        check_name(platforms.settings, "acme", variants=99)


@pytest.mark.parametrize(
    ("code", "url", "html", "status"),
    [
        (404, "https://www.tiktok.com/@a", "", "available"),
        (200, "https://www.tiktok.com/@acme", "<title>Acme (@acme) | TikTok</title>", "taken"),
        (200, "https://www.tiktok.com/@acme", "<title>TikTok - Make Your Day</title>", "unknown"),
        (200, "https://www.instagram.com/accounts/login/?next=/acme/", "", "unknown"),
        (429, "https://www.instagram.com/acme/", "", "unknown"),
        (200, "https://www.instagram.com/acme/", "<title>Acme (@acmecorp)</title>", "unknown"),
    ],
)
def test_profile_pages_are_read_cautiously(code: int, url: str, html: str, status: str) -> None:
    assert checkers.interpret_profile("tiktok", code, url, html, "acme")[0] == status


def test_bluesky_custom_domain(platforms: Platforms) -> None:
    results = check_name(platforms.settings, "zebra", ["bluesky"], bluesky_domain="Acme.com")
    assert [(r["handle"], r["status"]) for r in results[:2]] == [
        ("zebra.bsky.social", "available"),
        ("acme.com", "taken"),
    ]
    with pytest.raises(ValidationError, match="not a domain name"):
        check_name(platforms.settings, "zebra", ["bluesky"], bluesky_domain="not a domain")


def test_x_and_linkedin_tell_when_they_show_profiles(platforms: Platforms) -> None:
    urls = base_urls(platforms.url)
    urls["x"] = f"{platforms.url}/x-open"
    urls["linkedin"] = f"{platforms.url}/linkedin-open"
    settings = platforms.settings.model_copy(update={"handles_base_urls": urls})
    for name, status in (("acmeofficiel", "taken"), ("zebrafree", "available")):
        results = check_name(settings, name, ["x", "linkedin"], variants=0)
        assert [(r["network"], r["status"]) for r in results] == [
            ("x", status),
            ("linkedin", status),
        ]
