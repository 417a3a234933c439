"""``townsquare serve`` and ``townsquare worker``."""

from __future__ import annotations

import copy
import logging
from typing import Any

import typer

from townsquare.cli.common import console, redact_url, settings, upgrade_database


def register(root: typer.Typer) -> None:
    root.command("serve")(serve)
    root.command("worker")(worker)


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to listen on."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on."),
    no_worker: bool = typer.Option(
        False, "--no-worker", help="Do not run jobs in this process (run `townsquare worker`)."
    ),
) -> None:
    """Run the web app (and, unless --no-worker, the job consumer) after migrating."""
    import uvicorn

    from townsquare.db import Database
    from townsquare.web.app import create_app

    config = settings()
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Keys are made on the first run, before any request needs them, so that a fresh data
    # directory holds everything to back up from the start (credentials.key above all).
    config.resolved_secret_key()
    config.resolved_credentials_key()
    database = Database.from_settings(config)
    upgrade_database(database)
    bind_host, bind_port = host or config.host, port or config.port
    # The address really served: short links refuse targets pointing back at it (loops).
    config = config.model_copy(update={"host": bind_host, "port": bind_port})
    app = create_app(config, database=database, run_worker=not no_worker)
    from townsquare.cli.serve_links import tune_for_redirects

    tune_for_redirects()  # short links answer here too (links/redirector.py)
    console.print(
        f"townsquare serving on http://{bind_host}:{bind_port} (data: {config.data_dir.resolve()})"
    )
    uvicorn.run(
        served_app(app),
        host=bind_host,
        port=bind_port,
        log_config=_log_config_without_addresses(config.log_level),
        log_level=config.log_level.lower(),
        **UVICORN_OPTIONS,
    )


# uvicorn's own access log is off: it would make a log record for every redirect too
# (web/access_log.py logs the app's requests instead). Forwarded headers are read by
# townsquare.proxies (TRUSTED_PROXIES), never by uvicorn.
UVICORN_OPTIONS: dict[str, Any] = {
    "access_log": False,
    "proxy_headers": False,
    "server_header": False,
}


def served_app(app: Any) -> Any:
    """What ``serve`` gives uvicorn: short links dispatched before the app's layers
    (links/redirector.py), the access log only behind them, for the app's own requests."""
    from townsquare.links.redirector import front_door
    from townsquare.web.access_log import AccessLogMiddleware

    return front_door(app, others=AccessLogMiddleware(app))


def _log_config_without_addresses(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's logging, with the app's access lines (``townsquare.access``, see
    web/access_log.py) in uvicorn's format but without the client address: townsquare
    never keeps a visitor's IP address (not even in a log)."""
    from uvicorn.config import LOGGING_CONFIG

    from townsquare.web.access_log import LOGGER_NAME

    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["formatters"]["access"]["fmt"] = '%(levelprefix)s "%(request_line)s" %(status_code)s'
    log_config["loggers"][LOGGER_NAME] = {
        "handlers": ["access"],
        "level": level.upper(),
        "propagate": False,
    }
    return log_config


def worker(
    threads: int | None = typer.Option(None, "--threads", help="Worker threads."),
) -> None:
    """Run the job consumer and the publishing loop (scale-out: any number of these
    against Redis and one database; each scheduled post is taken by one of them only)."""
    from townsquare.db import Database
    from townsquare.jobs.queue import configure, run_worker
    from townsquare.listening.streaming import start_stream_listener
    from townsquare.publish.webhook_worker import start_webhook_worker
    from townsquare.publish.worker import start_publish_worker

    config = settings()
    logging.basicConfig(level=config.log_level)
    database = Database.from_settings(config)
    upgrade_database(database)
    configure(config, database)
    queue = redact_url(config.queue_url) if config.queue_url else "the SQLite queue"
    console.print(f"townsquare worker consuming {queue}")
    publisher = start_publish_worker(database, config)
    notifier = start_webhook_worker(database, config)
    listener = start_stream_listener(database, config)  # hashtag sources, where streamed
    try:
        run_worker(threads or config.worker_threads)
    finally:
        publisher.stop()
        notifier.stop()
        if listener is not None:
            listener.stop()
