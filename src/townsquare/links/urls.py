"""Target URLs of short links: validation, IDN, loop detection and the UTM builder.

Pure functions over strings (no database, no network), so every rule is tested alone.

Rules a target must follow (each refusal says which and how to fix it):

- scheme ``http`` or ``https`` only: ``javascript:``, ``data:``, ``file:``, ``ftp:``, … are
  refused because a short link must never run code or read local files in a visitor's browser;
- a host name is required; no user name or password in the URL (``https://user:pw@host``),
  because they would leak to everyone who sees the short link and are a classic phishing trick;
- no spaces or control characters; at most :data:`MAX_URL_LENGTH` characters;
- international domain names are converted to punycode (``café.fr`` → ``xn--caf-dma.fr``) and
  the host is lower-cased, so the stored URL is plain ASCII and compares reliably;
- a target that points back at the redirector itself is refused: following it would bounce
  from short link to short link forever (see :func:`redirector_origins`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from townsquare.errors import ValidationError
from townsquare.messages import Message

MAX_URL_LENGTH = 4000
MAX_UTM_LENGTH = 200
ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
# Characters left as they are when re-quoting a path, query or fragment: everything legal
# in a URL, including "%" so existing escapes are kept and never double-encoded.
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


LOOPBACK = "<loopback>"  # Origin.host: every spelling of this machine's loopback address
THIS_MACHINE = "<this machine>"  # Origin.host: loopback, or any address of this machine


@dataclass(frozen=True)
class Origin:
    """Where the redirector answers: a canonical host (:func:`canonical_host`) or
    :data:`LOOPBACK` / :data:`THIS_MACHINE`, and a port when it matters (None: any port)."""

    host: str
    port: int | None = None
    # For THIS_MACHINE: the machine's own names and addresses, canonical.
    also: frozenset[str] = frozenset()

    def matches(self, host: str, port: int) -> bool:
        """Whether canonical ``host`` on ``port`` reaches this origin."""
        if self.port is not None and self.port != port:
            return False
        if self.host == LOOPBACK:
            return is_loopback(host)
        if self.host == THIS_MACHINE:
            return is_loopback(host) or host in self.also
        return self.host == host


def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 literal as browsers read it: decimal, 0x hex or 0 octal."""
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if not digits:
        return 0 if base == 16 else None
    try:
        return int(digits, base) if digits.isalnum() and digits.isascii() else None
    except ValueError:
        return None


def parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host name spells, in every form the WHATWG URL standard (hence
    browsers and curl) accepts: ``127.1``, ``0x7f000001``, ``2130706433``, ``0177.0.0.1``;
    None when it is not one."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4 or not parts[-1] or not parts[-1][0].isdigit():
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    if any(value > 255 for value in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    address = 0
    for value in values[:-1]:
        address = address * 256 + value
    address = address * 256 ** (5 - len(values)) + values[-1]
    return ipaddress.IPv4Address(address)


def canonical_host(host: str) -> str:
    """One spelling per host, to compare hosts: lower case, no trailing dot, punycode,
    IPv4 literals in dotted-quad form whatever their spelling (IPv4-mapped IPv6 included),
    IPv6 compressed in brackets. Never raises: a host it cannot read is returned lowered."""
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            address = ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return text
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if 1 < int(address) < 2**32:  # IPv4-compatible (::127.0.0.1), deprecated but routed
            return str(ipaddress.IPv4Address(int(address)))
        return f"[{address.compressed}]"
    text = text.rstrip(".")
    ipv4 = parse_ipv4(text)
    if ipv4 is not None:
        return str(ipv4)
    if not text.isascii():
        try:
            return idna_host(text)
        except ValidationError:
            return text
    return text


def is_loopback(host: str) -> bool:
    """Whether canonical ``host`` is this machine's loopback (``localhost`` names too)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True  # RFC 6761: always the loopback address
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified  # 0.0.0.0 reaches us on Linux


def machine_addresses() -> frozenset[str]:
    """This machine's host name and the addresses it resolves to, canonical (best effort:
    whatever /etc/hosts or the resolver answers at once)."""
    import socket

    names = {canonical_host(socket.gethostname())}
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            names.add(canonical_host(str(info[4][0])))
    except OSError:
        pass
    return frozenset(names)


def listening_origin(host: str, port: int) -> Origin:
    """The origin of a server bound to ``host``:``port`` (``serve``, ``serve-links``)."""
    canonical = canonical_host(host)
    try:
        every_address = not canonical or ipaddress.ip_address(canonical.strip("[]")).is_unspecified
    except ValueError:
        every_address = False
    if every_address:
        return Origin(THIS_MACHINE, port, machine_addresses())
    if is_loopback(canonical):
        return Origin(LOOPBACK, port)
    return Origin(canonical, port)


def _fail(message: str, field: str, params: dict[str, object] | None = None) -> ValidationError:
    return ValidationError(message, field=field, params=params)


def idna_host(host: str, *, field: str = "target_url") -> str:
    """The host in ASCII: lower-cased, international names converted to punycode."""
    host = host.strip().rstrip(".").lower()
    if not host:
        raise _fail("the URL has no host name: write it like https://example.com/page", field)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:  # an IPv6 literal (urlsplit gives it without brackets)
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            raise _fail(
                "invalid IPv6 address %(host)r in the URL", field, params={"host": host}
            ) from None
    if host.isascii():
        labels = host.split(".")
        if any(not label or len(label) > 63 for label in labels) or not re.fullmatch(
            r"[a-z0-9._-]+", host
        ):
            raise _fail("invalid host name %(host)r in the URL", field, params={"host": host})
        return host
    try:
        import idna

        return str(idna.encode(host, uts46=True).decode("ascii"))
    except Exception:
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:
            raise _fail(
                "invalid international domain name %(host)r: check its spelling",
                field,
                params={"host": host},
            ) from None


def normalize_url(value: str, *, field: str = "target_url") -> str:
    """A safe, normalised http(s) URL, or ValidationError saying what is wrong.

    The path, query and fragment keep their meaning: only characters that are not legal in a
    URL (non-ASCII letters, for instance) are percent-encoded.
    """
    text = (value or "").strip()
    if not text:
        raise _fail(
            "%(field)s is required: give a URL such as https://example.com/page",
            field,
            params={"field": Message(field)},
        )
    if len(text) > MAX_URL_LENGTH:
        raise _fail(
            "%(field)s is too long: at most %(max_url_length)s characters",
            field,
            params={"field": Message(field), "max_url_length": MAX_URL_LENGTH},
        )
    if _CONTROL.search(text):
        raise _fail(
            "%(field)s contains spaces or control characters: encode spaces as %%20",
            field,
            params={"field": Message(field)},
        )
    scheme_match = _SCHEME.match(text)
    if scheme_match is None:
        raise _fail(
            "%(field)s %(text)r has no scheme: start it with https:// or http://",
            field,
            params={"field": Message(field), "text": text[:80]},
        )
    scheme = scheme_match.group(1).lower()
    if scheme not in ALLOWED_SCHEMES:
        raise _fail(
            "%(field)s uses the '%(scheme)s:' scheme, which is refused: only http:// and https:// "
            "links can be shortened",
            field,
            params={"field": Message(field), "scheme": scheme},
        )
    try:
        parts = urlsplit(text)
    except ValueError as error:
        raise _fail(
            "%(field)s is not a valid URL (%(error)s)",
            field,
            params={"field": Message(field), "error": error},
        ) from None
    if not text[len(scheme) + 1 :].startswith("//"):
        raise _fail(
            "%(field)s must look like %(scheme)s://host/path",
            field,
            params={"field": Message(field), "scheme": scheme},
        )
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise _fail(
            "%(field)s contains a user name or password before '@': remove the credentials (they "
            "would be visible to everyone who gets the link)",
            field,
            params={"field": Message(field)},
        )
    try:
        port = parts.port
    except ValueError:
        raise _fail(
            "%(field)s has an invalid port number", field, params={"field": Message(field)}
        ) from None
    host = idna_host(parts.hostname or "", field=field)
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = quote(parts.path, safe=_SAFE_PATH) or "/"
    query = quote(parts.query, safe=_SAFE_QUERY)
    fragment = quote(parts.fragment, safe=_SAFE_QUERY + "#")
    return urlunsplit((scheme, netloc, path, query, fragment))


def host_and_port(url: str) -> tuple[str, int]:
    """Canonical host (:func:`canonical_host`) and effective port of a normalised URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return canonical_host(parts.hostname or ""), parts.port or DEFAULT_PORTS.get(scheme, 80)


