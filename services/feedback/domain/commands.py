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


@dataclass(frozen=True)
class RecordOpinionCheck(Command):
    report_id: Id
    check: str
    passed: bool
    note: str


@dataclass(frozen=True)
class ReturnOpinionReport(Command):
    report_id: Id
    reason: str


@dataclass(frozen=True)
class ReviseOpinionReport(Command):
    report_id: Id
    title: str
    content: str
    category: str


@dataclass(frozen=True)
class CombineOpinionReports(Command):
    sources: tuple[Id, ...]
    title: str
    content: str
    category: str


@dataclass(frozen=True)
class AdoptOpinionReport(Command):
    report_id: Id
    note: str = ""


@dataclass(frozen=True)
class NotAdoptOpinionReport(Command):
    report_id: Id
    reason: str


@dataclass(frozen=True)
class ReportOpinion(Command):
    report_id: Id
    party_committee: bool = False
    government: bool = False
    upper: tuple[str, ...] = ()
    leaders: tuple[Id, ...] = ()


@dataclass(frozen=True)
class ForwardOpinion(Command):
    report_id: Id
    units: tuple[Id, ...]
    deadline: str


@dataclass(frozen=True)
class SendOpinionFeedback(Command):
    report_id: Id
    text: str


@dataclass(frozen=True)
class RecordLeaderInstruction(Command):
    report_id: Id
    text: str
    leader_level: str
    office: str
    leader: Id | None = None  # staff entering a paper instruction name the leader


@dataclass(frozen=True)
class InformSubmitter(Command):
    report_id: Id
    text: str
