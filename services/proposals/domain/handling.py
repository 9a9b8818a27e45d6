"""交、办: assignment to units, objections and reassignment, contacts, co-unit opinions, the
reply; and the deadlines of a round (reminders, overdue, recounting after a calendar change)."""

from __future__ import annotations

from datetime import date

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed, WrongState
from xieshang.kernel.envelope import Actor

from ..calendar import days_overdue, deadline, reminder_dates
from .checks import (check_length, check_units, require_case, require_role, require_status,
                     require_unit_of_round, required_text, stripped)
from .commands import (AssignProposal, DismissObjection, ObjectToAssignment, ReassignProposal,
                       RecordContact, ReplyToProposal, SendCoUnitOpinion)
from .events import (AssignmentObjected, ContactRecorded, CoUnitOpinionSent, ObjectionDismissed,
                     ProposalAssigned, ProposalReassigned, ProposalReplied, ReplyDeadlineMoved,
                     ReplyDueSoon, ReplyOverdue)
from .rules import Timing
from .state import Proposal
from .vocabulary import (ASSIGNED, CONTACT_STAGES, FILED, REPLIED, REPLY_CLASSES, STAFF, UNIT,
                         TEXT_LIMITS, URGENT_MAX_DAYS)


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


def assign_proposal(actor: Actor, state: Proposal, command: AssignProposal, *,
                    timing: Timing) -> list[DomainEvent]:
    """Staff assign a filed proposal to a lead unit and co-units 交办. The deadline is counted by
    the committee's rules (urgent: the shorter period), unless staff give a date."""
    lead_unit, co_units, urgent = command.lead_unit, command.co_units, command.urgent
    require_case(state)
    require_role(actor, (STAFF,), "assign_proposal", "only proposal committee staff assign proposals")
    require_status(state, (FILED,), "assign_proposal")
    problems: dict[str, str] = {}
    lead, units = check_units(problems, lead_unit, co_units)
    days = timing.rules.urgent_reply_days if urgent else timing.rules.reply_days
    due, period, fixed = _counted_deadline(timing, days, command.deadline, problems)
    if problems:
        raise InvalidCommand(("the assignment is incomplete or malformed", "交办内容不完整或格式有误"), problems)
    return [ProposalAssigned(proposal_id=state.proposal_id, case_number=state.case_number or "",
                             title=state.title, proposer=state.proposer, round=1, lead_unit=lead,
                             co_units=units, started_on=timing.today.isoformat(), deadline=due,
                             period_days=period, counting=timing.rules.counting, fixed_deadline=fixed,
                             proposers=list(state.proposers))]


def object_to_assignment(actor: Actor, state: Proposal, command: ObjectToAssignment, *,
                         timing: Timing) -> list[DomainEvent]:
    """A unit of the current round objects 申请调整 within the objection period."""
    reason = command.reason
    require_case(state)
    r = require_unit_of_round(actor, state, "object_to_assignment")
    require_status(state, (ASSIGNED,), "object_to_assignment")
    if actor.organisation in r.objections:
        raise WrongState("object_to_assignment", state.status, ("reassign_proposal", "dismiss_objection"),
                         ("objection pending", "已有调整申请待处理"))
    last_day = deadline(date.fromisoformat(r.started_on), timing.rules.objection_days, timing.rules,
                        timing.calendar)
    if timing.today > last_day:
        raise WrongState("object_to_assignment", state.status, ("record_contact", "reply_to_proposal"),
                         (f"objection period over (it ended on {last_day.isoformat()})",
                          f"申请调整期已于 {last_day.isoformat()} 结束"))
    reason = required_text("reason", reason, *TEXT_LIMITS["reason"])
    return [AssignmentObjected(proposal_id=state.proposal_id, round=r.number, unit=actor.organisation,
                               reason=reason)]


def dismiss_objection(actor: Actor, state: Proposal, command: DismissObjection) -> list[DomainEvent]:
    unit, reason = command.unit, command.reason
    require_case(state)
    require_role(actor, (STAFF,), "dismiss_objection", "only proposal committee staff decide objections")
    require_status(state, (ASSIGNED,), "dismiss_objection")
    if unit not in state.round.objections:
        raise InvalidCommand(("no pending objection of that unit", "该单位没有待处理的调整申请"),
                             {"unit": f"one of: {', '.join(state.round.objections) or 'none pending'}"})
    reason = required_text("reason", reason, *TEXT_LIMITS["reason"])
    return [ObjectionDismissed(proposal_id=state.proposal_id, round=state.round.number, unit=unit,
                               reason=reason)]


