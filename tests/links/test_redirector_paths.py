"""``townsquare serve`` without a links host: short links answer at the app's own /{slug}."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from uvicorn.logging import AccessFormatter

from tests.conftest import ServerThread, make_settings
from tests.links.conftest import LinksEnv
from townsquare.cli.serve import UVICORN_OPTIONS, _log_config_without_addresses, served_app
from townsquare.links import service
from townsquare.links.models import LinkClick
from townsquare.links.redirector import front_door
from townsquare.web.access_log import LOGGER_NAME as ACCESS_LOGGER
from townsquare.web.app import create_app

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"


def test_short_links_answer_after_every_route_of_the_app(links_env: LinksEnv) -> None:
    settings = make_settings(links_env.settings.data_dir, links_env.database.url)
    assert settings.links_host is None
    with links_env.database.session() as session:
        link = service.create_link(
            session,
            links_env.access(session),
            settings,
            target_url="https://example.com/landing",
            slug="spring",
        )
    assert service.short_url(settings, "spring") == f"http://{settings.host}:{settings.port}/spring"
    app = create_app(settings, database=links_env.database)
    with ServerThread(app) as server, httpx.Client(follow_redirects=False) as client:
        followed = client.get(server.url + "/SPRING", headers={"user-agent": CHROME})
        assert followed.status_code == 302
        assert followed.headers["location"] == link.final_url
        # Unknown slugs get the redirector's page; the app's own routes are untouched.
        missing = client.get(server.url + "/no-such-link")
        assert missing.status_code == 404
        assert "This short link does not exist" in missing.text
        assert client.get(server.url + "/login").status_code in (200, 303)
        api_missing = client.get(server.url + "/api/v1/nope")
        assert api_missing.status_code == 404
        assert api_missing.json()["error"]["type"] == "not_found"
    with links_env.database.session() as session:
        clicks = session.scalar(sa.select(sa.func.count()).select_from(LinkClick))
    assert clicks == 1


def test_short_links_skip_the_app_middleware_but_app_routes_still_win(
    links_env: LinksEnv,
) -> None:
    """/{slug} is dispatched before the app's stack (no session, CSRF or page layers)."""
    settings = make_settings(links_env.settings.data_dir, links_env.database.url)
    with links_env.database.session() as session:
        service.create_link(
            session,
            links_env.access(session),
            settings,
            target_url="https://example.com/fast",
            slug="fast",
        )
    app = create_app(settings, database=links_env.database)
    # What `serve` runs: the dispatch in front of the whole app (cli/serve.py).
    with ServerThread(front_door(app)) as server, httpx.Client(follow_redirects=False) as client:
        redirect = client.get(server.url + "/fast", headers={"user-agent": CHROME})
        assert redirect.status_code == 302
        # The app's middleware would have set its CSRF cookie on this non-API path.
        assert "set-cookie" not in redirect.headers
        page = client.get(server.url + "/login")
        assert page.status_code in (200, 303)
        assert "set-cookie" in page.headers  # the app's own routes keep their stack
        # A slug-shaped path one of the app's routes answers stays the app's.
        assert "This short link does not exist" not in client.get(server.url + "/setup").text
        assert client.delete(server.url + "/fast").status_code == 405


def test_serve_logs_the_app_requests_and_makes_no_log_record_for_a_redirect(
    links_env: LinksEnv, caplog: pytest.LogCaptureFixture
) -> None:
    """At serve's default level (INFO) a redirect costs no log record at all: uvicorn's
    access log made one per response, which cost more than the redirect (issue #7)."""
    settings = make_settings(links_env.settings.data_dir, links_env.database.url)
    with links_env.database.session() as session:
        service.create_link(
            session,
            links_env.access(session),
            settings,
            target_url="https://example.com/quiet",
            slug="quiet",
        )
    app = create_app(settings, database=links_env.database)
    made: list[str] = []
    factory = logging.getLogRecordFactory()

    def counting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        made.append(record.name)
        return record

    with ServerThread(served_app(app), **UVICORN_OPTIONS) as server, httpx.Client() as client:
        caplog.set_level(logging.INFO, logger="uvicorn.access")
        caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
        client.get(server.url + "/quiet", headers={"user-agent": CHROME})  # warm: the cache
        logging.setLogRecordFactory(counting_factory)
        try:
            for _ in range(20):
                redirect = client.get(
                    server.url + "/quiet?utm_source=x",
                    headers={"user-agent": CHROME},
                    follow_redirects=False,
                )
                assert redirect.status_code == 302
            assert made == []  # not one record, dropped or not
            assert client.get(server.url + "/login?next=/w").status_code == 200
            assert client.get(server.url + "/api/v1/nope").status_code == 404
        finally:
            logging.setLogRecordFactory(factory)
    lines = [r for r in caplog.records if r.name in ("uvicorn.access", ACCESS_LOGGER)]
    assert [r.getMessage() for r in lines] == [
        '- - "GET /login?next=/w HTTP/1.1" 200',
        '- - "GET /api/v1/nope HTTP/1.1" 404',
    ]
    assert all(r.name == ACCESS_LOGGER for r in lines)


def test_serve_access_log_keeps_no_client_address() -> None:
    config = _log_config_without_addresses("WARNING")
    assert config["loggers"][ACCESS_LOGGER] == {
        "handlers": ["access"],
        "level": "WARNING",
        "propagate": False,
    }
    access = config["formatters"]["access"]
    formatter = AccessFormatter(fmt=access["fmt"], use_colors=False)
    for name, client in (("uvicorn.access", "203.0.113.7:51234"), (ACCESS_LOGGER, "-")):
        record = logging.LogRecord(
            name,
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            (client, "GET", "/login?next=/w", "1.1", 200),
            None,
        )
        line = formatter.format(record)
        assert '"GET /login?next=/w HTTP/1.1" 200' in line
        assert "203.0.113.7" not in line and " - " not in line
