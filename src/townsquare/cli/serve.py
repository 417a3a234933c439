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
    access_filter = getattr(app.state, "links_access_filter", None)
    if access_filter is not None:
        logging.getLogger("uvicorn.access").addFilter(access_filter)
    from townsquare.cli.serve_links import tune_for_redirects
    from townsquare.links.redirector import front_door

    tune_for_redirects()  # short links answer here too (links/redirector.py)
    console.print(
        f"townsquare serving on http://{bind_host}:{bind_port} (data: {config.data_dir.resolve()})"
    )
    uvicorn.run(
        front_door(app),  # short links before the app's layers (links/redirector.py)
        host=bind_host,
        port=bind_port,
        log_config=_log_config_without_addresses(),
        log_level=config.log_level.lower(),
        proxy_headers=False,  # forwarded headers: townsquare.proxies (TRUSTED_PROXIES)
        server_header=False,
    )


def _log_config_without_addresses() -> dict[str, Any]:
    """uvicorn's logging, but access lines without the client address: short links answer
    here too, and townsquare never keeps a visitor's IP address (not even in a log)."""
    from uvicorn.config import LOGGING_CONFIG

    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["formatters"]["access"]["fmt"] = '%(levelprefix)s "%(request_line)s" %(status_code)s'
    return log_config


def worker(
    threads: int | None = typer.Option(None, "--threads", help="Worker threads."),
) -> None:
    """Run the job consumer (scale-out: any number of these against Redis)."""
    from townsquare.jobs.queue import configure, run_worker

    config = settings()
    logging.basicConfig(level=config.log_level)
    configure(config)
    queue = redact_url(config.queue_url) if config.queue_url else "the SQLite queue"
    console.print(f"townsquare worker consuming {queue}")
    run_worker(threads or config.worker_threads)
