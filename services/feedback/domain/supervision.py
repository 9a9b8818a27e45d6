"""Democratic supervision groups 民主监督组 (DOMAIN.md §3; 榆树: groups sent to departments):
staff form a group (a leader and members, the department it supervises, the topic and the
standard it supervises against) ─> the group finds facts 调研 and issues opinions 监督意见 to the
department, each with a deadline ─> the department reports how it handled each 办理情况 (once;
reminded before the deadline, recorded overdue and escalated to the group's leader after it)
─> the group verifies the effect 核验 of each ─> staff close the round, every opinion verified.

Pure: the state is folded from the group's stream (``supervision-<id>``); each decision takes
the actor, the state, the command and the facts looked up for it (directory entries, today,
new ids) and returns the events, or raises the kernel's DomainErrors naming what is wrong.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Callable, Iterable, Mapping

from xieshang.kernel.commands import Command, Id
from xieshang.kernel.directory import DirectoryEntry
from xieshang.kernel.domain import DomainEvent, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor

from .checks import (LAG, check_date, check_ids, check_sized_text, member_problem,  # noqa: F401 - LAG re-exported
                     refuse_if, require_role, unit_problem)
from .events import (SupervisionEffectVerified, SupervisionFactFindingRecorded,
                     SupervisionGroupClosed, SupervisionGroupFormed, SupervisionHandlingDueSoon,
                     SupervisionHandlingOverdue, SupervisionHandlingReported,
                     SupervisionOpinionIssued)
from .vocabulary import (AUDITOR, CLOSED, FACT_FINDING_KINDS, FORMED, LEADER, MAX_TASK_DAYS,
                         MEMBER, OPINION_HANDLED, OPINION_ISSUED, OPINION_VERIFIED, STAFF,
                         SUPERVISION_COMMANDS, TASK_REMIND_DAYS_BEFORE, TEXT_LIMITS, UNIT, VERDICTS,
                         supervision_stream)  # noqa: F401 - re-exported

__all__ = ["FormSupervisionGroup", "RecordFactFinding", "IssueSupervisionOpinion",
           "ReportSupervisionHandling", "VerifySupervisionEffect", "CloseSupervisionGroup",
           "SupervisionGroup", "SupervisionOpinion", "FactFinding", "fold", "group_fold",
           "require_group", "form_supervision_group", "record_fact_finding",
           "issue_supervision_opinion", "report_supervision_handling", "verify_supervision_effect",
           "close_supervision_group", "remind_or_record_overdue", "may_read", "require_reader",
           "group_as_seen_by", "supervision_stream", "LAG", "MAX_MEMBERS"]

MAX_MEMBERS = 50
READERS = (STAFF, LEADER, AUDITOR)   # who reads every group


# -- commands --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FormSupervisionGroup(Command):
    name: str
    year: int
    leader: Id
    members: tuple[Id, ...]
    department: Id
    topic: str
    basis: str


@dataclass(frozen=True)
class RecordFactFinding(Command):
    group_id: Id
    kind: str
    held_on: str
    members: tuple[Id, ...]
    findings: str


@dataclass(frozen=True)
class IssueSupervisionOpinion(Command):
    group_id: Id
    text: str
    deadline: str


@dataclass(frozen=True)
class ReportSupervisionHandling(Command):
    group_id: Id
    opinion_id: Id
    report: str


@dataclass(frozen=True)
class VerifySupervisionEffect(Command):
    group_id: Id
    opinion_id: Id
    verdict: str
    note: str


@dataclass(frozen=True)
class CloseSupervisionGroup(Command):
    group_id: Id
    summary: str


# -- state -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FactFinding:
    activity_id: str
    kind: str
    held_on: str
    members: tuple[str, ...]
    findings: str


@dataclass(frozen=True)
class SupervisionOpinion:
    opinion_id: str
    text: str
    deadline: str
    issued_on: str
    report: str | None = None        # the department's handling report 办理情况
    reported_on: str | None = None
    on_time: bool | None = None
    reminded: bool = False           # SupervisionHandlingDueSoon recorded
    overdue: bool = False            # SupervisionHandlingOverdue recorded
    verdict: str | None = None       # SupervisionEffectVerified
    note: str | None = None

    @property
    def state(self) -> str:
        if self.verdict is not None:
            return OPINION_VERIFIED
        if self.reported_on is not None:
            return OPINION_HANDLED
        return OPINION_ISSUED

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "state": self.state}


@dataclass(frozen=True)
class SupervisionGroup:
    group_id: str
    status: str | None = None        # None: no such group; formed | closed
    name: str = ""
    year: int = 0
    leader: str = ""
    members: tuple[str, ...] = ()
    department: str = ""
    topic: str = ""
    basis: str = ""
    activities: tuple[FactFinding, ...] = ()
    opinions: tuple[SupervisionOpinion, ...] = ()
    summary: str | None = None

    @property
    def exists(self) -> bool:
        return self.status is not None

    @property
    def people(self) -> tuple[str, ...]:
        """The group: its leader, then its members."""
        return (self.leader, *self.members) if self.leader else self.members

    def opinion(self, opinion_id: str) -> SupervisionOpinion | None:
        return next((o for o in self.opinions if o.opinion_id == opinion_id), None)

    def in_state(self, state: str) -> list[SupervisionOpinion]:
        return [o for o in self.opinions if o.state == state]

    def next_commands(self) -> list[str]:
        commands = list(SUPERVISION_COMMANDS.get(self.status or "", ()))
        if self.status == FORMED:
            if not self.in_state(OPINION_ISSUED):
                commands.remove("report_supervision_handling")
            if not self.in_state(OPINION_HANDLED):
                commands.remove("verify_supervision_effect")
            if not self.opinions or len(self.in_state(OPINION_VERIFIED)) < len(self.opinions):
                commands.remove("close_supervision_group")
        return commands

    def to_dict(self) -> dict[str, Any]:
        return {"group_id": self.group_id, "status": self.status, "name": self.name,
                "year": self.year, "leader": self.leader, "members": list(self.members),
                "department": self.department, "topic": self.topic, "basis": self.basis,
                "activities": [{**dataclasses.asdict(a), "members": list(a.members)}
                               for a in self.activities],
                "opinions": [o.to_dict() for o in self.opinions],
                "summary": self.summary, "next_commands": self.next_commands()}


def _with_opinion(state: SupervisionGroup, opinion_id: str, **changes: Any) -> SupervisionGroup:
    return dataclasses.replace(state, opinions=tuple(
        dataclasses.replace(o, **changes) if o.opinion_id == opinion_id else o for o in state.opinions))


def apply(state: SupervisionGroup, e: DomainEvent) -> SupervisionGroup:
    replace = dataclasses.replace
    if isinstance(e, SupervisionGroupFormed):
        return SupervisionGroup(state.group_id, FORMED, e.name, e.year, e.leader, tuple(e.members),
                                e.department, e.topic, e.basis)
    if isinstance(e, SupervisionFactFindingRecorded):
        return replace(state, activities=(*state.activities, FactFinding(
            e.activity_id, e.kind, e.held_on, tuple(e.members), e.findings)))
    if isinstance(e, SupervisionOpinionIssued):
        return replace(state, opinions=(*state.opinions, SupervisionOpinion(
            e.opinion_id, e.text, e.deadline, e.issued_on)))
    if isinstance(e, SupervisionHandlingReported):
        return _with_opinion(state, e.opinion_id, report=e.report, reported_on=e.reported_on,
                             on_time=e.on_time)
    if isinstance(e, SupervisionHandlingDueSoon):
        return _with_opinion(state, e.opinion_id, reminded=True)
    if isinstance(e, SupervisionHandlingOverdue):
        return _with_opinion(state, e.opinion_id, overdue=True)
    if isinstance(e, SupervisionEffectVerified):
        return _with_opinion(state, e.opinion_id, verdict=e.verdict, note=e.note)
    if isinstance(e, SupervisionGroupClosed):
        return replace(state, status=CLOSED, summary=e.summary)
    return state


def fold(group_id: str, events: Iterable[DomainEvent]) -> SupervisionGroup:
    state = SupervisionGroup(group_id)
    for e in events:
        state = apply(state, e)
    return state


def group_fold(group_id: str) -> Callable[[Iterable[DomainEvent]], SupervisionGroup]:
    """The fold of the stream of group ``group_id`` (what ``Streams.load`` takes)."""
    return partial(fold, group_id)


# -- checks ----------------------------------------------------------------------------------

TEXTS: Mapping[str, tuple[str, str]] = {   # field: (the limits of TEXT_LIMITS, its Chinese name)
    "name": ("title", "名称"), "topic": ("title", "监督议题"), "basis": ("text", "监督依据"),
    "findings": ("text", "调研情况"), "text": ("text", "监督意见"), "report": ("text", "办理情况"),
    "note": ("note", "核验说明"), "summary": ("text", "工作总结"),
}


def _text(problems: dict[str, str], name: str, value: Any) -> str:
    limits, zh = TEXTS[name]
    return check_sized_text(problems, name, value, TEXT_LIMITS[limits], zh)


def require_group(state: SupervisionGroup) -> SupervisionGroup:
    if not state.exists:
        raise NotFound((f"no supervision group {state.group_id!r}", f"未找到民主监督组 {state.group_id!r}"))
    return state


def _require_formed(state: SupervisionGroup, command: str) -> None:
    if state.status != FORMED:
        raise WrongState(command, state.status or "none", state.next_commands())


def _require_opinion(state: SupervisionGroup, opinion_id: str) -> SupervisionOpinion:
    opinion = state.opinion(opinion_id)
    if opinion is None:
        raise NotFound((f"no supervision opinion {opinion_id!r} of group {state.group_id!r}",
                        f"民主监督组 {state.group_id!r} 没有监督意见 {opinion_id!r}"))
    return opinion


# -- decisions -------------------------------------------------------------------------------

def form_supervision_group(actor: Actor, group_id: str, cmd: FormSupervisionGroup, *,
                           directory: Mapping[str, DirectoryEntry]) -> list[DomainEvent]:
    """Staff form a group for a year: its leader and members serving members (the leader not
    among the members), the department an open handling unit, all known to the directory."""
    require_role(actor, (STAFF,), "form_supervision_group")
    problems: dict[str, str] = {}
    name = _text(problems, "name", cmd.name)
    topic = _text(problems, "topic", cmd.topic)
    basis = _text(problems, "basis", cmd.basis)
    if not 2000 <= cmd.year <= 2100:
        problems["year"] = "a year, e.g. 2024 年度，如 2024"
    members = check_ids(problems, "members", cmd.members, least=1, most=MAX_MEMBERS)
    if "members" not in problems:
        if cmd.leader in members:
            problems["members"] = (f"the leader {cmd.leader!r} is not also a member "
                                   f"组长 {cmd.leader!r} 不能同时列为组员")
        else:
            for i, member in enumerate(members):
                if (problem := member_problem(directory.get(member), member)) is not None:
                    problems[f"members[{i}]"] = problem
    if (problem := member_problem(directory.get(cmd.leader), cmd.leader)) is not None:
        problems["leader"] = problem
    if (problem := unit_problem(directory.get(cmd.department), cmd.department)) is not None:
        problems["department"] = problem
    refuse_if(problems, ("the group is incomplete or names what the directory does not know",
                         "监督组信息不完整或所列人员、部门不在名录中"))
    return [SupervisionGroupFormed(group_id=group_id, name=name, year=cmd.year, leader=cmd.leader,
                                   members=list(members), department=cmd.department, topic=topic,
                                   basis=basis)]


def record_fact_finding(actor: Actor, state: SupervisionGroup, cmd: RecordFactFinding, *,
                        activity_id: str, today: date) -> list[DomainEvent]:
    """Staff record the group's fact finding 监督调研 (held by today), with members of the group."""
    require_group(state)
    require_role(actor, (STAFF,), "record_fact_finding")
    _require_formed(state, "record_fact_finding")
    problems: dict[str, str] = {}
    if cmd.kind not in FACT_FINDING_KINDS:
        problems["kind"] = f"one of 取值之一: {', '.join(FACT_FINDING_KINDS)}"
    held_on = check_date(problems, "held_on", cmd.held_on)
    if held_on is not None and held_on > today:
        problems["held_on"] = (f"not after today ({today.isoformat()}): record it once held "
                               f"不能晚于今天（{today.isoformat()}），调研后再记录")
    members = check_ids(problems, "members", cmd.members, least=1, most=MAX_MEMBERS + 1)
    if "members" not in problems:
        for i, member in enumerate(members):
            if member not in state.people:
                problems[f"members[{i}]"] = (f"{member!r} is not in the group 不是本监督组成员")
    findings = _text(problems, "findings", cmd.findings)
    refuse_if(problems, ("the fact finding is incomplete or malformed", "监督调研记录不完整或有误"))
    assert held_on is not None
    return [SupervisionFactFindingRecorded(group_id=state.group_id, activity_id=activity_id,
                                           kind=cmd.kind, held_on=held_on.isoformat(),
                                           members=list(members), findings=findings)]


