"""What Publish's core tests share: a workspace with a Mastodon channel (Europe/Paris), a
Bluesky channel (America/New_York) and one member of each role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from tests.conftest import Seed, make_settings, seed_workspace
from townsquare.channels import service as channels
from townsquare.config import Settings
from townsquare.db import Database
from townsquare.workspaces.access import WorkspaceAccess, access_for, get_workspace
from townsquare.workspaces.models import User
from townsquare.workspaces.roles import Role
from townsquare.workspaces.users import create_user, get_user_by_email

MASTODON = "@brand@mastodon.test"
BLUESKY = "brand.bsky.social"
PASSWORD = "correct horse battery"
MEMBERS = (("viewer", 1), ("contributor", 1), ("editor", 1), ("editor", 2))


@dataclass
class PublishEnv:
    database: Database
    settings: Settings
    seed: Seed
    mastodon_id: int
    bluesky_id: int

    def operator(self, session: Session) -> WorkspaceAccess:
        return WorkspaceAccess.operator(get_workspace(session, self.seed.workspace))

    def as_role(self, session: Session, role: str, n: int = 1) -> WorkspaceAccess:
        """The access of the ``n``-th member with ``role`` (``owner``: the seed's owner)."""
        email = self.seed.owner_email if role == "owner" else f"{role}{n}@acme.test"
        user = get_user_by_email(session, email)
        assert isinstance(user, User), email
        return access_for(session, user, self.seed.workspace)


def make_env(database: Database, data_dir: Path, **settings: object) -> PublishEnv:
    seed = seed_workspace(database)
    config = make_settings(data_dir, database.url, base_url="http://127.0.0.1:8000", **settings)
    with database.session() as session:
        workspace = get_workspace(session, seed.workspace)
        operator = WorkspaceAccess.operator(workspace)
        mastodon = channels.add_channel(
            session, operator, network="mastodon", handle=MASTODON, timezone="Europe/Paris"
        )
        bluesky = channels.add_channel(
            session, operator, network="bluesky", handle=BLUESKY, timezone="America/New_York"
        )
        for role, n in MEMBERS:
            create_user(
                session,
                email=f"{role}{n}@acme.test",
                password=PASSWORD,
                workspace=seed.workspace,
                role=Role(role),
            )
        session.commit()
        return PublishEnv(database, config, seed, mastodon.id, bluesky.id)
