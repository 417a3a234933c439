"""Fixtures shared by every capability's tests.

- ``settings``: a temporary data directory with SQLite (the embedded default).
- ``database``: a migrated database, run once on SQLite and once on PostgreSQL.
- ``sqlite_database`` / ``postgres_database``: one of the two explicitly.
- ``redis_url``: the Redis server, for queue tests.
- ``live_server``: the real app served by uvicorn on a free loopback port.
- ``seed``: an owner, a workspace and an API token to call the API with.

PostgreSQL and Redis tests skip when no server answers, unless ``CI`` is set: in CI they
must run, so a missing server fails the run instead of silently skipping.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from townsquare.config import Settings
from townsquare.db import Database

# Real network servers (mastodon_server, bluesky_network), shared with every capability.
pytest_plugins = ["tests.networks_servers"]

POSTGRES_URL = os.environ.get(
    "TOWNSQUARE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# ``make test`` runs two xdist workers (gw0, gw1): what two tests could share on a server is
# made per worker. Databases, data directories and ports are per test already.
XDIST_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_REDIS_BASE = os.environ.get("TOWNSQUARE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Redis's numbered databases, counting down from the configured one: 15 for gw0, 14 for gw1.
REDIS_URL = f"{_REDIS_BASE.rsplit('/', 1)[0]}/{int(_REDIS_BASE.rsplit('/', 1)[1]) - XDIST_WORKER}"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DATA = Path(__file__).resolve().parent / "data"


# --- the longest tests first ---------------------------------------------------------------
#
# ``make test`` runs xdist with ``--dist worksteal``: each worker gets half of the items in
# collection order, and one that runs dry takes half of what the other has left. A 77 s test
# started last keeps one worker busy while the other has finished; started first, it is
# balanced by the short tests that follow. So the tests known to be long (seconds of one
# test at ``-n 0``, from ``--durations``; refresh them when one changes a lot) run first,
# longest first; the rest keep their order (a module's tests stay together, sharing its
# module-scoped fixtures). Keyed by file, then by test: a name with ``[...]`` is that
# parametrization, a name without it is every parametrization.
LONG_TESTS: dict[str, dict[str, float]] = {
    "tests/publish/test_chaos.py": {
        "test_every_post_goes_out_exactly_once_while_dispatchers_are_killed[postgres]": 77,
        "test_every_post_goes_out_exactly_once_while_dispatchers_are_killed[sqlite]": 65,
    },
    "tests/house/test_clone.py": {"test_a_clone_with_nothing_beside_it_passes_its_data_tests": 27},
    "tests/listen/test_done_when.py": {
        "test_brand_and_competitor_mentions_from_every_kind_of_source": 23,
    },
    "tests/browser/test_phone_layout.py": {"test_no_page_scrolls_sideways_on_a_phone": 19},
    "tests/listen/test_streaming.py": {
        "test_two_worker_processes_open_one_stream_and_hand_it_over": 18,
    },
    "tests/links/test_click_journal.py": {
        "test_a_living_process_replays_the_journal_of_a_killed_neighbour[sqlite]": 20,
        "test_sigkill_under_load_then_restart_loses_no_click": 12,
    },
    "tests/house/test_cli_serve.py": {
        "test_processes_starting_at_once_migrate_once[postgres]": 15,
        "test_serve_no_worker_on_postgres": 13,
    },
    "tests/house/test_isolation.py": {
        "test_member_of_alpha_gets_404_on_everything_of_bravo[postgres]": 14,
    },
    "tests/house/test_rate_limits.py": {
        "test_the_serve_process_ignores_forwarded_for_from_loopback": 11,
    },
    "tests/house/test_jobs.py": {
        "test_serve_runs_the_periodic_prune_on_the_embedded_sqlite_queue": 10,
    },
    "tests/links/test_redirector_processes.py": {
        "test_several_processes_start_together_on_an_empty_database[postgres]": 10,
    },
}


def expected_seconds(nodeid: str) -> float:
    """How long ``nodeid`` is known to take (``LONG_TESTS``), 0 for the others."""
    path, _, name = nodeid.partition("::")
    known = LONG_TESTS.get(path, {})
    return known.get(name, known.get(name.split("[", 1)[0], 0.0))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The known long tests first, longest first (a stable sort: the rest keep their order).
    Every xdist worker collects and sorts alike, as xdist requires."""
    items.sort(key=lambda item: -expected_seconds(item.nodeid))


