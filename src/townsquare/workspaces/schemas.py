"""API shapes of workspaces, members and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class WorkspaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    timezone: str
    created_at: datetime
    role: str | None = None


class WorkspaceCreate(BaseModel):
    slug: str = Field(description="Lower-case letters, digits and hyphens, e.g. acme-coffee")
    name: str | None = None
    timezone: str = "UTC"


class WorkspaceUpdate(BaseModel):
    name: str | None = None
    timezone: str | None = None


class MemberOut(BaseModel):
    user_id: int
    email: str
    display_name: str | None
    role: str


class MemberCreate(BaseModel):
    email: str
    role: str = Field(description="owner, admin, editor, contributor or viewer")
    password: str | None = Field(
        default=None,
        description="Instance administrators only: creates the user with this password when "
        "they do not exist. Anyone else is invited (answer 202 with the invitation)",
    )
    display_name: str | None = None


class MemberUpdate(BaseModel):
    role: str


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str | None
    is_admin: bool
    language: str | None
    workspaces: list[WorkspaceOut]


class TokenCreate(BaseModel):
    name: str
    expires_in_days: int | None = Field(
        default=90, description="Empty for a token that never expires"
    )
    workspace: str | None = Field(default=None, description="Restrict to this workspace slug")


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    workspace_id: int | None = Field(
        default=None, description="The workspace the token is restricted to, if any"
    )
    expires_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself: shown this once, store it now")


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    target: str | None
    user_id: int | None
    at: datetime


class InvitationOut(BaseModel):
    id: int
    email: str
    role: str
    status: str = Field(description="pending, accepted, revoked or expired")
    expires_at: datetime
    created_at: datetime
    invited_by_user_id: int | None


class InvitationCreated(InvitationOut):
    url: str = Field(
        description="The invitation link: shown this once (it is stored only as a hash); "
        "send it to the person if no e-mail was sent"
    )
    emailed: bool = Field(description="Whether the link was e-mailed (TOWNSQUARE_SMTP_URL set)")
