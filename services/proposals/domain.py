"""Proposals 提案: the proposals service's published events and its decisions.

This module is the service's contract with the world (docs/events.md): the events below are
what the service records and what its relay publishes to ``proposals.events``. It is pure:
no I/O, no framework; state is folded from events and every decision either returns new
events or raises a DomainError.

The lifecycle 提、立、交、办、督、评 (DOMAIN.md §1):

    submitted ──file──> filed ──assign──> assigned ──reply──> replied ──close──> closed
      │  ▲                                   ▲  (object / reassign,        │
      │  └─revise── returned                 │   contacts, co-unit         │ an unsatisfied
      ├──return──> returned                  │   opinions, overdue)        │ rating
      ├──not file──> not_filed                └──── rehandling (round n+1) ─┘
      └──merge──> merged (points to the surviving case)

Beside the states: joint proposals wait for their co-signers' confirmation; key proposals 重点
have named supervisors and supervision records; publication needs the proposer's consent;
published cases take public comments, moderated by staff and answered by the lead unit.

Streams:

* ``proposal-<id>``: one proposal's case, from submission on.
* ``casenumbers-<session>``: the case numbers 案号 of one session, handed out one after the
  other (``CaseNumberAssigned``), so that they are unique, sequential and gap-free.
* ``handling-rules``: the committee's deadline rules and holiday calendar.

Events never carry contact details: people are named by member or user id only. A rating
(``ReplyRated``) is confidential to the committee ("背靠背"): no read model shows it to a unit.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Mapping, Sequence

from xieshang.kernel.domain import (DomainEvent, EventRegistry, InvalidCommand, NotAllowed, NotFound,
                                    WrongState)
from xieshang.kernel.envelope import Actor

from .calendar import DeadlineRules, HolidayCalendar, days_overdue, deadline, reminder_dates

registry = EventRegistry()

# Roles (Actor.role) this service knows.
MEMBER, STAFF, UNIT, LEADER, PUBLIC, SYSTEM, AUDITOR = (
    "member", "staff", "unit", "leader", "public", "system", "auditor")

# 经济、政治、文化、社会、生态文明 (the seeds' "五位一体" areas) and the rest.
CATEGORIES = ("economy", "politics", "culture", "society", "ecology", "other")
KINDS = ("individual", "joint", "collective")          # 个人, 联名, 集体
BODY_TYPES = ("party", "group", "sector", "special_committee")  # 党派, 团体, 界别, 专门委员会
REPLY_CLASSES = {
    "A": "solved or basically solved 已解决或基本解决",
    "B": "being solved or planned 正在解决或列入计划",
    "C": "cannot be solved for now 因条件限制暂不能解决",
}
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")  # 满意, 基本满意, 不满意
CONTACT_STAGES = ("before", "during", "after")                  # 办前, 办中, 办后
CONVERSIONS = ("opinion_report", "suggestion_letter")          # 转社情民意, 转意见建议
SUPERVISION_MODES = ("party_government_leader", "chairs_meeting", "special_committee",
                     "proposal_committee")                     # 领衔督办 … 跟踪督办
SUPERVISION_KINDS = ("inspection", "meeting", "research", "other")  # 视察, 督办会, 调研
CO_SIGN_WINDOW_DAYS = 7
URGENT_MAX_DAYS = 365

SUBMITTED, RETURNED, FILED, NOT_FILED, MERGED, ASSIGNED, REPLIED, CLOSED = (
    "submitted", "returned", "filed", "not_filed", "merged", "assigned", "replied", "closed")
OPEN = (SUBMITTED, RETURNED, FILED, ASSIGNED, REPLIED)
HANDLED = (ASSIGNED, REPLIED, CLOSED)
PUBLISHABLE = (FILED, ASSIGNED, REPLIED, CLOSED)

# What each state allows (besides key designation, supervision, publication and comments,
# which depend on flags as well; Proposal.next_commands() lists them all).
STATE_COMMANDS: dict[str, tuple[str, ...]] = {
    SUBMITTED: ("confirm_co_signature", "decline_co_signature", "file_proposal",
                "not_file_proposal", "return_proposal", "merge_proposal"),
    RETURNED: ("revise_proposal",),
    FILED: ("assign_proposal", "designate_key_proposal"),
    ASSIGNED: ("object_to_assignment", "reassign_proposal", "dismiss_objection", "record_contact",
               "send_co_unit_opinion", "reply_to_proposal", "designate_key_proposal"),
    REPLIED: ("rate_reply", "record_contact", "record_follow_up", "close_proposal",
              "designate_key_proposal"),
    NOT_FILED: (), MERGED: (), CLOSED: (),
}

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_SESSION = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff_.-]{0,19}$")


def proposal_stream(proposal_id: str) -> str:
    return f"proposal-{proposal_id}"


def case_numbers_stream(session: str) -> str:
    return f"casenumbers-{session}"


RULES_STREAM = "handling-rules"


@dataclass(frozen=True)
class Timing:
    """What a decision needs to know about time: today's date (the committee's local date,
    from the injected clock) and the committee's deadline rules and holiday calendar."""

    today: date
    rules: DeadlineRules = field(default_factory=DeadlineRules)
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar)


# -- events (the published contract) ---------------------------------------------------------