def issue_supervision_opinion(actor: Actor, state: SupervisionGroup, cmd: IssueSupervisionOpinion, *,
                              opinion_id: str, today: date) -> list[DomainEvent]:
    """Staff issue the group's opinion 监督意见 to the department, to report on by the deadline
    (after today, within MAX_TASK_DAYS)."""
    require_group(state)
    require_role(actor, (STAFF,), "issue_supervision_opinion")
    _require_formed(state, "issue_supervision_opinion")
    problems: dict[str, str] = {}
    text = _text(problems, "text", cmd.text)
    deadline = check_date(problems, "deadline", cmd.deadline)
    if deadline is not None and not 0 < (deadline - today).days <= MAX_TASK_DAYS:
        problems["deadline"] = (f"after today ({today.isoformat()}) and within {MAX_TASK_DAYS} days "
                                f"须晚于今天且在 {MAX_TASK_DAYS} 天之内")
    refuse_if(problems, ("the opinion is incomplete or malformed", "监督意见不完整或有误"))
    assert deadline is not None
    return [SupervisionOpinionIssued(group_id=state.group_id, opinion_id=opinion_id,
                                     department=state.department, text=text,
                                     deadline=deadline.isoformat(), issued_on=today.isoformat(),
                                     title=state.name)]


def report_supervision_handling(actor: Actor, state: SupervisionGroup, cmd: ReportSupervisionHandling, *,
                                today: date) -> list[DomainEvent]:
    """The department reports how it handled an opinion 办理情况, once; on time if by its deadline."""
    require_group(state)
    if actor.role != UNIT or actor.organisation != state.department:
        raise NotAllowed("report_supervision_handling", (
            f"only the department supervised ({state.department}) reports its handling; the actor "
            f"is {actor.role!r} of {actor.organisation!r}",
            f"只有被监督的职能部门（{state.department}）可以报告办理情况；当前用户是 "
            f"{actor.organisation!r} 的 {actor.role!r}"))
    _require_formed(state, "report_supervision_handling")
    opinion = _require_opinion(state, cmd.opinion_id)
    if opinion.reported_on is not None:
        raise WrongState("report_supervision_handling", state.status or "none", state.next_commands(),
                         (f"the handling of this opinion was reported on {opinion.reported_on}",
                          f"此监督意见的办理情况已于 {opinion.reported_on} 报告"))
    problems: dict[str, str] = {}
    report = _text(problems, "report", cmd.report)
    refuse_if(problems, ("bad handling report", "办理情况填写有误"))
    return [SupervisionHandlingReported(group_id=state.group_id, opinion_id=opinion.opinion_id,
                                        department=state.department, report=report,
                                        deadline=opinion.deadline, reported_on=today.isoformat(),
                                        on_time=today <= date.fromisoformat(opinion.deadline))]


