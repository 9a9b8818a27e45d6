"""The feedback service: opinion reports 社情民意信息 (submission and lookup, for now).

It also takes up proposals that were not filed and converted into opinion reports 提案转社情民意
(the proposals service's ``ProposalConvertedToOpinionReport``, consumed by type name): each
becomes one report whose id derives from the proposal's, recorded with the kernel's effect
tracking, so a redelivered event changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from nameko.rpc import rpc

from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.context import CommandContext, MissingActor
from xieshang.kernel.domain import DomainError, InvalidCommand
from xieshang.kernel.envelope import Envelope, new_id
from xieshang.kernel.runtime import EventStoreDependency, RequestContext
from xieshang.kernel.store import ConcurrencyError, EventStore

from . import domain

EXPECTED = (DomainError, MissingActor, ConcurrencyError)
# Report ids of converted proposals: the same proposal always gives the same report.
CONVERTED = uuid.UUID("5b0e7c8e-3f7a-4d53-9a57-6f1d2c7e0a11")


class FeedbackService:
    """社情民意: members and informants submit opinion reports."""

    name = "feedback"

    store: EventStore = EventStoreDependency()
    context = RequestContext()
    tracking = EffectTracking()

    @handle_event("proposals", "ProposalConvertedToOpinionReport")
    def on_proposal_converted(self, envelope: Envelope) -> None:
        d = envelope.data
        report_id = str(uuid.uuid5(CONVERTED, d["proposal_id"]))
        stream = domain.opinion_stream(report_id)
        envelopes = self.store.read_stream(stream)
        state = domain.fold(report_id, [domain.registry.decode(e) for e in envelopes
                                        if e.type in domain.registry])
        events = domain.convert_proposal(state, proposal_id=d["proposal_id"], proposer=d["proposer"],
                                         title=d["title"], content=d["content"], category=d["category"])
        if events:
            ctx = CommandContext.caused_by(envelope, reason="proposal not filed, converted 提案转社情民意")
            self.store.append(stream, len(envelopes), [
                ctx.new_event(e.type_name(), e.to_data(), schema_version=e.SCHEMA_VERSION)
                for e in events], tracking=self.tracking(envelope))

    @rpc(expected_exceptions=EXPECTED)
    def submit_opinion_report(self, title: str, content: str, channel: str = "member",
                              category: str = "society") -> dict[str, Any]:
        ctx = self.context.get()
        report_id = new_id()
        events = domain.submit_opinion_report(ctx.actor, report_id, title=title, content=content,
                                              channel=channel, category=category)
        stream = domain.opinion_stream(report_id)
        last = self.store.append(stream, 0, [
            ctx.new_event(e.type_name(), e.to_data(), schema_version=e.SCHEMA_VERSION)
            for e in events])[-1]
        return {"report_id": report_id, "stream": stream, "version": last.version,
                "position": last.position, "event": last.type, "event_id": last.event_id}

    @rpc(expected_exceptions=EXPECTED)
    def get_opinion_report(self, report_id: str) -> dict[str, Any]:
        if not isinstance(report_id, str) or not report_id:
            raise InvalidCommand("bad report id", {"report_id": "the report's id"})
        envelopes = self.store.read_stream(domain.opinion_stream(report_id))
        events = [domain.registry.decode(e) for e in envelopes if e.type in domain.registry]
        state = domain.require(domain.fold(report_id, events))
        return {**state.to_dict(), "stream": domain.opinion_stream(report_id),
                "version": envelopes[-1].version}

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.store.head()}
