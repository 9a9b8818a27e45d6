"""An opinion report's state as folded from its stream."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable

from xieshang.kernel.domain import DomainEvent

from .events import (LeaderInstructionRecorded, OpinionCheckRecorded, OpinionDecidedAbove,
                     OpinionFeedbackDueSoon, OpinionFeedbackOverdue, OpinionFeedbackReceived,
                     OpinionReceivedFromBelow, OpinionReportAdopted,
                     OpinionReportCombinationReleased, OpinionReportCombinedInto,
                     OpinionReportForwarded, OpinionReportNotAdopted,
                     OpinionReportReported, OpinionReportReturned, OpinionReportRevised,
                     OpinionReportsCombined, OpinionReportSubmitted, SubmitterInformed)
from .vocabulary import (ADOPTED, CHECKS, COMBINED, MEMBER, NOT_ADOPTED, RETURNED, STATE_COMMANDS,
                         SUBMITTED)


@dataclass(frozen=True)
class Origin:
    """Where a report received from below came from: the lower committee's report and the
    event it was reported by (id, position and chain hash in the lower committee's log)."""

    committee: str
    level: str
    report_id: str
    event_id: str
    position: int
    hash: str


@dataclass(frozen=True)
class Forward:
    unit: str
    deadline: str
    fed_back_on: str | None = None
    on_time: bool | None = None
    text: str | None = None  # the unit's written feedback 书面反馈
    reminded: bool = False   # OpinionFeedbackDueSoon recorded
    overdue: bool = False    # OpinionFeedbackOverdue recorded


@dataclass(frozen=True)
class OpinionReport:
    report_id: str
    status: str | None = None  # None: no such report
    submitter: str = ""
    submitter_role: str = ""
    title: str = ""
    content: str = ""
    channel: str = ""
    category: str = ""
    source: str | None = None
    contributors: tuple[str, ...] = ()   # a combined report's sources' submitters
    members: tuple[str, ...] = ()        # the members among the submitters (duty points)
    sources: tuple[str, ...] = ()
    combined_into: str | None = None
    checks: tuple[tuple[str, bool, str], ...] = ()  # (check, passed, note), latest per check
    return_reason: str | None = None
    not_adopted_reason: str | None = None
    party_committee: bool = False
    government: bool = False
    upper: tuple[str, ...] = ()          # upper committees reported to
    leaders: tuple[str, ...] = ()        # leaders it was put before
    forwards: tuple[Forward, ...] = ()
    instructions: tuple[tuple[str, str, str, str], ...] = ()  # (leader, level, office, text)
    informed: int = 0                    # how many times the submitters were told
    notices: tuple[str, ...] = ()        # what they were told 情况通报, in order
    origin: Origin | None = None
    decisions_above: tuple[tuple[str, str], ...] = ()  # (upper committee, decision)

    @property
    def exists(self) -> bool:
        return self.status is not None

    @property
    def from_below(self) -> bool:
        return self.origin is not None

    @property
    def submitters(self) -> tuple[str, ...]:
        """Who is told what happened: the submitter, or a combined report's contributors."""
        if self.from_below:
            return ()
        return self.contributors or ((self.submitter,) if self.submitter else ())

    def passed(self, check: str) -> bool:
        return any(c == check and ok for c, ok, _ in self.checks)

    def pending_checks(self) -> tuple[str, ...]:
        return tuple(c for c in CHECKS if not self.passed(c))

    def forward_to(self, unit: str) -> Forward | None:
        return next((f for f in self.forwards if f.unit == unit), None)

    def next_commands(self) -> list[str]:
        commands = list(STATE_COMMANDS.get(self.status or "", ()))
        if self.from_below and "return_opinion_report" in commands:
            commands.remove("return_opinion_report")  # its submitter is at the lower committee
        if self.status == ADOPTED:
            if not any(f.fed_back_on is None for f in self.forwards):
                commands.remove("send_opinion_feedback")
            if not (self.party_committee or self.government or self.leaders):
                commands.remove("record_leader_instruction")
            if self.from_below:
                commands.remove("inform_submitter")
        if self.status == NOT_ADOPTED and self.from_below:
            commands.remove("inform_submitter")
        return commands

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for key, value in d.items():
            if isinstance(value, tuple):
                d[key] = list(value)
        d["checks"] = [{"check": c, "passed": ok, "note": note} for c, ok, note in self.checks]
        d["instructions"] = [{"leader": who, "leader_level": level, "office": office, "text": text}
                             for who, level, office, text in self.instructions]
        d["decisions_above"] = [{"committee": c, "decision": k} for c, k in self.decisions_above]
        d["pending_checks"] = list(self.pending_checks())
        d["submitters"] = list(self.submitters)
        d["next_commands"] = self.next_commands()
        return d


def _with_check(state: OpinionReport, e: OpinionCheckRecorded) -> OpinionReport:
    others = tuple(c for c in state.checks if c[0] != e.check)
    return dataclasses.replace(state, checks=(*others, (e.check, e.passed, e.note)))


def _with_forward(state: OpinionReport, unit: str, **changes: Any) -> OpinionReport:
    return dataclasses.replace(state, forwards=tuple(
        dataclasses.replace(f, **changes) if f.unit == unit else f for f in state.forwards))


def apply(state: OpinionReport, e: DomainEvent) -> OpinionReport:  # noqa: C901 - one branch per event
    replace = dataclasses.replace
    if isinstance(e, OpinionReportSubmitted):
        return OpinionReport(state.report_id, SUBMITTED, e.submitter, e.submitter_role, e.title,
                             e.content, e.channel, e.category, e.source,
                             members=(e.submitter,) if e.submitter_role == MEMBER else ())
    if isinstance(e, OpinionReportsCombined):
        return OpinionReport(state.report_id, SUBMITTED, "", "", e.title, e.content, e.channel,
                             e.category, contributors=tuple(e.contributors), members=tuple(e.members),
                             sources=tuple(e.sources))
    if isinstance(e, OpinionReceivedFromBelow):
        return OpinionReport(state.report_id, SUBMITTED, "", e.submitter_role, e.title, e.content,
                             e.channel, e.category,
                             origin=Origin(e.origin_committee, e.origin_level, e.origin_report_id,
                                           e.origin_event_id, e.origin_position, e.origin_hash))
    if isinstance(e, OpinionCheckRecorded):
        return _with_check(state, e)
    if isinstance(e, OpinionReportReturned):
        return replace(state, status=RETURNED, return_reason=e.reason)
    if isinstance(e, OpinionReportRevised):
        return replace(state, status=SUBMITTED, title=e.title, content=e.content, category=e.category,
                       return_reason=None, checks=())
    if isinstance(e, OpinionReportCombinedInto):
        return replace(state, status=COMBINED, combined_into=e.into)
    if isinstance(e, OpinionReportCombinationReleased):
        return replace(state, status=SUBMITTED, combined_into=None)
    if isinstance(e, OpinionReportAdopted):
        return replace(state, status=ADOPTED)
    if isinstance(e, OpinionReportNotAdopted):
        return replace(state, status=NOT_ADOPTED, not_adopted_reason=e.reason)
    if isinstance(e, OpinionReportReported):
        return replace(state, party_committee=state.party_committee or e.party_committee,
                       government=state.government or e.government,
                       upper=(*state.upper, *e.upper),
                       leaders=tuple(dict.fromkeys((*state.leaders, *e.leaders))))
    if isinstance(e, OpinionReportForwarded):
        return replace(state, forwards=(*state.forwards, *(Forward(u, e.deadline) for u in e.units)))
    if isinstance(e, OpinionFeedbackReceived):
        return _with_forward(state, e.unit, fed_back_on=e.received_on, on_time=e.on_time, text=e.text)
    if isinstance(e, OpinionFeedbackDueSoon):
        return _with_forward(state, e.unit, reminded=True)
    if isinstance(e, OpinionFeedbackOverdue):
        return _with_forward(state, e.unit, overdue=True)
    if isinstance(e, LeaderInstructionRecorded):
        return replace(state, instructions=(*state.instructions,
                                            (e.leader, e.leader_level, e.office, e.text)))
    if isinstance(e, SubmitterInformed):
        return replace(state, informed=state.informed + 1, notices=(*state.notices, e.text))
    if isinstance(e, OpinionDecidedAbove):
        return replace(state, decisions_above=(*state.decisions_above, (e.upper_committee, e.decision)))
    return state


def fold(report_id: str, events: Iterable[DomainEvent]) -> OpinionReport:
    state = OpinionReport(report_id)
    for e in events:
        state = apply(state, e)
    return state


def report_fold(report_id: str) -> Callable[[Iterable[DomainEvent]], OpinionReport]:
    """The fold of the stream of report ``report_id`` (what ``Streams.load`` takes)."""
    return partial(fold, report_id)
