"""报、督、复: reporting an adopted report to the party committee, the government and upper
committees; forwarding it to units with a deadline and their written feedback, the deadlines'
reminders and overdue records (timers); leaders' instructions; the submitters told what
happened 情况通报."""

from __future__ import annotations

from datetime import date
from typing import Iterable

from xieshang.kernel.domain import DomainEvent, NotAllowed, WrongState
from xieshang.kernel.envelope import Actor

from .checks import check_ids, check_text, refuse_if, require_report, require_role, require_status
from .commands import (ForwardOpinion, InformSubmitter, RecordLeaderInstruction, ReportOpinion,
                       SendOpinionFeedback)
from .events import (LeaderInstructionRecorded, OpinionFeedbackDueSoon, OpinionFeedbackOverdue,
                     OpinionFeedbackReceived, OpinionReportForwarded, OpinionReportReported,
                     SubmitterInformed)
from .state import OpinionReport
from .vocabulary import (ADOPTED, DECIDED, LEADER, LEADER_OFFICES, LEVELS, MAX_FORWARD_DAYS,
                         REMIND_DAYS_BEFORE, STAFF, UNIT)


def report_opinion(actor: Actor, state: OpinionReport, cmd: ReportOpinion, *,
                   linked_upper: Iterable[str]) -> list[DomainEvent]:
    """Staff report an adopted report 报送 to the same level's party committee and government
    and/or to upper committees this deployment is linked to; never twice to the same one."""
    require_report(state)
    require_role(actor, (STAFF,), "report_opinion")
    require_status(state, (ADOPTED,), "report_opinion")
    linked = tuple(linked_upper)
    problems: dict[str, str] = {}
    upper = list(dict.fromkeys(cmd.upper))
    unknown = [code for code in upper if code not in linked]
    if unknown:
        problems["upper"] = (f"not a linked upper committee: {', '.join(unknown)}; linked: "
                             f"{', '.join(linked) or 'none'} 不是已连接的上级政协")
    leaders = check_ids(problems, "leaders", cmd.leaders, most=20)
    if not (cmd.party_committee or cmd.government or upper):
        problems["party_committee"] = ("report to the party committee, the government or an upper "
                                       "committee 请选择报送党委、政府或上级政协")
    refuse_if(problems, ("the reporting is incomplete or malformed", "报送内容不完整或有误"))
    again = ([("party committee", "党委")] if cmd.party_committee and state.party_committee else []) + \
            ([("government", "政府")] if cmd.government and state.government else []) + \
            [(code, code) for code in upper if code in state.upper]
    if again:
        raise WrongState("report_opinion", state.status or "none", state.next_commands(),
                         (f"already reported to {', '.join(en for en, _ in again)}",
                          f"已报送过：{'、'.join(zh for _, zh in again)}，不能重复报送"))
    return [OpinionReportReported(report_id=state.report_id, party_committee=cmd.party_committee,
                                  government=cmd.government, upper=upper, leaders=leaders,
                                  title=state.title, content=state.content, category=state.category,
                                  channel=state.channel, submitter_role=state.submitter_role)]


def forward_opinion(actor: Actor, state: OpinionReport, cmd: ForwardOpinion, *,
                    today: date) -> list[DomainEvent]:
    """Staff forward an adopted report 转交 to units, each to send written feedback by the deadline."""
    require_report(state)
    require_role(actor, (STAFF,), "forward_opinion")
    require_status(state, (ADOPTED,), "forward_opinion")
    problems: dict[str, str] = {}
    units = check_ids(problems, "units", cmd.units, least=1, most=20)
    again = [u for u in units if state.forward_to(u) is not None]
    if again and "units" not in problems:
        problems["units"] = f"already forwarded to 已转交过: {', '.join(again)}"
    deadline = None
    try:
        deadline = date.fromisoformat(cmd.deadline)
    except ValueError:
        problems["deadline"] = "an ISO date, e.g. 2024-06-30 日期格式如 2024-06-30"
    if deadline is not None and not today < deadline <= date.fromordinal(today.toordinal() + MAX_FORWARD_DAYS):
        problems["deadline"] = (f"after today ({today.isoformat()}) and within {MAX_FORWARD_DAYS} days "
                                f"须晚于今天且在 {MAX_FORWARD_DAYS} 天之内")
    refuse_if(problems, ("the forwarding is incomplete or malformed", "转交内容不完整或有误"))
    assert deadline is not None
    return [OpinionReportForwarded(report_id=state.report_id, units=units, deadline=deadline.isoformat(),
                                   title=state.title)]


