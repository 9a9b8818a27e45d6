"""The event envelope: what every stored and published event carries.

The JSON encoding is the published contract (docs/events.md). Field names are
stable; new optional fields may be added, none are ever renamed or removed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Mapping

import orjson

# Committee levels, highest first: 全国、省/自治区、市、县/区 (a deployment is one committee of one).
LEVELS = ("national", "province", "city", "county")


class EnvelopeError(ValueError):
    """An envelope or its encoding is malformed."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: a user (or system) id, the role acted in, and their organisation."""

    user_id: str
    role: str
    organisation: str

    def to_dict(self) -> dict[str, str]:
        return {"user_id": self.user_id, "role": self.role, "organisation": self.organisation}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Actor":
        try:
            return cls(str(d["user_id"]), str(d["role"]), str(d["organisation"]))
        except (KeyError, TypeError) as exc:
            raise EnvelopeError(f"actor needs user_id, role and organisation: {exc}") from None


SYSTEM_ACTOR = Actor("system", "system", "system")


@dataclass(frozen=True, slots=True)
class Deployment:
    """Which committee's deployment recorded the event (so events of several levels can travel together)."""

    committee: str
    level: str

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise EnvelopeError(f"deployment level must be one of {LEVELS}, not {self.level!r}")
        if not self.committee:
            raise EnvelopeError("deployment committee code must not be empty")

    def to_dict(self) -> dict[str, str]:
        return {"committee": self.committee, "level": self.level}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended: everything but what the store assigns.

    The store assigns ``stream``, ``version``, ``position``, ``recorded_at`` and the hashes.
    """

    type: str
    data: Mapping[str, Any]
    actor: Actor
    schema_version: int = 1
    event_id: str = field(default_factory=new_id)
    occurred_at: datetime = field(default_factory=utcnow)
    on_behalf_of: str | None = None
    reason: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Envelope:
    """A stored event. ``position`` is its place in its store's log (global order)."""

    event_id: str
    stream: str
    version: int
    type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    position: int
    actor: Actor
    on_behalf_of: str | None
    reason: str | None
    correlation_id: str
    causation_id: str | None
    data: Mapping[str, Any]
    deployment: Deployment
    prev_hash: str = ""
    hash: str = ""

    # -- encoding ---------------------------------------------------------
    def body(self) -> dict[str, Any]:
        """The immutable part, fixed when the event is written (no position, no hashes)."""
        return envelope_body(self.event_id, self.stream, self.version, self.type,
                             self.schema_version, _iso(self.occurred_at), _iso(self.recorded_at),
                             self.actor.to_dict(), self.on_behalf_of, self.reason,
                             self.correlation_id, self.causation_id, self.deployment.to_dict(),
                             self.data)

    def to_dict(self) -> dict[str, Any]:
        d = self.body()
        d["position"] = self.position
        d["prev_hash"] = self.prev_hash
        d["hash"] = self.hash
        return d

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, position: int | None = None,
                  prev_hash: str | None = None, hash: str | None = None,
                  deployment: Deployment | None = None) -> "Envelope":
        """The envelope ``d`` encodes. Equal actors and deployments of decoded envelopes are
        one shared (immutable) object; ``deployment``, e.g. a store's own, is the one used
        when ``d`` names an equal deployment (reads of a log decode thousands of rows of one
        deployment and a few actors, and building these per row cost a third of a read)."""
        try:
            dep = d["deployment"]
            committee, level = dep["committee"], dep["level"]
            if deployment is None or committee != deployment.committee or level != deployment.level:
                deployment = _shared_deployment(committee, level)
            return cls(
                d["event_id"], d["stream"], int(d["version"]), d["type"], int(d["schema_version"]),
                _parse(d["occurred_at"]), _parse(d["recorded_at"]),
                int(position if position is not None else d["position"]),
                _shared_actor(d["actor"]), d.get("on_behalf_of"), d.get("reason"),
                d["correlation_id"], d.get("causation_id"), d["data"], deployment,
                prev_hash if prev_hash is not None else d.get("prev_hash", ""),
                hash if hash is not None else d.get("hash", ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, EnvelopeError):
                raise
            raise EnvelopeError(f"malformed envelope: {exc!r}") from None

    @classmethod
    def from_json(cls, raw: bytes | str) -> "Envelope":
        try:
            d = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise EnvelopeError(f"envelope is not valid JSON: {exc}") from None
        return cls.from_dict(d)

    def with_position(self, position: int, prev_hash: str, hash: str) -> "Envelope":
        return replace(self, position=position, prev_hash=prev_hash, hash=hash)


def envelope_body(event_id: str, stream: str, version: int, type_: str, schema_version: int,
                  occurred_at: str, recorded_at: str, actor: Mapping[str, str],
                  on_behalf_of: str | None, reason: str | None, correlation_id: str,
                  causation_id: str | None, deployment: Mapping[str, str],
                  data: Mapping[str, Any]) -> dict[str, Any]:
    """An envelope's body from its encoded parts (times as ISO strings, actor and deployment
    as dicts): the one list of the hashed keys, for ``Envelope.body`` and the stores' sealer."""
    return {
        "event_id": event_id,
        "stream": stream,
        "version": version,
        "type": type_,
        "schema_version": schema_version,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "actor": actor,
        "on_behalf_of": on_behalf_of,
        "reason": reason,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "deployment": deployment,
        "data": data,
    }


def encode_body(body: Mapping[str, Any]) -> bytes:
    """Canonical bytes of an envelope body: sorted keys, UTF-8, no spaces. Hashed and stored as is."""
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise EnvelopeError("timestamps must be timezone-aware (UTC)")
    if dt.tzinfo is not timezone.utc:
        dt = dt.astimezone(timezone.utc)
    return dt.isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00" written as "Z"


def _parse(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    dt = datetime.fromisoformat(value)  # Python 3.11 reads the "Z" itself
    if dt.tzinfo is None:
        raise EnvelopeError(f"timestamp without timezone: {value!r}")
    return dt


# Decoded envelopes share equal actors and deployments (both frozen). The caches are small and
# start again when full: a log names a few hundred people, and one or two deployments.
SHARED_LIMIT = 4096
_actors: dict[tuple, Actor] = {}
_deployments: dict[tuple, Deployment] = {}


def _shared_actor(d: Mapping[str, Any]) -> Actor:
    try:
        key = (d["user_id"], d["role"], d["organisation"])
        actor = _actors.get(key)
    except (KeyError, TypeError):
        return Actor.from_dict(d)  # raises its own error, or converts what it can as ever
    if actor is None:
        actor = Actor.from_dict(d)
        # Only actors whose fields were strings are shared: str() made the others.
        if all(type(v) is str for v in key):
            if len(_actors) >= SHARED_LIMIT:
                _actors.clear()
            _actors[key] = actor
    return actor


def _shared_deployment(committee: Any, level: Any) -> Deployment:
    key = (committee, level)
    try:
        deployment = _deployments.get(key)
    except TypeError:  # not a hashable value: not shared (and most likely refused below)
        deployment = None
    if deployment is None:
        deployment = Deployment(committee, level)  # validates
        if type(committee) is str and type(level) is str:
            if len(_deployments) >= SHARED_LIMIT:
                _deployments.clear()
            _deployments[key] = deployment
    return deployment
