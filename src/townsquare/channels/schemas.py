"""API shapes of channels (credentials go in, never come out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from townsquare.channels import connect


class ChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    network: str
    handle: str
    display_name: str | None
    timezone: str
    status: str
    has_credentials: bool
    created_at: datetime
    health: dict[str, Any] = Field(
        default_factory=dict,
        description="state (connected, needs_reconnection, not_connected), reason, "
        "last_sync_at, next_sync_at, last_error, rate_limit, sync_interval_minutes, …",
    )


class ChannelCreate(BaseModel):
    network: str = Field(description="mastodon, bluesky, facebook, rss, …")
    handle: str
    display_name: str | None = None
    timezone: str | None = Field(default=None, description="Default: the workspace's")
    credentials: dict[str, Any] | None = Field(
        default=None, description="Stored encrypted; never returned"
    )
    check: bool = Field(
        default=True, description="Mastodon/Bluesky: ask the network before storing anything"
    )
    sync_interval_minutes: int | None = Field(default=None, description="Default 30")


class ChannelUpdate(BaseModel):
    display_name: str | None = None
    timezone: str | None = None
    status: str | None = None
    credentials: dict[str, Any] | None = None


def channel_out(channel: Any) -> ChannelOut:
    return ChannelOut(
        id=channel.id,
        network=channel.network,
        handle=channel.handle,
        display_name=channel.display_name,
        timezone=channel.timezone,
        status=channel.status,
        has_credentials=channel.credentials_encrypted is not None,
        created_at=channel.created_at,
        health=connect.health(channel),
    )
