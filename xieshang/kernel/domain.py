"""Building blocks for pure domain modules: events as frozen dataclasses, errors, folding.

Nothing here does I/O. A domain module defines its events (its published contract), folds
state from them, and decides: command + state -> new events, or a DomainError.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, ClassVar, Iterable, Mapping, TypeVar

from .envelope import Envelope


class DomainError(Exception):
    """A command was refused. ``code`` is stable for clients; the message is for people.

    ``args`` are always the constructor's arguments, so that an error crossing RPC can be
    rebuilt with its details (xieshang.kernel.runtime registers them with nameko).
    """

    code = "domain_error"

    def __str__(self) -> str:
        return self.message if hasattr(self, "message") else super().__str__()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self)}


class InvalidCommand(DomainError):
    """The command's content is wrong; ``fields`` maps each offending field to what is wrong."""

    code = "invalid_command"

    def __init__(self, message: str, fields: Mapping[str, str] | None = None):
        self.message, self.fields = message, dict(fields or {})
        super().__init__(message, self.fields)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "fields": self.fields}


class NotFound(DomainError):
    code = "not_found"


class NotYet(DomainError):
    """The answer is not ready yet (e.g. a read model has not caught up): try again shortly."""

    code = "not_yet"


class WrongState(DomainError):
    """The command does not apply in the current state; says which commands do."""

    code = "wrong_state"

    def __init__(self, command: str, state: str, allowed: Iterable[str]):
        self.command, self.state, self.allowed = command, state, sorted(allowed)
        self.message = (f"cannot {command} in state {state!r}; allowed here: "
                        f"{', '.join(self.allowed) or 'nothing'}")
        super().__init__(command, state, self.allowed)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "state": self.state, "allowed": self.allowed}


class NotAllowed(DomainError):
    """The actor lacks a right; says which."""

    code = "not_allowed"

    def __init__(self, command: str, missing: str):
        self.command, self.missing = command, missing
        self.message = f"not allowed to {command}: {missing}"
        super().__init__(command, missing)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "missing": self.missing}


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    """Base of every domain event. The class name is the event type; bump SCHEMA_VERSION and
    register an upcaster when the data's shape changes."""

    SCHEMA_VERSION: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    def to_data(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def identity(self) -> str | None:
        """The event id to record this event under, when the event itself fixes it (so that
        appending it again is a no-op in the store); None: a fresh id."""
        return None


E = TypeVar("E", bound=DomainEvent)
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class EventRegistry:
    """Maps type names to event classes and upgrades old schema versions on read."""

    def __init__(self) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: type[E]) -> type[E]:
        self._classes[cls.type_name()] = cls
        return cls

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        def deco(fn: Upcaster) -> Upcaster:
            self._upcasters[(type_name, from_version)] = fn
            return fn
        return deco

    def __contains__(self, type_name: str) -> bool:
        return type_name in self._classes

    def names(self) -> list[str]:
        return sorted(self._classes)

    def upcast(self, envelope: Envelope) -> Envelope:
        """``envelope`` in the contract's current shape: its data decoded (upcasters applied)
        and its schema version the current one. An envelope already at the current version is
        returned as it is. What handlers of read models and consumers are given."""
        cls = self._classes.get(envelope.type)
        if cls is None:
            raise KeyError(f"unknown event type {envelope.type!r}")
        if envelope.schema_version == cls.SCHEMA_VERSION:
            return envelope
        return dataclasses.replace(envelope, data=self.decode(envelope).to_data(),
                                   schema_version=cls.SCHEMA_VERSION)

    def decode_all(self, envelopes: Iterable[Envelope]) -> list[DomainEvent]:
        """The events among ``envelopes`` this registry knows, decoded, in order (others are
        passed over: a stream holds only its own service's events)."""
        return [self.decode(e) for e in envelopes if e.type in self._classes]

    def decode(self, envelope: Envelope) -> DomainEvent:
        cls = self._classes.get(envelope.type)
        if cls is None:
            raise KeyError(f"unknown event type {envelope.type!r}")
        data, version = dict(envelope.data), envelope.schema_version
        while version < cls.SCHEMA_VERSION:
            data = self._upcasters[(envelope.type, version)](data)
            version += 1
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def fold(initial: Any, apply: Callable[[Any, DomainEvent], Any], events: Iterable[DomainEvent]) -> Any:
    state = initial
    for e in events:
        state = apply(state, e)
    return state
