"""Publish: compose once, adapt per network, approve, schedule, publish exactly once."""
