"""Building blocks for pure domain modules: events as frozen dataclasses, errors, folding.

Nothing here does I/O. A domain module defines its events (its published contract), folds
state from them, and decides: command + state -> new events, or a DomainError.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, ClassVar, Iterable, Mapping, TypeVar

from .envelope import Envelope
from .messages import ZH, Text, command_label, joined, sentence_zh, state_label, text


class DomainError(Exception):
    """A command was refused. ``code`` is stable for clients; the message is for people, in
    English (``message``, also ``str(error)``) and Chinese (``message_zh``).

    ``args`` are always the constructor's arguments, so that an error crossing RPC can be
    rebuilt with its details (xieshang.kernel.runtime registers them with nameko). A message
    is a string or an ``(English, Chinese)`` pair (xieshang.kernel.messages).
    """

    code = "domain_error"

    def __init__(self, *args: Any):
        super().__init__(*args)
        if not hasattr(self, "message"):
            self.message, self.message_zh = text(args[0] if args else self.code)
        elif not hasattr(self, "message_zh"):
            self.message_zh = self.message

    def __str__(self) -> str:
        return self.message if hasattr(self, "message") else super().__str__()

    @property
    def message_en(self) -> str:
        return str(self)

    def message_in(self, language: str) -> str:
        return (getattr(self, "message_zh", None) or str(self)) if language == ZH else str(self)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self), "message_en": str(self),
                "message_zh": getattr(self, "message_zh", None) or str(self)}


class InvalidCommand(DomainError):
    """The command's content is wrong; ``fields`` maps each offending field to what is wrong."""

    code = "invalid_command"

    def __init__(self, message: str | Text, fields: Mapping[str, str] | None = None):
        (self.message, self.message_zh), self.fields = text(message), dict(fields or {})
        super().__init__(message, self.fields)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "fields": self.fields}


class NotFound(DomainError):
    code = "not_found"


class NotYet(DomainError):
    """The answer is not ready yet (e.g. a read model has not caught up): try again shortly."""

    code = "not_yet"


class WrongState(DomainError):
    """The command does not apply in the current state; says which commands do.

    ``state`` is the code of the real state (of the case, account, member …); ``why`` (a
    string or an (English, Chinese) pair) says what in that state stands in the way when the
    state alone does not. The sentences come from the labels of the command, the state and the
    allowed commands (xieshang.kernel.messages); ``texts`` carries them ready-made across RPC.
    """

    code = "wrong_state"

    def __init__(self, command: str, state: str, allowed: Iterable[str],
                 why: str | Text | None = None, texts: Text | None = None):
        self.command, self.state, self.allowed = command, state, sorted(allowed)
        self.why = None if why is None else text(why)
        if texts is not None:
            self.message, self.message_zh = text(texts)
        else:
            (c_en, c_zh), (s_en, s_zh) = command_label(command), state_label(state, command)
            a_en, a_zh = joined(command_label(a) for a in self.allowed)
            w_en, w_zh = self.why or ("", "")
            self.message = (f"cannot {c_en} in state '{s_en}'" + (f" ({w_en})" if w_en else "")
                            + f"; allowed here: {a_en or 'nothing'}")
            self.message_zh = (f"当前状态为“{s_zh}”" + (f"，{w_zh.rstrip('。')}" if w_zh else "")
                               + f"，不能{c_zh}；"
                               + (f"此时可以：{a_zh}。" if a_zh else "此时没有可以办理的事项。"))
        super().__init__(command, state, self.allowed, self.why, (self.message, self.message_zh))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "state": self.state, "allowed": self.allowed}


class NotAllowed(DomainError):
    """The actor lacks a right; says which (``missing``: a string or an (English, Chinese)
    pair); the command's label names what was refused (xieshang.kernel.messages)."""

    code = "not_allowed"

    def __init__(self, command: str, missing: str | Text, texts: Text | None = None):
        self.command = command
        self.missing, self.missing_zh = text(missing)
        if texts is not None:
            self.message, self.message_zh = text(texts)
        else:
            c_en, c_zh = command_label(command)
            self.message = f"not allowed to {c_en}: {self.missing}"
            self.message_zh = sentence_zh(f"无权{c_zh}：{self.missing_zh}")
        super().__init__(command, (self.missing, self.missing_zh), (self.message, self.message_zh))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "missing": self.missing, "missing_zh": self.missing_zh}


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

    def event_class(self, type_name: str) -> type[DomainEvent]:
        """The class of a registered type (KeyError for an unknown one)."""
        return self._classes[type_name]

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
