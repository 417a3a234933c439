"""Roles inside a workspace and what each may do (pure logic, no I/O).

Roles are ordered: each one can do everything the roles below it can.

- ``viewer``: a client who only reads (dashboards, reports, calendars).
- ``contributor``: proposes content (drafts submitted for approval), creates short links.
- ``editor``: creates, edits and schedules content; imports data.
- ``admin``: manages channels, members (below owner) and settings.
- ``owner``: everything, including other owners and deleting the workspace.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    EDITOR = "editor"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank

    @classmethod
    def parse(cls, value: str) -> Role:
        from townsquare.errors import ValidationError

        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = ", ".join(role.value for role in ROLE_ORDER)
            raise ValidationError(
                "unknown role %(value)r: choose one of %(choices)s",
                params={"value": value, "choices": choices},
                field="role",
            ) from None


ROLE_ORDER = (Role.VIEWER, Role.CONTRIBUTOR, Role.EDITOR, Role.ADMIN, Role.OWNER)
