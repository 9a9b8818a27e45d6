"""A proposal's case as folded from its stream: its state, its handling rounds, its comments."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Mapping

from xieshang.kernel.domain import DomainEvent

from .events import (AssignmentObjected, CommentAnswered, CommentApproved, CommentRejected,
                     CommentSubmitted, ContactRecorded, CoSignatureConfirmed, CoSignatureDeclined,
                     CoUnitOpinionSent, FollowUpRecorded, MergedProposalAdded, ObjectionDismissed,
                     ProposalAssigned, ProposalClosed, ProposalDesignatedKey, ProposalFiled,
                     ProposalMerged, ProposalNotFiled, ProposalPublished, ProposalReassigned,
                     ProposalReplied, ProposalReturned, ProposalRevised, ProposalSubmitted,
                     ProposalTakenUpFromConsultation,
                     ProposalUnpublished, PublicationConsentChanged, RehandlingStarted,
                     ReplyDeadlineMoved, ReplyDueSoon, ReplyOverdue, ReplyRated, SupervisionRecorded)
from .vocabulary import (ASSIGNED, CLOSED, FILED, MERGED, NOT_FILED, OPEN, PUBLISHABLE, REPLIED,
                         RETURNED, STATE_COMMANDS, SUBMITTED)

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
    # What the units wrote: (unit, stage, summary) per contact, (unit, opinion) per co-unit
    # opinion. Who reads which of them: access.handling_texts_seen_by.
    contact_records: tuple[tuple[str, str, str], ...] = ()
    opinion_texts: tuple[tuple[str, str], ...] = ()
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
    publish_consent: bool = False          # the proposer's
    name_consents: tuple[str, ...] = ()    # co-signers who agreed to their name being published
    published: bool = False
    proposer_names: tuple[str, ...] = ()
    comments: tuple[Comment, ...] = ()
    source: str | None = None              # e.g. consultation:<id> (ProposalSubmitted.source)
    consultation_id: str | None = None     # the consultation whose result it is

    @property
    def exists(self) -> bool:
        return self.status is not None

    @property
    def round(self) -> HandlingRound | None:
        return self.rounds[-1] if self.rounds else None

    @property
    def published_people(self) -> tuple[str, ...]:
        """Whose names a publication shows: the proposer, then the confirmed co-signers who
        each agreed to it themselves."""
        return (self.proposer, *(c for c in self.confirmed if c in self.name_consents))

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
                        publish_consent=e.publish_consent, source=e.source)
    if isinstance(e, ProposalTakenUpFromConsultation):
        return replace(state, consultation_id=e.consultation_id)
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
        return _with_round(state, e.round, contacts=(*r.contacts, e.stage),
                           contact_records=(*r.contact_records, (e.unit, e.stage, e.summary)))
    if isinstance(e, CoUnitOpinionSent):
        r = next(r for r in state.rounds if r.number == e.round)
        return _with_round(state, e.round, opinions=(*r.opinions, e.unit),
                           opinion_texts=(*r.opinion_texts, (e.unit, e.opinion)))
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
        if e.proposer == state.proposer:
            return replace(state, publish_consent=e.consent)
        others = tuple(p for p in state.name_consents if p != e.proposer)
        return replace(state, name_consents=(*others, e.proposer) if e.consent else others)
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

def case_fold(proposal_id: str) -> Callable[[Iterable[DomainEvent]], Proposal]:
    """The fold of the stream of case ``proposal_id`` (what ``Streams.load`` takes)."""
    return partial(fold, proposal_id)
