"""``townsquare serve-links``: the redirector alone (see links/redirector.py).

No login, no other routes: only short links, ``/`` and ``/healthz``. Run any number of
them against PostgreSQL (behind a load balancer); each migrates the database first, under
the lock ``serve`` uses (cli/common.py), so that processes starting together do not race.
SIGTERM stops accepting connections, finishes the requests in flight, then writes every
journaled click (a killed process's clicks are replayed at the next start).
"""

from __future__ import annotations

import gc
import logging
import sys

import typer

from townsquare.cli.common import console, settings, upgrade_database


def register(root: typer.Typer) -> None:
    """Add ``serve-links`` to the root command."""
    root.command("serve-links")(serve_links)


def serve_links(
    host: str | None = typer.Option(None, "--host", help="Address to listen on."),
    port: int | None = typer.Option(None, "--port", help="Port to listen on."),
    cache_ttl: float = typer.Option(
        10.0,
        "--cache-ttl",
        min=0.1,
        help="Seconds a link stays cached; with several processes and no Redis, the longest "
        "an edit takes to reach them.",
    ),
    naive_clicks: bool = typer.Option(
        False,
        "--naive-clicks",
        hidden=True,
        help="Benchmark baseline only: one synchronous INSERT per click.",
    ),
) -> None:
    """Serve short links only (the redirector), after migrating the database."""
    import uvicorn

    from townsquare.db import Database
    from townsquare.links.redirector import Redirector

    config = settings()
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    database = Database.from_settings(config)
    upgrade_database(database)  # the same lock as serve and worker: they may start together
    bind_host, bind_port = host or config.host, port or config.port
    config = config.model_copy(update={"host": bind_host, "port": bind_port})
    app = Redirector(config, database, cache_ttl=cache_ttl, naive_clicks=naive_clicks)
    tune_for_redirects()
    console.print(f"townsquare short links on http://{bind_host}:{bind_port}")
    uvicorn.run(
        app,
        host=bind_host,
        port=bind_port,
        log_level=config.log_level.lower(),
        access_log=False,  # one log line per redirect would cost more than the redirect
        proxy_headers=False,  # forwarded headers: townsquare.proxies (TRUSTED_PROXIES)
        server_header=False,
        lifespan="on",
    )


def tune_for_redirects() -> None:
    """Interpreter settings for a process answering short links (``serve`` too)."""
    # The click writer thread shares the GIL with the event loop: hand it back every 1 ms
    # instead of 5 ms, so a batch being written delays a redirect by at most that.
    sys.setswitchinterval(0.001)
    # Everything loaded so far lives as long as the process: keep the garbage collector's
    # full passes from walking it (they would show as latency spikes).
    gc.collect()
    gc.freeze()