def verify_supervision_effect(actor: Actor, state: SupervisionGroup,
                              cmd: VerifySupervisionEffect) -> list[DomainEvent]:
    """Staff record the group's verdict on the effect 核验落实效果 of a handled opinion, once."""
    require_group(state)
    require_role(actor, (STAFF,), "verify_supervision_effect")
    _require_formed(state, "verify_supervision_effect")
    opinion = _require_opinion(state, cmd.opinion_id)
    if opinion.state == OPINION_ISSUED:
        raise WrongState("verify_supervision_effect", state.status or "none", state.next_commands(),
                         ("the department has not reported its handling of this opinion yet",
                          "职能部门尚未报告此监督意见的办理情况"))
    if opinion.state == OPINION_VERIFIED:
        raise WrongState("verify_supervision_effect", state.status or "none", state.next_commands(),
                         (f"its effect was verified already ({opinion.verdict})",
                          f"此监督意见已核验（{opinion.verdict}）"))
    problems: dict[str, str] = {}
    if cmd.verdict not in VERDICTS:
        problems["verdict"] = f"one of 取值之一: {', '.join(VERDICTS)}"
    note = _text(problems, "note", cmd.note)
    refuse_if(problems, ("bad verification", "核验结果填写有误"))
    return [SupervisionEffectVerified(group_id=state.group_id, opinion_id=opinion.opinion_id,
                                      department=state.department, verdict=cmd.verdict, note=note)]


