"""Target URL rules and the UTM builder (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from townsquare.errors import ValidationError
from townsquare.links import urls


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://example.com", "https://example.com/"),
        ("HTTPS://Example.COM/Path?Q=1#Frag", "https://example.com/Path?Q=1#Frag"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://café.example/menu", "https://xn--caf-dma.example/menu"),
        ("https://bücher.de/ä?x=é", "https://xn--bcher-kva.de/%C3%A4?x=%C3%A9"),
        ("https://example.com/a%20b?x=%2F", "https://example.com/a%20b?x=%2F"),
    ],
)
def test_normalize_accepts_and_normalises(value: str, expected: str) -> None:
    assert urls.normalize_url(value) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("javascript:alert(1)", "'javascript:' scheme"),
        ("JavaScript:alert(1)", "'javascript:' scheme"),
        ("data:text/html,<script>alert(1)</script>", "'data:' scheme"),
        ("file:///etc/passwd", "'file:' scheme"),
        ("ftp://example.com/file", "'ftp:' scheme"),
        ("vbscript:msgbox", "'vbscript:' scheme"),
        ("https://user:secret@example.com/", "user name or password"),
        ("https://user@example.com/", "user name or password"),
        ("example.com/page", "no scheme"),
        ("//example.com/page", "no scheme"),
        ("", "required"),
        ("https://", "no host name"),
        ("https:example.com", "must look like"),
        ("https://exa mple.com/", "spaces or control characters"),
        ("https://example.com/\x00", "spaces or control characters"),
        ("https://example.com:99999/", "invalid port"),
        ("https://exa$mple.com/", "invalid host name"),
        ("https://example.com/" + "a" * 4000, "too long"),
    ],
)
def test_normalize_refuses(value: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        urls.normalize_url(value)
    assert words in caught.value.message
    assert caught.value.field == "target_url"


def test_loop_to_redirector_is_refused() -> None:
    origins = urls.redirector_origins(
        links_host="go.example.com",
        links_base_url="https://s.example.org",
        base_url="http://127.0.0.1:8000",
    )
    for target in (
        "https://go.example.com/abc",
        "http://GO.example.com:8080/abc",
        "https://s.example.org/x",
        "https://s.example.org:443/x",
        "http://127.0.0.1:8000/abc",
    ):
        with pytest.raises(ValidationError, match="loop"):
            urls.validate_target(target, origins=origins)
    # Same host on another port, or another host: fine.
    assert urls.validate_target("http://127.0.0.1:9000/landing", origins=origins)
    assert urls.validate_target("http://s.example.org/x", origins=origins)  # port 80, not 443
    assert urls.validate_target("https://example.com/", origins=origins)


def test_loop_detection_sees_through_idn() -> None:
    origins = urls.redirector_origins(
        links_host=None, links_base_url="https://café.link", base_url=None
    )
    with pytest.raises(ValidationError, match="loop"):
        urls.validate_target("https://xn--caf-dma.link/abc", origins=origins)


def test_apply_utm_keeps_existing_parameters_verbatim() -> None:
    url = "https://shop.example/p?id=7&q=a+b&empty=&utm_source=old#reviews"
    final = urls.apply_utm(
        url, {"utm_source": "mastodon", "utm_medium": "social", "utm_campaign": "spring sale"}
    )
    assert final == (
        "https://shop.example/p?id=7&q=a+b&empty=&utm_source=mastodon"
        "&utm_medium=social&utm_campaign=spring%20sale#reviews"
    )


def test_apply_utm_without_values_is_identity() -> None:
    url = "https://shop.example/p?utm_source=kept"
    assert urls.apply_utm(url, {"utm_source": None, "utm_medium": ""}) == url


def test_apply_utm_on_url_without_query() -> None:
    assert (
        urls.apply_utm("https://a.example/", {"utm_content": "b&c=d"})
        == "https://a.example/?utm_content=b%26c%3Dd"
    )


def test_apply_utm_drops_duplicates_of_replaced_key() -> None:
    final = urls.apply_utm("https://a.example/?utm_term=x&utm_term=y&k=1", {"utm_term": "z"})
    assert final == "https://a.example/?utm_term=z&k=1"


def test_clean_utm_limits() -> None:
    assert urls.clean_utm({"utm_source": "  news  ", "utm_medium": ""}) == {
        "utm_source": "news",
        "utm_medium": None,
        "utm_campaign": None,
        "utm_term": None,
        "utm_content": None,
    }
    with pytest.raises(ValidationError, match="too long") as caught:
        urls.clean_utm({"utm_campaign": "x" * 201})
    assert caught.value.field == "utm_campaign"
    with pytest.raises(ValidationError, match="control"):
        urls.clean_utm({"utm_term": "a\nb"})


@given(
    st.dictionaries(st.sampled_from(urls.UTM_FIELDS), st.text(min_size=1, max_size=30), min_size=1)
)
def test_apply_utm_round_trips_values(utm: dict[str, str]) -> None:
    from urllib.parse import parse_qs, urlsplit

    final = urls.apply_utm("https://a.example/p?keep=1", utm)
    parsed = parse_qs(urlsplit(final).query, keep_blank_values=True)
    assert parsed["keep"] == ["1"]
    for key, value in utm.items():
        assert parsed[key] == [value]


def test_ipv6_hosts() -> None:
    assert urls.normalize_url("http://[2001:DB8::1]:8080/x") == "http://[2001:db8::1]:8080/x"
    with pytest.raises(ValidationError, match="IPv6"):
        urls.normalize_url("http://[2001:zz::1]/")


_url_parts = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), max_size=20
)


@given(
    host=st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,2}", fullmatch=True),
    path=_url_parts,
    query=_url_parts,
)
def test_normalize_is_idempotent(host: str, path: str, query: str) -> None:
    """Normalising a normalised URL changes nothing: stored targets are stable on edit."""
    raw = f"https://{host}/{path.replace('#', '').replace('?', '')}?{query.replace('#', '')}"
    try:
        once = urls.normalize_url(raw)
    except ValidationError:
        return
    assert urls.normalize_url(once) == once
    assert once.isascii()


SPELLINGS_OF_LOOPBACK = (
    "127.0.0.1",
    "localhost",
    "LOCALHOST.",
    "app.localhost",
    "127.1",
    "127.0.1",
    "0x7f000001",
    "0x7f.0.0.1",
    "2130706433",
    "0177.0.0.1",
    "127.0.0.1.",
    "127.8.9.10",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "0.0.0.0",  # noqa: S104
)


@pytest.mark.parametrize("host", SPELLINGS_OF_LOOPBACK)
def test_every_spelling_of_the_served_address_loops(host: str) -> None:
    # `serve --port 8821`: the real port, on a loopback address (issue #7's probe).
    origins = urls.redirector_origins(
        links_host=None, links_base_url=None, base_url=None, listen=[("127.0.0.1", 8821)]
    )
    with pytest.raises(ValidationError, match="loop"):
        urls.validate_target(f"http://{host}:8821/x", origins=origins)
    # Another port of this machine is another service: allowed.
    assert urls.validate_target(f"http://{host}:8822/x", origins=origins)


def test_hosts_are_compared_in_one_canonical_spelling() -> None:
    assert urls.canonical_host("0x7f000001") == "127.0.0.1"
    assert urls.canonical_host("2130706433") == "127.0.0.1"
    assert urls.canonical_host("[::FFFF:127.0.0.1]") == "127.0.0.1"
    assert urls.canonical_host("[0:0::1]") == "[::1]"
    assert urls.canonical_host("Café.FR.") == "xn--caf-dma.fr"
    assert urls.canonical_host("go.example.com.") == "go.example.com"
    # Names that only look numeric stay names.
    assert urls.canonical_host("1e3") == "1e3"
    assert urls.canonical_host("12.example.com") == "12.example.com"
    assert urls.parse_ipv4("256.1.1.1") is None


def test_configured_hosts_match_in_every_spelling_and_default_port() -> None:
    origins = urls.redirector_origins(
        links_host="GO.example.com.",
        links_base_url="https://s.example.org",
        base_url="http://localhost:8000",
    )
    for target in (
        "https://go.example.com./abc",
        "https://s.example.org./x",
        "https://S.EXAMPLE.ORG:443/x",
        "http://127.1:8000/abc",
        "http://[::1]:8000/abc",
    ):
        with pytest.raises(ValidationError, match="loop"):
            urls.validate_target(target, origins=origins)
    assert urls.validate_target("http://127.1:8001/abc", origins=origins)


def test_bound_to_every_address_means_every_address_of_this_machine() -> None:
    import socket

    origins = urls.redirector_origins(
        links_host=None,
        links_base_url=None,
        base_url=None,
        listen=[("0.0.0.0", 8821)],  # noqa: S104
    )
    for host in ("127.0.0.1", "localhost", "0.0.0.0", socket.gethostname().lower()):  # noqa: S104
        with pytest.raises(ValidationError, match="loop"):
            urls.validate_target(f"http://{host}:8821/x", origins=origins)
    assert urls.validate_target("http://example.com:8821/x", origins=origins)
