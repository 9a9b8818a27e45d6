"""The feedback service: opinion reports 社情民意信息 (submission and lookup, for now).

It also takes up proposals that were not filed and converted into opinion reports 提案转社情民意
(the proposals service's ``ProposalConvertedToOpinionReport``, decoded through the proposals
contract): each becomes one report whose id derives from the proposal's, recorded with the
kernel's effect tracking, so a redelivered event changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from xieshang.kernel.rpc import rpc  # nameko's @rpc, its queue declared as configured

from xieshang.kernel.clock import Clock, ClockProvider
from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import Envelope, new_id
from xieshang.kernel.ids import check_id
from xieshang.kernel.runtime import EXPECTED, RequestContext, WritePath
from xieshang.kernel.streams import Streams

from . import domain
from .domain import commands

# Report ids of converted proposals: the same proposal always gives the same report.
CONVERTED = uuid.UUID("5b0e7c8e-3f7a-4d53-9a57-6f1d2c7e0a11")


class FeedbackService:
    """社情民意: members and informants submit opinion reports."""

    name = "feedback"

    streams: Streams = WritePath(domain.registry)
    context = RequestContext()
    tracking = EffectTracking()
    clock: Clock = ClockProvider()

    @handle_event("proposals", "ProposalConvertedToOpinionReport")
    def on_proposal_converted(self, envelope: Envelope) -> None:
        d = envelope.data
        cmd = commands.TakeUpConvertedProposal.parse(
            proposal_id=d["proposal_id"], proposer=d["proposer"], title=d["title"],
            content=d["content"], category=d["category"])
        report_id = str(uuid.uuid5(CONVERTED, cmd.proposal_id))
        ctx = CommandContext.caused_by(envelope, reason="proposal not filed, converted 提案转社情民意")
        self.streams.decide(ctx, domain.opinion_stream(report_id), _report(report_id),
                            lambda state: domain.convert_proposal(state, cmd),
                            retry=True, tracking=self.tracking(envelope))

    @rpc(expected_exceptions=EXPECTED)
    def submit_opinion_report(self, title: str, content: str, channel: str = "member",
                              category: str = "society") -> dict[str, Any]:
        cmd = commands.SubmitOpinionReport.parse(title=title, content=content, channel=channel,
                                                 category=category)
        ctx = self.context.get()
        report_id = new_id()
        stream = domain.opinion_stream(report_id)
        envelopes = self.streams.record(ctx, stream, 0, domain.submit_opinion_report(ctx.actor, report_id, cmd))
        return self.streams.receipt(stream, envelopes, {"report_id": report_id}).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def get_opinion_report(self, report_id: str) -> dict[str, Any]:
        stream = domain.opinion_stream(check_id(report_id, "report_id"))
        loaded = self.streams.load(stream, _report(report_id))
        return {**domain.require(loaded.state).to_dict(), "stream": stream, "version": loaded.version}

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.streams.store.head()}


def _report(report_id: str):
    return lambda events: domain.fold(report_id, events)
