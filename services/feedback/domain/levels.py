"""Committees that report to each other: a report received from below, and what an upper
committee decided on a report this committee reported to it. Pure: the link (xieshang.kernel.levels)
carries the messages; these functions decide what each side records."""

from __future__ import annotations

from typing import Any, Mapping

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed

from .events import (LeaderInstructionRecorded, OpinionDecidedAbove, OpinionFeedbackReceived,
                     OpinionReceivedFromBelow, OpinionReportAdopted, OpinionReportForwarded,
                     OpinionReportNotAdopted, OpinionReportReported)
from .state import OpinionReport
from .vocabulary import (CATEGORIES, CHANNELS, SUBMITTERS, TEXT_LIMITS, UPPER_DECISIONS,
                         received_report_id)

CREDITED_DECISIONS = ("adopted", "instructed")  # earn the lower committee's members duty points


def reported_payload(event: OpinionReportReported) -> dict[str, Any]:
    """What crosses the link upward: the report as reported (no submitter: only its kind)."""
    return {"report_id": event.report_id, "title": event.title, "content": event.content,
            "category": event.category, "channel": event.channel,
            "submitter_role": event.submitter_role}


def receive_from_below(state: OpinionReport, *, origin_committee: str, origin_level: str,
                       origin_event_id: str, origin_position: int, origin_hash: str,
                       payload: Mapping[str, Any]) -> list[DomainEvent]:
    """A lower committee's report becomes this report (once: nothing if it was received already)."""
    if state.exists:
        return []
    problems: dict[str, str] = {}
    text = {}
    for name in ("report_id", "title", "content", "category", "channel", "submitter_role"):
        value = payload.get(name)
        if not isinstance(value, str) or not value.strip():
            problems[name] = "required text 必填文本"
        text[name] = value
    if not problems:
        lo, hi = TEXT_LIMITS["title"]
        if not lo <= len(text["title"]) <= hi:
            problems["title"] = f"text of {lo} to {hi} characters"
        if len(text["content"]) > TEXT_LIMITS["content"][1]:
            problems["content"] = "too long 过长"
        if text["category"] not in CATEGORIES:
            problems["category"] = f"one of {', '.join(CATEGORIES)}"
        if text["channel"] not in CHANNELS:
            problems["channel"] = f"one of {', '.join(CHANNELS)}"
        if text["submitter_role"] not in SUBMITTERS:
            problems["submitter_role"] = f"one of {', '.join(SUBMITTERS)}"
    if problems:
        raise InvalidCommand(("the report from below is malformed", "下级报送的信息格式有误"), problems)
    return [OpinionReceivedFromBelow(
        report_id=state.report_id, origin_committee=origin_committee, origin_level=origin_level,
        origin_report_id=text["report_id"], origin_event_id=origin_event_id,
        origin_position=origin_position, origin_hash=origin_hash, title=text["title"],
        content=text["content"], category=text["category"], channel=text["channel"],
        submitter_role=text["submitter_role"])]


def decision_for_below(event: DomainEvent) -> tuple[str, dict[str, Any]] | None:
    """What a decision recorded here on a report from below tells the lower committee: the
    decision (UPPER_DECISIONS) and its detail; None for events that are not such a decision."""
    if isinstance(event, OpinionReportAdopted):
        return "adopted", {"note": event.note}
    if isinstance(event, OpinionReportNotAdopted):
        return "not_adopted", {"reason": event.reason}
    if isinstance(event, OpinionReportReported):
        return "reported", {"party_committee": event.party_committee, "government": event.government,
                            "upper": list(event.upper)}
    if isinstance(event, OpinionReportForwarded):
        return "forwarded", {"units": list(event.units), "deadline": event.deadline}
    if isinstance(event, LeaderInstructionRecorded):
        return "instructed", {"leader_level": event.leader_level, "office": event.office,
                              "text": event.text}
    if isinstance(event, OpinionFeedbackReceived):
        return "fed_back", {"unit": event.unit, "text": event.text, "on_time": event.on_time}
    return None


def record_decision_from_above(state: OpinionReport, *, own_committee: str, upper_committee: str,
                               upper_level: str, upper_report_id: str, upper_event_id: str,
                               upper_position: int, upper_hash: str, decision: str,
                               detail: Mapping[str, Any]) -> list[DomainEvent]:
    """An upper committee's decision on a report this committee (``own_committee``) reported to
    it, recorded on the report (the link's tracking makes a repeated message record nothing).
    The decision must be on the upper committee's copy of this very report (its id derives
    from ours: ``received_report_id``)."""
    if not state.exists or upper_committee not in state.upper:
        raise NotAllowed("record_decision_from_above", (
            f"report {state.report_id} was never reported to {upper_committee}",
            f"信息 {state.report_id} 未曾报送 {upper_committee}"))
    if upper_report_id != received_report_id(own_committee, state.report_id):
        raise NotAllowed("record_decision_from_above", (
            f"the decision of {upper_committee} is on its report {upper_report_id}, not on its copy "
            f"of report {state.report_id}",
            f"{upper_committee} 的处理情况针对的是其信息 {upper_report_id}，而非本级信息 {state.report_id}"))
    if decision not in UPPER_DECISIONS:
        raise InvalidCommand(("unknown decision from above", "上级政协的处理情况无法识别"),
                             {"decision": f"one of {', '.join(UPPER_DECISIONS)}"})
    return [OpinionDecidedAbove(
        report_id=state.report_id, upper_committee=upper_committee, upper_level=upper_level,
        upper_report_id=upper_report_id, upper_event_id=upper_event_id,
        upper_position=upper_position, upper_hash=upper_hash, decision=decision,
        detail=dict(detail), members=list(state.members) if decision in CREDITED_DECISIONS else [])]
