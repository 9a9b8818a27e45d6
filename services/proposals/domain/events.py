"""The proposals service's published events: its contract with the world (docs/events.md).

These are what the service records and what its relay publishes to ``proposals.events``.
Other services decode them through ``registry`` (the kernel loads this module by name,
``services.proposals.domain.events``), so it imports nothing but the kernel.

Streams: ``proposal-<id>`` (one case, from submission on), ``casenumbers-<session>`` (the case
numbers 案号 of one session, handed out one after the other so that they are unique,
sequential and gap-free) and ``handling-rules`` (the committee's deadline rules and holiday
calendar).

Events never carry contact details: people are named by member or user id only. ``proposers``
on the events that concern them (returned, not filed, assigned, reassigned, replied, handled
again, closed) is everyone credited at that moment (the proposer, the confirmed co-signers, the
proposers of merged cases), so that a subscriber tells them all without folding the case. A rating
(``ReplyRated``) is confidential to the committee ("背靠背"): no read model shows it to a unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xieshang.kernel.directory import DirectoryEntryNoted
from xieshang.kernel.domain import DomainEvent, EventRegistry
from xieshang.kernel.anchoring import register_checkpoint_events
from xieshang.kernel.integration import NOTHING_WITHHELD, Publication

registry = EventRegistry()

@registry.register
@dataclass(frozen=True)
class ProposalSubmitted(DomainEvent):
    """A proposal was submitted 提交提案.

    ``kind``: individual 个人, joint 联名 (``co_signers`` must confirm by ``co_sign_deadline``
    before it can be filed), or collective 集体 (by ``body``, e.g. ``{"type": "sector",
    "name": "经济界"}``, ``proposer`` being the member who entered it for the body).
    ``session`` 届次/会次 labels the case numbers; ``publish_consent``: the proposer agreed to
    publication of the proposal and its reply. ``source``: where a proposal the committee took
    up from elsewhere came from, e.g. ``consultation:<id>`` for a consultation's result 协商成果
    (then ``proposer`` is the staff member who converted it: no member's duty points).
    """

    proposal_id: str
    proposer: str
    title: str
    reasons: str
    suggestions: str
    category: str
    co_signers: list[str] = field(default_factory=list)
    kind: str = "individual"
    session: str = ""
    body: dict[str, str] | None = None
    co_sign_deadline: str | None = None
    publish_consent: bool = False
    source: str | None = None


@registry.register
@dataclass(frozen=True)
class CoSignatureConfirmed(DomainEvent):
    """A co-signer of a joint proposal confirmed 附议确认."""

    proposal_id: str
    co_signer: str


@registry.register
@dataclass(frozen=True)
class CoSignatureDeclined(DomainEvent):
    """A co-signer declined; the proposal goes on without them."""

    proposal_id: str
    co_signer: str


@registry.register
@dataclass(frozen=True)
class ProposalReturned(DomainEvent):
    """Staff returned the proposal for revision 退回修改 (the reason is in the envelope and here)."""

    proposal_id: str
    reason: str
    proposers: list[str] = field(default_factory=list)  # everyone credited, at the time


@registry.register
@dataclass(frozen=True)
class ProposalRevised(DomainEvent):
    """The proposer revised a returned proposal; it is submitted again."""

    proposal_id: str
    title: str
    reasons: str
    suggestions: str
    category: str


@registry.register
@dataclass(frozen=True)
class CaseNumberAssigned(DomainEvent):
    """Case number ``case_number`` (the ``sequence``-th of ``session``) went to ``proposal_id``."""

    session: str
    sequence: int
    case_number: str
    proposal_id: str


@registry.register
@dataclass(frozen=True)
class CaseNumberReleased(DomainEvent):
    """A case number assigned to a proposal that was then not filed is free again: the next
    filing of the session takes it, so the numbers stay gap-free."""

    session: str
    sequence: int
    case_number: str
    proposal_id: str


@registry.register
@dataclass(frozen=True)
class ProposalFiled(DomainEvent):
    """The proposal committee filed the proposal 立案 under ``case_number`` 案号.

    Carries the proposers so that duty points and notifications need no lookup.
    """

    proposal_id: str
    case_number: str
    proposer: str
    title: str
    category: str
    co_signers: list[str] = field(default_factory=list)
    session: str = ""
    kind: str = "individual"


@registry.register
@dataclass(frozen=True)
class ProposalNotFiled(DomainEvent):
    """Not filed 不予立案, with the reason; ``conversion`` says whether it goes on as an opinion
    report 转社情民意 or a letter of suggestion 转意见建议 (None: neither)."""

    proposal_id: str
    proposer: str
    reason: str
    conversion: str | None = None
    proposers: list[str] = field(default_factory=list)  # everyone credited, at the time


@registry.register
@dataclass(frozen=True)
class ProposalConvertedToOpinionReport(DomainEvent):
    """A proposal that was not filed becomes an opinion report: the feedback service takes it
    up from this event (it carries everything the report needs)."""

    proposal_id: str
    proposer: str
    title: str
    content: str
    category: str


@registry.register
@dataclass(frozen=True)
class ProposalTakenUpFromConsultation(DomainEvent):
    """A consultation's result 协商成果 became this collective proposal 集体提案 of ``body``
    ({type, name}): the proposals service took up the feedback service's
    ``ConsultationResultConverted`` (its event ``source_event_id``, into ``proposal``) and
    submitted the proposal (``ProposalSubmitted`` with source ``consultation:<id>``, in the same
    append). The feedback service links the consultation to the proposal from this event."""

    proposal_id: str
    consultation_id: str
    source_event_id: str
    title: str
    body: dict[str, str]


@registry.register
@dataclass(frozen=True)
class ProposalMerged(DomainEvent):
    """This proposal was merged 并案 into ``into``: it is handled there, and its proposers keep
    their credit as proposers of the surviving case."""

    proposal_id: str
    into: str
    proposers: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class MergedProposalAdded(DomainEvent):
    """Proposal ``merged_id`` was merged into this one; ``proposers`` join this case's proposers."""

    proposal_id: str
    merged_id: str
    proposers: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class ProposalAssigned(DomainEvent):
    """Staff assigned the proposal 交办 to a lead unit 主办 and co-handling units 会办 for
    handling round ``round`` (1 here), to reply by ``deadline``.

    ``period_days`` and ``counting`` say how the deadline was counted from ``started_on``, so it
    can be counted again when the holiday calendar changes; ``fixed_deadline``: staff set the
    date themselves (an urgent case), and it is never recounted.
    """

    proposal_id: str
    case_number: str
    title: str
    proposer: str
    round: int
    lead_unit: str
    co_units: list[str]
    started_on: str
    deadline: str
    period_days: int
    counting: str
    fixed_deadline: bool = False
    proposers: list[str] = field(default_factory=list)  # everyone credited, at the time


@registry.register
@dataclass(frozen=True)
class AssignmentObjected(DomainEvent):
    """A unit objected to its assignment 申请调整 within the objection period."""

    proposal_id: str
    round: int
    unit: str
    reason: str


@registry.register
@dataclass(frozen=True)
class ObjectionDismissed(DomainEvent):
    """Staff kept the assignment despite the unit's objection."""

    proposal_id: str
    round: int
    unit: str
    reason: str


@registry.register
@dataclass(frozen=True)
class ProposalReassigned(DomainEvent):
    """Staff changed the units of the current round; its deadline is counted anew from
    ``started_on`` (the reassignment)."""

    proposal_id: str
    case_number: str
    round: int
    lead_unit: str
    co_units: list[str]
    previous_lead_unit: str
    started_on: str
    deadline: str
    period_days: int
    counting: str
    fixed_deadline: bool = False
    proposers: list[str] = field(default_factory=list)  # everyone credited, at the time


@registry.register
@dataclass(frozen=True)
class ContactRecorded(DomainEvent):
    """A unit met or contacted the proposer before, during or after handling 办前/办中/办后见面."""

    proposal_id: str
    round: int
    unit: str
    stage: str
    summary: str


@registry.register
@dataclass(frozen=True)
class CoUnitOpinionSent(DomainEvent):
    """A co-handling unit sent its opinion to the lead unit."""

    proposal_id: str
    round: int
    unit: str
    lead_unit: str
    opinion: str


@registry.register
@dataclass(frozen=True)
class ProposalReplied(DomainEvent):
    """The lead unit replied 答复 in round ``round``, classed A, B or C (see REPLY_CLASSES).

    ``on_time`` says whether the reply came by the round's deadline (the unit's on-time rate).
    """

    proposal_id: str
    case_number: str
    title: str
    proposer: str
    unit: str
    reply_class: str
    reply: str
    on_time: bool
    round: int = 1
    replied_on: str = ""
    deadline: str = ""
    proposers: list[str] = field(default_factory=list)  # everyone credited, at the time


@registry.register
@dataclass(frozen=True)
class ReplyDueSoon(DomainEvent):
    """A reminder: the reply of round ``round`` is due in ``days_before`` days."""

    proposal_id: str
    case_number: str
    round: int
    unit: str
    deadline: str
    days_before: int


@registry.register
@dataclass(frozen=True)
class ReplyOverdue(DomainEvent):
    """The reply of round ``round`` is overdue; escalated to ``escalate_to`` (the key proposal's
    supervisors, or the proposal committee). Raised once per round."""

    proposal_id: str
    case_number: str
    round: int
    unit: str
    deadline: str
    days_overdue: int
    escalate_to: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class ReplyDeadlineMoved(DomainEvent):
    """The deadline of round ``round`` was counted again (the holiday calendar changed)."""

    proposal_id: str
    round: int
    previous: str
    deadline: str


@registry.register
@dataclass(frozen=True)
class ProposalDesignatedKey(DomainEvent):
    """Chosen as a key proposal 重点提案, supervised by ``supervisors`` (leader user ids) in
    ``mode`` (see SUPERVISION_MODES)."""

    proposal_id: str
    case_number: str
    supervisors: list[str]
    mode: str


@registry.register
@dataclass(frozen=True)
class SupervisionRecorded(DomainEvent):
    """A supervisor (or staff) recorded supervision of a key proposal: an inspection 视察,
    a supervision meeting 督办会, research, …"""

    proposal_id: str
    supervisor: str
    kind: str
    note: str


@registry.register
@dataclass(frozen=True)
class ReplyRated(DomainEvent):
    """A proposer rated the reply of round ``round`` and the unit's contact attitude
    ("背靠背": confidential, never shown to the unit)."""

    proposal_id: str
    round: int
    rater: str
    unit: str
    reply_rating: str
    attitude_rating: str


@registry.register
@dataclass(frozen=True)
class RehandlingStarted(DomainEvent):
    """Every proposer rated round ``round - 1`` and at least one was unsatisfied: the case is
    handled again 重新办理 by the same units, with a new deadline. Every round is kept."""

    proposal_id: str
    case_number: str
    round: int
    lead_unit: str
    co_units: list[str]
    started_on: str
    deadline: str
    period_days: int
    counting: str
    proposers: list[str] = field(default_factory=list)  # everyone credited, at the time


@registry.register
@dataclass(frozen=True)
class FollowUpRecorded(DomainEvent):
    """Follow-up 跟踪落实 of a B-class reply: what was done; ``kept``: the promise is kept."""

    proposal_id: str
    round: int
    note: str
    kept: bool


@registry.register
@dataclass(frozen=True)
class ProposalClosed(DomainEvent):
    """The case is closed 办结."""

    proposal_id: str
    case_number: str
    rounds: int
    reply_class: str
    proposers: list[str] = field(default_factory=list)  # everyone credited, at the time


@registry.register
@dataclass(frozen=True)
class PublicationConsentChanged(DomainEvent):
    """The proposer agreed to (or withdrew consent from) publication of the case."""

    proposal_id: str
    proposer: str
    consent: bool


@registry.register
@dataclass(frozen=True)
class ProposalPublished(DomainEvent):
    """Published 公开: the proposal, its reply and approved comments become public, under
    ``proposer_names`` (the names the proposers agreed to show)."""

    proposal_id: str
    case_number: str
    proposer_names: list[str]


@registry.register
@dataclass(frozen=True)
class ProposalUnpublished(DomainEvent):
    """Withdrawn from publication."""

    proposal_id: str
    reason: str


@registry.register
@dataclass(frozen=True)
class CommentSubmitted(DomainEvent):
    """Someone commented on a published case 我评论; it waits for moderation 审核.
    ``author`` is the commenter's user id (never shown publicly); ``display_name`` is."""

    proposal_id: str
    comment_id: str
    author: str
    display_name: str
    text: str


@registry.register
@dataclass(frozen=True)
class CommentApproved(DomainEvent):
    """Staff approved a public comment for showing (moderation 审核)."""

    proposal_id: str
    comment_id: str


@registry.register
@dataclass(frozen=True)
class CommentRejected(DomainEvent):
    """Staff refused a public comment, saying why; it is never shown."""

    proposal_id: str
    comment_id: str
    reason: str


@registry.register
@dataclass(frozen=True)
class CommentAnswered(DomainEvent):
    """The lead unit answered an approved comment."""

    proposal_id: str
    comment_id: str
    unit: str
    answer: str


@registry.register
@dataclass(frozen=True)
class HandlingRulesSet(DomainEvent):
    """The committee's deadline rules (calendar or working days, periods, reminders)."""

    rules: dict[str, Any]


@registry.register
@dataclass(frozen=True)
class HolidayCalendarAmended(DomainEvent):
    """Staff amended the holiday calendar (holidays and make-up working days 调休); open cases'
    deadlines counted in working days move accordingly. ``calendar`` is the whole calendar after."""

    added_holidays: list[str]
    removed_holidays: list[str]
    added_workdays: list[str]
    removed_workdays: list[str]
    calendar: dict[str, Any]



# -- the directory: what the members service says about members, units and bodies ---------------

# The proposals service's copy of the directory 名录 (stream ``directory-<entry_id>``), by which it
# checks the ids and names a command refers to and the names it publishes: the kernel's event.
DirectoryEntryNoted = registry.register(DirectoryEntryNoted)


# Signed checkpoints of this log's head (xieshang.kernel.anchoring): public, hashes only.
register_checkpoint_events(registry)

# -- what leaves the service (the integration contract, ADR 0012) --------------------------------
# Public: a case's course as the committee makes it known to the government's systems (OA, 督查,
# the upper level): filed, assigned, replied, due and overdue, closed, published. Private: what
# is a member's own until the case is filed, the proposer's confidential rating of a reply
# (背靠背), the public's comments (they name residents), and internal working notes.
PUBLICATION = Publication("proposals", registry, public={
    "LogCheckpointed": NOTHING_WITHHELD,
    "ProposalFiled": NOTHING_WITHHELD,
    "ProposalNotFiled": NOTHING_WITHHELD,
    "ProposalConvertedToOpinionReport": NOTHING_WITHHELD,
    "ProposalTakenUpFromConsultation": NOTHING_WITHHELD,   # a published consultation's result
    "ProposalMerged": NOTHING_WITHHELD,
    "MergedProposalAdded": NOTHING_WITHHELD,
    "CaseNumberAssigned": NOTHING_WITHHELD,
    "ProposalAssigned": NOTHING_WITHHELD,
    "AssignmentObjected": NOTHING_WITHHELD,
    "ObjectionDismissed": NOTHING_WITHHELD,
    "ProposalReassigned": NOTHING_WITHHELD,
    "CoUnitOpinionSent": NOTHING_WITHHELD,
    "ProposalReplied": NOTHING_WITHHELD,
    "ReplyDueSoon": NOTHING_WITHHELD,
    "ReplyOverdue": NOTHING_WITHHELD,
    "ReplyDeadlineMoved": NOTHING_WITHHELD,
    "ProposalDesignatedKey": NOTHING_WITHHELD,
    "RehandlingStarted": NOTHING_WITHHELD,
    "ProposalClosed": NOTHING_WITHHELD,
    "ProposalPublished": NOTHING_WITHHELD,
    "ProposalUnpublished": NOTHING_WITHHELD,
    "HandlingRulesSet": NOTHING_WITHHELD,
    "HolidayCalendarAmended": NOTHING_WITHHELD,
}, private={
    "ProposalSubmitted": "a member's draft until the committee files it (co-signers not yet asked)",
    "CoSignatureConfirmed": "a member's answer to a co-signing request, before filing",
    "CoSignatureDeclined": "a member's answer to a co-signing request, before filing",
    "ProposalReturned": "the committee's review of a draft with its proposer",
    "ProposalRevised": "a member's revision of a draft before filing",
    "CaseNumberReleased": "internal numbering: a number given back is never a case",
    "ContactRecorded": "a unit's notes of its talks with the proposer (a person's words)",
    "SupervisionRecorded": "a supervisor's working note",
    "ReplyRated": "the proposer's confidential rating of a unit's reply (背靠背)",
    "FollowUpRecorded": "the committee's working note on a rating",
    "PublicationConsentChanged": "a proposer's own choice about publication",
    "CommentSubmitted": "names a resident who commented, with their words",
    "CommentApproved": "moderation of a resident's comment",
    "CommentRejected": "moderation of a resident's comment",
    "CommentAnswered": "an answer to a resident's comment",
    "DirectoryEntryNoted": "this service's copy of the members service's directory",
})
