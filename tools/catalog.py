"""What every tool knows about the services: the one list of them, their stores, their
projections and how to fold a stream's state.

Each service may offer two optional modules:

* ``services.<svc>.views`` with ``PROJECTIONS``: a callable returning a list of Projection;
* ``services.<svc>.audit`` with ``STATE_FOLDERS``: a dict mapping a stream category (the part of
  the stream name before the first "-") to a function(list[Envelope]) -> dict state.

A service without them simply has no projections, and its streams are folded generically.
Stores are opened with the same configuration as the services (Settings.load(service)).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any, Callable

from xieshang.kernel.config import Settings, make_event_store, make_views_engine
from xieshang.kernel.envelope import Envelope
from xieshang.kernel.store.port import EventStore

# The one list of services, used by every tool and the benchmarks: those with an event store
# the tools read, then the HTTP gateway; each runs as its own `nameko run` process.
SERVICES = ["proposals", "members", "feedback", "notify"]
GATEWAY = "gateway"
PROCESSES = [*SERVICES, GATEWAY]

StateFolder = Callable[[list[Envelope]], dict[str, Any]]


def service_module(service: str) -> str:
    """The module `nameko run` is given for a service's process."""
    return f"services.{service}.service"


def _optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only the module itself (or its package) being absent is fine; a missing import
        # inside an existing module is a real error and must surface.
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def projections(service: str) -> list:
    """The service's projections (fresh instances), or [] if it has none."""
    module = _optional_module(f"services.{service}.views")
    factory = getattr(module, "PROJECTIONS", None) if module else None
    return list(factory()) if factory else []


def state_folders(service: str) -> dict[str, StateFolder]:
    """Stream category -> fold function of the service, or {} if it has none."""
    module = _optional_module(f"services.{service}.audit")
    return dict(getattr(module, "STATE_FOLDERS", None) or {}) if module else {}


def category(stream: str) -> str:
    return stream.split("-", 1)[0]


def settings(service: str) -> Settings:
    return Settings.load(service)


def store_location(service: str) -> str:
    """Where the service's events are, for messages."""
    s = settings(service)
    if s.event_store == "sqlite":
        return os.path.join(s.service_dir(), "events.sqlite")
    if s.event_store == "postgres":
        return f"PostgreSQL schema {s.events_schema()!r}"
    return f"EventStoreDB streams prefixed {s.service!r}"


def open_store(service: str) -> EventStore | None:
    """The service's event store, or None if nothing was ever recorded there (no file or schema);
    never creates one."""
    s = settings(service)
    if s.event_store == "sqlite":
        if not os.path.exists(os.path.join(s.service_dir(), "events.sqlite")):
            return None
        return make_event_store(s, create=False)
    if s.event_store == "postgres":
        import sqlalchemy as sa

        store = make_event_store(s, create=False)
        if not sa.inspect(store.engine).has_table("events", schema=store.schema):
            store.close()
            return None
        return store
    return make_event_store(s)


def views_engine(service: str):
    """(engine, schema) of the service's read models, created if missing."""
    return make_views_engine(settings(service))
