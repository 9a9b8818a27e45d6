"""In-memory event store: a first-class adapter for unit tests and the domain's fakes."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Callable, Sequence

from ..envelope import Deployment, Envelope, NewEvent, utcnow
from .port import (GENESIS_HASH, ConcurrencyError, DuplicateEventError, EventStore, Sealer,
                   Tracking, VerifyReport, chain_hash, validate_append)


class MemoryEventStore(EventStore):
    def __init__(self, deployment: Deployment, *, clock: Callable[[], datetime] = utcnow):
        super().__init__()
        self.deployment = deployment
        self.clock = clock
        self._lock = threading.RLock()
        self._log: list[tuple[Envelope, bytes]] = []
        self._streams: dict[str, list[int]] = {}
        self._ids: dict[str, int] = {}
        self._processed: set[tuple[str, str]] = set()
        self._checkpoints: dict[str, int] = {}
        self._leases: dict[str, tuple[str, float]] = {}

    def append(self, stream: str, expected_version: int | None, events: Sequence[NewEvent],
               *, tracking: Tracking | None = None) -> list[Envelope]:
        validate_append(stream, events)
        with self._lock:
            known = [self._ids[e.event_id] for e in events if e.event_id in self._ids]
            if known:
                if len(known) != len(events):
                    raise DuplicateEventError(
                        f"{len(known)} of the {len(events)} event ids are already stored: "
                        "a repeated append must repeat the whole batch")
                return [self._log[p - 1][0] for p in sorted(known)]
            if tracking is not None and (tracking.consumer, tracking.event_id) in self._processed:
                return []
            current = len(self._streams.get(stream, ()))
            if expected_version is not None and expected_version != current:
                raise ConcurrencyError(stream, expected_version, current)
            prev = self._log[-1][0].hash if self._log else GENESIS_HASH
            sealer = Sealer(stream, self.clock(), self.deployment)
            out = []
            for env, body in sealer.chain(events, current, len(self._log), prev):
                self._log.append((env, body))
                self._streams.setdefault(stream, []).append(env.position)
                self._ids[env.event_id] = env.position
                out.append(env)
            if tracking is not None:
                self._processed.add((tracking.consumer, tracking.event_id))
        self._notify(out[-1].position)
        return out

    def read_stream(self, stream: str, from_version: int = 1) -> list[Envelope]:
        with self._lock:
            return [self._log[p - 1][0] for p in self._streams.get(stream, [])[max(from_version, 1) - 1:]]

    def read_all(self, after: int = 0, limit: int | None = None) -> list[Envelope]:
        with self._lock:
            end = len(self._log) if limit is None else min(len(self._log), after + limit)
            return [e for e, _ in self._log[after:end]]

    def head(self) -> int:
        return len(self._log)

    def stream_version(self, stream: str) -> int:
        return len(self._streams.get(stream, ()))

    def is_processed(self, consumer: str, event_id: str) -> bool:
        return (consumer, event_id) in self._processed

    def get_checkpoint(self, name: str) -> int:
        return self._checkpoints.get(name, 0)

    def set_checkpoint(self, name: str, position: int) -> None:
        with self._lock:
            self._checkpoints[name] = max(position, self._checkpoints.get(name, 0))

    def try_lease(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        with self._lock:
            ts = now.timestamp()
            current = self._leases.get(name)
            if current is None or current[0] == holder or current[1] < ts:
                self._leases[name] = (holder, ts + ttl_seconds)
                return True
            return False

    def verify(self, jobs: int = 1) -> VerifyReport:
        """The walk in this process (``jobs`` is ignored: the log is in memory)."""
        report = VerifyReport()
        prev = GENESIS_HASH
        for env, body in self._log:
            if env.prev_hash != prev or chain_hash(prev, env.position, body) != env.hash:
                report.first_bad_position = env.position
                report.problem = f"position {env.position} does not match its hash"
                return report
            prev = env.hash
            report.checked += 1
            report.last_position = env.position
        return report