def require_service(name: str, available: bool, detail: str) -> None:
    """Skip without the service on a developer machine; fail in CI, where it must exist."""
    if available:
        return
    message = f"{name} is not reachable ({detail})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def data_file(name: str) -> Path:
    """A file of tests/data (the real public data sets, see its README), read as it is."""
    path = DATA / name
    if not path.exists():
        pytest.fail(f"{path} is missing: tests/data holds the data sets", pytrace=False)
    return path


shared_data_file = data_file  # the name before the data moved into the repository


# --- PostgreSQL: one migrated template per test session, one fresh copy per test ---------
#
# CREATE DATABASE ... TEMPLATE takes a few hundredths of a second on an idle server, but
# half a second to a second while another database is being dropped: DROP DATABASE waits
# for a checkpoint (seconds on a busy disk). So both are off the tests' path: a thread makes
# the next copies ahead (``_PgCopies``, two at a time) while the tests run, and finished
# databases are dropped by four threads (``_BackgroundDropper``; drops at once share the
# checkpoints). Test databases commit without waiting for the WAL to reach the disk
# (synchronous_commit=off): no test crashes the server, and what a commit makes visible is
# the same; only the fsync is saved.

_pg_lock = threading.Lock()
_pg_template: str | None = None


def _pg_admin_engine() -> sa.Engine:
    return sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


_pg_answered = False  # once the server has answered, it is not asked again each test


def _pg_available() -> bool:
    global _pg_answered
    if _pg_answered:
        return True
    url = sa.make_url(POSTGRES_URL)
    if not _port_open(url.host or "127.0.0.1", url.port or 5432):
        return False
    try:
        engine = _pg_admin_engine()
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    _pg_answered = True
    return True


def _pg_template_name() -> str:
    global _pg_template
    with _pg_lock:
        if _pg_template is None:
            name = f"ts_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            admin = _pg_admin_engine()
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            database = Database(str(sa.make_url(POSTGRES_URL).set(database=name)))
            database.upgrade()
            database.dispose()
            _pg_template = name
        return _pg_template


def _pg_fresh_database() -> tuple[str, str]:
    template = _pg_template_name()
    name = f"ts_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        connection.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    admin.dispose()
    return name, sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def _pg_drop(name: str) -> None:
    admin = _pg_admin_engine()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class _BackgroundDropper:
    """Drops test databases in ``threads`` threads; ``close`` waits for all. Several drops
    at once share the server's checkpoints (3-4 times as many drops a second as one by one)."""

    def __init__(self, threads: int = 4) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._count = threads
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def drop(self, name: str) -> None:
        with _pg_lock:
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._run, name=f"pg-dropper-{n}", daemon=True)
                    for n in range(self._count)
                ]
                for thread in self._threads:
                    thread.start()
        self._queue.put(name)

    def _run(self) -> None:
        while (name := self._queue.get()) is not None:
            try:
                _pg_drop(name)
            except Exception as error:  # reported at the end of the session
                self.errors.append(f"{name}: {error}")

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []


_pg_dropper = _BackgroundDropper()


class _PgCopies:
    """Fresh copies of the template, made ``ahead`` at a time by a thread while tests run:
    ``take`` waits only when the tests use them faster than the server makes them."""

    def __init__(self, ahead: int = 2) -> None:
        self._ready: queue.Queue[tuple[str, str] | BaseException] = queue.Queue()
        self._room = threading.Semaphore(ahead)
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self) -> tuple[str, str]:
        """(name, URL) of a database nobody else has used."""
        with _pg_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pg-copies", daemon=True)
                self._thread.start()
        made = self._ready.get(timeout=300)
        self._room.release()
        if isinstance(made, BaseException):
            raise made
        return made

    def _run(self) -> None:
        while True:
            self._room.acquire()
            if self._closed.is_set():
                return
            try:
                made: tuple[str, str] | BaseException = _pg_fresh_database()
            except Exception as error:  # raised by the test that takes it
                made = error
            self._ready.put(made)

    def close(self) -> None:
        """Stop making copies; the ones made and not taken go to the dropper."""
        if self._thread is None:
            return
        self._closed.set()
        self._room.release()
        self._thread.join()
        self._thread = None
        while not self._ready.empty():
            made = self._ready.get_nowait()
            if not isinstance(made, BaseException):
                _pg_dropper.drop(made[0])


_pg_copies = _PgCopies()


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_template() -> Iterator[None]:
    yield
    _pg_copies.close()
    _pg_dropper.close()
    if _pg_template is not None:
        _pg_drop(_pg_template)
    assert not _pg_dropper.errors, _pg_dropper.errors


