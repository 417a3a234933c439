"""Channels: a connected account on a network (handle, encrypted credentials, time zone)."""
