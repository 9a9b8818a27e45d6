"""Consultations 协商议事 in eight steps 八步议事法 (DOMAIN.md §3): 议题收集 a topic is raised ─>
议题确定 staff decide it against the committee's topic lists 议题清单 and the same-level party
organisation 同级党组织 approves it ─> 制定方案 the plan (when, where, who) ─> 议前调研 research ─>
协商议事 the meeting and its outcomes ─> 公开公示 the results published ─> 组织决定 the party
organisation adopts outcomes ─> 跟踪落实 follow-up tasks to units, a visit 回访 and a satisfaction
survey 满意度测评, then closing. A result may become an opinion report or a collective proposal.

The topic lists (可协商 / 不可协商) start as vocabulary.DEFAULT_TOPIC_LISTS and are amended by
staff, each change an event with its reason (stream TOPIC_LISTS_STREAM); a topic of a forbidden
kind is refused when raised and again when decided, naming the rule; a kind on neither list too.

Pure: the state is folded from the consultation's stream (``consultation-<id>``); each decision
takes the actor, the state, the command and the facts looked up for it (the topic lists,
directory entries, today, new ids) and returns the events, or raises the kernel's DomainErrors
naming what is wrong.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Callable, Iterable, Mapping

from xieshang.kernel.commands import Command, Id
from xieshang.kernel.directory import DirectoryEntry, STATION_ENTRY
from xieshang.kernel.domain import DomainEvent, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor

from .checks import (LAG, check_category, check_date, check_ids, check_people, check_sized_text,  # noqa: F401 - LAG re-exported
                     member_problem, refuse_if, require_role, require_status, unit_problem)
from .events import (ConsultationClosed, ConsultationDecided, ConsultationFollowUpVisited,
                     ConsultationLinkedToProposal, ConsultationMeetingDueSoon,
                     ConsultationMeetingHeld, ConsultationPlanned, ConsultationResearchRecorded,
                     ConsultationResultConverted, ConsultationResultsPublished,
                     ConsultationSurveyRecorded, ConsultationTopicApproved,
                     ConsultationTopicDecided, ConsultationTopicListAmended,
                     ConsultationTopicProposed, ConsultationTopicRejected,
                     ConsultationTopicSetAside, FollowUpTaskAssigned, FollowUpTaskCompleted,
                     FollowUpTaskDueSoon, FollowUpTaskOverdue, OpinionReportSubmitted)
from .vocabulary import (ALLOWED, AUDITOR, CLOSED, CONSULTATION_COMMANDS, CONSULTATION_PLACE_TYPES,
                         DEFAULT_TOPIC_LISTS, FOLLOWING_UP, FORBIDDEN, LEADER, LISTINGS,
                         MAX_TASK_DAYS, MEETING_REMIND_DAYS_BEFORE, MEMBER, MET, PLANNED,
                         PUBLICATION_CHANNELS, RESEARCH_KINDS, RESULTS_PUBLISHED, STAFF,
                         TASK_REMIND_DAYS_BEFORE, TEXT_LIMITS, TOPIC_APPROVED, TOPIC_DECIDED,
                         TOPIC_PROPOSED, TOPIC_REJECTED, TOPIC_SET_ASIDE, TOPIC_SOURCES, UNIT,
                         UNLISTED, consultation_stream)

__all__ = [
    "AmendTopicLists", "ProposeConsultationTopic", "DecideConsultationTopic",
    "SetAsideConsultationTopic", "ApproveConsultationTopic", "RejectConsultationTopic",
    "PlanConsultation", "RecordConsultationResearch", "RecordConsultationMeeting",
    "PublishConsultationResults", "DecideConsultation", "AssignFollowUpTask",
    "CompleteFollowUpTask", "RecordFollowUpVisit", "RecordSatisfactionSurvey",
    "ConvertConsultationResult", "CloseConsultation",
    "TopicLists", "topic_lists_fold", "fold_topic_lists", "amend_topic_lists",
    "Consultation", "Plan", "Meeting", "FollowUpTask", "fold", "consultation_fold",
    "require_consultation", "propose_consultation_topic", "decide_consultation_topic",
    "set_aside_consultation_topic", "approve_consultation_topic", "reject_consultation_topic",
    "plan_consultation", "place_ids", "record_consultation_research", "record_consultation_meeting",
    "publish_consultation_results", "decide_consultation", "assign_follow_up_task",
    "complete_follow_up_task", "record_follow_up_visit", "record_satisfaction_survey",
    "convert_consultation_result", "close_consultation", "remind_or_record_overdue",
    "may_read", "require_reader", "consultation_as_seen_by", "next_step", "consultation_stream",
    "LAG", "MAX_PEOPLE", "MAX_OUTCOMES", "BODY_TYPES", "INTO"]

MAX_PEOPLE = 200        # members or departments named in a plan, a meeting, research or a visit
MAX_OUTCOMES = 50       # outcomes agreed, opinions heard
MAX_STAKEHOLDERS = 50
MAX_RESIDENTS = 100_000
READERS = (STAFF, LEADER, AUDITOR)   # who reads every consultation
# What a result becomes (ConsultationResultConverted.into).
OPINION_REPORT, PROPOSAL = "opinion_report", "proposal"
INTO = (OPINION_REPORT, PROPOSAL)
# A collective proposal's body 集体提案 (the proposals service's BODY_TYPES: 党派, 团体, 界别, 专门委员会).
BODY_TYPES = ("party", "group", "sector", "special_committee")
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# After the meeting a consultation's results may be converted.
CONVERTIBLE = (MET, RESULTS_PUBLISHED, FOLLOWING_UP)
APPROVED_AND_LATER = (TOPIC_APPROVED, PLANNED, MET, RESULTS_PUBLISHED, FOLLOWING_UP, CLOSED)


# -- commands --------------------------------------------------------------------------------

@dataclass(frozen=True)
class AmendTopicLists(Command):
    kind: str
    listing: str
    label: str
    reason: str


@dataclass(frozen=True)
class ProposeConsultationTopic(Command):
    title: str
    description: str
    topic_kind: str
    source: str
    township: Id | None = None


@dataclass(frozen=True)
class DecideConsultationTopic(Command):
    consultation_id: Id
    note: str = ""


@dataclass(frozen=True)
class SetAsideConsultationTopic(Command):
    consultation_id: Id
    reason: str


@dataclass(frozen=True)
class ApproveConsultationTopic(Command):
    consultation_id: Id
    note: str = ""


@dataclass(frozen=True)
class RejectConsultationTopic(Command):
    consultation_id: Id
    reason: str


@dataclass(frozen=True)
class PlanConsultation(Command):
    consultation_id: Id
    held_on: str
    place: Id
    agenda: str | None = None   # required (the RPC's parameter comes after those with defaults)
    members: tuple[Id, ...] = ()
    departments: tuple[Id, ...] = ()
    residents: int = 0
    stakeholders: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordConsultationResearch(Command):
    consultation_id: Id
    kind: str
    held_on: str
    members: tuple[Id, ...]
    summary: str


@dataclass(frozen=True)
class RecordConsultationMeeting(Command):
    consultation_id: Id
    held_on: str
    members: tuple[Id, ...]
    departments: tuple[Id, ...] = ()
    residents: int = 0
    stakeholders: tuple[str, ...] = ()
    speakers: tuple[Id, ...] = ()
    opinions: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()   # at least one (the RPC's parameter comes after those with defaults)


@dataclass(frozen=True)
class PublishConsultationResults(Command):
    consultation_id: Id
    channel: str
    text: str
    until: str


@dataclass(frozen=True)
class DecideConsultation(Command):
    consultation_id: Id
    adopted_outcomes: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class AssignFollowUpTask(Command):
    consultation_id: Id
    unit: Id
    outcome: int
    task: str
    deadline: str


@dataclass(frozen=True)
class CompleteFollowUpTask(Command):
    consultation_id: Id
    task_id: Id
    report: str


@dataclass(frozen=True)
class RecordFollowUpVisit(Command):
    consultation_id: Id
    visited_on: str
    members: tuple[Id, ...]
    findings: str


@dataclass(frozen=True)
class RecordSatisfactionSurvey(Command):
    consultation_id: Id
    respondents: int
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    note: str = ""


@dataclass(frozen=True)
class ConvertConsultationResult(Command):
    consultation_id: Id
    into: str
    title: str
    content: str
    category: str
    body: dict | None = None


@dataclass(frozen=True)
class CloseConsultation(Command):
    consultation_id: Id
    summary: str


# -- checks ----------------------------------------------------------------------------------

TEXTS: Mapping[str, tuple[str, str]] = {   # field: (the limits of TEXT_LIMITS, its Chinese name)
    "title": ("title", "议题名称"), "description": ("text", "议题说明"), "label": ("title", "事项表述"),
    "reason": ("reason", "理由"), "note": ("note", "说明"), "agenda": ("text", "议程"),
    "summary": ("text", "情况"), "text": ("text", "内容"), "task": ("text", "落实任务"),
    "report": ("text", "落实情况"), "findings": ("text", "回访情况"), "content": ("content", "内容"),
    "outcome": ("note", "协商成果"), "opinion": ("note", "意见"), "stakeholder": ((1, 100), "利益相关方"),
    "body_name": ((2, 100), "集体名称"),   # as the proposals service takes a body's name
}


def _text(problems: dict[str, str], name: str, value: Any, *, key: str | None = None,
          optional: bool = False) -> str:
    """``value`` trimmed; a problem noted under ``key`` (else ``name``) if it is not text of the
    length TEXTS allows (``optional``: "" is fine)."""
    limits, zh = TEXTS[name]
    return check_sized_text(problems, key or name, value,
                            TEXT_LIMITS[limits] if isinstance(limits, str) else limits, zh, optional=optional)


def _count(problems: dict[str, str], name: str, value: Any, *, least: int = 0,
           most: int = MAX_RESIDENTS) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        problems[name] = f"a whole number from {least} to {most} {least} 至 {most} 的整数"
        return 0
    return value


def _texts(problems: dict[str, str], name: str, item: str, values: Iterable[Any], *,
           least: int = 0, most: int) -> list[str]:
    values = list(values)
    if not least <= len(values) <= most:
        problems[name] = f"{least} to {most} items {least} 至 {most} 项"
        return []
    return [_text(problems, item, v, key=f"{name}[{i}]") for i, v in enumerate(values)]


def _not_after_today(problems: dict[str, str], name: str, day: date | None, today: date) -> None:
    if day is not None and day > today:
        problems[name] = (f"not after today ({today.isoformat()}): record it once it took place "
                          f"不能晚于今天（{today.isoformat()}），发生后再记录")


# -- the topic lists 议题清单 ------------------------------------------------------------------

@dataclass(frozen=True)
class TopicLists:
    """The committee's lists: each kind's listing (allowed or forbidden) and label; ``version``
    counts the amendments (0: the defaults)."""

    version: int = 0
    committee: str | None = None
    kinds: tuple[tuple[str, str, str], ...] = tuple(   # (kind, listing, label), in order
        (kind, listing, label) for listing in (ALLOWED, FORBIDDEN)
        for kind, label in DEFAULT_TOPIC_LISTS[listing].items())

    def listing_of(self, kind: str) -> tuple[str, str] | None:
        """(listing, label) of ``kind``; None when on neither list."""
        return next(((listing, label) for k, listing, label in self.kinds if k == kind), None)

    def to_dict(self) -> dict[str, Any]:
        return {"committee": self.committee, "version": self.version,
                **{listing: [{"kind": k, "label": label} for k, l_, label in self.kinds if l_ == listing]
                   for listing in (ALLOWED, FORBIDDEN)}}


def _amended(lists: TopicLists, e: ConsultationTopicListAmended) -> TopicLists:
    others = tuple(k for k in lists.kinds if k[0] != e.kind)
    if e.listing in (ALLOWED, FORBIDDEN):
        position = next((i for i, k in enumerate(lists.kinds) if k[0] == e.kind), None)
        entry = (e.kind, e.listing, e.label)
        if position is not None and lists.kinds[position][1] == e.listing:
            kinds = (*lists.kinds[:position], entry, *lists.kinds[position + 1:])
        else:
            kinds = (*others, entry)
    else:
        kinds = others
    return dataclasses.replace(lists, version=e.version, committee=e.committee, kinds=kinds)


def fold_topic_lists(events: Iterable[DomainEvent]) -> TopicLists:
    lists = TopicLists()
    for e in events:
        if isinstance(e, ConsultationTopicListAmended):
            lists = _amended(lists, e)
    return lists


def topic_lists_fold() -> Callable[[Iterable[DomainEvent]], TopicLists]:
    """The fold of the stream TOPIC_LISTS_STREAM (what ``Streams.load`` takes)."""
    return fold_topic_lists


def amend_topic_lists(actor: Actor, lists: TopicLists, cmd: AmendTopicLists, *,
                      committee: str) -> list[DomainEvent]:
    """Staff put a kind on the allowed or the forbidden list (with its words), or take it off
    both, saying why; each amendment counts one version up."""
    require_role(actor, (STAFF,), "amend_topic_lists")
    problems: dict[str, str] = {}
    if not isinstance(cmd.kind, str) or not KIND_PATTERN.match(cmd.kind):
        problems["kind"] = ("a code of lowercase letters, digits and _, e.g. public_services "
                            "小写字母、数字和下划线组成的代码")
    if cmd.listing not in LISTINGS:
        problems["listing"] = f"one of 取值之一: {', '.join(LISTINGS)}"
    label = _text(problems, "label", cmd.label)
    reason = _text(problems, "reason", cmd.reason)
    if not problems:
        now = lists.listing_of(cmd.kind)
        if cmd.listing == UNLISTED and now is None:
            problems["listing"] = f"{cmd.kind!r} is on neither list 该事项不在清单中"
        elif now == (cmd.listing, label):
            problems["listing"] = f"{cmd.kind!r} is listed so already 清单已是如此"
    refuse_if(problems, ("the amendment of the topic lists is malformed", "议题清单修改有误"))
    return [ConsultationTopicListAmended(committee=committee, kind=cmd.kind, listing=cmd.listing,
                                         label=label, reason=reason, version=lists.version + 1)]


def _kind_problem(lists: TopicLists, kind: Any) -> str | None:
    """Why a topic of ``kind`` may not be consulted on (the rule named), None if it may."""
    listed = lists.listing_of(kind) if isinstance(kind, str) else None
    if listed is None:
        return (f"不在协商议题清单中 (not on the topic lists, version {lists.version}): {kind!r}; "
                "请选择可协商事项 (choose a kind that may be consulted on)")
    listing, label = listed
    if listing == FORBIDDEN:
        return f"不可协商：{label} (forbidden: {label})"
    return None


# -- state -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    held_on: str
    place: str
    place_name: str
    place_type: str
    township: str | None
    members: tuple[str, ...]
    departments: tuple[str, ...]
    residents: int
    stakeholders: tuple[str, ...]
    agenda: str
    revision: int
    reminded: bool = False   # ConsultationMeetingDueSoon recorded for this revision


@dataclass(frozen=True)
class Research:
    research_id: str
    kind: str
    held_on: str
    members: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class Meeting:
    held_on: str
    place: str
    place_type: str
    township: str | None
    members: tuple[str, ...]
    absent_members: tuple[str, ...]
    departments: tuple[str, ...]
    residents: int
    stakeholders: tuple[str, ...]
    speakers: tuple[str, ...]
    opinions: tuple[str, ...]
    outcomes: tuple[str, ...]


@dataclass(frozen=True)
class FollowUpTask:
    task_id: str
    unit: str
    outcome: str
    task: str
    deadline: str
    report: str | None = None
    completed_on: str | None = None
    on_time: bool | None = None
    reminded: bool = False   # FollowUpTaskDueSoon recorded
    overdue: bool = False    # FollowUpTaskOverdue recorded

    @property
    def done(self) -> bool:
        return self.completed_on is not None


@dataclass(frozen=True)
class Consultation:
    consultation_id: str
    status: str | None = None        # None: no such consultation
    title: str = ""
    description: str = ""
    topic_kind: str = ""
    source: str = ""
    proposer: str = ""
    proposer_role: str = ""
    township: str | None = None      # the topic's; the plan's once planned
    set_aside_reason: str | None = None
    rule: str | None = None          # the allowed kind's label the topic was decided under
    lists_version: int | None = None
    decide_note: str = ""
    approver: str | None = None
    organisation: str | None = None  # the party organisation that approved
    approve_note: str = ""
    rejection_reason: str | None = None
    plan: Plan | None = None
    research: tuple[Research, ...] = ()
    meeting: Meeting | None = None
    publication: dict | None = None  # channel, text, published_on, until
    decider: str | None = None
    decision_text: str | None = None
    adopted_outcomes: tuple[str, ...] = ()
    tasks: tuple[FollowUpTask, ...] = ()
    visits: tuple[dict, ...] = ()     # visited_on, members, findings
    survey: dict | None = None        # respondents, satisfied, basically_satisfied, dissatisfied, note
    conversions: tuple[dict, ...] = ()  # into, title, target_id, body
    proposals: tuple[str, ...] = ()   # linked proposals' ids
    summary: str | None = None

    @property
    def exists(self) -> bool:
        return self.status is not None

    def task(self, task_id: str) -> FollowUpTask | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)

    @property
    def open_tasks(self) -> list[FollowUpTask]:
        return [t for t in self.tasks if not t.done]

    @property
    def escalate_to(self) -> list[str]:
        """Who an overdue task is escalated to: the leaders who approved and decided."""
        return list(dict.fromkeys(x for x in (self.approver, self.decider) if x))

    def next_commands(self) -> list[str]:
        commands = list(CONSULTATION_COMMANDS.get(self.status or "", ()))
        if self.status == FOLLOWING_UP:
            if not self.open_tasks:
                commands.remove("complete_follow_up_task")
            if self.survey is not None:
                commands.remove("record_satisfaction_survey")
            if self.open_tasks or not self.visits or self.survey is None:
                commands.remove("close_consultation")
        return commands

    def to_dict(self) -> dict[str, Any]:
        def listed(value: Any) -> Any:
            if isinstance(value, tuple):
                return [listed(v) for v in value]
            if isinstance(value, dict):
                return {k: listed(v) for k, v in value.items()}
            return value
        d = {f.name: listed(getattr(self, f.name)) for f in dataclasses.fields(self)}
        d["plan"] = None if self.plan is None else listed(dataclasses.asdict(self.plan))
        d["meeting"] = None if self.meeting is None else listed(dataclasses.asdict(self.meeting))
        d["research"] = [listed(dataclasses.asdict(r)) for r in self.research]
        d["tasks"] = [{**dataclasses.asdict(t), "done": t.done} for t in self.tasks]
        d["decisions"] = {
            "topic": None if self.rule is None else {"rule": self.rule, "lists_version": self.lists_version,
                                                     "note": self.decide_note},
            "approval": None if self.approver is None else {
                "approved": self.rejection_reason is None, "approver": self.approver,
                "organisation": self.organisation,
                "note": self.approve_note if self.rejection_reason is None else self.rejection_reason},
            "organisation": None if self.decider is None else {
                "decider": self.decider, "adopted_outcomes": list(self.adopted_outcomes),
                "text": self.decision_text}}
        d["next_commands"] = self.next_commands()
        d["next_step"] = next_step(self.status, tasks=len(self.tasks), open_tasks=len(self.open_tasks),
                                   visited=bool(self.visits), surveyed=self.survey is not None)
        return d


def next_step(status: str | None, *, tasks: int = 0, open_tasks: int = 0, visited: bool = False,
              surveyed: bool = False) -> str | None:
    """What moves the consultation on: the first of its next commands that takes it a step
    forward (re-planning, research and conversions may come in between; None once it ends)."""
    steps = {TOPIC_PROPOSED: "decide_consultation_topic", TOPIC_DECIDED: "approve_consultation_topic",
             TOPIC_APPROVED: "plan_consultation", PLANNED: "record_consultation_meeting",
             MET: "publish_consultation_results", RESULTS_PUBLISHED: "decide_consultation"}
    if status in steps:
        return steps[status]
    if status != FOLLOWING_UP:
        return None
    if not tasks:
        return "assign_follow_up_task"
    if open_tasks:
        return "complete_follow_up_task"
    if not visited:
        return "record_follow_up_visit"
    if not surveyed:
        return "record_satisfaction_survey"
    return "close_consultation"


def _with_task(state: Consultation, task_id: str, **changes: Any) -> Consultation:
    return dataclasses.replace(state, tasks=tuple(
        dataclasses.replace(t, **changes) if t.task_id == task_id else t for t in state.tasks))


def apply(state: Consultation, e: DomainEvent) -> Consultation:  # noqa: C901 - one branch per event
    replace = dataclasses.replace
    if isinstance(e, ConsultationTopicProposed):
        return Consultation(state.consultation_id, TOPIC_PROPOSED, e.title, e.description, e.topic_kind,
                            e.source, e.proposer, e.proposer_role, e.township)
    if isinstance(e, ConsultationTopicSetAside):
        return replace(state, status=TOPIC_SET_ASIDE, set_aside_reason=e.reason)
    if isinstance(e, ConsultationTopicDecided):
        return replace(state, status=TOPIC_DECIDED, title=e.title, rule=e.rule,
                       lists_version=e.lists_version, decide_note=e.note)
    if isinstance(e, ConsultationTopicApproved):
        return replace(state, status=TOPIC_APPROVED, approver=e.approver, organisation=e.organisation,
                       approve_note=e.note)
    if isinstance(e, ConsultationTopicRejected):
        return replace(state, status=TOPIC_REJECTED, approver=e.approver, organisation=e.organisation,
                       rejection_reason=e.reason)
    if isinstance(e, ConsultationPlanned):
        return replace(state, status=PLANNED, township=e.township, plan=Plan(
            e.held_on, e.place, e.place_name, e.place_type, e.township, tuple(e.members),
            tuple(e.departments), e.residents, tuple(e.stakeholders), e.agenda, e.revision))
    if isinstance(e, ConsultationMeetingDueSoon):
        if state.plan is not None and state.plan.revision == e.revision:
            return replace(state, plan=replace(state.plan, reminded=True))
        return state
    if isinstance(e, ConsultationResearchRecorded):
        return replace(state, research=(*state.research, Research(
            e.research_id, e.kind, e.held_on, tuple(e.members), e.summary)))
    if isinstance(e, ConsultationMeetingHeld):
        return replace(state, status=MET, township=e.township, meeting=Meeting(
            e.held_on, e.place, e.place_type, e.township, tuple(e.members), tuple(e.absent_members),
            tuple(e.departments), e.residents, tuple(e.stakeholders), tuple(e.speakers),
            tuple(e.opinions), tuple(e.outcomes)))
    if isinstance(e, ConsultationResultsPublished):
        return replace(state, status=RESULTS_PUBLISHED, publication={
            "channel": e.channel, "text": e.text, "published_on": e.published_on, "until": e.until})
    if isinstance(e, ConsultationDecided):
        return replace(state, status=FOLLOWING_UP, decider=e.decider, decision_text=e.text,
                       adopted_outcomes=tuple(e.adopted_outcomes))
    if isinstance(e, FollowUpTaskAssigned):
        return replace(state, tasks=(*state.tasks, FollowUpTask(e.task_id, e.unit, e.outcome, e.task,
                                                                e.deadline)))
    if isinstance(e, FollowUpTaskCompleted):
        return _with_task(state, e.task_id, report=e.report, completed_on=e.completed_on,
                          on_time=e.on_time)
    if isinstance(e, FollowUpTaskDueSoon):
        return _with_task(state, e.task_id, reminded=True)
    if isinstance(e, FollowUpTaskOverdue):
        return _with_task(state, e.task_id, overdue=True)
    if isinstance(e, ConsultationFollowUpVisited):
        return replace(state, visits=(*state.visits, {"visited_on": e.visited_on,
                                                      "members": tuple(e.members), "findings": e.findings}))
    if isinstance(e, ConsultationSurveyRecorded):
        return replace(state, survey={"respondents": e.respondents, "satisfied": e.satisfied,
                                      "basically_satisfied": e.basically_satisfied,
                                      "dissatisfied": e.dissatisfied, "note": e.note})
    if isinstance(e, ConsultationResultConverted):
        return replace(state, conversions=(*state.conversions, {
            "into": e.into, "title": e.title, "category": e.category, "target_id": e.target_id,
            "body": e.body}))
    if isinstance(e, ConsultationLinkedToProposal):
        return replace(state, proposals=tuple(dict.fromkeys((*state.proposals, e.proposal_id))))
    if isinstance(e, ConsultationClosed):
        return replace(state, status=CLOSED, summary=e.summary)
    return state


def fold(consultation_id: str, events: Iterable[DomainEvent]) -> Consultation:
    state = Consultation(consultation_id)
    for e in events:
        state = apply(state, e)
    return state


def consultation_fold(consultation_id: str) -> Callable[[Iterable[DomainEvent]], Consultation]:
    """The fold of the stream of consultation ``consultation_id`` (what ``Streams.load`` takes)."""
    return partial(fold, consultation_id)


def require_consultation(state: Consultation) -> Consultation:
    if not state.exists:
        raise NotFound((f"no consultation {state.consultation_id!r}",
                        f"未找到协商议事 {state.consultation_id!r}"))
    return state


def _begin(actor: Actor, state: Consultation, roles: Iterable[str], statuses: Iterable[str],
           command: str) -> None:
    require_consultation(state)
    require_role(actor, roles, command)
    require_status(state, statuses, command)


# -- 1 议题收集, 2 议题确定 -----------------------------------------------------------------------

def propose_consultation_topic(actor: Actor, consultation_id: str, cmd: ProposeConsultationTopic, *,
                               lists: TopicLists,
                               directory: Mapping[str, DirectoryEntry]) -> list[DomainEvent]:
    """Staff or a member raise a topic 议题收集. A kind the lists forbid is refused at once,
    naming the rule; a kind on neither list too. ``township``, if given, a township the
    directory knows."""
    require_role(actor, (STAFF, MEMBER), "propose_consultation_topic")
    problems: dict[str, str] = {}
    title = _text(problems, "title", cmd.title)
    description = _text(problems, "description", cmd.description)
    if (problem := _kind_problem(lists, cmd.topic_kind)) is not None:
        problems["topic_kind"] = problem
    if cmd.source not in TOPIC_SOURCES:
        problems["source"] = f"one of 取值之一: {', '.join(TOPIC_SOURCES)}"
    if cmd.township is not None:
        entry = directory.get(cmd.township)
        if entry is None or entry.kind != "township":
            problems["township"] = (f"未知的乡镇（街道） {cmd.township!r} (no township {cmd.township!r} "
                                    f"in the directory); {LAG}")
        elif not entry.active:
            problems["township"] = f"乡镇（街道） {cmd.township!r} 已撤销 (township {cmd.township!r} is closed)"
    refuse_if(problems, ("the topic may not be raised as it is", "议题不符合要求"))
    return [ConsultationTopicProposed(consultation_id=consultation_id, title=title,
                                      description=description, topic_kind=cmd.topic_kind,
                                      source=cmd.source, proposer=actor.user_id,
                                      proposer_role=actor.role, township=cmd.township)]


def decide_consultation_topic(actor: Actor, state: Consultation, cmd: DecideConsultationTopic, *,
                              lists: TopicLists) -> list[DomainEvent]:
    """Staff decide the topic 议题确定, checked against the lists as they are now (they may have
    changed since it was raised); it then awaits the party organisation's approval."""
    _begin(actor, state, (STAFF,), (TOPIC_PROPOSED,), "decide_consultation_topic")
    problems: dict[str, str] = {}
    if (problem := _kind_problem(lists, state.topic_kind)) is not None:
        problems["topic_kind"] = problem
    note = _text(problems, "note", cmd.note, optional=True)
    refuse_if(problems, ("the topic may not be decided", "议题不能确定"))
    listing, rule = lists.listing_of(state.topic_kind)  # type: ignore[misc]
    return [ConsultationTopicDecided(consultation_id=state.consultation_id, title=state.title,
                                     topic_kind=state.topic_kind, rule=rule,
                                     lists_version=lists.version, note=note)]