# --- password hashing ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real Argon2id (the same functions, the same library) at its lowest cost, in every
    test: at production cost a hash or a login takes 0.1-1.5 s of CPU on this machine, and
    most tests seed a user. Hashes carry their parameters, so the two costs verify alike.
    Processes started by tests (``townsquare serve`` ...) hash at production cost."""
    from argon2 import PasswordHasher

    from townsquare.workspaces import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


# --- settings and databases --------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def make_settings(data_dir: Path, database_url: str | None = None, **extra: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key="test-secret-key",
        _env_file=None,  # type: ignore[call-arg]
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run: each test gets a copy (migrating takes seconds,
    copying a millisecond), the same schema as ``townsquare db upgrade`` gives."""
    path = tmp_path_factory.mktemp("sqlite-template") / "townsquare.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture
def sqlite_database(settings: Settings, sqlite_template: Path) -> Iterator[Database]:
    target = sa.make_url(settings.sqlalchemy_url).database
    assert target, settings.sqlalchemy_url
    settings.ensure_data_dir()
    shutil.copyfile(sqlite_template, target)
    Path(target).chmod(0o600)
    database = Database.from_settings(settings)
    yield database
    database.dispose()


@pytest.fixture
def postgres_database() -> Iterator[Database]:
    require_service("PostgreSQL", _pg_available(), POSTGRES_URL)
    name, url = _pg_copies.take()
    database = Database(url)
    yield database
    database.dispose()
    _pg_dropper.drop(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Database:
    """A migrated database: each test using it runs on SQLite and on PostgreSQL."""
    fixture = "sqlite_database" if request.param == "sqlite" else "postgres_database"
    db: Database = request.getfixturevalue(fixture)
    return db


@pytest.fixture
def db_settings(database: Database, data_dir: Path) -> Settings:
    """Settings pointing at the ``database`` fixture's database."""
    return make_settings(data_dir, database.url)


@pytest.fixture
def redis_url() -> str:
    url = sa.make_url(REDIS_URL.replace("redis://", "redis+x://", 1))
    require_service("Redis", _port_open(url.host or "127.0.0.1", url.port or 6379), REDIS_URL)
    return REDIS_URL


# --- a real server -----------------------------------------------------------------------


@contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[None]:
    """``server`` answering in a thread for the block, then shut down and closed."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """Runs an ASGI app with uvicorn in a thread on a free loopback port."""

    def __init__(self, app: object, port: int | None = None, **options: Any) -> None:
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",  # type: ignore[arg-type]
            lifespan="on",
            **{"proxy_headers": False, **options},  # as `serve`: townsquare.proxies reads them
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live_server(db_settings: Settings, database: Database) -> Iterator[ServerThread]:
    from townsquare.web.app import create_app

    app = create_app(db_settings, database=database)
    with ServerThread(app) as server:
        yield server


# --- seed data ---------------------------------------------------------------------------


@dataclass
class Seed:
    workspace: str
    owner_email: str
    owner_password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def seed_workspace(
    database: Database,
    slug: str = "acme",
    email: str = "owner@acme.test",
    password: str = "correct horse battery",
) -> Seed:
    from townsquare.workspaces import service, tokens

    with database.session() as session:
        existing = service.get_user_by_email(session, email)
        owner = existing or service.create_user(
            session, email=email, password=password, is_admin=True
        )
        service.create_workspace(session, slug, name=slug.title(), owner=owner)
        issued = tokens.create_token(session, owner, name="tests", workspace=None)
    return Seed(workspace=slug, owner_email=email, owner_password=password, token=issued.plaintext)


@pytest.fixture
def seed(database: Database) -> Seed:
    return seed_workspace(database)


# --- a real SMTP server ------------------------------------------------------------------


class SmtpServer:
    """An aiosmtpd server on a free loopback port that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self._received = threading.Condition()
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        from email import message_from_bytes, policy

        content = envelope.content  # type: ignore[attr-defined]
        message = message_from_bytes(content, policy=policy.default)
        with self._received:
            self.messages.append(message)  # type: ignore[arg-type]
            self._received.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The messages once at least ``count`` have arrived; fails after ``timeout``."""
        with self._received:
            if not self._received.wait_for(lambda: len(self.messages) >= count, timeout):
                pytest.fail(f"expected {count} e-mail(s), the SMTP server got {len(self.messages)}")
            return list(self.messages)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()
