"""The report's listening section: Listen's own figures (volume against the comparison
period, share of voice, sentiment shares, spike hours), in words when there is nothing,
in French on a French report, its chart drawn as a vector like the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from townsquare.listening import service as listen
from townsquare.listening import sources
from townsquare.listening.models import Mention, Source
from townsquare.networks.items import FoundItem
from townsquare.reports import service

MARCH = "2024-03-01..2024-03-31"
MID_MARCH = datetime(2024, 3, 14, 10, tzinfo=UTC)


def _item(number: int, text: str, when: datetime, followers: int | None = None) -> FoundItem:
    return FoundItem(
        "rss", f"id-{number}", f"https://x.test/{number}", "", text, "someone", followers, when
    )


def _listen(world: Any) -> None:
    with world.database.session() as session:
        access = world.access(session)
        listen.create_watch(session, access, name="Acme", query="acme", kind="brand")
        listen.create_watch(session, access, name="Rival", query="rivalco", kind="competitor")
        source = Source(workspace_id=access.workspace_id, type="rss", target="https://x.test/")
        session.add(source)
        session.commit()
        items = [_item(n, "acme", MID_MARCH - timedelta(days=n), 100) for n in range(4)]
        items.append(_item(10, "rivalco", MID_MARCH, 300))
        # February, the comparison period: two mentions of Acme.
        items += [_item(20 + n, "acme", MID_MARCH - timedelta(days=30 + n)) for n in range(2)]
        sources.store_items(session, access, source, items)
        session.commit()
        mentions = {m.external_id: m for m in session.scalars(select(Mention))}
        for external_id, sentiment in (
            ("id-0", "positive"),
            ("id-1", "positive"),
            ("id-2", "negative"),
        ):
            mentions[external_id].sentiment = sentiment
        session.commit()


def _render(world: Any, **changes: Any) -> str:
    values: dict[str, Any] = {
        "name": "March",
        "channels": ["brand"],
        "period": MARCH,
        "compare": "previous",
        "sections": ["listening"],
    }
    values.update(changes)
    with world.database.session() as session:
        access = world.access(session)
        report = service.create_report(session, access, service.ReportInput(**values))
        return service.render_report(session, access, report.id, fmt="html").content.decode()


def test_the_listening_section_shows_listen_s_figures(world: Any) -> None:
    _listen(world)
    page = _render(world)
    section = page[page.index('id="section-listening"') : page.index('id="section-glossary"')]
    acme = section[section.index("<td>Acme</td>") :].split("</tr>")[0]
    cells = [cell.split("<")[0] for cell in acme.split('<td class="number">')[1:]]
    # 4 mentions against 2 in February (+100 %); 2 positive, 1 neutral, 1 negative.
    assert cells[:3] == ["4", "2", "+100.00%"]
    assert cells[3:6] == ["50.00%", "25.00%", "25.00%"]
    assert "Share of voice" in section and "80.00%" in section  # 4 of 5 brand+competitor
    assert "data:image/svg+xml;base64," in section  # the volume chart, as a vector
    french = _render(world, language="fr")
    section_fr = french[french.index('id="section-listening"') :]
    assert "Part de voix" in section_fr and "Positif" in section_fr and "marque" in section_fr
    assert "+100,00" in section_fr


def test_no_watch_or_no_mention_is_said_in_words(world: Any) -> None:
    assert "No watch in this workspace" in _render(world)
    _listen(world)
    assert "No mention was found in this period." in _render(world, period="2023-01-01..2023-01-31")
