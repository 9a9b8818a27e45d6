"""The services. Each ``services/<name>/domain/events.py`` is that service's published contract;
this package tells the kernel where to find it (by name, so that no service imports another)."""

from __future__ import annotations

import importlib

from xieshang.kernel.contracts import register_contract_loader
from xieshang.kernel.domain import EventRegistry


def published_contract(service: str) -> EventRegistry | None:
    """The registry of ``services.<service>.domain.events``, or None if there is no such module."""
    name = f"{__name__}.{service}.domain.events"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise
    registry = getattr(module, "registry", None)
    return registry if isinstance(registry, EventRegistry) else None


register_contract_loader(published_contract)