@registry.register
@dataclass(frozen=True)
class ProposalSubmitted(DomainEvent):
    """A proposal was submitted 提交提案.

    ``kind``: individual 个人, joint 联名 (``co_signers`` must confirm by ``co_sign_deadline``
    before it can be filed), or collective 集体 (by ``body``, e.g. ``{"type": "sector",
    "name": "经济界"}``, ``proposer`` being the member who entered it for the body).
    ``session`` 届次/会次 labels the case numbers; ``publish_consent``: the proposer agreed to
    publication of the proposal and its reply.
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
    proposal_id: str
    comment_id: str


@registry.register
@dataclass(frozen=True)
class CommentRejected(DomainEvent):
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


# -- state -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class HandlingRound:
    """One round of handling: assignment (or rehandling) to reply and ratings."""

    number: int
    lead_unit: str
    co_units: tuple[str, ...]
    started_on: str
    deadline: str
    period_days: int
    counting: str
    fixed_deadline: bool = False
    objections: tuple[str, ...] = ()                 # units whose objection is pending
    contacts: tuple[str, ...] = ()                   # stages recorded
    opinions: tuple[str, ...] = ()                   # co-units that sent their opinion
    reply_class: str | None = None
    reply: str | None = None
    replied_on: str | None = None
    on_time: bool | None = None
    reminded_at: int | None = None                   # the fewest days_before reminded so far
    overdue: bool = False
    ratings: tuple[tuple[str, str, str], ...] = ()   # (rater, reply rating, attitude rating)

    @property
    def units(self) -> tuple[str, ...]:
        return (self.lead_unit, *self.co_units)

    def rated_by(self, rater: str) -> bool:
        return any(r[0] == rater for r in self.ratings)


@dataclass(frozen=True)
class Comment:
    comment_id: str
    author: str
    display_name: str
    text: str
    status: str = "pending"          # pending, approved, rejected
    answer: str | None = None


@dataclass(frozen=True)
class Proposal:
    """A proposal's state as folded from its stream."""

    proposal_id: str = ""
    status: str | None = None  # None: no such proposal
    kind: str = "individual"
    proposer: str = ""
    body: Mapping[str, str] | None = None
    session: str = ""
    title: str = ""
    reasons: str = ""
    suggestions: str = ""
    category: str = ""
    co_signers: tuple[str, ...] = ()       # named at submission
    confirmed: tuple[str, ...] = ()        # co-signers who confirmed
    declined: tuple[str, ...] = ()
    co_sign_deadline: str | None = None
    merged_proposers: tuple[str, ...] = ()
    merged_from: tuple[str, ...] = ()
    merged_into: str | None = None
    case_number: str | None = None
    not_filed_reason: str | None = None
    conversion: str | None = None
    return_reason: str | None = None
    rounds: tuple[HandlingRound, ...] = ()
    key: bool = False
    supervisors: tuple[str, ...] = ()
    supervision_mode: str | None = None
    supervisions: int = 0
    follow_up_kept: bool = False
    publish_consent: bool = False
    published: bool = False
    proposer_names: tuple[str, ...] = ()
    comments: tuple[Comment, ...] = ()

    @property
    def exists(self) -> bool:
        return self.status is not None

    @property
    def round(self) -> HandlingRound | None:
        return self.rounds[-1] if self.rounds else None

    @property
    def proposers(self) -> tuple[str, ...]:
        """Everyone credited as a proposer: the proposer, confirmed co-signers, and the proposers
        of merged cases. Each of them rates the reply."""
        return tuple(dict.fromkeys((self.proposer, *self.confirmed, *self.merged_proposers)))

    def pending_co_signers(self) -> tuple[str, ...]:
        return tuple(c for c in self.co_signers if c not in self.confirmed and c not in self.declined)

    def comment(self, comment_id: str) -> Comment | None:
        return next((c for c in self.comments if c.comment_id == comment_id), None)

    def next_commands(self) -> list[str]:
        commands = list(STATE_COMMANDS.get(self.status or "", ()))
        if self.key and self.status in OPEN:
            commands.append("record_supervision")
        if self.status in PUBLISHABLE:
            commands.append("unpublish_proposal" if self.published else "publish_proposal")
        if self.published:
            commands += ["submit_comment", "moderate_comment", "answer_comment"]
        if self.status not in (MERGED, NOT_FILED, None):
            commands.append("set_publication_consent")
        return commands

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for key, value in d.items():
            if isinstance(value, tuple):
                d[key] = list(value)
        d["rounds"] = [{**dataclasses.asdict(r), "co_units": list(r.co_units)} for r in self.rounds]
        d["proposers"] = list(self.proposers)
        d["pending_co_signers"] = list(self.pending_co_signers())
        d["next_commands"] = self.next_commands()
        return d


def _with_round(state: Proposal, number: int, **changes: Any) -> Proposal:
    rounds = tuple(dataclasses.replace(r, **changes) if r.number == number else r
                   for r in state.rounds)
    return dataclasses.replace(state, rounds=rounds)


def _with_comment(state: Proposal, comment_id: str, **changes: Any) -> Proposal:
    comments = tuple(dataclasses.replace(c, **changes) if c.comment_id == comment_id else c
                     for c in state.comments)
    return dataclasses.replace(state, comments=comments)


def apply(state: Proposal, event: DomainEvent) -> Proposal:  # noqa: C901 - one branch per event
    replace = dataclasses.replace
    e = event
    if isinstance(e, ProposalSubmitted):
        return Proposal(proposal_id=e.proposal_id, status=SUBMITTED, kind=e.kind, proposer=e.proposer,
                        body=e.body, session=e.session, title=e.title, reasons=e.reasons,
                        suggestions=e.suggestions, category=e.category,
                        co_signers=tuple(e.co_signers), co_sign_deadline=e.co_sign_deadline,
                        publish_consent=e.publish_consent)
    if isinstance(e, CoSignatureConfirmed):
        return replace(state, confirmed=(*state.confirmed, e.co_signer))
    if isinstance(e, CoSignatureDeclined):
        return replace(state, declined=(*state.declined, e.co_signer))
    if isinstance(e, ProposalReturned):
        return replace(state, status=RETURNED, return_reason=e.reason)
    if isinstance(e, ProposalRevised):
        return replace(state, status=SUBMITTED, title=e.title, reasons=e.reasons,
                       suggestions=e.suggestions, category=e.category, return_reason=None)
    if isinstance(e, ProposalFiled):
        return replace(state, status=FILED, case_number=e.case_number)
    if isinstance(e, ProposalNotFiled):
        return replace(state, status=NOT_FILED, not_filed_reason=e.reason, conversion=e.conversion)
    if isinstance(e, ProposalMerged):
        return replace(state, status=MERGED, merged_into=e.into)
    if isinstance(e, MergedProposalAdded):
        return replace(state, merged_from=(*state.merged_from, e.merged_id),
                       merged_proposers=tuple(dict.fromkeys((*state.merged_proposers, *e.proposers))))
    if isinstance(e, (ProposalAssigned, RehandlingStarted)):
        new = HandlingRound(number=e.round, lead_unit=e.lead_unit, co_units=tuple(e.co_units),
                            started_on=e.started_on, deadline=e.deadline, period_days=e.period_days,
                            counting=e.counting, fixed_deadline=getattr(e, "fixed_deadline", False))
        return replace(state, status=ASSIGNED, rounds=(*state.rounds, new), follow_up_kept=False)
    if isinstance(e, AssignmentObjected):
        r = state.round
        return _with_round(state, e.round, objections=(*r.objections, e.unit))
    if isinstance(e, ObjectionDismissed):
        r = state.round
        return _with_round(state, e.round, objections=tuple(u for u in r.objections if u != e.unit))
    if isinstance(e, ProposalReassigned):
        return _with_round(state, e.round, lead_unit=e.lead_unit, co_units=tuple(e.co_units),
                           started_on=e.started_on, deadline=e.deadline, period_days=e.period_days,
                           counting=e.counting, fixed_deadline=e.fixed_deadline, objections=(),
                           reminded_at=None, overdue=False)
    if isinstance(e, ContactRecorded):
        r = next(r for r in state.rounds if r.number == e.round)
        return _with_round(state, e.round, contacts=(*r.contacts, e.stage))
    if isinstance(e, CoUnitOpinionSent):
        return _with_round(state, e.round, opinions=(*state.round.opinions, e.unit))
    if isinstance(e, ProposalReplied):
        return replace(_with_round(state, e.round, reply_class=e.reply_class, reply=e.reply,
                                   replied_on=e.replied_on, on_time=e.on_time), status=REPLIED)
    if isinstance(e, ReplyDueSoon):
        return _with_round(state, e.round, reminded_at=e.days_before)
    if isinstance(e, ReplyOverdue):
        return _with_round(state, e.round, overdue=True)
    if isinstance(e, ReplyDeadlineMoved):
        return _with_round(state, e.round, deadline=e.deadline, overdue=False, reminded_at=None)
    if isinstance(e, ProposalDesignatedKey):
        return replace(state, key=True, supervisors=tuple(e.supervisors), supervision_mode=e.mode)
    if isinstance(e, SupervisionRecorded):
        return replace(state, supervisions=state.supervisions + 1)
    if isinstance(e, ReplyRated):
        r = next(r for r in state.rounds if r.number == e.round)
        return _with_round(state, e.round,
                           ratings=(*r.ratings, (e.rater, e.reply_rating, e.attitude_rating)))
    if isinstance(e, FollowUpRecorded):
        return replace(state, follow_up_kept=state.follow_up_kept or e.kept)
    if isinstance(e, ProposalClosed):
        return replace(state, status=CLOSED)
    if isinstance(e, PublicationConsentChanged):
        return replace(state, publish_consent=e.consent)
    if isinstance(e, ProposalPublished):
        return replace(state, published=True, proposer_names=tuple(e.proposer_names))
    if isinstance(e, ProposalUnpublished):
        return replace(state, published=False)
    if isinstance(e, CommentSubmitted):
        return replace(state, comments=(*state.comments, Comment(e.comment_id, e.author,
                                                                 e.display_name, e.text)))
    if isinstance(e, CommentApproved):
        return _with_comment(state, e.comment_id, status="approved")
    if isinstance(e, CommentRejected):
        return _with_comment(state, e.comment_id, status="rejected")
    if isinstance(e, CommentAnswered):
        return _with_comment(state, e.comment_id, answer=e.answer)
    return state


