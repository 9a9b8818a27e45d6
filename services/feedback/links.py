"""The feedback service's side of the links between committees (ADR 0009, docs/feedback.md).

Outbound (``outbound``, run by the kernel's ``LinkOutbox`` over this service's log, in order,
at least once): an ``OpinionReportReported`` naming upper committees becomes one
``opinion.reported`` message per committee; a decision recorded here on a report received from
below becomes an ``opinion.decided`` message to the committee it came from. Inbound (``take``,
from the kernel's ``link_inbox`` once the message passed the link's checks): a report from below
is recorded as ``OpinionReceivedFromBelow``, a decision from above as ``OpinionDecidedAbove`` on
our report; each append is tracked by the sender's event id, so a message delivered twice
records nothing.

Anchored history (``xieshang.kernel.anchoring``): each ``LogCheckpointed`` of this log goes up as
a ``log.checkpointed`` message to every upper committee linked, and one received from below is
kept as ``CheckpointReceived`` on ``lower-checkpoints-<committee>``, out of that committee's
reach (``xieshang history`` of that stream is the file its ``verify --checkpoints`` takes).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable, Mapping

from xieshang.kernel.anchoring import (CHECKPOINT_TYPE, LINK_KIND, checkpoints_up, kept_stream,
                                       received_checkpoint)
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import InvalidCommand
from xieshang.kernel.envelope import Actor, Deployment, Envelope
from xieshang.kernel.levels import LinkMessage, LinkOutbox, LinkOutboxState, link_inbox
from xieshang.kernel.store.port import EventStore, Tracking
from xieshang.kernel.streams import Streams

from . import domain
from .domain.events import OpinionReceivedFromBelow, OpinionReportReported

REPORTED, DECIDED, CHECKPOINTED = "opinion.reported", "opinion.decided", LINK_KIND
ORIGINS_KEPT = 4096


def upper_codes(outbox: LinkOutboxState) -> tuple[str, ...]:
    """The upper committees this deployment reports to (its configured links)."""
    return tuple(link.committee for link in outbox.links.upper)


def names(outbox: LinkOutboxState) -> dict[str, str]:
    """The linked committees' names by code."""
    return {link.committee: link.name for link in outbox.links}


def describe(outbox: LinkOutboxState) -> dict[str, Any]:
    """This deployment and the committees it is linked to (no addresses, no credentials)."""
    return {"committee": outbox.deployment.committee, "level": outbox.deployment.level,
            "upper": [link.to_dict() for link in outbox.links.upper],
            "lower": [link.to_dict() for link in outbox.links.lower]}


# -- outbound ----------------------------------------------------------------------------------

class _Origins:
    """Which reports came from below (by stream), read once: a stream's first event never changes."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, OpinionReceivedFromBelow | None] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, store: EventStore, stream: str) -> OpinionReceivedFromBelow | None:
        with self._lock:
            if stream in self._kept:
                return self._kept[stream]
        first = next(iter(store.read_stream(stream)), None)
        origin = None
        if first is not None and first.type == OpinionReceivedFromBelow.type_name():
            origin = domain.registry.decode(first)
        with self._lock:
            self._kept[stream] = origin
            while len(self._kept) > ORIGINS_KEPT:
                self._kept.popitem(last=False)
        return origin


def outbound_mapper(uppers: Callable[[], Iterable[str]] = tuple
                    ) -> Callable[[Envelope, EventStore], list[LinkMessage]]:
    """The mapper of this service's link outbox (one per container: it keeps what it read);
    ``uppers()``: the codes of the upper committees linked, which this log's checkpoints go to."""
    origins = _Origins()
    checkpoints = checkpoints_up(uppers)

    def messages(envelope: Envelope, store: EventStore) -> list[LinkMessage]:
        if envelope.type == CHECKPOINT_TYPE:
            return checkpoints(envelope, store)
        if envelope.type not in domain.registry:
            return []
        event = domain.registry.decode(envelope)
        out: list[LinkMessage] = []
        if isinstance(event, OpinionReportReported):
            payload = domain.reported_payload(event)
            out += [LinkMessage.of(envelope, REPORTED, code, payload) for code in event.upper]
        decision = domain.decision_for_below(event)
        if decision is not None:
            origin = origins.of(store, envelope.stream)
            if origin is not None:
                kind, detail = decision
                out.append(LinkMessage.of(envelope, DECIDED, origin.origin_committee, {
                    "report_id": origin.origin_report_id, "upper_report_id": origin.report_id,
                    "decision": kind, "detail": detail}))
        return out

    return messages


