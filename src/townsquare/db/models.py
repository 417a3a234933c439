"""Imports every capability's tables so that ``Base.metadata`` knows all of them."""

from __future__ import annotations

import importlib

# Each capability that owns tables lists its models module here.
MODEL_MODULES = (
    "townsquare.workspaces.models",
    "townsquare.channels.models",
    "townsquare.links.models",
    "townsquare.analytics.models",
    "townsquare.listening.models",
    "townsquare.handles.models",
    "townsquare.maturity.models",
    "townsquare.workspaces.invitation_models",
    "townsquare.reports.models",
    "townsquare.publish.models",
    "townsquare.publish.core_models",
    "townsquare.publish.web_models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