def fold(proposal_id: str, events: Iterable[DomainEvent]) -> Proposal:
    state = Proposal(proposal_id=proposal_id)
    for event in events:
        state = apply(state, event)
    return state


# -- case numbers ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseNumbers:
    """The case numbers of one session: who holds which, and which are free again."""

    session: str
    held: Mapping[int, str] = field(default_factory=dict)       # sequence -> proposal id
    released: frozenset[int] = frozenset()
    numbers: Mapping[int, str] = field(default_factory=dict)    # sequence -> case number

    def of(self, proposal_id: str) -> str | None:
        for seq, pid in self.held.items():
            if pid == proposal_id:
                return self.numbers[seq]
        return None


def fold_case_numbers(session: str, events: Iterable[DomainEvent]) -> CaseNumbers:
    held: dict[int, str] = {}
    numbers: dict[int, str] = {}
    released: set[int] = set()
    for e in events:
        if isinstance(e, CaseNumberAssigned):
            held[e.sequence] = e.proposal_id
            numbers[e.sequence] = e.case_number
            released.discard(e.sequence)
        elif isinstance(e, CaseNumberReleased) and held.get(e.sequence) == e.proposal_id:
            del held[e.sequence]
            released.add(e.sequence)
    return CaseNumbers(session, held, frozenset(released), numbers)


def format_case_number(session: str, sequence: int) -> str:
    return f"{session}-{sequence:03d}"


def assign_case_number(numbers: CaseNumbers, proposal_id: str) -> list[DomainEvent]:
    """The next case number of the session for ``proposal_id`` (none if it holds one already):
    the lowest released number first, else one past the highest."""
    if numbers.of(proposal_id):
        return []
    sequence = min(numbers.released) if numbers.released else max(
        [*numbers.held, *numbers.released], default=0) + 1
    return [CaseNumberAssigned(session=numbers.session, sequence=sequence,
                               case_number=format_case_number(numbers.session, sequence),
                               proposal_id=proposal_id)]


def release_case_number(numbers: CaseNumbers, proposal_id: str) -> list[DomainEvent]:
    for seq, pid in numbers.held.items():
        if pid == proposal_id:
            return [CaseNumberReleased(session=numbers.session, sequence=seq,
                                       case_number=numbers.numbers[seq], proposal_id=proposal_id)]
    return []


# -- handling rules ------------------------------------------------------------------------------

@dataclass(frozen=True)
class HandlingRules:
    rules: DeadlineRules = field(default_factory=DeadlineRules)
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar)


def fold_rules(events: Iterable[DomainEvent], default_calendar: HolidayCalendar | None = None
               ) -> HandlingRules:
    state = HandlingRules(calendar=default_calendar or HolidayCalendar())
    for e in events:
        if isinstance(e, HandlingRulesSet):
            state = dataclasses.replace(state, rules=DeadlineRules.from_dict(e.rules))
        elif isinstance(e, HolidayCalendarAmended):
            state = dataclasses.replace(state, calendar=HolidayCalendar.from_dict(e.calendar))
    return state


def set_handling_rules(actor: Actor, rules: Mapping[str, Any]) -> list[DomainEvent]:
    _require_role(actor, (STAFF,), "set_handling_rules", "only committee staff set deadline rules")
    try:
        parsed = DeadlineRules.from_dict(dict(rules))
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidCommand("bad deadline rules", {"rules": str(exc)}) from None
    return [HandlingRulesSet(rules=parsed.to_dict())]


def amend_holiday_calendar(actor: Actor, current: HandlingRules, *, add_holidays: Sequence[str] = (),
                           remove_holidays: Sequence[str] = (), add_workdays: Sequence[str] = (),
                           remove_workdays: Sequence[str] = ()) -> list[DomainEvent]:
    _require_role(actor, (STAFF,), "amend_holiday_calendar", "only committee staff amend the calendar")
    problems: dict[str, str] = {}
    parsed = {name: _dates(problems, name, values) for name, values in (
        ("add_holidays", add_holidays), ("remove_holidays", remove_holidays),
        ("add_workdays", add_workdays), ("remove_workdays", remove_workdays))}
    if not problems and not any(parsed.values()):
        problems["add_holidays"] = "the amendment changes nothing: name at least one date"
    if problems:
        raise InvalidCommand("the calendar amendment is malformed", problems)
    try:
        amended = current.calendar.amended(**parsed)
    except ValueError as exc:
        raise InvalidCommand("the calendar amendment contradicts itself", {"calendar": str(exc)}) from None
    return [HolidayCalendarAmended(
        added_holidays=[d.isoformat() for d in parsed["add_holidays"]],
        removed_holidays=[d.isoformat() for d in parsed["remove_holidays"]],
        added_workdays=[d.isoformat() for d in parsed["add_workdays"]],
        removed_workdays=[d.isoformat() for d in parsed["remove_workdays"]],
        calendar=amended.to_dict())]


