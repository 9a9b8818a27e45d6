"""The event store port: what every backend (memory, SQLite, PostgreSQL, EventStoreDB) must do.

Every adapter passes the same contract suite (tests/kernel/store_contract.py).
"""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator, Sequence

from ..envelope import Deployment, Envelope, NewEvent, _iso, encode_body, envelope_body

GENESIS_HASH = "0" * 64


class StoreError(Exception):
    """Base class of event store errors."""


class ConcurrencyError(StoreError):
    """The stream moved on since the caller read it: reload and decide again."""

    def __init__(self, stream: str, expected: int | None, actual: int):
        self.stream, self.expected, self.actual = stream, expected, actual
        # args stay the constructor's, so the error can be rebuilt after crossing RPC
        super().__init__(stream, expected, actual)

    def __str__(self) -> str:
        return (f"stream {self.stream!r} is at version {self.actual}, not at the expected version "
                f"{self.expected}; someone else changed it first: reload and retry")

    def to_dict(self) -> dict:
        return {"code": "conflict", "message": str(self), "stream": self.stream,
                "expected_version": self.expected, "actual_version": self.actual}


class DuplicateEventError(StoreError):
    """Some, but not all, event ids of an append are already stored (a replay must be whole)."""


@dataclass(frozen=True, slots=True)
class Tracking:
    """Marks an append as the effect of ``consumer`` processing upstream event ``event_id``.

    Stored in the same transaction as the new events, so the effect happens at most once.
    """

    consumer: str
    event_id: str
    position: int = 0


@dataclass
class VerifyReport:
    """Result of walking the hash chain. ``first_bad_position`` is None when intact."""

    checked: int = 0
    last_position: int = 0
    first_bad_position: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_position is None and self.problem is None


def chain_hash(prev_hash: str, position: int, body: bytes) -> str:
    """Hash of one log entry: its predecessor's hash, its position and its canonical body."""
    h = hashlib.sha256()
    h.update(prev_hash.encode("ascii"))
    h.update(b"|%d|" % position)
    h.update(body)
    return h.hexdigest()


AppendListener = Callable[[int], None]


