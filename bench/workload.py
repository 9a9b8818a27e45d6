"""A pool of realistic events to append again and again, for ours, the library and the raw driver.

Each pass over the pool appends to fresh streams (``<tag><pass>-<stream>``), at the versions the
pool's load order gives, so every append passes its expected version as a command does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from xieshang.kernel.envelope import Actor, NewEvent, encode_body
from xieshang.kernel.store.port import stamp

from .events import DEPLOYMENT, Replicator


@dataclass
class PoolEvent:
    stream: str
    version: int
    type: str
    data: dict[str, Any]
    actor: Actor
    occurred_at: datetime
    body: bytes            # our encoded body (for the raw driver)
    library_state: bytes   # the library's encoded state (for its recorder)
    library_topic: str


class Pool:
    def __init__(self, size: int, *, library: bool):
        from . import library as lib

        self.events: list[PoolEvent] = []
        replicator = Replicator(session_prefix="p")
        items = list(replicator.items(size))[:size]
        now = datetime.now(timezone.utc)
        envelopes = [stamp(it.new, it.stream, it.version, now, DEPLOYMENT) for it in items]
        states = lib.stored_events(envelopes, {}) if library else [None] * len(items)
        for it, env, st in zip(items, envelopes, states):
            self.events.append(PoolEvent(
                stream=it.stream, version=it.version, type=it.new.type, data=dict(it.new.data),
                actor=it.new.actor, occurred_at=it.new.occurred_at, body=encode_body(env.body()),
                library_state=st.state if st else b"", library_topic=st.topic if st else ""))
        self.mean_body_bytes = sum(len(e.body) for e in self.events) / len(self.events)
        self.mean_library_bytes = (sum(len(e.library_state) for e in self.events) / len(self.events)
                                   if library else None)

    def __len__(self) -> int:
        return len(self.events)

    def at(self, i: int, tag: str) -> tuple[str, PoolEvent]:
        """The i-th event of the endless sequence, and its stream name."""
        e = self.events[i % len(self.events)]
        return f"{tag}{i // len(self.events)}-{e.stream}", e

    @staticmethod
    def new_event(e: PoolEvent) -> NewEvent:
        return NewEvent(type=e.type, data=e.data, actor=e.actor, occurred_at=e.occurred_at)


def raw_row(position: int, stream: str, e: PoolEvent) -> tuple:
    """A row of our events table for the raw driver: same columns and body, a dummy chain."""
    return (position, str(uuid.uuid4()), stream, e.version, e.type, e.body, "0" * 64, "0" * 64)

