"""A tiny service for the levels tests: it sends link messages of its ``Send`` events through a
``LinkOutbox`` and records each link message it receives (``@link_inbox``) as a ``Received``
event, tracked by the origin event id; receiving a report it can answer with a decision."""

from __future__ import annotations

from dataclasses import dataclass, field

import uuid

from xieshang.kernel.envelope import SYSTEM_ACTOR, Deployment, Envelope, NewEvent
from xieshang.kernel.levels import LinkMessage, LinkOutbox, LinkTracking, link_inbox
from xieshang.kernel.runtime import EventStoreDependency
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.store.port import EventStore

# Three committees of the seeds, and the local broker's management API.
COUNTY = Deployment("640302", "county")   # 利通区政协
CITY = Deployment("640300", "city")       # 吴忠市政协
REGION = Deployment("640000", "province")  # 宁夏回族自治区政协
MANAGEMENT = "http://127.0.0.1:15672"

SERVICE = "levels_test"
SEND = "Send"
RECEIVED = "Received"


def mapper(envelope: Envelope, store: EventStore) -> list[LinkMessage]:
    """A ``Send`` event makes one message of its kind for its committee; nothing else does."""
    if envelope.type != SEND:
        return []
    d = envelope.data
    return [LinkMessage.of(envelope, d["kind"], d["to"], {"n": d["n"]})]


def send(kind: str, to: str, n: int) -> NewEvent:
    return NewEvent(SEND, {"kind": kind, "to": to, "n": n}, SYSTEM_ACTOR)


@dataclass
class Behaviour:
    """What the test's handler does; the test reads what it was called with."""

    reply: bool = False  # answer each report with a decision for its sender
    calls: list[LinkMessage] = field(default_factory=list)


def store_of(container) -> EventStore:  # noqa: ANN001
    """The running container's event store (the one its LinkOutbox relays)."""
    from nameko.testing.utils import get_extension

    return get_extension(container, EventStoreDependency).holder.store


def make_level_service(behaviour: Behaviour) -> type:
    class LevelService:
        name = SERVICE
        store = EventStoreDependency()
        outbox = LinkOutbox(mapper, poll_interval=0.1)
        tracking = LinkTracking()

        @link_inbox()
        def on_link_message(self, message: LinkMessage) -> None:
            behaviour.calls.append(message)
            events = [NewEvent(RECEIVED, {"origin": message.event_id, "kind": message.kind,
                                          "from": message.sender.committee, "n": message.payload["n"],
                                          "origin_hash": message.hash,
                                          "origin_position": message.position}, SYSTEM_ACTOR,
                               causation_id=message.event_id)]
            if behaviour.reply and message.kind == "opinion.reported":
                events.append(send("opinion.decided", message.sender.committee,
                                   message.payload["n"]))
            self.store.append(f"received-{message.event_id}", None, events,
                              tracking=self.tracking(message))

    return LevelService


def envelope(deployment: Deployment = COUNTY, type_: str = SEND, **data) -> Envelope:
    """One stored event of ``deployment`` (a fresh in-memory log)."""
    store = MemoryEventStore(deployment)
    return store.append(f"report-{uuid.uuid4().hex[:12]}", None,
                        [NewEvent(type_, data or {"n": 1}, SYSTEM_ACTOR)])[0]


def report(to: str = CITY.committee, sender: Deployment = COUNTY, kind: str = "opinion.reported",
           n: int = 1) -> LinkMessage:
    """A link message of ``kind`` from ``sender`` to ``to``."""
    return LinkMessage.of(envelope(sender, n=n), kind, to, {"n": n, "title": "关于加强农村饮水安全的建议"})
