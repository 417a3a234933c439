"""API shapes of channels (credentials go in, never come out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class ChannelCreate(BaseModel):
    network: str = Field(description="mastodon, bluesky, facebook, rss, …")
    handle: str
    display_name: str | None = None
    timezone: str | None = Field(default=None, description="Default: the workspace's")
    credentials: dict[str, Any] | None = Field(
        default=None, description="Stored encrypted; never returned"
    )


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
    )