def set_aside_consultation_topic(actor: Actor, state: Consultation,
                                 cmd: SetAsideConsultationTopic) -> list[DomainEvent]:
    _begin(actor, state, (STAFF,), (TOPIC_PROPOSED,), "set_aside_consultation_topic")
    problems: dict[str, str] = {}
    reason = _text(problems, "reason", cmd.reason)
    refuse_if(problems, ("bad reason", "理由填写有误"))
    return [ConsultationTopicSetAside(consultation_id=state.consultation_id, reason=reason)]


def approve_consultation_topic(actor: Actor, state: Consultation,
                               cmd: ApproveConsultationTopic) -> list[DomainEvent]:
    """The same-level party organisation 同级党组织 approves the topic (a leader of it)."""
    _begin(actor, state, (LEADER,), (TOPIC_DECIDED,), "approve_consultation_topic")
    problems: dict[str, str] = {}
    note = _text(problems, "note", cmd.note, optional=True)
    refuse_if(problems, ("bad note", "说明填写有误"))
    return [ConsultationTopicApproved(consultation_id=state.consultation_id, title=state.title,
                                      approver=actor.user_id, organisation=actor.organisation, note=note)]


def reject_consultation_topic(actor: Actor, state: Consultation,
                              cmd: RejectConsultationTopic) -> list[DomainEvent]:
    _begin(actor, state, (LEADER,), (TOPIC_DECIDED,), "reject_consultation_topic")
    problems: dict[str, str] = {}
    reason = _text(problems, "reason", cmd.reason)
    refuse_if(problems, ("bad reason", "理由填写有误"))
    return [ConsultationTopicRejected(consultation_id=state.consultation_id, approver=actor.user_id,
                                      organisation=actor.organisation, reason=reason)]