def send_opinion_feedback(actor: Actor, state: OpinionReport, cmd: SendOpinionFeedback, *,
                          today: date) -> list[DomainEvent]:
    """A unit the report was forwarded to sends its written feedback 书面反馈 (once)."""
    require_report(state)
    forward = state.forward_to(actor.organisation) if actor.role == UNIT else None
    if forward is None:
        units = "、".join(f.unit for f in state.forwards) or "无"
        raise NotAllowed("send_opinion_feedback", (
            f"only a unit the report was forwarded to ({', '.join(f.unit for f in state.forwards) or 'none'}); "
            f"the actor is {actor.role!r} of {actor.organisation!r}",
            f"只有转交的承办单位（{units}）可以提交书面反馈；当前用户是 {actor.organisation!r} 的 {actor.role!r}"))
    require_status(state, (ADOPTED,), "send_opinion_feedback")
    if forward.fed_back_on is not None:
        raise WrongState("send_opinion_feedback", state.status or "none", state.next_commands(),
                         (f"{actor.organisation} sent its feedback on {forward.fed_back_on}",
                          f"{actor.organisation} 已于 {forward.fed_back_on} 反馈"))
    problems: dict[str, str] = {}
    text = check_text(problems, "text", cmd.text)
    refuse_if(problems, ("bad feedback", "书面反馈填写有误"))
    return [OpinionFeedbackReceived(report_id=state.report_id, unit=actor.organisation, text=text,
                                    deadline=forward.deadline, received_on=today.isoformat(),
                                    on_time=today <= date.fromisoformat(forward.deadline))]


def record_leader_instruction(actor: Actor, state: OpinionReport,
                              cmd: RecordLeaderInstruction) -> list[DomainEvent]:
    """A leader's instruction 批示 on a report put before the party committee, the government or
    leaders; a leader records their own, staff enter a paper one naming the leader."""
    require_report(state)
    require_role(actor, (LEADER, STAFF), "record_leader_instruction")
    require_status(state, (ADOPTED,), "record_leader_instruction")
    if not (state.party_committee or state.government or state.leaders):
        raise WrongState("record_leader_instruction", state.status or "none", state.next_commands(),
                         ("not reported to the party committee, the government or a leader yet",
                          "尚未报送党委、政府或领导"))
    problems: dict[str, str] = {}
    if actor.role == STAFF and not cmd.leader:
        problems["leader"] = "staff name the leader who instructed 请填写批示领导"
    leader = actor.user_id if actor.role == LEADER else (cmd.leader or "")
    if cmd.leader_level not in LEVELS:
        problems["leader_level"] = f"one of 取值之一: {', '.join(LEVELS)}"
    if cmd.office not in LEADER_OFFICES:
        problems["office"] = f"one of 取值之一: {', '.join(LEADER_OFFICES)}"
    text = check_text(problems, "text", cmd.text)
    refuse_if(problems, ("the instruction is incomplete or malformed", "批示内容不完整或有误"))
    return [LeaderInstructionRecorded(report_id=state.report_id, leader=leader,
                                      leader_level=cmd.leader_level, office=cmd.office, text=text,
                                      members=[] if state.from_below else list(state.members))]


def inform_submitter(actor: Actor, state: OpinionReport, cmd: InformSubmitter) -> list[DomainEvent]:
    """Staff tell the submitters what became of their report 情况通报."""
    require_report(state)
    require_role(actor, (STAFF,), "inform_submitter")
    require_status(state, DECIDED, "inform_submitter")
    if not state.submitters:
        raise WrongState("inform_submitter", state.status or "none", state.next_commands(),
                         ("a report from below has no submitter here: its committee is told over the link",
                          "下级报送的信息在本级没有报送人，处理情况已通过连接反馈下级政协"))
    problems: dict[str, str] = {}
    text = check_text(problems, "text", cmd.text)
    refuse_if(problems, ("bad notice", "情况通报填写有误"))
    return [SubmitterInformed(report_id=state.report_id, submitters=list(state.submitters), text=text)]


# -- decisions: the forwards' deadlines (timers) -------------------------------------------------

def remind_or_record_overdue(state: OpinionReport, *, today: date,
                             days_before: int = REMIND_DAYS_BEFORE) -> list[DomainEvent]:
    """What the timer records today for each unit still owing its feedback: a reminder once the
    deadline is ``days_before`` days away or nearer, the overdue event from the day after the
    deadline; each once per unit. A timer that did not run in the reminder's days records only
    the overdue event (a reminder of a passed deadline tells nothing)."""
    if state.status != ADOPTED:
        return []
    events: list[DomainEvent] = []
    for f in state.forwards:
        if f.fed_back_on is not None:
            continue
        left = (date.fromisoformat(f.deadline) - today).days
        if left < 0 and not f.overdue:
            events.append(OpinionFeedbackOverdue(report_id=state.report_id, unit=f.unit,
                                                 deadline=f.deadline, days_overdue=-left,
                                                 title=state.title))
        elif 0 <= left <= days_before and not f.reminded:
            events.append(OpinionFeedbackDueSoon(report_id=state.report_id, unit=f.unit,
                                                 deadline=f.deadline, days_before=left,
                                                 title=state.title))
    return events
