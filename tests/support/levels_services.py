"""A tiny service for the levels tests: it sends link messages of its ``Send`` events through a
``LinkOutbox`` and records each link message it receives (``@link_inbox``) as a ``Received``
event, tracked by the origin event id; receiving a report it can answer with a decision."""

from __future__ import annotations

from dataclasses import dataclass, field

from xieshang.kernel.envelope import SYSTEM_ACTOR, Envelope, NewEvent
from xieshang.kernel.levels import LinkMessage, LinkOutbox, LinkTracking, link_inbox
from xieshang.kernel.runtime import EventStoreDependency
from xieshang.kernel.store.port import EventStore

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