# -- 3 制定方案, 4 议前调研 ----------------------------------------------------------------------

def place_ids(place: str, directory: Mapping[str, DirectoryEntry]) -> list[str]:
    """The further ids a plan at ``place`` needs looked up: the station's location and, if that
    is a community, its township (given what ``directory`` holds so far)."""
    station = directory.get(place)
    location = station.location if station is not None else None
    if location is None:
        return []
    entry = directory.get(location)
    return [location, *([entry.parent] if entry is not None and entry.parent else [])]


def _township_of(station: DirectoryEntry, directory: Mapping[str, DirectoryEntry]) -> str | None:
    location = directory.get(station.location) if station.location else None
    if location is None:
        return None
    if location.kind == "township":
        return location.entry_id
    return location.parent


def plan_consultation(actor: Actor, state: Consultation, cmd: PlanConsultation, *, today: date,
                      directory: Mapping[str, DirectoryEntry]) -> list[DomainEvent]:
    """Staff draw up the plan 制定方案 once the topic is approved, and again before the meeting
    (a new revision): the date (not before today), the place (an open station of a type that
    hosts consultations), the members (serving) and departments (open handling units) by id,
    residents by number, stakeholders described, and the agenda."""
    _begin(actor, state, (STAFF,), (TOPIC_APPROVED, PLANNED), "plan_consultation")
    problems: dict[str, str] = {}
    held_on = check_date(problems, "held_on", cmd.held_on)
    if held_on is not None and held_on < today:
        problems["held_on"] = f"not before today ({today.isoformat()}) 不能早于今天（{today.isoformat()}）"
    station = directory.get(cmd.place)
    if station is None or station.kind != STATION_ENTRY:
        problems["place"] = f"未知的履职站点 {cmd.place!r} (no station {cmd.place!r} in the directory); {LAG}"
    elif not station.active:
        problems["place"] = f"站点 {cmd.place!r} 已撤销 (station {cmd.place!r} is closed)"
    elif station.station_type not in CONSULTATION_PLACE_TYPES:
        problems["place"] = (f"站点 {cmd.place!r} 不是协商议事平台 (a {station.station_type} does not host "
                             f"consultations; one of {', '.join(CONSULTATION_PLACE_TYPES)})")
    members = check_ids(problems, "members", cmd.members, most=MAX_PEOPLE)
    check_people(problems, "members", members, directory, member_problem)
    departments = check_ids(problems, "departments", cmd.departments, most=MAX_PEOPLE)
    check_people(problems, "departments", departments, directory, unit_problem)
    residents = _count(problems, "residents", cmd.residents)
    stakeholders = _texts(problems, "stakeholders", "stakeholder", cmd.stakeholders, most=MAX_STAKEHOLDERS)
    agenda = _text(problems, "agenda", cmd.agenda)
    if not problems and not members and not departments and not residents and not stakeholders:
        problems["members"] = "name who takes part 请填写参加人员"
    refuse_if(problems, ("the plan is incomplete or names what the directory does not know",
                         "协商方案不完整或所列人员、站点不在名录中"))
    assert held_on is not None and station is not None
    revision = state.plan.revision + 1 if state.plan is not None else 1
    return [ConsultationPlanned(consultation_id=state.consultation_id, title=state.title,
                                held_on=held_on.isoformat(), place=cmd.place,
                                place_name=station.name or cmd.place,
                                place_type=station.station_type or "",
                                township=_township_of(station, directory), members=list(members),
                                departments=list(departments), residents=residents,
                                stakeholders=stakeholders, agenda=agenda, revision=revision)]