class _Outbox(LinkOutbox):
    def __init__(self, **kw: Any):
        super().__init__(lambda envelope, store: self._mapper(envelope, store), **kw)

    def setup(self) -> None:
        self._mapper = outbound_mapper(lambda: [link.committee for link in self.links.upper])
        super().setup()


def outbox() -> LinkOutbox:
    """The link outbox of the feedback service (a dependency: ``link_outbox = links.outbox()``)."""
    return _Outbox()


def inbox():
    """The entrypoint of the link inbox (``@links.inbox()`` on the one handler)."""
    return link_inbox()


# -- inbound -----------------------------------------------------------------------------------

def committee_actor(deployment: Deployment) -> Actor:
    """Who records what another committee sent: that committee, acting as a system."""
    return Actor(f"committee:{deployment.committee}", "system", deployment.committee)


def take(streams: Streams, message: LinkMessage, tracking: Callable[[LinkMessage], Tracking]) -> None:
    """Record what ``message`` says, once (``tracking``: the inbox's, by the sender's event id)."""
    sender = message.sender
    payload: Mapping[str, Any] = message.payload
    if message.kind == CHECKPOINTED:
        keep_checkpoint(streams, message, tracking)
        return
    if message.kind == REPORTED:
        origin_report = str(payload.get("report_id") or "")
        report_id = domain.received_report_id(sender.committee, origin_report)
        ctx = CommandContext(actor=committee_actor(sender), causation_id=message.event_id,
                             reason=f"reported by committee {sender.committee} 下级政协报送")
        streams.decide(ctx, domain.opinion_stream(report_id), domain.report_fold(report_id),
                       lambda state: domain.receive_from_below(
                           state, origin_committee=sender.committee, origin_level=sender.level,
                           origin_event_id=message.event_id, origin_position=message.position,
                           origin_hash=message.hash, payload=payload),
                       retry=True, tracking=tracking(message))
        return
    report_id = str(payload.get("report_id") or "")
    ctx = CommandContext(actor=committee_actor(sender), causation_id=message.event_id,
                         reason=f"decided by committee {sender.committee} 上级政协处理情况")
    streams.decide(ctx, domain.opinion_stream(report_id), domain.report_fold(report_id),
                   lambda state: domain.record_decision_from_above(
                       state, own_committee=message.to, upper_committee=sender.committee,
                       upper_level=sender.level,
                       upper_report_id=str(payload.get("upper_report_id") or ""),
                       upper_event_id=message.event_id, upper_position=message.position,
                       upper_hash=message.hash, decision=str(payload.get("decision") or ""),
                       detail=payload.get("detail") if isinstance(payload.get("detail"), dict) else {}),
                   retry=True, tracking=tracking(message))


def keep_checkpoint(streams: Streams, message: LinkMessage,
                    tracking: Callable[[LinkMessage], Tracking]) -> None:
    """Keep a lower committee's checkpoint as it came (its signature is the lower committee's to
    check, with its key, when it verifies its log against what is kept here), once. A payload
    that is no checkpoint of the sender's is refused (the inbox dead-letters it)."""
    sender = message.sender
    try:
        event = received_checkpoint(message.payload, committee=sender.committee,
                                    level=sender.level, origin_event_id=message.event_id,
                                    origin_position=message.position, origin_hash=message.hash)
    except ValueError as exc:
        raise InvalidCommand(("a checkpoint from below is malformed", "下级政协的检查点格式不对"),
                             {"payload": str(exc)}) from None
    ctx = CommandContext(actor=committee_actor(sender), causation_id=message.event_id,
                         reason=f"checkpoint of committee {sender.committee} 下级政协日志封存")
    streams.record(ctx, kept_stream(sender.committee), None, [event], tracking=tracking(message))