class EventStore(abc.ABC):
    """An append-only log of envelopes, one per service deployment.

    * ``append`` is atomic: all events of a call are stored, with consecutive versions in
      their stream and consecutive positions in the log, or none is.
    * ``expected_version`` is the stream's current version as the caller saw it (0: the
      stream must not exist yet); ``None`` means any version.
    * Re-appending events whose ids are all stored already is a no-op that returns the
      stored envelopes; a partial overlap raises ``DuplicateEventError``.
    * ``read_all`` returns events in commit order; a reader that follows positions never
      skips an event that commits late.
    """

    deployment: Deployment

    def __init__(self) -> None:
        self._listeners: list[AppendListener] = []

    # -- writing ----------------------------------------------------------
    @abc.abstractmethod
    def append(self, stream: str, expected_version: int | None, events: Sequence[NewEvent],
               *, tracking: Tracking | None = None) -> list[Envelope]:
        """Append ``events`` to ``stream``; returns the stored envelopes (``[]`` if ``tracking``
        says this effect was already recorded)."""

    # -- reading ----------------------------------------------------------
    @abc.abstractmethod
    def read_stream(self, stream: str, from_version: int = 1) -> list[Envelope]:
        """The events of one stream, oldest first, starting at ``from_version``."""

    @abc.abstractmethod
    def read_all(self, after: int = 0, limit: int | None = None) -> list[Envelope]:
        """Events with position greater than ``after``, in position order, at most ``limit``."""

    def iter_all(self, after: int = 0, batch: int = 1000) -> Iterator[Envelope]:
        while True:
            page = self.read_all(after, batch)
            if not page:
                return
            yield from page
            after = page[-1].position

    @abc.abstractmethod
    def head(self) -> int:
        """Position of the last committed event (0 when empty)."""

    @abc.abstractmethod
    def stream_version(self, stream: str) -> int:
        """Current version of ``stream`` (0 when it does not exist)."""

    # -- consumers, checkpoints, leases ----------------------------------
    @abc.abstractmethod
    def is_processed(self, consumer: str, event_id: str) -> bool:
        """Whether ``consumer`` already recorded an effect of ``event_id``."""

    @abc.abstractmethod
    def get_checkpoint(self, name: str) -> int:
        """A named position (e.g. how far the relay has published); 0 if never set."""

    @abc.abstractmethod
    def set_checkpoint(self, name: str, position: int) -> None:
        """Move a named position; it never moves backwards unless ``reset_checkpoint`` is used."""

    @abc.abstractmethod
    def try_lease(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        """Take or renew a named lease (e.g. which instance runs the relay)."""

    # -- audit ------------------------------------------------------------
    @abc.abstractmethod
    def verify(self, jobs: int = 1) -> VerifyReport:
        """Walk the hash chain; name the first position that was modified, deleted,
        inserted or reordered. ``jobs``: how many processes may share the walk, where the
        backend can split it (the SQL store); the others walk in one and ignore it."""

    # -- lifecycle --------------------------------------------------------
    def close(self) -> None:  # pragma: no cover - trivial
        pass

    def subscribe(self, listener: AppendListener) -> None:
        """Call ``listener(head_position)`` after each commit in this process (a wake-up only:
        readers still read the store by position)."""
        self._listeners.append(listener)

    def _notify(self, position: int) -> None:
        for listener in list(self._listeners):
            try:
                listener(position)
            except Exception:  # a wake-up must never fail an append that committed
                pass


def seal(envelope_body: dict, prev_hash: str, position: int) -> tuple[bytes, str]:
    """Encode a body canonically and chain it: returns (body bytes, hash)."""
    raw = encode_body(envelope_body)
    return raw, chain_hash(prev_hash, position, raw)


def stamp(new: NewEvent, stream: str, version: int, recorded_at: datetime,
          deployment: Deployment) -> Envelope:
    """Turn a NewEvent into an envelope without a place in the log yet."""
    return Envelope(
        event_id=new.event_id, stream=stream, version=version, type=new.type,
        schema_version=new.schema_version, occurred_at=new.occurred_at, recorded_at=recorded_at,
        position=0, actor=new.actor, on_behalf_of=new.on_behalf_of, reason=new.reason,
        correlation_id=new.correlation_id or new.event_id, causation_id=new.causation_id,
        data=new.data, deployment=deployment)


class Sealer:
    """Builds the stored events of one append: for each ``NewEvent`` its canonical body and
    its ``Envelope``, each built once (``stamp`` then ``Envelope.with_position`` built every
    envelope twice, which cost more than hashing it). The bytes are those of ``Envelope.body()``
    encoded; the append's recorded-at time and the deployment are encoded once per append."""

    __slots__ = ("stream", "recorded_at", "deployment", "_recorded_at", "_deployment")

    def __init__(self, stream: str, recorded_at: datetime, deployment: Deployment):
        self.stream, self.recorded_at, self.deployment = stream, recorded_at, deployment
        self._recorded_at = _iso(recorded_at)
        self._deployment = deployment.to_dict()

    def body(self, new: NewEvent, version: int) -> bytes:
        """The canonical body of ``new`` stored at ``version`` of the stream."""
        return encode_body(envelope_body(
            new.event_id, self.stream, version, new.type, new.schema_version, _iso(new.occurred_at),
            self._recorded_at, new.actor.to_dict(), new.on_behalf_of, new.reason,
            new.correlation_id or new.event_id, new.causation_id, self._deployment, new.data))

    def envelope(self, new: NewEvent, version: int, position: int, prev_hash: str,
                 digest: str) -> Envelope:
        """The envelope of ``new`` as stored at ``version`` and ``position``."""
        return Envelope(new.event_id, self.stream, version, new.type, new.schema_version,
                        new.occurred_at, self.recorded_at, position, new.actor, new.on_behalf_of,
                        new.reason, new.correlation_id or new.event_id, new.causation_id, new.data,
                        self.deployment, prev_hash, digest)

    def chain(self, events: Sequence[NewEvent], version: int, position: int,
              prev_hash: str) -> list[tuple[Envelope, bytes]]:
        """``events`` as stored after ``version`` of the stream and ``position`` of the log,
        chained from ``prev_hash``: (envelope, body) each."""
        out = []
        for i, new in enumerate(events, 1):
            body = self.body(new, version + i)
            digest = chain_hash(prev_hash, position + i, body)
            out.append((self.envelope(new, version + i, position + i, prev_hash, digest), body))
            prev_hash = digest
        return out


def validate_append(stream: str, events: Sequence[NewEvent]) -> None:
    if not stream or len(stream) > 200:
        raise ValueError(f"stream name must be 1 to 200 characters, got {stream!r}")
    if not events:
        raise ValueError("append needs at least one event")
    ids = [e.event_id for e in events]
    if len(set(ids)) != len(ids):
        raise ValueError("the events of one append must have distinct event ids")