def record_consultation_research(actor: Actor, state: Consultation, cmd: RecordConsultationResearch, *,
                                 research_id: str, today: date,
                                 directory: Mapping[str, DirectoryEntry]) -> list[DomainEvent]:
    """Staff record research before the meeting 议前调研 (done by today), by serving members."""
    _begin(actor, state, (STAFF,), (PLANNED,), "record_consultation_research")
    problems: dict[str, str] = {}
    if cmd.kind not in RESEARCH_KINDS:
        problems["kind"] = f"one of 取值之一: {', '.join(RESEARCH_KINDS)}"
    held_on = check_date(problems, "held_on", cmd.held_on)
    _not_after_today(problems, "held_on", held_on, today)
    members = check_ids(problems, "members", cmd.members, least=1, most=MAX_PEOPLE)
    check_people(problems, "members", members, directory, member_problem)
    summary = _text(problems, "summary", cmd.summary)
    refuse_if(problems, ("the research record is incomplete or malformed", "议前调研记录不完整或有误"))
    assert held_on is not None
    return [ConsultationResearchRecorded(consultation_id=state.consultation_id, research_id=research_id,
                                         kind=cmd.kind, held_on=held_on.isoformat(),
                                         members=list(members), summary=summary)]


# -- 5 协商议事, 6 公开公示, 7 组织决定 ----------------------------------------------------------

