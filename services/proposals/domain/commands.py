"""The commands of the proposals service: one frozen dataclass per RPC command, parsed once at
the edge (``ReturnProposal.parse(**arguments)``), which settles their shape; what a field
means (a title's length, a category, a deadline after today) the decisions check."""

from __future__ import annotations

from dataclasses import dataclass

from xieshang.kernel.commands import Command, Id


# -- 提: submission -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SubmitProposal(Command):
    title: str
    reasons: str
    suggestions: str
    category: str
    co_signers: tuple[str, ...] = ()
    kind: str | None = None
    session: str = ""               # "": this year's session
    body: dict | None = None        # a collective proposal's body: {"type": …, "name": …}
    publish_consent: bool = False


@dataclass(frozen=True)
class TakeUpConsultationResult(Command):
    """A consultation's result converted into a collective proposal 协商成果转集体提案 (from the
    feedback service's ConsultationResultConverted, into ``proposal``)."""

    consultation_id: Id
    title: str
    content: str
    category: str
    body: dict | None
    converted_by: Id              # the staff member who converted it (the event's actor)


@dataclass(frozen=True)
class ConfirmCoSignature(Command):
    proposal_id: Id


@dataclass(frozen=True)
class DeclineCoSignature(Command):
    proposal_id: Id


# -- 立: review ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReturnProposal(Command):
    proposal_id: Id
    reason: str


@dataclass(frozen=True)
class ReviseProposal(Command):
    proposal_id: Id
    title: str
    reasons: str
    suggestions: str
    category: str


@dataclass(frozen=True)
class FileProposal(Command):
    proposal_id: Id


@dataclass(frozen=True)
class NotFileProposal(Command):
    proposal_id: Id
    reason: str
    conversion: str | None = None


@dataclass(frozen=True)
class MergeProposal(Command):
    proposal_id: Id
    into: Id


# -- 交、办: assignment and handling -------------------------------------------------------------

@dataclass(frozen=True)
class AssignProposal(Command):
    proposal_id: Id
    lead_unit: Id
    co_units: tuple[str, ...] = ()
    deadline: str | None = None     # an ISO date fixed by staff (else counted by the rules)
    urgent: bool = False


@dataclass(frozen=True)
class ObjectToAssignment(Command):
    proposal_id: Id
    reason: str


@dataclass(frozen=True)
class DismissObjection(Command):
    proposal_id: Id
    unit: Id
    reason: str


@dataclass(frozen=True)
class ReassignProposal(Command):
    proposal_id: Id
    lead_unit: Id
    co_units: tuple[str, ...] = ()
    deadline: str | None = None


@dataclass(frozen=True)
class RecordContact(Command):
    proposal_id: Id
    stage: str
    summary: str


@dataclass(frozen=True)
class SendCoUnitOpinion(Command):
    proposal_id: Id
    opinion: str


@dataclass(frozen=True)
class ReplyToProposal(Command):
    proposal_id: Id
    reply_class: str
    reply: str


# -- 督: supervision ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DesignateKeyProposal(Command):
    proposal_id: Id
    supervisors: tuple[str, ...]
    mode: str


@dataclass(frozen=True)
class RecordSupervision(Command):
    proposal_id: Id
    kind: str
    note: str


# -- 评: evaluation -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RateReply(Command):
    proposal_id: Id
    reply_rating: str
    attitude_rating: str


@dataclass(frozen=True)
class RecordFollowUp(Command):
    proposal_id: Id
    note: str
    kept: bool


@dataclass(frozen=True)
class CloseProposal(Command):
    proposal_id: Id


# -- publication and comments -------------------------------------------------------------------

@dataclass(frozen=True)
class SetPublicationConsent(Command):
    proposal_id: Id
    consent: bool


@dataclass(frozen=True)
class PublishProposal(Command):
    proposal_id: Id
    proposer_names: tuple[str, ...] | None = None   # refused: the names come from the directory


@dataclass(frozen=True)
class UnpublishProposal(Command):
    proposal_id: Id
    reason: str


@dataclass(frozen=True)
class SubmitComment(Command):
    proposal_id: Id
    text: str
    display_name: str
    comment_id: Id | None = None    # None: the service gives it one


@dataclass(frozen=True)
class ModerateComment(Command):
    proposal_id: Id
    comment_id: Id
    approve: bool
    reason: str | None = None


@dataclass(frozen=True)
class AnswerComment(Command):
    proposal_id: Id
    comment_id: Id
    answer: str


# -- deadlines: the committee's rules and holiday calendar --------------------------------------

@dataclass(frozen=True)
class SetHandlingRules(Command):
    rules: dict


@dataclass(frozen=True)
class AmendHolidayCalendar(Command):
    add_holidays: tuple[str, ...] = ()
    remove_holidays: tuple[str, ...] = ()
    add_workdays: tuple[str, ...] = ()
    remove_workdays: tuple[str, ...] = ()
