"""Settings, from the environment (prefix ``TOWNSQUARE_``) and an optional ``.env`` file.

Nothing else in townsquare reads ``os.environ``: everything goes through :class:`Settings`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All of townsquare's configuration, with its documented defaults."""

    model_config = SettingsConfigDict(
        env_prefix="TOWNSQUARE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("townsquare-data"),
        description="Where the SQLite database, the job queue, the secret keys and uploads live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite at DATA_DIR/townsquare.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    queue_url: str | None = Field(
        default=None,
        description="Job queue: default SQLite at DATA_DIR/queue.db; or redis://host:6379/0",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs cookies. Default: generated once into DATA_DIR/secret.key.",
    )
    credentials_key: str | None = Field(
        default=None,
        description="Fernet key that encrypts channel credentials at rest. "
        "Default: generated once into DATA_DIR/credentials.key. Keep a backup of it.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str | None = Field(
        default=None, description="Public URL of the web app, e.g. https://townsquare.example.com"
    )
    links_host: str | None = Field(
        default=None,
        description="Host name served by the link redirector inside `serve`, e.g. go.example.com",
    )
    links_base_url: str | None = Field(
        default=None, description="Public base URL of short links, e.g. https://go.example.com"
    )
    links_journal_max_mb: int = Field(
        default=512,
        ge=1,
        description="Disk space (MB) the click journal of one process may take while the "
        "database catches up; when full, redirects wait up to 2 s for room, then drop clicks.",
    )
    worker_threads: int = Field(default=2, ge=1, le=64)
    prune_interval_minutes: int = Field(
        default=30,
        ge=1,
        le=60,
        description="How often the job consumer prunes expired sessions and login attempts "
        "(minutes past the hour divisible by it; 1 = every minute).",
    )
    session_days: int = Field(default=14, ge=1, description="Days a login stays valid.")
    secure_cookies: bool = Field(
        default=False, description="Send cookies only over HTTPS (set true behind TLS)."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per e-mail (or per address) per window."
    )
    login_window_minutes: int = Field(default=15, ge=1)
    trusted_proxy_country_header: str | None = Field(
        default=None,
        description="Header set by a trusted proxy with the visitor's country, e.g. CF-IPCountry.",
    )
    allow_private_urls: bool = Field(
        default=False,
        description="Let user-given URLs (instances, feeds, pages) reach private, loopback and "
        "link-local addresses. Off by default (SSRF); tests turn it on for loopback servers.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="Where e-mail is sent: smtp://user:password@host:587 (STARTTLS when the "
        "server offers it), smtps://host:465 (TLS). Unset: townsquare sends no e-mail.",
    )
    invitation_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="Days an invitation link to join a workspace stays valid (used once).",
    )
    smtp_from: str = Field(
        default="townsquare <townsquare@localhost>", description="Sender of townsquare's e-mail."
    )
    hackernews_api_url: str = Field(
        default="https://hn.algolia.com", description="Hacker News search API (Algolia)."
    )
    reddit_base_url: str = Field(
        default="https://www.reddit.com", description="Reddit, for its search.json."
    )
    bluesky_appview_url: str = Field(
        default="https://public.api.bsky.app",
        description="Bluesky AppView for searches of sources without a connected channel.",
    )
    listen_streaming: bool = Field(
        default=True,
        description="Listen: stream mastodon-tag sources where the instance offers streaming "
        "(serve and worker hold one stream per instance and hashtag); false: poll them only.",
    )
    handles_base_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Handle checks: base URL of a platform instead of its public one, as JSON, "
        'e.g. {"github": "https://github.example.com/api/v3"} (keys in docs/handles.md).',
    )
    handles_timeout: float = Field(
        default=8.0, gt=0, le=60, description="Handle checks: seconds to wait for each platform."
    )
    trusted_proxies: str = Field(
        default="",
        description="Addresses or CIDRs of the reverse proxies whose X-Forwarded-For and "
        "country header are believed, e.g. '127.0.0.1, 10.0.0.0/8'. Empty: none (the peer "
        "address is the client).",
    )
    max_upload_mb: int = Field(
        default=50,
        ge=1,
        le=100_000,
        description="Largest upload accepted (import files), in megabytes; larger ones get 413.",
    )
    publish_lease_seconds: int = Field(
        default=300,
        ge=2,
        le=3600,
        description="Publishing: how long a dispatcher holds a variant it took (renewed before "
        "each part); once it lapses (the worker died), another dispatcher's sweep takes it back.",
    )
    publish_retry_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="Publishing: how long after the first attempt a post is retried after a "
        "429, a 503 or a verified absence; then it is failed with the network's reason.",
    )
    publish_parallel: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Publishing: variants one dispatcher (serve, worker, publish due) sends at "
        "once.",
    )
    publish_settle_seconds: float = Field(
        default=45.0,
        ge=0,
        le=3600,
        description="Publishing: how long after an attempt of unknown outcome a Mastodon "
        "status may still appear; before that its absence is not taken as certain.",
    )
    log_level: str = "INFO"

    @field_validator(
        "database_url", "queue_url", "links_host", "secret_key", "smtp_url", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        from townsquare.proxies import parse_networks

        parse_networks(value)  # a bad entry is refused at start-up, naming it
        return value

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'townsquare.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    def ensure_data_dir(self) -> Path:
        """The data directory, private to its owner (0700; an older, looser one is tightened)."""
        return make_private_dir(self.data_dir)

    def resolved_secret_key(self) -> str:
        """The cookie-signing secret: from settings, else generated once into the data dir."""
        if self.secret_key:
            return self.secret_key
        return _read_or_create_key(self.ensure_data_dir() / "secret.key", secrets.token_urlsafe(48))

    def resolved_credentials_key(self) -> str:
        """The Fernet key for stored credentials: from settings, else generated once."""
        if self.credentials_key:
            return self.credentials_key
        from cryptography.fernet import Fernet

        path = self.ensure_data_dir() / "credentials.key"
        return _read_or_create_key(path, Fernet.generate_key().decode())


def make_private_dir(path: Path) -> Path:
    """Create ``path`` readable by its owner only (0700), or tighten it if it exists."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(path, 0o700)
    return path


def ensure_private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 if missing (SQLite's -wal and -shm files then take
    the same mode), or tighten it; whatever the umask."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    _tighten(path, 0o600)
    for companion in ("-wal", "-shm", "-journal"):
        sibling = path.with_name(path.name + companion)
        if sibling.exists():
            _tighten(sibling, 0o600)
    return path


def _tighten(path: Path, mode: int) -> None:
    with contextlib.suppress(OSError):  # not ours to change (a shared mount): leave it
        if path.stat().st_mode & 0o077:
            path.chmod(mode)


def _read_or_create_key(path: Path, new_value: str) -> str:
    """The key stored at ``path``, written there first (private to the owner) if missing.

    The key is written whole to a private temporary file, then hard-linked into place:
    linking fails if another process got there first, and nobody ever reads a half-written
    key or one that was readable by others for a moment.
    """
    if path.exists():
        return path.read_text().strip()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(new_value + "\n")
        temporary.chmod(0o600)  # whatever the umask
        try:
            os.link(temporary, path)
        except FileExistsError:
            return path.read_text().strip()
        return new_value
    finally:
        temporary.unlink(missing_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own :class:`Settings` instead).

    A bad value in the environment is a ValidationError naming the variable, so the command
    line says which one to fix (exit code 2) instead of printing a traceback.
    """
    from pydantic import ValidationError as PydanticValidationError

    from townsquare.errors import ValidationError

    try:
        return Settings()
    except PydanticValidationError as exc:
        problems: list[dict[str, object]] = []
        for item in exc.errors():
            variable = "TOWNSQUARE_" + "_".join(str(p) for p in item["loc"]).upper()
            problems.append(
                {"field": variable, "message": f"{item['msg']} (got {item.get('input')!r})"}
            )
        first = problems[0]
        raise ValidationError(
            "setting %(field)s: %(message)s: fix it in the environment or .env",
            params={"field": first["field"], "message": first["message"]},
            field=str(first["field"]),
            problems=problems,
        ) from None