# -- decisions: submission and review (提、立) -------------------------------------------------

def submit_proposal(actor: Actor, on_behalf_of: str | None, proposal_id: str, *, title: str,
                    reasons: str, suggestions: str, category: str, co_signers: Sequence[str] = (),
                    kind: str | None = None, session: str = "", body: Mapping[str, str] | None = None,
                    publish_consent: bool = False, today: date) -> list[DomainEvent]:
    """A member submits (staff may enter one for a member named in ``on_behalf_of``).

    ``kind`` defaults to joint when there are co-signers, else individual. A collective
    proposal names its ``body`` (party, group, sector or special committee).
    """
    if actor.role == MEMBER:
        proposer = actor.user_id
    elif actor.role == STAFF and on_behalf_of:
        proposer = on_behalf_of
    else:
        raise NotAllowed("submit_proposal", "only a member submits a proposal (or staff on a "
                                            f"member's behalf); the actor's role is {actor.role!r}")
    problems: dict[str, str] = {}
    title, reasons, suggestions = _text(title), _text(reasons), _text(suggestions)
    _check_length(problems, "title", title, 2, 200)
    _check_length(problems, "reasons", reasons, 2, 20_000)
    _check_length(problems, "suggestions", suggestions, 2, 20_000)
    if category not in CATEGORIES:
        problems["category"] = f"must be one of {', '.join(CATEGORIES)}"
    signers = _id_list(problems, "co_signers", co_signers)
    if proposer in signers:
        problems["co_signers"] = "the proposer cannot co-sign their own proposal"
    kind = kind or ("joint" if signers else "individual")
    if kind not in KINDS:
        problems["kind"] = f"must be one of {', '.join(KINDS)}"
    elif kind == "joint" and not signers:
        problems["co_signers"] = "a joint proposal names at least one co-signer"
    elif kind != "joint" and signers:
        problems["co_signers"] = f"only a joint proposal has co-signers, not a {kind} one"
    if kind == "collective":
        if not isinstance(body, Mapping) or body.get("type") not in BODY_TYPES or \
                not isinstance(body.get("name"), str) or not 1 <= len(body["name"].strip()) <= 100:
            problems["body"] = f"a collective proposal names its body: type ({', '.join(BODY_TYPES)}) and name"
    elif body is not None:
        problems["body"] = "only a collective proposal has a body"
    if not isinstance(session, str) or not _SESSION.fullmatch(session):
        problems["session"] = "the session 届次/会次, e.g. 2024 or 11-3 (letters, digits, - . _)"
    if not isinstance(publish_consent, bool):
        problems["publish_consent"] = "true or false"
    if problems:
        raise InvalidCommand("the proposal is incomplete or malformed", problems)
    window = (date.fromordinal(today.toordinal() + CO_SIGN_WINDOW_DAYS).isoformat()
              if kind == "joint" else None)
    return [ProposalSubmitted(proposal_id=proposal_id, proposer=proposer, title=title,
                              reasons=reasons, suggestions=suggestions, category=category,
                              co_signers=signers, kind=kind, session=session,
                              body=dict(body) if body else None, co_sign_deadline=window,
                              publish_consent=publish_consent)]


def confirm_co_signature(actor: Actor, state: Proposal, *, today: date) -> list[DomainEvent]:
    return _co_sign(actor, state, today, confirm=True)


def decline_co_signature(actor: Actor, state: Proposal, *, today: date) -> list[DomainEvent]:
    return _co_sign(actor, state, today, confirm=False)


def _co_sign(actor: Actor, state: Proposal, today: date, confirm: bool) -> list[DomainEvent]:
    command = "confirm_co_signature" if confirm else "decline_co_signature"
    _require(state)
    if actor.role != MEMBER or actor.user_id not in state.co_signers:
        raise NotAllowed(command, f"only a co-signer named on the proposal answers; "
                                  f"{actor.user_id!r} is not one")
    _require_status(state, (SUBMITTED,), command)
    if actor.user_id not in state.pending_co_signers():
        raise WrongState(command, "answered", ())
    if state.co_sign_deadline and today > date.fromisoformat(state.co_sign_deadline):
        raise WrongState(command, f"co-signing closed on {state.co_sign_deadline}", ())
    cls = CoSignatureConfirmed if confirm else CoSignatureDeclined
    return [cls(proposal_id=state.proposal_id, co_signer=actor.user_id)]


def return_proposal(actor: Actor, state: Proposal, reason: str) -> list[DomainEvent]:
    """Staff return a submitted proposal for revision 退回修改."""
    _require(state)
    _require_role(actor, (STAFF,), "return_proposal", "only proposal committee staff review proposals")
    _require_status(state, (SUBMITTED,), "return_proposal")
    reason = _required_text("reason", reason, 2, 2000)
    return [ProposalReturned(proposal_id=state.proposal_id, reason=reason)]


def revise_proposal(actor: Actor, state: Proposal, *, title: str, reasons: str, suggestions: str,
                    category: str) -> list[DomainEvent]:
    """The proposer revises a returned proposal; it is submitted again."""
    _require(state)
    if actor.user_id != state.proposer:
        raise NotAllowed("revise_proposal", f"only the proposer {state.proposer!r} revises it")
    _require_status(state, (RETURNED,), "revise_proposal")
    problems: dict[str, str] = {}
    title, reasons, suggestions = _text(title), _text(reasons), _text(suggestions)
    _check_length(problems, "title", title, 2, 200)
    _check_length(problems, "reasons", reasons, 2, 20_000)
    _check_length(problems, "suggestions", suggestions, 2, 20_000)
    if category not in CATEGORIES:
        problems["category"] = f"must be one of {', '.join(CATEGORIES)}"
    if problems:
        raise InvalidCommand("the revision is incomplete or malformed", problems)
    return [ProposalRevised(proposal_id=state.proposal_id, title=title, reasons=reasons,
                            suggestions=suggestions, category=category)]


def check_fileable(actor: Actor, state: Proposal, today: date) -> None:
    """Raise unless staff may file this proposal now (before a case number is taken for it)."""
    _require(state)
    _require_role(actor, (STAFF,), "file_proposal", "only proposal committee staff file proposals")
    _require_status(state, (SUBMITTED,), "file_proposal")
    pending = state.pending_co_signers()
    if pending and state.co_sign_deadline and today <= date.fromisoformat(state.co_sign_deadline):
        raise WrongState("file_proposal", f"waiting for co-signers {', '.join(pending)} until "
                                          f"{state.co_sign_deadline}",
                         ("return_proposal", "not_file_proposal", "merge_proposal"))


def file_proposal(actor: Actor, state: Proposal, case_number: str, *, today: date) -> list[DomainEvent]:
    """Staff file a submitted proposal 立案 under the case number taken for it."""
    check_fileable(actor, state, today)
    return [ProposalFiled(proposal_id=state.proposal_id, case_number=case_number,
                          proposer=state.proposer, title=state.title, category=state.category,
                          co_signers=list(state.confirmed), session=state.session, kind=state.kind)]


def not_file_proposal(actor: Actor, state: Proposal, *, reason: str,
                      conversion: str | None = None) -> list[DomainEvent]:
    """Staff decide not to file 不予立案, optionally converting it."""
    _require(state)
    _require_role(actor, (STAFF,), "not_file_proposal", "only proposal committee staff review proposals")
    _require_status(state, (SUBMITTED,), "not_file_proposal")
    problems: dict[str, str] = {}
    reason = _text(reason)
    _check_length(problems, "reason", reason, 2, 2000)
    if conversion is not None and conversion not in CONVERSIONS:
        problems["conversion"] = f"none, or one of {', '.join(CONVERSIONS)}"
    if problems:
        raise InvalidCommand("the decision is incomplete or malformed", problems)
    events: list[DomainEvent] = [ProposalNotFiled(proposal_id=state.proposal_id,
                                                  proposer=state.proposer, reason=reason,
                                                  conversion=conversion)]
    if conversion == "opinion_report":
        events.append(ProposalConvertedToOpinionReport(
            proposal_id=state.proposal_id, proposer=state.proposer, title=state.title,
            content=f"{state.reasons}\n\n{state.suggestions}", category=state.category))
    return events


def merge_proposal(actor: Actor, merged: Proposal, survivor: Proposal) -> list[DomainEvent]:
    """Staff merge ``merged`` into ``survivor`` 并案: the events for the merged case's stream."""
    _require(merged)
    _require(survivor)
    _require_role(actor, (STAFF,), "merge_proposal", "only proposal committee staff merge proposals")
    if merged.proposal_id == survivor.proposal_id:
        raise InvalidCommand("a proposal cannot be merged into itself", {"into": "another proposal"})
    if merged.merged_into == survivor.proposal_id:
        return []  # already done (a retried merge)
    _require_status(merged, (SUBMITTED,), "merge_proposal")
    if survivor.status not in (SUBMITTED, FILED, ASSIGNED):
        raise InvalidCommand(f"cannot merge into a case in state {survivor.status!r}",
                             {"into": "a submitted, filed or assigned proposal"})
    if merged.session != survivor.session:
        raise InvalidCommand("merged proposals belong to the same session",
                             {"into": f"a proposal of session {merged.session!r}"})
    return [ProposalMerged(proposal_id=merged.proposal_id, into=survivor.proposal_id,
                           proposers=list(merged.proposers))]


def add_merged_proposal(survivor: Proposal, merged_event: ProposalMerged) -> list[DomainEvent]:
    """The surviving case's side of a merge (idempotent)."""
    if merged_event.proposal_id in survivor.merged_from:
        return []
    return [MergedProposalAdded(proposal_id=survivor.proposal_id, merged_id=merged_event.proposal_id,
                                proposers=list(merged_event.proposers))]


# -- decisions: assignment and handling (交、办) ------------------------------------------------

def _counted_deadline(timing: Timing, days: int, explicit: str | None, problems: dict[str, str],
                      field_name: str = "deadline") -> tuple[str, int, bool]:
    """(deadline, period_days, fixed) for a round starting today."""
    if explicit:
        try:
            fixed = date.fromisoformat(str(explicit))
        except ValueError:
            problems[field_name] = "an ISO date, e.g. 2024-06-30"
            return "", days, True
        if fixed <= timing.today:
            problems[field_name] = f"must be after today ({timing.today.isoformat()})"
        elif (fixed - timing.today).days > URGENT_MAX_DAYS:
            problems[field_name] = f"must be within {URGENT_MAX_DAYS} days"
        return fixed.isoformat(), (fixed - timing.today).days, True
    return deadline(timing.today, days, timing.rules, timing.calendar).isoformat(), days, False


def assign_proposal(actor: Actor, state: Proposal, *, lead_unit: str, co_units: Sequence[str] = (),
                    deadline: str | None = None, urgent: bool = False,
                    timing: Timing) -> list[DomainEvent]:
    """Staff assign a filed proposal to a lead unit and co-units 交办. The deadline is counted by
    the committee's rules (urgent: the shorter period), unless staff give a date."""
    _require(state)
    _require_role(actor, (STAFF,), "assign_proposal", "only proposal committee staff assign proposals")
    _require_status(state, (FILED,), "assign_proposal")
    problems: dict[str, str] = {}
    lead, units = _units(problems, lead_unit, co_units)
    days = timing.rules.urgent_reply_days if urgent else timing.rules.reply_days
    due, period, fixed = _counted_deadline(timing, days, deadline, problems)
    if problems:
        raise InvalidCommand("the assignment is incomplete or malformed", problems)
    return [ProposalAssigned(proposal_id=state.proposal_id, case_number=state.case_number or "",
                             title=state.title, proposer=state.proposer, round=1, lead_unit=lead,
                             co_units=units, started_on=timing.today.isoformat(), deadline=due,
                             period_days=period, counting=timing.rules.counting, fixed_deadline=fixed)]


def object_to_assignment(actor: Actor, state: Proposal, *, reason: str, timing: Timing) -> list[DomainEvent]:
    """A unit of the current round objects 申请调整 within the objection period."""
    _require(state)
    r = _require_unit_of_round(actor, state, "object_to_assignment")
    _require_status(state, (ASSIGNED,), "object_to_assignment")
    if actor.organisation in r.objections:
        raise WrongState("object_to_assignment", "objection pending", ("reassign_proposal",
                                                                       "dismiss_objection"))
    last_day = deadline(date.fromisoformat(r.started_on), timing.rules.objection_days, timing.rules,
                        timing.calendar)
    if timing.today > last_day:
        raise WrongState("object_to_assignment",
                         f"objection period over (it ended on {last_day.isoformat()})",
                         ("record_contact", "reply_to_proposal"))
    reason = _required_text("reason", reason, 2, 2000)
    return [AssignmentObjected(proposal_id=state.proposal_id, round=r.number, unit=actor.organisation,
                               reason=reason)]


def dismiss_objection(actor: Actor, state: Proposal, *, unit: str, reason: str) -> list[DomainEvent]:
    _require(state)
    _require_role(actor, (STAFF,), "dismiss_objection", "only proposal committee staff decide objections")
    _require_status(state, (ASSIGNED,), "dismiss_objection")
    if unit not in state.round.objections:
        raise InvalidCommand("no pending objection of that unit",
                             {"unit": f"one of: {', '.join(state.round.objections) or 'none pending'}"})
    reason = _required_text("reason", reason, 2, 2000)
    return [ObjectionDismissed(proposal_id=state.proposal_id, round=state.round.number, unit=unit,
                               reason=reason)]


def reassign_proposal(actor: Actor, state: Proposal, *, lead_unit: str, co_units: Sequence[str] = (),
                      deadline: str | None = None, timing: Timing) -> list[DomainEvent]:
    """Staff change the units of the current round (after an objection, or on their own)."""
    _require(state)
    _require_role(actor, (STAFF,), "reassign_proposal", "only proposal committee staff reassign proposals")
    _require_status(state, (ASSIGNED,), "reassign_proposal")
    r = state.round
    problems: dict[str, str] = {}
    lead, units = _units(problems, lead_unit, co_units)
    if (lead, tuple(units)) == (r.lead_unit, r.co_units):
        problems["lead_unit"] = "the units are the same as now"
    due, period, fixed = _counted_deadline(timing, r.period_days if not r.fixed_deadline
                                           else timing.rules.reply_days, deadline, problems)
    if problems:
        raise InvalidCommand("the reassignment is incomplete or malformed", problems)
    return [ProposalReassigned(proposal_id=state.proposal_id, case_number=state.case_number or "",
                               round=r.number, lead_unit=lead, co_units=units,
                               previous_lead_unit=r.lead_unit, started_on=timing.today.isoformat(),
                               deadline=due, period_days=period, counting=timing.rules.counting,
                               fixed_deadline=fixed)]


def record_contact(actor: Actor, state: Proposal, *, stage: str, summary: str) -> list[DomainEvent]:
    """A unit of the current round records meeting the proposer 办前/办中/办后."""
    _require(state)
    r = _require_unit_of_round(actor, state, "record_contact")
    _require_status(state, (ASSIGNED, REPLIED), "record_contact")
    problems: dict[str, str] = {}
    if stage not in CONTACT_STAGES:
        problems["stage"] = f"one of {', '.join(CONTACT_STAGES)}"
    summary = _text(summary)
    _check_length(problems, "summary", summary, 2, 5000)
    if problems:
        raise InvalidCommand("the contact record is incomplete or malformed", problems)
    return [ContactRecorded(proposal_id=state.proposal_id, round=r.number, unit=actor.organisation,
                            stage=stage, summary=summary)]


def send_co_unit_opinion(actor: Actor, state: Proposal, *, opinion: str) -> list[DomainEvent]:
    """A co-handling unit sends its opinion to the lead unit 会办意见."""
    _require(state)
    r = state.round
    if actor.role != UNIT or r is None or actor.organisation not in r.co_units:
        raise NotAllowed("send_co_unit_opinion", "only a co-handling unit of the current round "
                                                 f"sends an opinion; {actor.organisation!r} is not one")
    _require_status(state, (ASSIGNED,), "send_co_unit_opinion")
    opinion = _required_text("opinion", opinion, 2, 20_000)
    return [CoUnitOpinionSent(proposal_id=state.proposal_id, round=r.number, unit=actor.organisation,
                              lead_unit=r.lead_unit, opinion=opinion)]


def reply_to_proposal(actor: Actor, state: Proposal, *, reply_class: str, reply: str,
                      today: date) -> list[DomainEvent]:
    """The lead unit of the current round replies 答复, classing the outcome A, B or C."""
    _require(state)
    r = state.round
    if actor.role != UNIT or r is None or actor.organisation != r.lead_unit:
        raise NotAllowed("reply_to_proposal",
                         f"only the lead unit{f' {r.lead_unit!r}' if r else ''} replies; the actor "
                         f"is {actor.role!r} of {actor.organisation!r}")
    _require_status(state, (ASSIGNED,), "reply_to_proposal")
    problems: dict[str, str] = {}
    if reply_class not in REPLY_CLASSES:
        problems["reply_class"] = "A, B or C"
    reply = _text(reply)
    _check_length(problems, "reply", reply, 2, 50_000)
    if r.objections:
        problems["objections"] = f"the objection of {', '.join(r.objections)} is still pending"
    if problems:
        raise InvalidCommand("the reply is incomplete or malformed", problems)
    return [ProposalReplied(proposal_id=state.proposal_id, case_number=state.case_number or "",
                            title=state.title, proposer=state.proposer, unit=actor.organisation,
                            reply_class=reply_class, reply=reply,
                            on_time=today <= date.fromisoformat(r.deadline), round=r.number,
                            replied_on=today.isoformat(), deadline=r.deadline)]


# -- decisions: deadlines (timers) ---------------------------------------------------------------

def remind_or_escalate(state: Proposal, timing: Timing) -> list[DomainEvent]:
    """What the timer records for an open round today: a reminder before the deadline (once per
    threshold), or the overdue event (once per round), escalated to the supervisors."""
    r = state.round
    if state.status != ASSIGNED or r is None:
        return []
    due = date.fromisoformat(r.deadline)
    late = days_overdue(due, timing.today, timing.rules, timing.calendar)
    if late > 0:
        if r.overdue:
            return []
        return [ReplyOverdue(proposal_id=state.proposal_id, case_number=state.case_number or "",
                             round=r.number, unit=r.lead_unit, deadline=r.deadline,
                             days_overdue=late,
                             escalate_to=list(state.supervisors) or ["proposal-committee"])]
    # One reminder for the nearest threshold passed; the farther ones are covered by it.
    passed = [days for days, on in reminder_dates(due, timing.rules, timing.calendar).items()
              if timing.today >= on and (r.reminded_at is None or days < r.reminded_at)]
    if not passed:
        return []
    return [ReplyDueSoon(proposal_id=state.proposal_id, case_number=state.case_number or "",
                         round=r.number, unit=r.lead_unit, deadline=r.deadline,
                         days_before=min(passed))]


def recount_deadline(state: Proposal, timing: Timing) -> list[DomainEvent]:
    """Count the open round's deadline again (after a calendar amendment): an event if it moved."""
    r = state.round
    if state.status != ASSIGNED or r is None or r.fixed_deadline or r.counting != timing.rules.counting:
        return []
    due = deadline(date.fromisoformat(r.started_on), r.period_days, timing.rules, timing.calendar)
    if due.isoformat() == r.deadline:
        return []
    return [ReplyDeadlineMoved(proposal_id=state.proposal_id, round=r.number, previous=r.deadline,
                               deadline=due.isoformat())]


# -- decisions: supervision (督) ------------------------------------------------------------------

def designate_key_proposal(actor: Actor, state: Proposal, *, supervisors: Sequence[str],
                           mode: str) -> list[DomainEvent]:
    """Staff make a filed case a key proposal 重点提案 with named supervisors."""
    _require(state)
    _require_role(actor, (STAFF,), "designate_key_proposal", "only committee staff choose key proposals")
    _require_status(state, (FILED, ASSIGNED, REPLIED), "designate_key_proposal")
    problems: dict[str, str] = {}
    names = _id_list(problems, "supervisors", supervisors)
    if not names and "supervisors" not in problems:
        problems["supervisors"] = "at least one supervisor (a leader's user id)"
    if mode not in SUPERVISION_MODES:
        problems["mode"] = f"one of {', '.join(SUPERVISION_MODES)}"
    if problems:
        raise InvalidCommand("the key proposal designation is incomplete or malformed", problems)
    if state.key and tuple(names) == state.supervisors and mode == state.supervision_mode:
        return []
    return [ProposalDesignatedKey(proposal_id=state.proposal_id, case_number=state.case_number or "",
                                  supervisors=names, mode=mode)]


