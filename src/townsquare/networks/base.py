"""What a network module declares about itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Capability(StrEnum):
    PUBLISH = "publish"  # post content to an account
    METRICS = "metrics"  # fetch metrics of published posts
    SEARCH = "search"  # search public mentions
    STREAM = "stream"  # follow mentions as they happen
    IMPORT = "import"  # analytics come from the platform's export files


@dataclass(frozen=True)
class NetworkInfo:
    name: str  # stable identifier stored on channels, e.g. "mastodon"
    label: str  # shown to people, e.g. "Mastodon"
    capabilities: frozenset[Capability] = field(default_factory=frozenset)
    max_text_length: int | None = None  # characters of a post, when the network limits it
    handle_hint: str = ""  # what a handle looks like on this network

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities
