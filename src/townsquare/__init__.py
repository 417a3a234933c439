"""townsquare: a self-hosted community-management suite."""

__version__ = "0.1.0"
