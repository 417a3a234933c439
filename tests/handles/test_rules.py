"""Each platform's rules for a handle, and the variants (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townsquare.errors import ValidationError
from townsquare.handles import plan, rules


@pytest.mark.parametrize(
    ("network", "name", "kind"),
    [
        ("x", "abc", "length"),
        ("x", "a" * 16, "length"),
        ("x", "my.brand", "characters"),
        ("x", "twitterfan", "reserved"),
        ("x", "myadmin", "reserved"),
        ("instagram", ".acme", "characters"),
        ("instagram", "ac..me", "characters"),
        ("instagram", "explore", "reserved"),
        ("tiktok", "acme.", "characters"),
        ("facebook", "acme", "length"),
        ("facebook", "acmeshop.com", "characters"),
        ("github", "-acme", "characters"),
        ("github", "ac--me", "characters"),
        ("github", "settings", "reserved"),
        ("github", "a" * 40, "length"),
        ("mastodon", "ac-me", "characters"),
        ("mastodon", "admin", "reserved"),
        ("bluesky", "ab", "length"),
        ("bluesky", "acme-", "characters"),
        ("domain", "a" * 64, "length"),
        ("domain", "acmé", "characters"),
        ("linkedin", "ac", "length"),
        ("youtube", "ac", "length"),
        ("threads", "a" * 31, "length"),
    ],
)
def test_invalid_names_say_which_rule(network: str, name: str, kind: str) -> None:
    reason = rules.invalid_reason(network, name)
    assert reason is not None and reason.startswith(f"{kind}:"), reason


@pytest.mark.parametrize("network", sorted(rules.RULES))
def test_a_plain_name_is_valid_everywhere(network: str) -> None:
    assert rules.invalid_reason(network, "acmecorp") is None


def test_characters_reason_names_the_bad_ones() -> None:
    assert "'!'" in (rules.invalid_reason("x", "acme!") or "")


def test_variants_in_order_and_limited() -> None:
    assert rules.variants("acme") == ["acme_fr", "acmeofficiel", "getacme", "acmefr"]
    assert rules.variants("acme", limit=2) == ["acme_fr", "acmeofficiel"]
    assert rules.variants("acme", limit=0) == []


@given(st.text(min_size=1, max_size=40))
def test_rules_never_crash_and_valid_means_allowed_characters(name: str) -> None:
    for network, rule in rules.RULES.items():
        reason = rules.invalid_reason(network, name)
        if reason is None:
            assert rule.min_length <= len(name) <= rule.max_length


def test_bad_names_and_networks_are_validation_errors() -> None:
    with pytest.raises(ValidationError, match="give a name"):
        plan.parse_name("  @ ")
    with pytest.raises(ValidationError, match="spaces"):
        plan.parse_name("acme corp")
    with pytest.raises(ValidationError, match="at most 100"):
        plan.parse_name("a" * 101)
    with pytest.raises(ValidationError, match="unknown network 'myspace'"):
        plan.parse_networks(["github", "myspace"])
    assert plan.parse_name("@Acme ") == "Acme"
    assert plan.parse_networks(["X", "github"]) == ["github", "x"]
    assert plan.parse_networks([]) == list(plan.NETWORKS)


def test_instances_are_normalised_or_refused() -> None:
    assert plan.parse_instances(["Piaille.fr", "https://mamot.fr/", "piaille.fr"]) == [
        "https://piaille.fr",
        "https://mamot.fr",
    ]
    with pytest.raises(ValidationError, match="not an instance address"):
        plan.parse_instances(["https://mamot.fr/@someone"])
    with pytest.raises(ValidationError, match="not an instance address"):
        plan.parse_instances(["ftp://mamot.fr"])


def test_plan_answers_invalid_without_asking() -> None:
    items = plan.plan("ab", ["x", "github", "bluesky"], instances=[])
    invalid = [item for item in items if getattr(item, "status", None) == "invalid"]
    assert [(item.network, item.handle) for item in invalid] == [
        ("x", "ab"),
        ("bluesky", "ab.bsky.social"),
    ]