def record_consultation_meeting(actor: Actor, state: Consultation, cmd: RecordConsultationMeeting, *,
                                today: date, directory: Mapping[str, DirectoryEntry]) -> list[DomainEvent]:
    """Staff record the meeting 协商议事 (held by today, at the plan's place): who attended
    (planned members not attending are recorded absent), who spoke (attending members and
    departments only), the opinions heard and at least one outcome agreed."""
    _begin(actor, state, (STAFF,), (PLANNED,), "record_consultation_meeting")
    assert state.plan is not None
    problems: dict[str, str] = {}
    held_on = check_date(problems, "held_on", cmd.held_on)
    _not_after_today(problems, "held_on", held_on, today)
    members = check_ids(problems, "members", cmd.members, most=MAX_PEOPLE)
    check_people(problems, "members", members, directory, member_problem)
    departments = check_ids(problems, "departments", cmd.departments, most=MAX_PEOPLE)
    check_people(problems, "departments", departments, directory, unit_problem)
    residents = _count(problems, "residents", cmd.residents)
    stakeholders = _texts(problems, "stakeholders", "stakeholder", cmd.stakeholders, most=MAX_STAKEHOLDERS)
    speakers = check_ids(problems, "speakers", cmd.speakers, most=2 * MAX_PEOPLE)
    if "speakers" not in problems:
        present = {*members, *departments}
        for i, speaker in enumerate(speakers):
            if speaker not in present:
                problems[f"speakers[{i}]"] = (f"{speaker!r} did not attend: a speaker is an attending member "
                                              f"or department 发言者须为出席的委员或部门")
    opinions = _texts(problems, "opinions", "opinion", cmd.opinions, most=MAX_OUTCOMES)
    outcomes = _texts(problems, "outcomes", "outcome", cmd.outcomes, least=1, most=MAX_OUTCOMES)
    if not problems and not members and not departments and not residents and not stakeholders:
        problems["members"] = "name who attended 请填写出席人员"
    refuse_if(problems, ("the meeting's record is incomplete or malformed", "协商议事记录不完整或有误"))
    assert held_on is not None
    plan = state.plan
    return [ConsultationMeetingHeld(
        consultation_id=state.consultation_id, title=state.title, held_on=held_on.isoformat(),
        place=plan.place, place_type=plan.place_type, township=plan.township, members=list(members),
        absent_members=[m for m in plan.members if m not in members], departments=list(departments),
        residents=residents, stakeholders=stakeholders, speakers=list(speakers), opinions=opinions,
        outcomes=outcomes)]


