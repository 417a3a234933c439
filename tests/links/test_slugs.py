"""Slug rules (pure functions)."""

from __future__ import annotations

import pytest

from townsquare.errors import ValidationError
from townsquare.links import slugs


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Promo", "promo"), (" spring-sale ", "spring-sale"), ("a", "a"), ("a_b-9", "a_b-9")],
)
def test_valid_slugs_are_canonical(value: str, expected: str) -> None:
    assert slugs.validate(value) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-start", "invalid slug"),
        ("end-", "invalid slug"),
        ("has space", "invalid slug"),
        ("dot.html", "invalid slug"),
        ("slash/x", "invalid slug"),
        ("café", "invalid slug"),
        ("per%20cent", "invalid slug"),
        ("a" * 65, "too long"),
        ("api", "reserved"),
        ("LOGIN", "reserved"),
        ("static", "reserved"),
        ("healthz", "reserved"),
        ("w", "reserved"),
        ("setup", "reserved"),
        ("logout", "reserved"),
    ],
)
def test_invalid_slugs_are_refused(value: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        slugs.validate(value)
    assert words in caught.value.message
    assert caught.value.field == "slug"


def test_longest_slug_is_accepted() -> None:
    assert slugs.validate("a" * slugs.MAX_LENGTH) == "a" * slugs.MAX_LENGTH


def test_generated_slugs_are_valid_and_varied() -> None:
    made = {slugs.generate() for _ in range(500)}
    assert len(made) == 500
    for slug in made:
        assert len(slug) == slugs.GENERATED_LENGTH
        assert set(slug) <= set(slugs.GENERATED_ALPHABET)
        assert slugs.validate(slug) == slug
