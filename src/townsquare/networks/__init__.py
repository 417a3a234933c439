"""One module per network; ``registry`` knows them all and what each can do.

A network module declares a :class:`~townsquare.networks.base.NetworkInfo` (its name, its
limits, its capabilities). Connectors never touch the database: services call them with
plain data and store what they return.
"""

from townsquare.networks.base import Capability, NetworkInfo
from townsquare.networks.registry import get_network, known_networks, network_names

__all__ = ["Capability", "NetworkInfo", "get_network", "known_networks", "network_names"]
