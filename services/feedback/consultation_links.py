"""A consultation's result taken up by the proposals service as a collective proposal 协商成果转集体
提案: the link back.

``convert_consultation_result(…, into="proposal", body=…)`` records ``ConsultationResultConverted``
on the consultation with no target yet. The proposals service takes that event up, submits the
collective proposal of the body (its id derived from the conversion event) and records
``ProposalTakenUpFromConsultation`` (proposal id, consultation id, the conversion's event id).
This mixin consumes that event and records ``ConsultationLinkedToProposal`` on the consultation's
stream, as the system, caused by the proposals event: the consultation and the proposal then name
each other. Once per proposal: the kernel's effect tracking with the append, and the stream's own
links (a second proposals event naming the same proposal links nothing twice). A proposals event
naming a consultation or a conversion this log does not have links nothing (logged by ids only).
"""

from __future__ import annotations

import logging
from typing import Iterable

from xieshang.kernel.consumer import handle_event
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainEvent
from xieshang.kernel.envelope import Envelope

from .domain.events import ConsultationLinkedToProposal
from .domain.vocabulary import consultation_stream

log = logging.getLogger(__name__)

# The proposals service's event this mixin takes up (its contract names it).
TAKEN_UP = "ProposalTakenUpFromConsultation"


def linked_proposals(events: Iterable[DomainEvent]) -> frozenset[str]:
    """The proposals a consultation's stream names as linked already."""
    return frozenset(e.proposal_id for e in events if isinstance(e, ConsultationLinkedToProposal))


def link_to_proposal(linked: frozenset[str], *, consultation_id: str, proposal_id: str,
                     source_event_id: str) -> list[DomainEvent]:
    """The link, unless the consultation names the proposal already."""
    if proposal_id in linked:
        return []
    return [ConsultationLinkedToProposal(consultation_id=consultation_id, proposal_id=proposal_id,
                                         source_event_id=source_event_id)]


class ConsultationLinks:
    """The proposals service's events that link a consultation to its proposal (mixed in)."""

    @handle_event("proposals", TAKEN_UP)
    def on_proposal_taken_up_from_consultation(self, envelope: Envelope) -> None:
        d = envelope.data
        consultation_id, proposal_id = str(d["consultation_id"]), str(d["proposal_id"])
        stream = consultation_stream(consultation_id)
        conversion = str(d.get("source_event_id") or "")
        if not any(e.event_id == conversion and e.type == "ConsultationResultConverted"
                   for e in self.streams.store.read_stream(stream)):
            log.warning("proposal %s names conversion %s, not on %s: not linked", proposal_id,
                        conversion, stream)
            return
        ctx = CommandContext.caused_by(envelope, reason="a consultation's result became a proposal 协商成果转集体提案")
        self.streams.decide(ctx, stream, linked_proposals,
                            lambda linked: link_to_proposal(linked, consultation_id=consultation_id,
                                                            proposal_id=proposal_id,
                                                            source_event_id=envelope.event_id),
                            retry=True, tracking=self.tracking(envelope))
