"""The integration contract: what other government systems get of a service's log (ADR 0012).

Each service declares, in its events module (its published contract), which event types are
**public** and, for each **private** one, why it is not (a rating given 背靠背, an account, a
notice to a person, anything naming a commenter or carrying contact details)::

    PUBLICATION = Publication("proposals", registry,
                              public={"ProposalFiled": NOTHING_WITHHELD, ...},
                              private={"ReplyRated": "the proposer's confidential rating", ...})

Every type of the registry is in exactly one of the two (``Publication.check``). A public type
may withhold data fields (a member's party membership on an appointment): they never leave.

Public events leave the service as CloudEvents 1.0 in structured JSON (``cloud_event``): on the
integration exchange ``xieshang.integration`` (a topic exchange, routing key = the CloudEvents
type), published by a relay of the store of its own (``integration_relay``: the outbox again,
ADR 0002), and on the catch-up feed (``IntegrationReads.public_feed``, the gateway's
``GET /api/feed``). Nothing private is ever mapped: the mapping returns None for it, so the
relay, the feed and the webhooks built on them cannot carry it.

The actor's user id never leaves (a commenter or a resident is a person): only the role and the
organisation acted for.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import orjson

from .domain import EventRegistry
from .envelope import Envelope, _iso

if TYPE_CHECKING:  # the domain modules declare their publication: no broker client for them
    from .relay import Outgoing, Relay

INTEGRATION_EXCHANGE = "xieshang.integration"
TYPE_PREFIX = "cn.gov.cppcc"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json; charset=utf-8"
SPECVERSION = "1.0"
NOTHING_WITHHELD: frozenset[str] = frozenset()
# Our CloudEvents extension attributes (lower-case letters, at most 20 characters: the spec).
EXTENSIONS = ("xsservice", "xsposition", "xshash", "xslevel", "xsrecordedat", "xsrole",
              "xsorganisation")
FEED_LIMIT = 1000  # the most events one feed page returns


class PublicationError(ValueError):
    """A service's publication declaration is incomplete or contradicts its registry."""


def source_of(committee: str) -> str:
    """The CloudEvents ``source`` of a deployment: one committee (its code)."""
    return f"urn:cppcc:{committee}"


def schema_of(ce_type: str) -> str:
    """The ``dataschema`` of a CloudEvents type: its JSON Schema in the AsyncAPI document."""
    return f"urn:cppcc:schema:{ce_type}"


@dataclasses.dataclass(frozen=True)
class Publication:
    """Which of a service's event types leave it, and how (see the module)."""

    service: str
    registry: EventRegistry
    public: Mapping[str, frozenset[str]]
    private: Mapping[str, str]

    def __post_init__(self) -> None:
        both = set(self.public) & set(self.private)
        if both:
            raise PublicationError(f"{self.service}: both public and private: {sorted(both)}")
        for name, reason in self.private.items():
            if not isinstance(reason, str) or not reason.strip():
                raise PublicationError(f"{self.service}: private event {name} needs its reason")

    def check(self) -> None:
        """Every registered type is declared, and nothing else is."""
        registered = set(self.registry.names())
        declared = set(self.public) | set(self.private)
        if registered - declared:
            raise PublicationError(f"{self.service}: neither public nor private: "
                                   f"{sorted(registered - declared)}")
        if declared - registered:
            raise PublicationError(f"{self.service}: declared but not registered: "
                                   f"{sorted(declared - registered)}")
        for name, withheld in self.public.items():
            fields = {f.name for f in dataclasses.fields(self.registry.event_class(name))}
            if set(withheld) - fields:
                raise PublicationError(f"{self.service}: {name} withholds unknown fields "
                                       f"{sorted(set(withheld) - fields)}")

    def is_public(self, type_name: str) -> bool:
        return type_name in self.public

    def public_types(self) -> list[str]:
        return sorted(self.public)

    def ce_type(self, type_name: str, schema_version: int | None = None) -> str:
        """``cn.gov.cppcc.<service>.<Type>.v<n>``: the version is the event's schema version."""
        if schema_version is None:
            schema_version = self.registry.event_class(type_name).SCHEMA_VERSION
        return f"{TYPE_PREFIX}.{self.service}.{type_name}.v{schema_version}"

    def ce_types(self) -> list[str]:
        """The CloudEvents types this service publishes (current versions)."""
        return [self.ce_type(name) for name in self.public_types()]

    def public_data(self, envelope: Envelope) -> dict[str, Any]:
        """The event's data in its current shape, minus what its type withholds."""
        current = self.registry.upcast(envelope)
        withheld = self.public[envelope.type]
        return {k: v for k, v in current.data.items() if k not in withheld}

    def cloud_event(self, envelope: Envelope) -> dict[str, Any] | None:
        """The structured CloudEvents JSON object of a public event; None for a private one."""
        if envelope.type not in self.public:
            return None
        version = self.registry.event_class(envelope.type).SCHEMA_VERSION
        ce_type = self.ce_type(envelope.type, version)
        return {
            "specversion": SPECVERSION,
            "id": envelope.event_id,
            "source": source_of(envelope.deployment.committee),
            "type": ce_type,
            "subject": envelope.stream,
            "time": _iso(envelope.occurred_at),
            "datacontenttype": "application/json",
            "dataschema": schema_of(ce_type),
            "xsservice": self.service,
            "xsposition": envelope.position,
            "xshash": envelope.hash,
            "xslevel": envelope.deployment.level,
            "xsrecordedat": _iso(envelope.recorded_at),
            "xsrole": envelope.actor.role,
            "xsorganisation": envelope.actor.organisation,
            "data": self.public_data(envelope),
        }

    def outgoing(self, envelope: Envelope) -> list[Outgoing]:
        """What the integration relay publishes for an event: its CloudEvent, or nothing."""
        from .relay import Outgoing

        event = self.cloud_event(envelope)
        if event is None:
            return []
        body = encode_cloud_event(event)
        return [Outgoing(routing_key=event["type"], body=body, message_id=envelope.event_id,
                         type=event["type"], content_type=CONTENT_TYPE,
                         headers={"cloudEvents:specversion": SPECVERSION})]