def reassign_proposal(actor: Actor, state: Proposal, command: ReassignProposal, *,
                      timing: Timing) -> list[DomainEvent]:
    """Staff change the units of the current round (after an objection, or on their own)."""
    lead_unit, co_units = command.lead_unit, command.co_units
    require_case(state)
    require_role(actor, (STAFF,), "reassign_proposal", "only proposal committee staff reassign proposals")
    require_status(state, (ASSIGNED,), "reassign_proposal")
    r = state.round
    problems: dict[str, str] = {}
    lead, units = check_units(problems, lead_unit, co_units)
    if (lead, tuple(units)) == (r.lead_unit, r.co_units):
        problems["lead_unit"] = "the units are the same as now"
    due, period, fixed = _counted_deadline(timing, r.period_days if not r.fixed_deadline
                                           else timing.rules.reply_days, command.deadline, problems)
    if problems:
        raise InvalidCommand(("the reassignment is incomplete or malformed", "重新交办内容不完整或格式有误"),
                             problems)
    return [ProposalReassigned(proposal_id=state.proposal_id, case_number=state.case_number or "",
                               round=r.number, lead_unit=lead, co_units=units,
                               previous_lead_unit=r.lead_unit, started_on=timing.today.isoformat(),
                               deadline=due, period_days=period, counting=timing.rules.counting,
                               fixed_deadline=fixed, proposers=list(state.proposers))]


def record_contact(actor: Actor, state: Proposal, command: RecordContact) -> list[DomainEvent]:
    """A unit of the current round records meeting the proposer 办前/办中/办后."""
    stage, summary = command.stage, command.summary
    require_case(state)
    r = require_unit_of_round(actor, state, "record_contact")
    require_status(state, (ASSIGNED, REPLIED), "record_contact")
    problems: dict[str, str] = {}
    if stage not in CONTACT_STAGES:
        problems["stage"] = f"one of {', '.join(CONTACT_STAGES)}"
    summary = stripped(summary)
    check_length(problems, "summary", summary, *TEXT_LIMITS["summary"])
    if problems:
        raise InvalidCommand(("the contact record is incomplete or malformed", "沟通记录不完整或格式有误"),
                             problems)
    return [ContactRecorded(proposal_id=state.proposal_id, round=r.number, unit=actor.organisation,
                            stage=stage, summary=summary)]


def send_co_unit_opinion(actor: Actor, state: Proposal, command: SendCoUnitOpinion) -> list[DomainEvent]:
    """A co-handling unit sends its opinion to the lead unit 会办意见."""
    opinion = command.opinion
    require_case(state)
    r = state.round
    if actor.role != UNIT or r is None or actor.organisation not in r.co_units:
        raise NotAllowed("send_co_unit_opinion", ("only a co-handling unit of the current round "
                                                  f"sends an opinion; {actor.organisation!r} is not one",
                                                  "只有本轮的会办单位可以提交会办意见；"
                                                  f"{actor.organisation!r} 不是会办单位"))
    require_status(state, (ASSIGNED,), "send_co_unit_opinion")
    opinion = required_text("opinion", opinion, *TEXT_LIMITS["opinion"])
    return [CoUnitOpinionSent(proposal_id=state.proposal_id, round=r.number, unit=actor.organisation,
                              lead_unit=r.lead_unit, opinion=opinion)]


def reply_to_proposal(actor: Actor, state: Proposal, command: ReplyToProposal, *,
                      today: date) -> list[DomainEvent]:
    """The lead unit of the current round replies 答复, classing the outcome A, B or C."""
    reply_class, reply = command.reply_class, command.reply
    require_case(state)
    r = state.round
    if actor.role != UNIT or r is None or actor.organisation != r.lead_unit:
        raise NotAllowed("reply_to_proposal",
                         (f"only the lead unit{f' {r.lead_unit!r}' if r else ''} replies; the actor "
                          f"is {actor.role!r} of {actor.organisation!r}",
                          f"只有主办单位{f' {r.lead_unit!r} ' if r else ''}可以答复提案；当前用户是 "
                          f"{actor.organisation!r} 的 {actor.role!r}"))
    require_status(state, (ASSIGNED,), "reply_to_proposal")
    problems: dict[str, str] = {}
    if reply_class not in REPLY_CLASSES:
        problems["reply_class"] = "A, B or C"
    reply = stripped(reply)
    check_length(problems, "reply", reply, *TEXT_LIMITS["reply"])
    if r.objections:
        problems["objections"] = f"the objection of {', '.join(r.objections)} is still pending"
    if problems:
        raise InvalidCommand(("the reply is incomplete or malformed", "答复内容不完整或格式有误"), problems)
    return [ProposalReplied(proposal_id=state.proposal_id, case_number=state.case_number or "",
                            title=state.title, proposer=state.proposer, unit=actor.organisation,
                            reply_class=reply_class, reply=reply,
                            on_time=today <= date.fromisoformat(r.deadline), round=r.number,
                            replied_on=today.isoformat(), deadline=r.deadline,
                            proposers=list(state.proposers))]


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