def publish_consultation_results(actor: Actor, state: Consultation, cmd: PublishConsultationResults, *,
                                 today: date) -> list[DomainEvent]:
    """Staff publish the results 公开公示 today, shown until a date not before today."""
    _begin(actor, state, (STAFF,), (MET,), "publish_consultation_results")
    problems: dict[str, str] = {}
    if cmd.channel not in PUBLICATION_CHANNELS:
        problems["channel"] = f"one of 取值之一: {', '.join(PUBLICATION_CHANNELS)}"
    text = _text(problems, "text", cmd.text)
    until = check_date(problems, "until", cmd.until)
    if until is not None and until < today:
        problems["until"] = f"not before today ({today.isoformat()}) 不能早于今天（{today.isoformat()}）"
    refuse_if(problems, ("the publication is incomplete or malformed", "公示内容不完整或有误"))
    assert until is not None
    return [ConsultationResultsPublished(consultation_id=state.consultation_id, title=state.title,
                                         channel=cmd.channel, text=text, published_on=today.isoformat(),
                                         until=until.isoformat())]


def decide_consultation(actor: Actor, state: Consultation, cmd: DecideConsultation) -> list[DomainEvent]:
    """The same-level party organisation decides 组织决定 (a leader of it): the agreed outcomes it
    adopts, by number (1 = the meeting's first), and the decision's text."""
    _begin(actor, state, (LEADER,), (RESULTS_PUBLISHED,), "decide_consultation")
    assert state.meeting is not None
    outcomes = state.meeting.outcomes
    problems: dict[str, str] = {}
    chosen = list(cmd.adopted_outcomes)
    if not chosen:
        problems["adopted_outcomes"] = "at least one outcome, by number 请至少采纳一项协商成果"
    elif len(set(chosen)) != len(chosen):
        problems["adopted_outcomes"] = "a number is repeated 序号重复"
    elif any(not 1 <= n <= len(outcomes) for n in chosen):
        problems["adopted_outcomes"] = (f"numbers from 1 to {len(outcomes)} (the meeting's outcomes) "
                                        f"序号须在 1 至 {len(outcomes)} 之间")
    text = _text(problems, "text", cmd.text)
    refuse_if(problems, ("the decision is incomplete or malformed", "组织决定不完整或有误"))
    return [ConsultationDecided(consultation_id=state.consultation_id, title=state.title,
                                decider=actor.user_id, organisation=actor.organisation,
                                adopted_outcomes=[outcomes[n - 1] for n in sorted(chosen)], text=text)]


# -- 8 跟踪落实 ------------------------------------------------------------------------------

