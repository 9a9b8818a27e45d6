"""What callers ask of the feedback service, parsed once at the edge."""

from __future__ import annotations

from dataclasses import dataclass

from xieshang.kernel.commands import Command, Id


@dataclass(frozen=True)
class SubmitOpinionReport(Command):
    title: str
    content: str
    channel: str = "member"
    category: str = "society"


@dataclass(frozen=True)
class TakeUpConvertedProposal(Command):
    """A proposal not filed and converted 提案转社情民意 (from the proposals service's event)."""

    proposal_id: Id
    proposer: Id
    title: str
    content: str
    category: str
