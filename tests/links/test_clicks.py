"""Click recording: classification, the bounded buffer, and no lost clicks at SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import free_port
from tests.links.conftest import LinksEnv
from townsquare.db import Database
from townsquare.links import service
from townsquare.links.clicks import (
    Click,
    ClickRecorder,
    NaiveRecorder,
    classify_user_agent,
    clean_country,
    referrer_domain,
    visitor_hash,
)
from townsquare.links.models import Link, LinkClick

BOTS = {
    "Googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "bingbot": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Slackbot": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "facebookexternalhit": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot": "Twitterbot/1.0",
    "LinkedInBot": "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Discordbot": "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot": "TelegramBot (like TwitterBot)",
    "WhatsApp": "WhatsApp/2.23.20.0 A",
}
HUMANS = {
    "desktop": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        "Mac OS X",
        "Safari",
    ),
    "mobile": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
        "Android",
        "Chrome Mobile",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "iOS",
        "Mobile Safari",
    ),
}


@pytest.mark.parametrize("name", sorted(BOTS))
def test_crawlers_and_link_preview_bots_are_bots(name: str) -> None:
    kind = classify_user_agent(BOTS[name])
    assert kind.is_bot, name
    assert kind.device_class == "bot"
    assert kind.bot_name


@pytest.mark.parametrize("device", sorted(HUMANS))
def test_browsers_are_humans_with_device_os_and_browser(device: str) -> None:
    agent, os_name, browser = HUMANS[device]
    kind = classify_user_agent(agent)
    assert not kind.is_bot
    assert (kind.device_class, kind.os, kind.browser) == (device, os_name, browser)


def test_command_line_clients_count_as_people_and_empty_agents_as_bots() -> None:
    # Documented in clicks.py: curl & co. do not call themselves bots.
    assert not classify_user_agent("curl/8.5.0").is_bot
    assert not classify_user_agent("python-httpx/0.28.1").is_bot
    assert classify_user_agent("").is_bot
    assert classify_user_agent("   ").bot_name == "no user agent"


def test_referrer_keeps_the_domain_only() -> None:
    assert referrer_domain("https://www.Example.com:8443/a/b?q=1#x") == "www.example.com"
    assert referrer_domain("android-app://com.slack/") == "com.slack"
    assert referrer_domain("") is None
    assert referrer_domain("not a url") is None
    assert referrer_domain("http://[::1") is None


def test_country_codes_are_checked() -> None:
    assert clean_country("fr") == "FR"
    assert clean_country("XX") is None
    assert clean_country("T1") is None
    assert clean_country("France") is None
    assert clean_country(None) is None


def test_visitor_hash_is_daily_and_hides_the_address() -> None:
    day = 1_800_000_000.0
    first = visitor_hash("key", day, "203.0.113.9", "UA")
    assert first == visitor_hash("key", day + 60, "203.0.113.9", "UA")
    assert first != visitor_hash("key", day + 86400, "203.0.113.9", "UA")  # next day
    assert first != visitor_hash("other key", day, "203.0.113.9", "UA")
    assert first != visitor_hash("key", day, "203.0.113.10", "UA")
    assert "203.0.113.9" not in first and len(first) == 64


def _link(env: LinksEnv, slug: str) -> Link:
    with env.database.session() as session:
        return service.create_link(
            session,
            env.access(session),
            env.settings,
            target_url="https://example.com/",
            slug=slug,
        )


def _click(link: Link, agent: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0") -> Click:
    return Click(link.id, link.workspace_id, time.time(), agent, "", None, "0" * 64, False)


def _journal(env: LinksEnv) -> Path:
    return env.settings.data_dir / "click-journal"


def _count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(LinkClick)) or 0)


def test_a_full_buffer_drops_and_counts_instead_of_growing(
    links_env: LinksEnv, caplog: pytest.LogCaptureFixture
) -> None:
    link = _link(links_env, "flood")
    # The writer only wakes hourly or at 1,000 clicks: the buffer fills first.
    recorder = ClickRecorder(
        links_env.database,
        journal_dir=_journal(links_env),
        max_buffer=5,
        batch_size=1000,
        interval=3600,
    )
    with caplog.at_level(logging.WARNING, logger="townsquare.links.clicks"):
        accepted = [recorder.record(_click(link)) for _ in range(12)]
    assert accepted == [True] * 5 + [False] * 7
    assert recorder.pending == 5
    assert (recorder.accepted, recorder.dropped) == (5, 7)
    assert "click journal full" in caplog.text
    recorder.close()
    assert _count(links_env.database) == 5
    assert recorder.written == 5
    # Closed: no more clicks accepted (the server has stopped answering by then).
    assert recorder.record(_click(link)) is False


def _run_coroutine(coroutine: Coroutine[Any, Any, bool]) -> bool:
    """asyncio.run in a thread of its own: the browser tests leave a loop in this one."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


