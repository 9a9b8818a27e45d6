"""The one write path of every service: load a stream, fold it, decide, record, answer.

    streams = Streams(store, registry, clock)
    receipt = streams.decide(ctx, proposal_stream(pid), lambda events: fold(pid, events),
                             lambda case: return_proposal(ctx.actor, case, command),
                             ids={"proposal_id": pid})
    return receipt.to_dict()

* ``read``/``load`` decode a stream through the service's registry (upcasters applied) and fold
  it; the version read is the one the append expects, so a concurrent change is a
  ``ConcurrencyError``, never an overwrite. ``load_kept`` folds on from a state kept from the
  last load of the same stream in this process, reading only the events recorded since: for
  streams that grow long and are decided on often (a session's case numbers).
* ``record`` stamps every event with the command context (actor, on whose behalf, why,
  correlation, causation) and ``occurred_at`` from the injected clock; an event whose
  ``identity()`` is set keeps that id (a repeated append of it is a no-op in the store).
* ``decide`` is load → decide → record. A decision the system takes on its own (a timer, a
  reaction to an event, a follow-on of a command) passes ``retry=True``: on a conflict it is
  decided again on the new state, under the one ``RETRY`` policy. A person's command is not
  retried: the caller sees the conflict and the state it changed to.
* Every command answers with a ``Receipt``, the same shape in every service.

Nothing here knows nameko: ``xieshang.kernel.runtime.WritePath`` gives each worker a
``Streams`` bound to the container's store and clock.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Mapping, Sequence, TypeVar

from .clock import Clock
from .context import CommandContext
from .domain import DomainEvent, EventRegistry
from .envelope import Envelope
from .store.port import ConcurrencyError, EventStore, Tracking

S = TypeVar("S")
T = TypeVar("T")
Fold = Callable[[list[DomainEvent]], S]
Decision = Callable[[S], Sequence[DomainEvent]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often a retried decision is decided again after losing a race, with a short random
    pause between tries so that two instances do not keep colliding."""

    attempts: int = 30
    pause_min: float = 0.001
    pause_max: float = 0.02

    def pause(self) -> None:
        time.sleep(random.uniform(self.pause_min, self.pause_max))

    def run(self, attempt: Callable[[], T]) -> T:
        """``attempt()`` (which loads, decides and records), again after each ConcurrencyError
        up to ``attempts`` times in all; the last conflict goes to the caller."""
        for tried in range(1, self.attempts + 1):
            try:
                return attempt()
            except ConcurrencyError:
                if tried >= self.attempts:
                    raise
                self.pause()
        raise AssertionError("unreachable")  # pragma: no cover


RETRY = RetryPolicy()


@dataclass(frozen=True)
class Receipt:
    """What every command of every service answers.

    ``stream`` and ``version``: the stream the command decided on and its version afterwards
    (unchanged when nothing was recorded). ``position``: the log position of the last event
    recorded, or the log's head when nothing was (pass it as ``after_position``/``wait_for`` to
    read your own write). ``events``: the types recorded, oldest first (empty: the command
    changed nothing, e.g. it was repeated). ``ids``: the ids the command named or created
    (``proposal_id``, ``member_id``, ``comment_id`` …); ``result``: what a command computes
    beyond that (``rules``, ``deadlines_moved`` …). Both are flattened into ``to_dict()``.
    """

    stream: str
    version: int
    position: int
    events: tuple[str, ...] = ()
    event_id: str | None = None
    ids: Mapping[str, Any] = field(default_factory=dict)
    result: Mapping[str, Any] = field(default_factory=dict)

    CORE = ("stream", "version", "position", "recorded", "event", "event_id", "events")

    @property
    def recorded(self) -> bool:
        return bool(self.events)

    @property
    def event(self) -> str | None:
        return self.events[-1] if self.events else None

    def with_result(self, **result: Any) -> "Receipt":
        return dataclasses.replace(self, result={**self.result, **result})

    def to_dict(self) -> dict[str, Any]:
        return {**self.ids, **self.result, "stream": self.stream, "version": self.version,
                "position": self.position, "recorded": self.recorded, "event": self.event,
                "event_id": self.event_id, "events": list(self.events)}


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """A stream as read: the state folded from its events, its version, and the decoded events
    this read returned (all of them for ``load``, the new ones for ``catch_up``)."""

    stream: str
    state: S
    version: int
    events: list[DomainEvent]