def encode_cloud_event(event: Mapping[str, Any]) -> bytes:
    """Structured-mode bytes of a CloudEvent (sorted keys, times as in the log). The CloudEvents
    SDK checks the attributes first: it refuses a missing or mistyped required attribute and a
    bad extension name."""
    from cloudevents.core.v1.event import CloudEvent

    attributes = {k: v for k, v in event.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"]).astimezone(timezone.utc)
    CloudEvent(attributes, event.get("data"))  # validates; its JSON would be ours, keys unsorted
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def decode_cloud_event(raw: bytes | str) -> dict[str, Any]:
    """A structured CloudEvent parsed and validated by the CloudEvents SDK, as a plain dict."""
    from cloudevents.core.bindings import rabbitmq
    from cloudevents.core.formats.json import JSONFormat

    body = raw.encode() if isinstance(raw, str) else bytes(raw)
    event = rabbitmq.from_structured(rabbitmq.RabbitMQMessage({}, CONTENT_TYPE, body), JSONFormat())
    out = dict(event.get_attributes())
    out["time"] = orjson.loads(body)["time"]
    out["data"] = event.get_data()
    return out


def integration_relay(store: Any, amqp_uri: str, publication: Publication, **kw: Any) -> Relay:
    """The relay that publishes a service's public events to ``xieshang.integration``, with a
    checkpoint and lease of its own (``relay:xieshang.integration``)."""
    from .relay import Relay

    return Relay(store, amqp_uri, service=publication.service, exchange=INTEGRATION_EXCHANGE,
                 messages=publication.outgoing, **kw)


def feed_page(store: Any, publication: Publication, after: int, types: Iterable[str] | None,
              limit: int) -> dict[str, Any]:
    """The public events of ``store`` after log position ``after``, in log order, at most
    ``limit``, only of the CloudEvents ``types`` given (None: all). ``next`` is the position to
    ask after next time: past every event read, public or not, so a page of private events
    moves on too. Private events are never looked at beyond their type."""
    limit = max(1, min(int(limit), FEED_LIMIT))
    wanted = None if types is None else tuple(types)
    events: list[dict[str, Any]] = []
    position = after
    head = store.head()
    scan = max(limit, 500)
    while len(events) < limit and position < head:
        page = store.read_all(position, scan)
        if not page:
            break
        for env in page:
            if env.type in publication.public and (
                    wanted is None or type_matches(publication.ce_type(env.type), wanted)):
                events.append(publication.cloud_event(env))
                if len(events) == limit:
                    position = env.position
                    break
            position = env.position
        else:
            continue
        break
    return {"service": publication.service, "events": events, "next": position, "head": head}


def type_matches(ce_type: str, patterns: Iterable[str]) -> bool:
    """Whether a CloudEvents type is one of ``patterns``: a type itself, or a prefix of whole
    dotted parts (``cn.gov.cppcc.proposals`` is every proposals type, any version)."""
    return any(ce_type == p or ce_type.startswith(p.rstrip(".") + ".") for p in patterns)


def check_publications(publications: Sequence[Publication]) -> None:
    for publication in publications:
        publication.check()