def redirector_origins(
    *,
    links_host: str | None,
    links_base_url: str | None,
    base_url: str | None,
    listen: Iterable[tuple[str, int]] = (),
) -> list[Origin]:
    """Every place the redirector answers, to refuse targets that would loop.

    ``links_host`` is served on any port inside ``serve``; the base URLs name one port each.
    ``base_url`` counts because short links live under it when no ``links_base_url`` is set.
    ``listen`` are the addresses the app and the redirector are bound to (host, real port):
    a loopback address there means every spelling of loopback on that port, ``0.0.0.0``
    every address of this machine.
    """
    origins: list[Origin] = []
    if links_host:
        name, _, port_text = links_host.strip().partition(":")
        host = canonical_host(idna_host(name, field="links_host"))
        origins.append(_widened(host, int(port_text) if port_text else None))
    for name, url in (("links_base_url", links_base_url), ("base_url", base_url)):
        if url:
            try:
                host, port = host_and_port(normalize_url(url, field=name))
            except ValidationError:
                continue  # a misconfigured base URL is reported by whoever uses it
            origins.append(_widened(host, port))
    for host, port in listen:
        origins.append(listening_origin(host, port))
    return list(dict.fromkeys(origins))


def _widened(host: str, port: int | None) -> Origin:
    """A configured origin on a loopback address stands for every loopback spelling."""
    return Origin(LOOPBACK, port) if is_loopback(host) else Origin(host, port)


def refuse_loop(url: str, origins: Iterable[Origin], *, field: str = "target_url") -> None:
    """Raise ValidationError when ``url`` (normalised) points at the redirector itself."""
    host, port = host_and_port(url)
    for origin in origins:
        if origin.matches(host, port):
            raise _fail(
                "%(field)s points back at the short-link service itself (%(host)s:%(port)s): a "
                "short link to a short link would loop; use the final destination URL instead",
                field,
                params={"field": Message(field), "host": host, "port": port},
            )


def validate_target(
    value: str, *, origins: Iterable[Origin] = (), field: str = "target_url"
) -> str:
    """:func:`normalize_url` then :func:`refuse_loop`: what every stored target goes through."""
    url = normalize_url(value, field=field)
    refuse_loop(url, origins, field=field)
    return url


def clean_utm(values: Mapping[str, str | None]) -> dict[str, str | None]:
    """UTM values trimmed, empty ones dropped to None, each checked for length and content."""
    cleaned: dict[str, str | None] = {}
    for key in UTM_FIELDS:
        raw = values.get(key)
        text = (raw or "").strip()
        if len(text) > MAX_UTM_LENGTH:
            raise _fail(
                "%(key)s is too long: at most %(max_utm_length)s characters",
                key,
                params={"key": key, "max_utm_length": MAX_UTM_LENGTH},
            )
        if text and re.search(r"[\x00-\x1f\x7f]", text):
            raise _fail(
                "%(key)s contains control characters: remove them", key, params={"key": key}
            )
        cleaned[key] = text or None
    unknown = set(values) - set(UTM_FIELDS)
    if unknown:
        raise ValueError(f"unknown UTM fields: {sorted(unknown)}")
    return cleaned


def apply_utm(url: str, utm: Mapping[str, str | None]) -> str:
    """``url`` with the given UTM parameters set, every other query parameter kept verbatim.

    A UTM parameter already in the URL is replaced in place when a new value is given (so
    ``utm_source`` never appears twice); empty values leave the URL's own parameter alone.
    Values are percent-encoded (spaces as %20), existing parameters are not re-encoded.
    """
    given = {key: value for key, value in utm.items() if value}
    if not given:
        return url
    base, hash_sign, fragment = url.partition("#")
    path, question, query = base.partition("?")
    pieces = [piece for piece in query.split("&") if piece] if question else []
    result: list[str] = []
    placed: set[str] = set()
    for piece in pieces:
        key = unquote_plus(piece.partition("=")[0])
        if key in given:
            if key not in placed:
                result.append(f"{key}={quote(given[key], safe='')}")
                placed.add(key)
            continue  # a duplicate of a replaced key goes away
        result.append(piece)
    for key in UTM_FIELDS:
        if key in given and key not in placed:
            result.append(f"{key}={quote(given[key], safe='')}")
    return f"{path}?{'&'.join(result)}" + (f"#{fragment}" if hash_sign else "")