def record_supervision(actor: Actor, state: Proposal, *, kind: str, note: str) -> list[DomainEvent]:
    """A named supervisor (or staff) records supervision of a key proposal."""
    _require(state)
    if not state.key:
        raise WrongState("record_supervision", "not a key proposal", ("designate_key_proposal",))
    if not (actor.role == STAFF or (actor.role == LEADER and actor.user_id in state.supervisors)):
        raise NotAllowed("record_supervision", "only the key proposal's supervisors "
                                               f"({', '.join(state.supervisors)}) or staff record "
                                               f"supervision; {actor.user_id!r} is neither")
    _require_status(state, OPEN, "record_supervision")
    problems: dict[str, str] = {}
    if kind not in SUPERVISION_KINDS:
        problems["kind"] = f"one of {', '.join(SUPERVISION_KINDS)}"
    note = _text(note)
    _check_length(problems, "note", note, 2, 10_000)
    if problems:
        raise InvalidCommand("the supervision record is incomplete or malformed", problems)
    return [SupervisionRecorded(proposal_id=state.proposal_id, supervisor=actor.user_id, kind=kind,
                                note=note)]


# -- decisions: evaluation (评) -------------------------------------------------------------------

def rate_reply(actor: Actor, state: Proposal, *, reply_rating: str, attitude_rating: str,
               timing: Timing) -> list[DomainEvent]:
    """A proposer rates the reply and the unit's attitude. Once every proposer has rated, an
    unsatisfied rating starts a new handling round."""
    _require(state)
    if actor.role != MEMBER or actor.user_id not in state.proposers:
        raise NotAllowed("rate_reply", f"only the case's proposers ({', '.join(state.proposers)}) "
                                       f"rate its reply; {actor.user_id!r} is not one")
    _require_status(state, (REPLIED,), "rate_reply")
    r = state.round
    if r.rated_by(actor.user_id):
        raise WrongState("rate_reply", f"already rated by {actor.user_id} in round {r.number}", ())
    problems: dict[str, str] = {}
    if reply_rating not in RATINGS:
        problems["reply_rating"] = f"one of {', '.join(RATINGS)}"
    if attitude_rating not in RATINGS:
        problems["attitude_rating"] = f"one of {', '.join(RATINGS)}"
    if problems:
        raise InvalidCommand("the rating is incomplete or malformed", problems)
    events: list[DomainEvent] = [ReplyRated(proposal_id=state.proposal_id, round=r.number,
                                            rater=actor.user_id, unit=r.lead_unit,
                                            reply_rating=reply_rating, attitude_rating=attitude_rating)]
    ratings = [*(x[1] for x in r.ratings), reply_rating]
    if len(ratings) == len(state.proposers) and "unsatisfied" in ratings:
        days = timing.rules.rehandling_days
        events.append(RehandlingStarted(
            proposal_id=state.proposal_id, case_number=state.case_number or "", round=r.number + 1,
            lead_unit=r.lead_unit, co_units=list(r.co_units), started_on=timing.today.isoformat(),
            deadline=deadline(timing.today, days, timing.rules, timing.calendar).isoformat(),
            period_days=days, counting=timing.rules.counting))
    return events


def record_follow_up(actor: Actor, state: Proposal, *, note: str, kept: bool) -> list[DomainEvent]:
    """Follow-up of a B-class reply 跟踪落实, by staff or the lead unit."""
    _require(state)
    r = state.round
    if not (actor.role == STAFF or (actor.role == UNIT and r and actor.organisation == r.lead_unit)):
        raise NotAllowed("record_follow_up", "only staff or the lead unit record follow-up")
    _require_status(state, (REPLIED,), "record_follow_up")
    if r.reply_class != "B":
        raise WrongState("record_follow_up", f"replied {r.reply_class}: only B replies are followed up",
                         ("rate_reply", "close_proposal"))
    if state.follow_up_kept:
        raise WrongState("record_follow_up", "promise already kept", ("close_proposal",))
    problems: dict[str, str] = {}
    note = _text(note)
    _check_length(problems, "note", note, 2, 10_000)
    if not isinstance(kept, bool):
        problems["kept"] = "true or false"
    if problems:
        raise InvalidCommand("the follow-up is incomplete or malformed", problems)
    return [FollowUpRecorded(proposal_id=state.proposal_id, round=r.number, note=note, kept=kept)]


def close_proposal(actor: Actor, state: Proposal) -> list[DomainEvent]:
    """Staff close a replied case 办结: every proposer rated it and none is unsatisfied (that would
    have started a new round), and a B reply's promise is kept."""
    _require(state)
    _require_role(actor, (STAFF,), "close_proposal", "only proposal committee staff close cases")
    _require_status(state, (REPLIED,), "close_proposal")
    r = state.round
    missing = [p for p in state.proposers if not r.rated_by(p)]
    if missing:
        raise WrongState("close_proposal", f"waiting for the rating of {', '.join(missing)}",
                         ("rate_reply",))
    if r.reply_class == "B" and not state.follow_up_kept:
        raise WrongState("close_proposal", "B reply not yet kept: follow it up until it is",
                         ("record_follow_up",))
    return [ProposalClosed(proposal_id=state.proposal_id, case_number=state.case_number or "",
                           rounds=len(state.rounds), reply_class=r.reply_class or "")]


# -- decisions: publication and comments -------------------------------------------------------

def set_publication_consent(actor: Actor, state: Proposal, *, consent: bool) -> list[DomainEvent]:
    """The proposer agrees to publication, or withdraws; withdrawing unpublishes the case."""
    _require(state)
    if actor.role != MEMBER or actor.user_id != state.proposer:
        raise NotAllowed("set_publication_consent", f"only the proposer {state.proposer!r} decides")
    if state.status in (MERGED, NOT_FILED):
        raise WrongState("set_publication_consent", state.status, ())
    if not isinstance(consent, bool):
        raise InvalidCommand("bad consent", {"consent": "true or false"})
    if consent == state.publish_consent:
        return []
    events: list[DomainEvent] = [PublicationConsentChanged(proposal_id=state.proposal_id,
                                                           proposer=state.proposer, consent=consent)]
    if not consent and state.published:
        events.append(ProposalUnpublished(proposal_id=state.proposal_id,
                                          reason="the proposer withdrew consent to publication"))
    return events


