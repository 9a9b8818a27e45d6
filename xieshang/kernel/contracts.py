"""Where a service's published contract is: the event registry of its events module.

A consumer decodes another service's events through that service's registry (upcasters
applied), and checks at start-up that the event it subscribes to is published there. It
reads the contract by module name, ``services.<service>.domain.events`` (a module that imports
only the kernel), never the producer's other code: services still never import each other.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from .domain import EventRegistry

CONTRACT_MODULE = "services.{service}.domain.events"


@lru_cache(maxsize=None)
def contract_of(service: str) -> EventRegistry | None:
    """The registry of ``service``'s events (its published contract), or None if it has no
    events module (a test's own service). A service whose log is private (the gateway) has a
    registry but publishes nothing, so nothing arrives for a subscription to it."""
    name = CONTRACT_MODULE.format(service=service)
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise
    registry = getattr(module, "registry", None)
    return registry if isinstance(registry, EventRegistry) else None
