"""Where credits come from outside this service: the proposals service's events (by type name
and data, the contract being services/proposals' events, not imported), and what this service
notes about a proposal case (stream ``case-<proposal id>``) so that a key designation credits
every proposer whichever of the events arrives first."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from xieshang.kernel.domain import DomainEvent

from .events import CaseKeyDesignationNoted, CaseProposersNoted
from .points import Credit
from .vocabulary import PROPOSALS


def proposal_credits(event_type: str, data: Mapping[str, Any], *, event_id: str, stream: str,
                     year: int) -> list[Credit]:
    """The credits a proposals event earns directly (key designations need the case's
    proposers: see ``CaseNotes``)."""
    def credit(member: Any, activity: str, note: str = "") -> Credit:
        return Credit(str(member), activity, PROPOSALS, event_id, stream, year, event_id, note)

    title = str(data.get("title") or "")
    if event_type == "ProposalSubmitted":
        return [credit(data["proposer"], "proposal_submitted", f"提交提案《{title}》")]
    if event_type == "ProposalFiled":
        return [credit(data["proposer"], "proposal_filed",
                       f"提案立案 {data.get('case_number', '')}".strip())]
    if event_type == "CoSignatureConfirmed":
        return [credit(data["co_signer"], "proposal_co_signed")]
    if event_type == "MergedProposalAdded":
        return [credit(p, "proposal_merged") for p in dict.fromkeys(data.get("proposers") or ())]
    if event_type == "ReplyRated":
        return [credit(data["rater"], "reply_rated", f"第{data.get('round', 1)}轮答复评价")]
    return []


@dataclass(frozen=True)
class CaseNotes:
    """What this service learnt about one proposal: its proposers and its key designation."""

    proposal_id: str
    proposers: tuple[str, ...] = ()
    key: CaseKeyDesignationNoted | None = None


def fold_case(proposal_id: str, events: Iterable[DomainEvent], initial: CaseNotes | None = None) -> CaseNotes:
    """The case after ``events`` (applied to ``initial``, by default a case nothing is known of)."""
    state = initial or CaseNotes(proposal_id)
    for e in events:
        if isinstance(e, CaseProposersNoted):
            state = dataclasses.replace(state, proposers=tuple(dict.fromkeys((*state.proposers, *e.proposers))))
        elif isinstance(e, CaseKeyDesignationNoted) and state.key is None:
            state = dataclasses.replace(state, key=e)
    return state


def note_case(case: CaseNotes, event_type: str, data: Mapping[str, Any], *, event_id: str,
              stream: str, year: int) -> list[DomainEvent]:
    """Note the proposers (ProposalSubmitted, MergedProposalAdded) or the key designation
    (ProposalDesignatedKey) of a case, if they are new."""
    if event_type in ("ProposalSubmitted", "MergedProposalAdded"):
        people = ([data["proposer"]] if event_type == "ProposalSubmitted"
                  else list(data.get("proposers") or ()))
        new = [p for p in dict.fromkeys(people) if p not in case.proposers]
        return [CaseProposersNoted(proposal_id=case.proposal_id, proposers=new,
                                   source_event_id=event_id)] if new else []
    if event_type == "ProposalDesignatedKey" and case.key is None:
        return [CaseKeyDesignationNoted(proposal_id=case.proposal_id, source_event_id=event_id,
                                        source_stream=stream, year=year)]
    return []


def key_credits(case: CaseNotes) -> list[Credit]:
    """Every proposer of a key case earns ``proposal_made_key`` once per case, whenever both
    the designation and the proposer are known (in whichever order they arrived)."""
    if case.key is None:
        return []
    k = case.key
    return [Credit(p, "proposal_made_key", PROPOSALS, k.source_event_id, k.source_stream, k.year,
                   f"key:{case.proposal_id}", "提案列为重点提案") for p in case.proposers]

