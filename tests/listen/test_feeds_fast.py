"""The fast reader of RSS 2.0 and Atom gives exactly the items of feedparser's path, and
leaves to feedparser what it does not know."""

from __future__ import annotations

import sys
from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from townsquare.networks import rss

DATA = Path(__file__).resolve().parents[1] / "data" / "listen"
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def _bench_feed(number: int) -> bytes:
    from bench_listen_poll import feed_xml

    return feed_xml(number, 10)


CONTENT_ENCODED = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title><language>en-GB</language>
<item><title>A &amp; B</title><link> https://x.example/1 </link>
<content:encoded><![CDATA[<p>Full <em>text</em></p><p>second</p>]]></content:encoded>
<description>short</description><dc:date>2026-11-30T10:00:00+01:00</dc:date></item>
<item><title>No guid, no date</title><link>https://x.example/2</link></item>
</channel></rss>"""

ATOM_PLAIN = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fr"><title>x</title>
<entry><title>Titre</title><id>urn:1</id><link rel="self" href="https://a.example/self"/>
<link href="https://a.example/1"/><updated>2026-12-01T08:00:00Z</updated>
<summary type="html">&lt;b&gt;Résumé&lt;/b&gt; court</summary>
<author><name>Ana</name></author></entry></feed>""".encode()


@pytest.mark.parametrize(
    "body",
    [
        (DATA / "feed.xml").read_bytes(),
        (DATA / "google-alerts.xml").read_bytes(),
        CONTENT_ENCODED,
        ATOM_PLAIN,
        _bench_feed(1),
        _bench_feed(7),
    ],
    ids=["feed.xml", "google-alerts", "content-encoded", "atom", "bench-1", "bench-7"],
)
def test_the_fast_path_gives_feedparsers_items(body: bytes) -> None:
    fast = rss.fast_items(body)
    assert fast is not None and fast
    assert fast == rss.feedparser_items(feedparser.parse(body))


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://my.netscape.com/publish/formats/'
        b'rss-0.91.dtd"><rss version="0.91"><channel><item><title>x</title></item></channel></rss>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss version="2.0">&a;</rss>',
        b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'></rdf:RDF>",
        b"<html><body><p>not a feed<br></body></html>",
        b'<rss version="2.0"><channel><item><author>a@b.c (Ana)</author></item></channel></rss>',
        b'<rss version="2.0"><channel><item><pubDate>someday</pubDate></item></channel></rss>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml">'
        b'<div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry></feed>',
    ],
    ids=["rss-0.91-dtd", "entities", "rss-1.0", "html", "rss-author", "bad-date", "xhtml"],
)
def test_what_the_fast_path_leaves_to_feedparser(body: bytes) -> None:
    assert rss.fast_items(body) is None


def _through_nh3(fragment: str) -> str:
    """html_to_text as it was before plain text skipped nh3: every fragment cleaned."""
    import html

    import nh3

    from townsquare.networks import items

    text = nh3.clean(items._BLOCK_START.sub(lambda m: "\n" + m.group(0), fragment), tags=set())
    lines = (" ".join(line.split()) for line in html.unescape(text).splitlines())
    return "\n".join(line for line in lines if line)


PIECES = ["&amp;", "&lt;b&gt;", "&#233;", "&eacute", "<b>", "</p>", "<p>", "\ufeff", "\x00", "\r\n"]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(codec="utf-8"), max_size=8) | st.sampled_from(PIECES),
        max_size=6,
    ).map("".join)
)
def test_plain_text_skips_nh3_with_the_same_text(fragment: str) -> None:
    from townsquare.networks.items import html_to_text

    assert html_to_text(fragment) == (_through_nh3(fragment) if fragment else "")