def test_waiting_for_room_wakes_the_writer_and_gives_up_after_its_timeout(
    links_env: LinksEnv,
) -> None:
    link = _link(links_env, "backpressure")
    recorder = ClickRecorder(
        links_env.database,
        journal_dir=_journal(links_env),
        max_buffer=2,
        batch_size=1000,
        interval=3600,
    )
    assert recorder.record(_click(link)) and recorder.record(_click(link))
    assert not recorder.has_room()
    # The writer only wakes hourly by itself: waiting for room must wake it.
    assert _run_coroutine(recorder.wait_for_room(timeout=10)) is True
    assert recorder.has_room()
    # A writer stuck on a slow database: the wait ends at its timeout, then the click drops.
    # (The lock is taken first: the writer may still be finishing the batch it just took.)
    with recorder._write_lock:
        assert recorder.record(_click(link)) and recorder.record(_click(link))
        started = time.monotonic()
        assert _run_coroutine(recorder.wait_for_room(timeout=0.2)) is False
        assert time.monotonic() - started >= 0.2
        assert recorder.record(_click(link)) is False
    recorder.close()
    assert (_count(links_env.database), recorder.dropped) == (4, 1)


def test_batches_are_written_by_the_thread_with_human_counts(links_env: LinksEnv) -> None:
    link = _link(links_env, "batched")
    seen: list[dict[int, int]] = []
    recorder = ClickRecorder(
        links_env.database,
        journal_dir=_journal(links_env),
        batch_size=3,
        interval=0.02,
        on_written=seen.append,
    )
    for _ in range(7):
        recorder.record(_click(link))
    recorder.record(_click(link, "Twitterbot/1.0"))
    deadline = time.monotonic() + 10
    while recorder.written < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert recorder.written == 8
    recorder.close()
    assert sum(counts.get(link.id, 0) for counts in seen) == 7
    with links_env.database.session() as session:
        assert session.scalar(sa.select(Link.human_clicks).where(Link.id == link.id)) == 7
        # Written through the driver directly: read back by the ORM like any other row.
        row = session.scalars(sa.select(LinkClick)).first()
    assert row is not None
    assert abs((row.clicked_at - datetime.now(UTC)).total_seconds()) < 600
    assert row.click_date == row.clicked_at.date()
    assert row.is_bot is False and row.device_class == "desktop"


def test_failed_writes_are_retried_not_lost(links_env: LinksEnv, data_dir: Path) -> None:
    link = _link(links_env, "retry")
    recorder = ClickRecorder(links_env.database, journal_dir=_journal(links_env), interval=3600)
    real = recorder.database
    recorder.database = Database(f"sqlite:///{data_dir}/missing-dir/none.db")
    recorder.record(_click(link))
    recorder.flush()  # fails: the batch is kept for the next attempt
    assert recorder.pending == 1 and recorder.written == 0
    recorder.database = real
    recorder.close()
    assert recorder.written == 1 and _count(links_env.database) == 1


def test_naive_recorder_writes_on_the_spot(links_env: LinksEnv) -> None:
    link = _link(links_env, "naive")
    recorder = NaiveRecorder(links_env.database, journal_dir=_journal(links_env))
    recorder.record(_click(link))
    assert _count(links_env.database) == 1


def test_sigterm_flushes_every_buffered_click(links_env: LinksEnv, data_dir: Path) -> None:
    """A real ``townsquare serve-links`` process: N redirects, SIGTERM, N clicks stored."""
    link = _link(links_env, "graceful")
    port = free_port()
    env = {
        **os.environ,
        "TOWNSQUARE_DATA_DIR": str(data_dir),
        "TOWNSQUARE_DATABASE_URL": links_env.database.url,
        "TOWNSQUARE_SECRET_KEY": "test-secret-key",
        "TOWNSQUARE_LOG_LEVEL": "INFO",
    }
    env.pop("TOWNSQUARE_QUEUE_URL", None)
    command = [str(Path(sys.executable).parent / "townsquare"), "serve-links", "--port", str(port)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "serve-links did not start"
            time.sleep(0.1)
        requests = 300
        with httpx.Client() as client:
            for _ in range(requests):
                assert client.get(url + "/graceful").status_code == 302
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    # uvicorn re-raises SIGTERM after its graceful shutdown: -15 is the clean exit here.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert f"{requests} written, 0 dropped" in output
    with links_env.database.session() as session:
        stored = session.scalar(
            sa.select(sa.func.count()).select_from(LinkClick).where(LinkClick.link_id == link.id)
        )
    assert stored == requests


def test_a_bad_row_does_not_block_the_others(links_env: LinksEnv) -> None:
    link = _link(links_env, "poison")
    recorder = ClickRecorder(links_env.database, journal_dir=_journal(links_env), interval=3600)
    bad = _click(link)._replace(workspace_id=999_999)  # no such workspace: refused
    for click in (_click(link), bad, _click(link)):
        recorder.record(click)
    recorder.flush()
    recorder.flush()
    assert recorder.pending == 3 and recorder.written == 0  # kept: maybe a passing outage
    recorder.flush()  # third failure: tried click by click
    assert (recorder.pending, recorder.written, recorder.failed) == (0, 2, 1)
    recorder.record(_click(link))
    recorder.close()
    assert _count(links_env.database) == 3
