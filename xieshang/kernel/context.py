"""Who is acting, on whose behalf, why, and in which chain of causes.

It travels with every RPC call as nameko context data (set by the gateway, the CLI or a
consuming service) and is stamped on every event the call records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from .envelope import Actor, Envelope, NewEvent, SYSTEM_ACTOR, new_id, utcnow

ACTOR_KEY = "xieshang.actor"
ON_BEHALF_OF_KEY = "xieshang.on_behalf_of"
REASON_KEY = "xieshang.reason"
CORRELATION_KEY = "xieshang.correlation_id"
CAUSATION_KEY = "xieshang.causation_id"


class MissingActor(PermissionError):
    """A command arrived without an authenticated actor."""


@dataclass(frozen=True)
class CommandContext:
    actor: Actor
    on_behalf_of: str | None = None
    reason: str | None = None
    correlation_id: str = field(default_factory=new_id)
    causation_id: str | None = None

    def new_event(self, type_: str, data: Mapping[str, Any], *, schema_version: int = 1,
                  occurred_at: datetime | None = None, event_id: str | None = None) -> NewEvent:
        kw: dict[str, Any] = {}
        if event_id:
            kw["event_id"] = event_id
        return NewEvent(type=type_, data=dict(data), actor=self.actor, schema_version=schema_version,
                        occurred_at=occurred_at or utcnow(), on_behalf_of=self.on_behalf_of,
                        reason=self.reason, correlation_id=self.correlation_id,
                        causation_id=self.causation_id, **kw)

    def to_context_data(self) -> dict[str, Any]:
        d: dict[str, Any] = {ACTOR_KEY: self.actor.to_dict(), CORRELATION_KEY: self.correlation_id}
        if self.on_behalf_of:
            d[ON_BEHALF_OF_KEY] = self.on_behalf_of
        if self.reason:
            d[REASON_KEY] = self.reason
        if self.causation_id:
            d[CAUSATION_KEY] = self.causation_id
        return d

    @classmethod
    def from_context_data(cls, data: Mapping[str, Any]) -> "CommandContext":
        raw = data.get(ACTOR_KEY)
        if not raw:
            raise MissingActor("the call carries no actor: commands must say who is acting "
                               f"(context data key {ACTOR_KEY!r})")
        return cls(actor=Actor.from_dict(raw), on_behalf_of=data.get(ON_BEHALF_OF_KEY),
                   reason=data.get(REASON_KEY), correlation_id=data.get(CORRELATION_KEY) or new_id(),
                   causation_id=data.get(CAUSATION_KEY))

    @classmethod
    def caused_by(cls, envelope: Envelope, actor: Actor = SYSTEM_ACTOR,
                  reason: str | None = None) -> "CommandContext":
        """Context of a reaction to ``envelope`` (same correlation, caused by it)."""
        return cls(actor=actor, reason=reason, correlation_id=envelope.correlation_id,
                   causation_id=envelope.event_id)