def close_supervision_group(actor: Actor, state: SupervisionGroup,
                            cmd: CloseSupervisionGroup) -> list[DomainEvent]:
    """Staff close the group's round 办结: at least one opinion, every one verified."""
    require_group(state)
    require_role(actor, (STAFF,), "close_supervision_group")
    _require_formed(state, "close_supervision_group")
    if not state.opinions:
        raise WrongState("close_supervision_group", state.status or "none", state.next_commands(),
                         ("the group has issued no opinion yet", "监督组尚未提出监督意见"))
    open_ = [o.opinion_id for o in state.opinions if o.state != OPINION_VERIFIED]
    if open_:
        raise WrongState("close_supervision_group", state.status or "none", state.next_commands(),
                         (f"opinions not verified yet: {', '.join(open_)}",
                          f"尚有 {len(open_)} 条监督意见未核验：{'、'.join(open_)}"))
    problems: dict[str, str] = {}
    summary = _text(problems, "summary", cmd.summary)
    refuse_if(problems, ("bad summary", "工作总结填写有误"))
    return [SupervisionGroupClosed(group_id=state.group_id, name=state.name, summary=summary)]


# -- the deadline timer's decision -----------------------------------------------------------

def remind_or_record_overdue(state: SupervisionGroup, *, today: date,
                             days_before: int = TASK_REMIND_DAYS_BEFORE) -> list[DomainEvent]:
    """What the timer records today for each opinion the department has not reported on: a
    reminder once the deadline is ``days_before`` days away or nearer, the overdue event
    (escalated to the group's leader) from the day after the deadline; each once per opinion.
    A timer that missed the reminder's days records only the overdue event."""
    if state.status != FORMED:
        return []
    events: list[DomainEvent] = []
    for o in state.opinions:
        if o.reported_on is not None:
            continue
        left = (date.fromisoformat(o.deadline) - today).days
        if left < 0 and not o.overdue:
            events.append(SupervisionHandlingOverdue(
                group_id=state.group_id, opinion_id=o.opinion_id, department=state.department,
                deadline=o.deadline, days_overdue=-left, title=state.name,
                escalate_to=[state.leader] if state.leader else []))
        elif 0 <= left <= days_before and not o.reminded:
            events.append(SupervisionHandlingDueSoon(
                group_id=state.group_id, opinion_id=o.opinion_id, department=state.department,
                deadline=o.deadline, days_before=left, title=state.name))
    return events