def assign_follow_up_task(actor: Actor, state: Consultation, cmd: AssignFollowUpTask, *, task_id: str,
                          today: date, directory: Mapping[str, DirectoryEntry]) -> list[DomainEvent]:
    """Staff give an open handling unit a task carrying out an adopted outcome (by number,
    1 = the first adopted), done by a deadline after today, within MAX_TASK_DAYS."""
    _begin(actor, state, (STAFF,), (FOLLOWING_UP,), "assign_follow_up_task")
    problems: dict[str, str] = {}
    if (problem := unit_problem(directory.get(cmd.unit), cmd.unit)) is not None:
        problems["unit"] = problem
    adopted = state.adopted_outcomes
    if isinstance(cmd.outcome, bool) or not 1 <= cmd.outcome <= len(adopted):
        problems["outcome"] = (f"a number from 1 to {len(adopted)} (the adopted outcomes) "
                               f"序号须在 1 至 {len(adopted)} 之间")
    task = _text(problems, "task", cmd.task)
    deadline = check_date(problems, "deadline", cmd.deadline)
    if deadline is not None and not 0 < (deadline - today).days <= MAX_TASK_DAYS:
        problems["deadline"] = (f"after today ({today.isoformat()}) and within {MAX_TASK_DAYS} days "
                                f"须晚于今天且在 {MAX_TASK_DAYS} 天之内")
    refuse_if(problems, ("the task is incomplete or malformed", "落实任务不完整或有误"))
    assert deadline is not None
    return [FollowUpTaskAssigned(consultation_id=state.consultation_id, task_id=task_id, unit=cmd.unit,
                                 outcome=adopted[cmd.outcome - 1], task=task,
                                 deadline=deadline.isoformat(), title=state.title)]


def complete_follow_up_task(actor: Actor, state: Consultation, cmd: CompleteFollowUpTask, *,
                            today: date) -> list[DomainEvent]:
    """The unit of the task reports it done 报告落实情况, once; on time if by its deadline."""
    require_consultation(state)
    task = state.task(cmd.task_id)
    if task is None:
        raise NotFound((f"no follow-up task {cmd.task_id!r} of consultation {state.consultation_id!r}",
                        f"协商议事 {state.consultation_id!r} 没有落实任务 {cmd.task_id!r}"))
    if actor.role != UNIT or actor.organisation != task.unit:
        raise NotAllowed("complete_follow_up_task", (
            f"only the unit given the task ({task.unit}) reports it done; the actor is "
            f"{actor.role!r} of {actor.organisation!r}",
            f"只有承办该任务的单位（{task.unit}）可以报告落实情况；当前用户是 "
            f"{actor.organisation!r} 的 {actor.role!r}"))
    require_status(state, (FOLLOWING_UP,), "complete_follow_up_task")
    if task.done:
        raise WrongState("complete_follow_up_task", state.status or "none", state.next_commands(),
                         (f"the task was reported done on {task.completed_on}",
                          f"该任务已于 {task.completed_on} 报告完成"))
    problems: dict[str, str] = {}
    report = _text(problems, "report", cmd.report)
    refuse_if(problems, ("bad report", "落实情况填写有误"))
    return [FollowUpTaskCompleted(consultation_id=state.consultation_id, task_id=task.task_id,
                                  unit=task.unit, report=report, deadline=task.deadline,
                                  completed_on=today.isoformat(),
                                  on_time=today <= date.fromisoformat(task.deadline))]


def record_follow_up_visit(actor: Actor, state: Consultation, cmd: RecordFollowUpVisit, *, today: date,
                           directory: Mapping[str, DirectoryEntry]) -> list[DomainEvent]:
    """Staff record a follow-up visit 回访 (made by today) by serving members."""
    _begin(actor, state, (STAFF,), (FOLLOWING_UP,), "record_follow_up_visit")
    problems: dict[str, str] = {}
    visited_on = check_date(problems, "visited_on", cmd.visited_on)
    _not_after_today(problems, "visited_on", visited_on, today)
    members = check_ids(problems, "members", cmd.members, least=1, most=MAX_PEOPLE)
    check_people(problems, "members", members, directory, member_problem)
    findings = _text(problems, "findings", cmd.findings)
    refuse_if(problems, ("the visit's record is incomplete or malformed", "回访记录不完整或有误"))
    assert visited_on is not None
    return [ConsultationFollowUpVisited(consultation_id=state.consultation_id,
                                        visited_on=visited_on.isoformat(), members=list(members),
                                        findings=findings)]


def record_satisfaction_survey(actor: Actor, state: Consultation,
                               cmd: RecordSatisfactionSurvey) -> list[DomainEvent]:
    """Staff record the participants' satisfaction survey 满意度测评, once: the three counts add
    up to the respondents (at least one)."""
    _begin(actor, state, (STAFF,), (FOLLOWING_UP,), "record_satisfaction_survey")
    if state.survey is not None:
        raise WrongState("record_satisfaction_survey", state.status or "none", state.next_commands(),
                         ("the survey was recorded already", "满意度测评已记录"))
    problems: dict[str, str] = {}
    respondents = _count(problems, "respondents", cmd.respondents, least=1)
    counts = {name: _count(problems, name, getattr(cmd, name))
              for name in ("satisfied", "basically_satisfied", "dissatisfied")}
    if not problems and sum(counts.values()) != respondents:
        problems["respondents"] = (f"satisfied + basically satisfied + dissatisfied = {sum(counts.values())}, "
                                   f"not {respondents} 满意、基本满意、不满意人数之和须等于参与测评人数")
    note = _text(problems, "note", cmd.note, optional=True)
    refuse_if(problems, ("the survey's figures are malformed", "满意度测评数据有误"))
    return [ConsultationSurveyRecorded(consultation_id=state.consultation_id, respondents=respondents,
                                       note=note, **counts)]


def convert_consultation_result(actor: Actor, state: Consultation, cmd: ConvertConsultationResult, *,
                                report_id: str | None = None) -> list[DomainEvent]:
    """Staff turn a result (after the meeting) into an opinion report — the consultation's
    ConsultationResultConverted naming the new report ``report_id``; ``opinion_report_events``
    gives the report's own first event — or into a collective proposal of ``body``
    ({type, name}), which the proposals service takes up."""
    _begin(actor, state, (STAFF,), CONVERTIBLE, "convert_consultation_result")
    problems: dict[str, str] = {}
    if cmd.into not in INTO:
        problems["into"] = f"one of 取值之一: {', '.join(INTO)}"
    title = _text(problems, "title", cmd.title)
    content = _text(problems, "content", cmd.content)
    check_category(problems, cmd.category)
    body = None
    if cmd.into == PROPOSAL:
        if not isinstance(cmd.body, dict):
            problems["body"] = "the collective body {type, name} 请填写提案的集体（类型和名称）"
        else:
            if set(cmd.body) - {"type", "name"}:
                problems["body"] = "only type and name 仅限 type 和 name"
            if cmd.body.get("type") not in BODY_TYPES:
                problems["body.type"] = f"one of 取值之一: {', '.join(BODY_TYPES)}"
            name = _text(problems, "body_name", cmd.body.get("name"), key="body.name")
            body = {"type": cmd.body.get("type"), "name": name}
    elif cmd.into == OPINION_REPORT and cmd.body is not None:
        problems["body"] = "an opinion report has no collective body 社情民意信息无需填写集体"
    refuse_if(problems, ("the conversion is incomplete or malformed", "成果转化内容不完整或有误"))
    if cmd.into == OPINION_REPORT:
        assert report_id is not None
        return [ConsultationResultConverted(consultation_id=state.consultation_id, into=OPINION_REPORT,
                                            title=title, content=content, category=cmd.category,
                                            target_id=report_id)]
    return [ConsultationResultConverted(consultation_id=state.consultation_id, into=PROPOSAL, title=title,
                                        content=content, category=cmd.category, body=body)]


