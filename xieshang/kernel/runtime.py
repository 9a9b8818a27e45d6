"""The kernel inside a nameko service: one store per container, the relay beside it, the
one write path and the per-worker command context.

    class ProposalsService:
        name = "proposals"
        streams = WritePath(domain.registry)   # load, decide, record (xieshang.kernel.streams)
        context = RequestContext()
        clock = ClockProvider()

The store is built when the container starts (never at import) from the container's config,
falling back to the environment (see xieshang.kernel.config).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from nameko.exceptions import RemoteError
from nameko.extensions import DependencyProvider, SharedExtension

from .clock import ClockProvider, clock_from_config
from .config import Settings, make_event_store
from .context import CommandContext, MissingActor
from .domain import DomainError, InvalidCommand
from .store.port import ConcurrencyError
from .streams import RETRY, RetryPolicy, Streams

log = logging.getLogger(__name__)


def _truthy(value: object, default: bool = True) -> bool:
    if value is None:
        return default
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


class StoreHolder(SharedExtension):
    """One event store per container, shared by every dependency and entrypoint that needs it.

    Also runs the container's outbox relay (config ``XIESHANG_RELAY``, on by default), which
    publishes committed events to ``<service>.events`` from the last confirmed position.
    """

    settings: Settings
    store = None

    def setup(self) -> None:
        if self.store is not None:
            return
        self.settings = Settings.load(self.container.service_name, self.container.config)
        self.store = make_event_store(self.settings)
        self._stop = threading.Event()
        self.relay = None
        self.sealer = None

    def start(self) -> None:
        self._start_sealer()
        if not _truthy(self.container.config.get("XIESHANG_RELAY")):
            return
        self.relays = []
        # A service whose log is private (the gateway's accounts) sets publish_events = False.
        if getattr(self.container.service_cls, "publish_events", True):
            from .relay import Relay

            self.relay = Relay(self.store, self.settings.amqp_uri, service=self.settings.service)
            self.relays.append(self.relay)
        # Its public events, as CloudEvents, to the integration exchange (ADR 0012).
        publication = getattr(self.container.service_cls, "publication", None)
        if publication is not None:
            from .integration import integration_relay

            self.relays.append(integration_relay(self.store, self.settings.amqp_uri, publication))
        for relay in self.relays:
            self.store.subscribe(lambda _position, relay=relay: relay.wake())
            self.container.spawn_managed_thread(lambda relay=relay: relay.run(self._stop),
                                                identifier=relay.name)

    def _start_sealer(self) -> None:
        """Seal the log's head every XIESHANG_CHECKPOINT_INTERVAL seconds with the deployment's
        key (xieshang.kernel.anchoring; docs/operations.md); XIESHANG_CHECKPOINTS=0: never."""
        if not _truthy(self.container.config.get("XIESHANG_CHECKPOINTS")):
            return
        from .anchoring import sealer_for

        self.sealer = sealer_for(self.store, self.settings, self.container.config)
        self.container.spawn_managed_thread(lambda: self.sealer.run(self._stop), identifier="sealer")

    def stop(self) -> None:
        self._stop.set()
        for relay in getattr(self, "relays", ()):
            relay.wake()

    def kill(self) -> None:
        self.stop()


class EventStoreDependency(DependencyProvider):
    """Gives each worker the container's EventStore."""

    holder = StoreHolder()

    def get_dependency(self, worker_ctx):
        return self.holder.store

    def is_processed(self, consumer: str, event_id: str) -> bool:
        """Lets event entrypoints skip a redelivered event cheaply (the append's tracking is
        what guarantees the effect happens once)."""
        return self.holder.store.is_processed(consumer, event_id)


class WritePath(DependencyProvider):
    """Gives each worker the service's one write path (``xieshang.kernel.streams.Streams``):
    the container's store, the service's event registry, and the container's clock (the
    service's ``ClockProvider`` if it declares one, read at every call so that tests may set
    or replace it; otherwise the clock its config names)."""

    holder = StoreHolder()

    def __init__(self, registry, retry: RetryPolicy = RETRY):
        self.registry, self.retry = registry, retry

    def setup(self) -> None:
        self._clock_provider = next((d for d in self.container.dependencies
                                     if isinstance(d, ClockProvider)), None)
        self._own_clock = None if self._clock_provider else clock_from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> Streams:
        clock = self._clock_provider.clock if self._clock_provider else self._own_clock
        return Streams(self.holder.store, self.registry, clock, self.retry)

    def is_processed(self, consumer: str, event_id: str) -> bool:
        """Lets event entrypoints skip a redelivered event cheaply (see EventStoreDependency)."""
        return self.holder.store.is_processed(consumer, event_id)


STAFF_ROLE = "staff"  # the only role that enters something for someone else (a paper submission)


def checked_context(ctx: CommandContext) -> CommandContext:
    """``ctx`` as a service may act on it: only staff act ``on_behalf_of`` someone; anyone else
    naming another person there is refused before anything is decided, in every service."""
    if ctx.on_behalf_of is not None and ctx.actor.role != STAFF_ROLE:
        raise InvalidCommand(
            ("only staff act on behalf of someone else", "只有工作人员可以代他人录入"),
            {"on_behalf_of": f"不接受：只有工作人员可以代委员录入 (not accepted: only staff enter "
                             f"something for a member; the caller's role is {ctx.actor.role!r})"})
    return ctx


class RequestContext(DependencyProvider):
    """Gives each worker the CommandContext of its call (raises MissingActor if absent)."""

    def get_dependency(self, worker_ctx):
        return _LazyContext(worker_ctx.context_data)


class _LazyContext:
    """Reads the context only when a command uses it, so queries without an actor still work."""

    def __init__(self, data):
        self._data = data
        self._ctx = None

    def get(self) -> CommandContext:
        if self._ctx is None:
            self._ctx = checked_context(CommandContext.from_context_data(self._data))
        return self._ctx

    def __getattr__(self, name):
        return getattr(self.get(), name)


# Refusals are answers, not failures: every RPC entrypoint declares them expected, so nameko
# logs them as warnings, not tracebacks.
EXPECTED = (DomainError, MissingActor, ConcurrencyError)


# -- refusals across RPC ----------------------------------------------------------------------

class RemoteRefusal(RemoteError):
    """A domain refusal (or a concurrency conflict) raised by a service, as its caller sees it:
    still a nameko ``RemoteError`` (``exc_type``, ``value``), plus ``details``, the error's
    ``to_dict()`` (code, message, and the fields, state, allowed commands or missing right)."""

    def __init__(self, exc_type: str, value: str, details: dict):
        super().__init__(exc_type, value)
        self.details = details


def _rebuilder(cls: type) -> Callable[..., RemoteRefusal]:
    def rebuild(*args) -> RemoteRefusal:
        try:
            original = cls(*args)
        except Exception:  # args from an older or newer peer: keep what we can
            return RemoteRefusal(cls.__name__, " ".join(map(str, args)),
                                 {"code": getattr(cls, "code", "domain_error"), "message": ""})
        return RemoteRefusal(cls.__name__, str(original), original.to_dict())
    return rebuild


def _register_refusals() -> None:
    from nameko.exceptions import get_module_path, registry

    from .domain import DomainError, InvalidCommand, NotAllowed, NotFound, NotYet, WrongState
    from .store.port import ConcurrencyError

    for cls in (DomainError, InvalidCommand, NotAllowed, NotFound, NotYet, WrongState, ConcurrencyError):
        registry[get_module_path(cls)] = _rebuilder(cls)


_register_refusals()
