"""Settings: one object from the environment (TOWNSQUARE_…), keys made once, bad values named."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from townsquare import config
from townsquare.config import Settings, get_settings
from townsquare.errors import ValidationError


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No TOWNSQUARE_ variable from the machine, no .env file, no cached settings."""
    import os

    for name in list(os.environ):
        if name.startswith("TOWNSQUARE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield monkeypatch  # type: ignore[misc]
    get_settings.cache_clear()


def test_defaults(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = get_settings()
    assert settings.data_dir == Path("townsquare-data")
    assert settings.is_sqlite
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'townsquare-data' / 'townsquare.db'}"
    assert settings.queue_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.prune_interval_minutes == 30


def test_environment_and_dotenv(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TOWNSQUARE_PORT=9000\nTOWNSQUARE_QUEUE_URL=redis://r:6379/1\n")
    clean_env.setenv("TOWNSQUARE_DATA_DIR", str(tmp_path / "elsewhere"))
    clean_env.setenv("TOWNSQUARE_DATABASE_URL", "postgresql+psycopg://u@h/db")
    clean_env.setenv("TOWNSQUARE_PORT", "9100")  # the environment wins over .env
    settings = get_settings()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.sqlalchemy_url == "postgresql+psycopg://u@h/db" and not settings.is_sqlite
    assert settings.port == 9100
    assert settings.queue_url == "redis://r:6379/1"


def test_empty_values_mean_unset(clean_env: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "QUEUE_URL", "SECRET_KEY", "LINKS_HOST"):
        clean_env.setenv(f"TOWNSQUARE_{name}", "")
    settings = get_settings()
    assert settings.database_url is None and settings.queue_url is None
    assert settings.secret_key is None and settings.links_host is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PORT", "eighty"), ("PRUNE_INTERVAL_MINUTES", "0"), ("WORKER_THREADS", "1000")],
)
def test_bad_value_names_the_variable(
    clean_env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    clean_env.setenv(f"TOWNSQUARE_{variable}", value)
    with pytest.raises(ValidationError) as raised:
        get_settings()
    assert raised.value.field == f"TOWNSQUARE_{variable}"
    assert f"TOWNSQUARE_{variable}" in raised.value.message and repr(value) in raised.value.message


def test_keys_are_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new", _env_file=None)  # type: ignore[call-arg]
    key = settings.resolved_credentials_key()
    Fernet(key.encode())  # valid
    path = tmp_path / "new" / "credentials.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert settings.resolved_credentials_key() == key
    secret = settings.resolved_secret_key()
    assert len(secret) >= 48
    assert stat.S_IMODE((tmp_path / "new" / "secret.key").stat().st_mode) == 0o600
    # A key given in settings wins, and no file is consulted.
    given = Fernet.generate_key().decode()
    assert (
        Settings(
            data_dir=tmp_path / "new",
            credentials_key=given,
            _env_file=None,  # type: ignore[call-arg]
        ).resolved_credentials_key()
        == given
    )


def test_two_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def make() -> None:
        barrier.wait()
        results.append(
            config._read_or_create_key(tmp_path / "k.key", Fernet.generate_key().decode())
        )

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = (tmp_path / "k.key").read_text().strip()
    # Everyone uses the key on disk: none kept its own, none read a half-written file.
    assert results == [stored] * 8
    assert [p.name for p in tmp_path.iterdir()] == ["k.key"]  # no temporary file left