def publish_proposal(actor: Actor, state: Proposal, *, proposer_names: Sequence[str]) -> list[DomainEvent]:
    """Staff publish a filed case with the proposer's consent, under the given names."""
    _require(state)
    _require_role(actor, (STAFF,), "publish_proposal", "only committee staff publish cases")
    _require_status(state, PUBLISHABLE, "publish_proposal")
    if state.published:
        raise WrongState("publish_proposal", "published", ("unpublish_proposal",))
    if not state.publish_consent:
        raise WrongState("publish_proposal", "no consent of the proposer to publication",
                         ("set_publication_consent",))
    problems: dict[str, str] = {}
    if isinstance(proposer_names, str) or not proposer_names or not all(
            isinstance(n, str) and 1 <= len(n.strip()) <= 50 for n in proposer_names):
        problems["proposer_names"] = "the names to show, 1 to 50 characters each"
    if problems:
        raise InvalidCommand("the publication is incomplete or malformed", problems)
    return [ProposalPublished(proposal_id=state.proposal_id, case_number=state.case_number or "",
                              proposer_names=[n.strip() for n in proposer_names])]


def unpublish_proposal(actor: Actor, state: Proposal, *, reason: str) -> list[DomainEvent]:
    _require(state)
    _require_role(actor, (STAFF,), "unpublish_proposal", "only committee staff unpublish cases")
    if not state.published:
        raise WrongState("unpublish_proposal", "not published", ("publish_proposal",))
    reason = _required_text("reason", reason, 2, 2000)
    return [ProposalUnpublished(proposal_id=state.proposal_id, reason=reason)]


def submit_comment(actor: Actor, state: Proposal, *, comment_id: str, display_name: str,
                   text: str) -> list[DomainEvent]:
    """Anyone signed in (the public, members) comments on a published case; moderated first."""
    _require(state)
    if actor.role not in (PUBLIC, MEMBER):
        raise NotAllowed("submit_comment", f"comments come from the public or members, not {actor.role!r}")
    if not state.published:
        raise WrongState("submit_comment", "not published", ())
    problems: dict[str, str] = {}
    if not isinstance(comment_id, str) or not _ID.fullmatch(comment_id):
        problems["comment_id"] = "an id (letters, digits, _ . : -)"
    elif state.comment(comment_id):
        return []  # a retried submission
    display_name, text = _text(display_name), _text(text)
    _check_length(problems, "display_name", display_name, 1, 30)
    _check_length(problems, "text", text, 2, 2000)
    if problems:
        raise InvalidCommand("the comment is incomplete or malformed", problems)
    return [CommentSubmitted(proposal_id=state.proposal_id, comment_id=comment_id,
                             author=actor.user_id, display_name=display_name, text=text)]


def moderate_comment(actor: Actor, state: Proposal, *, comment_id: str, approve: bool,
                     reason: str | None = None) -> list[DomainEvent]:
    _require(state)
    _require_role(actor, (STAFF,), "moderate_comment", "only committee staff moderate comments")
    comment = _require_comment(state, comment_id)
    if comment.status != "pending":
        raise WrongState("moderate_comment", f"comment {comment.status}", ())
    if approve:
        return [CommentApproved(proposal_id=state.proposal_id, comment_id=comment_id)]
    reason = _required_text("reason", reason, 2, 500)
    return [CommentRejected(proposal_id=state.proposal_id, comment_id=comment_id, reason=reason)]


def answer_comment(actor: Actor, state: Proposal, *, comment_id: str, answer: str) -> list[DomainEvent]:
    _require(state)
    r = state.round
    if actor.role != UNIT or r is None or actor.organisation != r.lead_unit:
        raise NotAllowed("answer_comment", "only the lead unit answers comments")
    comment = _require_comment(state, comment_id)
    if comment.status != "approved":
        raise WrongState("answer_comment", f"comment {comment.status}", ())
    if comment.answer is not None:
        raise WrongState("answer_comment", "comment answered", ())
    answer = _required_text("answer", answer, 2, 5000)
    return [CommentAnswered(proposal_id=state.proposal_id, comment_id=comment_id,
                            unit=actor.organisation, answer=answer)]


# -- helpers -----------------------------------------------------------------------------------

def _require(state: Proposal) -> None:
    if not state.exists:
        raise NotFound(f"no proposal {state.proposal_id!r}")


def _require_role(actor: Actor, roles: tuple[str, ...], command: str, why: str) -> None:
    if actor.role not in roles:
        raise NotAllowed(command, f"{why}; the actor's role is {actor.role!r}")


def _require_status(state: Proposal, statuses: tuple[str, ...], command: str) -> None:
    if state.status not in statuses:
        raise WrongState(command, state.status or "none", state.next_commands())


def _require_unit_of_round(actor: Actor, state: Proposal, command: str) -> HandlingRound:
    r = state.round
    if actor.role != UNIT or r is None or actor.organisation not in r.units:
        raise NotAllowed(command, "only a unit the case is assigned to "
                                  f"({', '.join(r.units) if r else 'none yet'}); the actor is "
                                  f"{actor.role!r} of {actor.organisation!r}")
    return r


def _require_comment(state: Proposal, comment_id: str) -> Comment:
    comment = state.comment(comment_id) if isinstance(comment_id, str) else None
    if comment is None:
        raise NotFound(f"no comment {comment_id!r} on proposal {state.proposal_id!r}")
    return comment


def _units(problems: dict[str, str], lead_unit: Any, co_units: Any) -> tuple[str, list[str]]:
    if not isinstance(lead_unit, str) or not _ID.fullmatch(lead_unit):
        problems["lead_unit"] = "a unit id (letters, digits, _ . : -)"
    units = _id_list(problems, "co_units", co_units)
    if lead_unit in units:
        problems["co_units"] = "the lead unit cannot also be a co-handling unit"
    return lead_unit, units


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _required_text(name: str, value: Any, lo: int, hi: int) -> str:
    problems: dict[str, str] = {}
    value = _text(value)
    _check_length(problems, name, value, lo, hi)
    if problems:
        raise InvalidCommand(f"bad {name}", problems)
    return value


def _check_length(problems: dict[str, str], name: str, value: Any, lo: int, hi: int) -> None:
    if not isinstance(value, str) or not lo <= len(value) <= hi:
        problems[name] = f"text of {lo} to {hi} characters"


def _id_list(problems: dict[str, str], name: str, values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        problems[name] = "a list of ids"
        return []
    bad = [v for v in values if not isinstance(v, str) or not _ID.fullmatch(v)]
    if bad:
        problems[name] = f"not ids: {bad!r}"
        return []
    if len(set(values)) != len(values):
        problems[name] = "an id is repeated"
        return []
    return list(values)


def _dates(problems: dict[str, str], name: str, values: Any) -> list[date]:
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        problems[name] = "a list of ISO dates"
        return []
    out = []
    for v in values:
        try:
            out.append(date.fromisoformat(str(v)))
        except ValueError:
            problems[name] = f"not an ISO date: {v!r}"
            return []
    return out