class KeptStates:
    """The states ``Streams.load_kept`` folded, by (stream, fold), at most ``size`` of them (the
    least recently used are forgotten first). One per store, shared by every ``Streams`` on it
    (a worker's ``Streams`` lives for one call). A state is never changed once kept: folding on
    makes a new one."""

    def __init__(self, size: int = 256):
        self.size = size
        self._states: OrderedDict[tuple, Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> "Loaded | None":
        with self._lock:
            loaded = self._states.get(key)
            if loaded is not None:
                self._states.move_to_end(key)
            return loaded

    def keep(self, key: tuple, loaded: "Loaded") -> None:
        """Keep ``loaded``, unless a state of a later version is kept already."""
        with self._lock:
            kept = self._states.get(key)
            if kept is None or kept.version <= loaded.version:
                self._states[key] = loaded
                self._states.move_to_end(key)
            while len(self._states) > self.size:
                self._states.popitem(last=False)


_KEPT: "weakref.WeakKeyDictionary[EventStore, KeptStates]" = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()


def kept_states(store: EventStore) -> KeptStates:
    """The states kept for ``store`` (made on first use, forgotten with the store)."""
    with _KEPT_LOCK:
        kept = _KEPT.get(store)
        if kept is None:
            kept = _KEPT[store] = KeptStates()
        return kept


class Streams:
    """Load, decide and record on one service's store."""

    def __init__(self, store: EventStore, registry: EventRegistry, clock: Clock,
                 retry: RetryPolicy = RETRY):
        self.store, self.registry, self.clock, self.retry = store, registry, clock, retry

    # -- reading ---------------------------------------------------------------------------
    def read(self, stream: str, from_version: int = 1) -> tuple[list[DomainEvent], int]:
        """The stream's events from ``from_version`` on, decoded through the registry (upcasters
        applied), and the stream's version. Types the registry does not know (none, in a
        service's own log) are passed over."""
        envelopes = self.store.read_stream(stream, from_version)
        return self.registry.decode_all(envelopes), envelopes[-1].version if envelopes else from_version - 1

    def load(self, stream: str, fold: Fold[S]) -> Loaded[S]:
        events, version = self.read(stream)
        return Loaded(stream, fold(events), version, events)

    def catch_up(self, loaded: Loaded[S], fold_on: Callable[[S, list[DomainEvent]], S]) -> Loaded[S]:
        """``loaded`` (e.g. a cached state) brought up to date with the events recorded after
        it; ``events`` of the answer are those new events."""
        events, version = self.read(loaded.stream, loaded.version + 1)
        if version == loaded.version:
            return loaded
        return Loaded(loaded.stream, fold_on(loaded.state, events), version, events)

    def load_kept(self, stream: str, empty: S, fold_on: Callable[[S, list[DomainEvent]], S]) -> Loaded[S]:
        """``stream`` folded to its head, as ``load`` gives it, but folded on (``catch_up``) from
        the state this process kept of it at its last ``load_kept`` with the same ``fold_on``
        (``empty``, the state of no events, the first time): only the events recorded since are
        read. ``fold_on(state, events)`` must give what folding all the events at once gives,
        and must be the same function at every call (e.g. one defined in a module): it is part
        of the key. ``events`` of the answer are the events read this time. Meant for streams
        whose events are never rewritten (the log is append-only)."""
        kept = kept_states(self.store)
        key = (stream, fold_on)
        start = kept.get(key) or Loaded(stream, empty, 0, [])
        loaded = self.catch_up(start, fold_on)
        if loaded is not start:
            kept.keep(key, Loaded(stream, loaded.state, loaded.version, []))
        return loaded

    # -- writing ---------------------------------------------------------------------------
    def record(self, ctx: CommandContext, stream: str, expected_version: int,
               events: Sequence[DomainEvent], *, tracking: Tracking | None = None) -> list[Envelope]:
        """Append ``events`` at ``expected_version``, stamped with ``ctx`` and the clock's time.
        ``[]`` when there is nothing to record (or ``tracking`` says it was recorded before)."""
        if not events:
            return []
        now = self.clock.now()
        return self.store.append(stream, expected_version, [
            ctx.new_event(e.type_name(), e.to_data(), schema_version=e.SCHEMA_VERSION,
                          occurred_at=now, event_id=e.identity()) for e in events],
            tracking=tracking)

    def decide(self, ctx: CommandContext, stream: str, fold: Fold[S] | None, decide: Decision[S], *,
               retry: bool = False, tracking: Tracking | None = None,
               ids: Mapping[str, Any] | None = None,
               load: Callable[[], Loaded[S]] | None = None) -> Receipt:
        """Load ``stream``, fold it, ``decide`` on the state, record at the version folded from.

        With ``retry`` a lost race is decided again on the new state (``RETRY``); without it the
        ``ConcurrencyError`` goes to the caller. A decision of no events records nothing.
        ``load`` replaces the full read and ``fold`` (e.g. a cache brought up to date with
        ``catch_up``)."""
        def attempt() -> Receipt:
            loaded = load() if load is not None else self.load(stream, fold)
            events = list(decide(loaded.state))
            if not events:
                return self.unchanged(stream, loaded.version, ids)
            return self.receipt(stream, self.record(ctx, stream, loaded.version, events,
                                                    tracking=tracking), ids)

        return self.retry.run(attempt) if retry else attempt()

    # -- answers ---------------------------------------------------------------------------
    def receipt(self, stream: str, envelopes: Sequence[Envelope],
                ids: Mapping[str, Any] | None = None) -> Receipt:
        """The receipt of ``envelopes`` just recorded on ``stream`` (none: nothing changed)."""
        if not envelopes:
            return self.unchanged(stream, self.store.stream_version(stream), ids)
        last = envelopes[-1]
        return Receipt(stream=last.stream, version=last.version, position=last.position,
                       events=tuple(e.type for e in envelopes), event_id=last.event_id,
                       ids=dict(ids or {}))

    def unchanged(self, stream: str, version: int, ids: Mapping[str, Any] | None = None) -> Receipt:
        """The receipt of a command that recorded nothing (it was already so)."""
        return Receipt(stream=stream, version=version, position=self.store.head(),
                       ids=dict(ids or {}))