def opinion_report_events(actor: Actor, converted: ConsultationResultConverted) -> list[DomainEvent]:
    """The first event of the report a result became (stream ``opinion-<target_id>``): submitted
    by the staff member, collected at a meeting, its source naming the consultation."""
    assert converted.into == OPINION_REPORT and converted.target_id
    return [OpinionReportSubmitted(report_id=converted.target_id, submitter=actor.user_id,
                                   submitter_role=actor.role, title=converted.title,
                                   content=converted.content, channel="meeting",
                                   category=converted.category,
                                   source=f"consultation:{converted.consultation_id}")]


def close_consultation(actor: Actor, state: Consultation, cmd: CloseConsultation) -> list[DomainEvent]:
    """Staff close the consultation 协商办结: every task done, the visit made, the survey taken."""
    _begin(actor, state, (STAFF,), (FOLLOWING_UP,), "close_consultation")
    missing_en, missing_zh = [], []
    if state.open_tasks:
        ids = [t.task_id for t in state.open_tasks]
        missing_en.append(f"tasks not done yet: {', '.join(ids)}")
        missing_zh.append(f"尚有 {len(ids)} 项落实任务未完成：{'、'.join(ids)}")
    if not state.visits:
        missing_en.append("no follow-up visit recorded")
        missing_zh.append("尚未回访")
    if state.survey is None:
        missing_en.append("no satisfaction survey recorded")
        missing_zh.append("尚未进行满意度测评")
    if missing_en:
        raise WrongState("close_consultation", state.status or "none", state.next_commands(),
                         ("; ".join(missing_en), "；".join(missing_zh)))
    problems: dict[str, str] = {}
    summary = _text(problems, "summary", cmd.summary)
    refuse_if(problems, ("bad summary", "办结总结填写有误"))
    return [ConsultationClosed(consultation_id=state.consultation_id, title=state.title, summary=summary)]


# -- the deadline timer's decision -----------------------------------------------------------

def remind_or_record_overdue(state: Consultation, *, today: date,
                             meeting_days_before: int = MEETING_REMIND_DAYS_BEFORE,
                             task_days_before: int = TASK_REMIND_DAYS_BEFORE) -> list[DomainEvent]:
    """What the timer records today: the participants reminded of a planned meeting once it is
    ``meeting_days_before`` days away or nearer (once per plan revision); for each task not done,
    a reminder once its deadline is ``task_days_before`` days away or nearer, the overdue event
    (escalated to the leaders who approved and decided) from the day after; each once per task.
    A timer that missed the reminder's days records only the overdue event."""
    events: list[DomainEvent] = []
    plan = state.plan
    if state.status == PLANNED and plan is not None and not plan.reminded:
        left = (date.fromisoformat(plan.held_on) - today).days
        if 0 <= left <= meeting_days_before:
            events.append(ConsultationMeetingDueSoon(
                consultation_id=state.consultation_id, title=state.title, held_on=plan.held_on,
                place_name=plan.place_name, days_before=left, members=list(plan.members),
                departments=list(plan.departments), revision=plan.revision))
    if state.status != FOLLOWING_UP:
        return events
    for t in state.tasks:
        if t.done:
            continue
        left = (date.fromisoformat(t.deadline) - today).days
        if left < 0 and not t.overdue:
            events.append(FollowUpTaskOverdue(
                consultation_id=state.consultation_id, task_id=t.task_id, unit=t.unit,
                deadline=t.deadline, days_overdue=-left, title=state.title,
                escalate_to=state.escalate_to))
        elif 0 <= left <= task_days_before and not t.reminded:
            events.append(FollowUpTaskDueSoon(
                consultation_id=state.consultation_id, task_id=t.task_id, unit=t.unit,
                deadline=t.deadline, days_before=left, title=state.title))
    return events


# -- who reads a consultation ----------------------------------------------------------------

def may_read(actor: Actor, state: Consultation) -> bool:
    if actor.role in READERS:
        return True
    if actor.role == UNIT:
        return any(t.unit == actor.organisation for t in state.tasks)
    if actor.role == MEMBER:
        return state.status in APPROVED_AND_LATER or state.proposer == actor.user_id
    return False


def require_reader(actor: Actor, state: Consultation) -> Consultation:
    if not may_read(actor, state):
        raise NotAllowed("read this consultation", (
            "staff, leaders and auditors read every consultation; members those approved and the "
            "topics they raised; a unit those that gave it a task; "
            f"the actor is {actor.role!r} {actor.user_id!r}",
            "工作人员、领导和审计人员可查看全部协商议事；委员可查看已批准的议题和本人提出的议题；"
            f"承办单位可查看交办给本单位任务的协商议事；当前用户是 {actor.role!r} {actor.user_id!r}"))
    return state


UNIT_FIELDS = ("consultation_id", "status", "title")


def consultation_as_seen_by(actor: Actor, state: Consultation) -> dict[str, Any]:
    """The consultation as ``actor`` may read it (``require_reader`` first): all of it for staff,
    leaders and auditors; for members all but who raised the topic (unless they did) and the
    research notes (they name the people met); for a unit its title, status and its own tasks."""
    whole = state.to_dict()
    if actor.role in READERS:
        return whole
    if actor.role == UNIT:
        mine = [t for t in whole["tasks"] if t["unit"] == actor.organisation]
        return {**{k: whole[k] for k in UNIT_FIELDS}, "plan": None, "meeting": None, "tasks": mine,
                "next_commands": [c for c in whole["next_commands"] if c == "complete_follow_up_task"
                                  and any(not t["done"] for t in mine)]}
    seen = dict(whole)
    if state.proposer != actor.user_id:
        seen["proposer"], seen["proposer_role"] = None, None
    seen["research"] = [{k: r[k] for k in ("research_id", "kind", "held_on", "members")}
                        for r in whole["research"]]
    seen["next_commands"] = []
    return seen
