"""Where a service's published contract is: the event registry of its events module.

A consumer decodes another service's events through that service's registry (upcasters
applied), and checks at start-up that the event it subscribes to is published there; the
projection runner decodes a service's own events the same way.

The kernel knows no service: the package that holds the services registers a loader
(``register_contract_loader``) that finds a service's contract by name, so a consumer reads
the producer's published events only, never its other code, and services still never import
each other.
"""

from __future__ import annotations

import threading
from typing import Callable

from .domain import EventRegistry

ContractLoader = Callable[[str], "EventRegistry | None"]

_loaders: list[ContractLoader] = []
_found: dict[str, EventRegistry] = {}
_lock = threading.Lock()


def register_contract_loader(loader: ContractLoader) -> None:
    """Add a way to find a service's contract (the first loader that knows the service wins)."""
    with _lock:
        if loader not in _loaders:
            _loaders.append(loader)


def contract_of(service: str) -> EventRegistry | None:
    """The registry of ``service``'s events (its published contract), or None if no loader knows
    it (a test's own service). A service whose log is private (the gateway) has a registry but
    publishes nothing, so nothing arrives for a subscription to it."""
    found = _found.get(service)
    if found is not None:
        return found
    for loader in list(_loaders):
        registry = loader(service)
        if registry is not None:
            _found[service] = registry
            return registry
    return None
