"""The feedback service: opinion reports 社情民意信息 (submission and lookup, for now)."""

from __future__ import annotations

from typing import Any

from nameko.rpc import rpc

from xieshang.kernel.context import MissingActor
from xieshang.kernel.domain import DomainError, InvalidCommand
from xieshang.kernel.envelope import new_id
from xieshang.kernel.runtime import EventStoreDependency, RequestContext
from xieshang.kernel.store import ConcurrencyError, EventStore

from . import domain

EXPECTED = (DomainError, MissingActor, ConcurrencyError)


class FeedbackService:
    """社情民意: members and informants submit opinion reports."""

    name = "feedback"

    store: EventStore = EventStoreDependency()
    context = RequestContext()

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