# -- who reads a group -----------------------------------------------------------------------

def may_read(actor: Actor, state: SupervisionGroup) -> bool:
    if actor.role in READERS:
        return True
    if actor.role == UNIT:
        return actor.organisation == state.department
    return actor.role == MEMBER and actor.user_id in state.people


def require_reader(actor: Actor, state: SupervisionGroup) -> SupervisionGroup:
    if not may_read(actor, state):
        raise NotAllowed("read this supervision group", (
            "staff, leaders, auditors, the group's members and the department supervised read it; "
            f"the actor is {actor.role!r} {actor.user_id!r}",
            "只有工作人员、领导、审计人员、本组成员和被监督的职能部门可以查看；"
            f"当前用户是 {actor.role!r} {actor.user_id!r}"))
    return state


DEPARTMENT_FIELDS = ("group_id", "status", "name", "year", "department", "topic", "basis")
DEPARTMENT_OPINION_FIELDS = ("opinion_id", "text", "deadline", "issued_on", "state", "report",
                             "reported_on", "on_time", "overdue", "verdict")


def group_as_seen_by(actor: Actor, state: SupervisionGroup) -> dict[str, Any]:
    """The group as ``actor`` may read it (``require_reader`` first): all of it for staff,
    leaders, auditors and its members; for the department its name, topic, basis, the opinions
    issued to it and its own reports, never the fact-finding notes or who is in the group."""
    whole = state.to_dict()
    if actor.role != UNIT:
        return whole
    return {**{k: whole[k] for k in DEPARTMENT_FIELDS},
            "opinions": [{k: o[k] for k in DEPARTMENT_OPINION_FIELDS} for o in whole["opinions"]],
            "next_commands": [c for c in whole["next_commands"] if c == "report_supervision_handling"]}
