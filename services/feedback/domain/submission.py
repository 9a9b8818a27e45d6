"""征: submission by members and informants, proposals converted into reports, returns for
revision and revisions, and combining several reports into one 综合."""

from __future__ import annotations

from typing import Sequence

from xieshang.kernel.domain import DomainEvent, NotAllowed
from xieshang.kernel.envelope import Actor

from .checks import (check_category, check_text, refuse_if, require_report, require_role,
                     require_status)
from .commands import (CombineOpinionReports, ReturnOpinionReport, ReviseOpinionReport,
                       SubmitOpinionReport, TakeUpConvertedProposal)
from .events import (OpinionReportCombinationReleased, OpinionReportCombinedInto,
                     OpinionReportReturned, OpinionReportRevised, OpinionReportsCombined,
                     OpinionReportSubmitted)
from .state import OpinionReport
from .vocabulary import (CATEGORIES, CHANNELS, COMBINED, MAX_SOURCES, MEMBER, RETURNED, STAFF,
                         SUBMITTED, SUBMITTERS)


def submit_opinion_report(actor: Actor, report_id: str, cmd: SubmitOpinionReport) -> list[DomainEvent]:
    if actor.role not in SUBMITTERS:
        raise NotAllowed("submit_opinion_report", ("only a member or a registered informant "
                                                   f"submits opinion reports; the actor's role is {actor.role!r}",
                                                   "只有委员或登记的信息员可以报送社情民意信息；"
                                                   f"当前用户的身份是 {actor.role!r}"))
    problems: dict[str, str] = {}
    title = check_text(problems, "title", cmd.title)
    content = check_text(problems, "content", cmd.content)
    if cmd.channel not in CHANNELS:
        problems["channel"] = f"one of 取值之一: {', '.join(CHANNELS)}"
    check_category(problems, cmd.category)
    refuse_if(problems, ("the opinion report is incomplete or malformed", "社情民意信息不完整或格式有误"))
    return [OpinionReportSubmitted(report_id=report_id, submitter=actor.user_id,
                                   submitter_role=actor.role, title=title, content=content,
                                   channel=cmd.channel, category=cmd.category)]


def convert_proposal(state: OpinionReport, cmd: TakeUpConvertedProposal) -> list[DomainEvent]:
    """A proposal not filed and converted 提案转社情民意 becomes an opinion report of its proposer
    (once: nothing if the report exists already)."""
    if state.status is not None:
        return []
    return [OpinionReportSubmitted(report_id=state.report_id, submitter=cmd.proposer,
                                   submitter_role=MEMBER, title=cmd.title[:200], content=cmd.content,
                                   channel="proposal",
                                   category=cmd.category if cmd.category in CATEGORIES else "other",
                                   source=f"proposal:{cmd.proposal_id}")]


def return_opinion_report(actor: Actor, state: OpinionReport, cmd: ReturnOpinionReport) -> list[DomainEvent]:
    """Staff return a report to its submitter for revision 退回修改, saying why."""
    require_report(state)
    require_role(actor, (STAFF,), "return_opinion_report")
    require_status(state, (SUBMITTED,), "return_opinion_report")
    if state.from_below or not state.submitter:
        raise NotAllowed("return_opinion_report", (
            "a report received from below or combined here has no submitter here to revise it; "
            "decide on it (adopt or not adopt)",
            "下级报送或本级综合的信息在本级没有可修改的报送人，请直接决定是否采用"))
    problems: dict[str, str] = {}
    reason = check_text(problems, "reason", cmd.reason)
    refuse_if(problems, ("bad reason", "退回理由填写有误"))
    return [OpinionReportReturned(report_id=state.report_id, submitter=state.submitter, reason=reason)]


def revise_opinion_report(actor: Actor, state: OpinionReport, cmd: ReviseOpinionReport) -> list[DomainEvent]:
    """The submitter revises a returned report; the four checks start again."""
    require_report(state)
    if actor.user_id != state.submitter:
        raise NotAllowed("revise_opinion_report", (
            f"only the report's submitter revises it; the actor is {actor.user_id!r}",
            f"只有报送人本人可以修改；当前用户是 {actor.user_id!r}"))
    require_status(state, (RETURNED,), "revise_opinion_report")
    problems: dict[str, str] = {}
    title = check_text(problems, "title", cmd.title)
    content = check_text(problems, "content", cmd.content)
    check_category(problems, cmd.category)
    refuse_if(problems, ("the revision is incomplete or malformed", "修改内容不完整或格式有误"))
    return [OpinionReportRevised(report_id=state.report_id, title=title, content=content,
                                 category=cmd.category)]


def combine_opinion_reports(actor: Actor, report_id: str, sources: Sequence[OpinionReport],
                            cmd: CombineOpinionReports) -> list[DomainEvent]:
    """Staff combine several reports awaiting editing into one new report 综合; the sources'
    submitters are its contributors (and are told what happens to it)."""
    require_role(actor, (STAFF,), "combine_opinion_reports")
    problems: dict[str, str] = {}
    if not 2 <= len(cmd.sources) <= MAX_SOURCES or len(set(cmd.sources)) != len(cmd.sources):
        problems["sources"] = f"2 to {MAX_SOURCES} different reports 2 至 {MAX_SOURCES} 篇不同的信息"
    title = check_text(problems, "title", cmd.title)
    content = check_text(problems, "content", cmd.content)
    check_category(problems, cmd.category)
    refuse_if(problems, ("the combination is incomplete or malformed", "综合内容不完整或格式有误"))
    for source in sources:
        require_report(source)
        require_status(source, (SUBMITTED,), "combine_opinion_reports",
                       (f"report {source.report_id} cannot be combined now",
                        f"信息 {source.report_id} 当前不能综合"))
        if source.from_below:
            raise NotAllowed("combine_opinion_reports", (
                f"report {source.report_id} came from a lower committee, which waits for what "
                "becomes of it: decide on it by itself",
                f"信息 {source.report_id} 由下级政协报送，下级等待其处理结果，请单独处理，不能综合"))
    contributors: list[str] = []
    members: list[str] = []
    for source in sources:
        for person in source.submitters:
            if person not in contributors:
                contributors.append(person)
        for person in source.members:
            if person not in members:
                members.append(person)
    channels = {s.channel for s in sources}
    channel = channels.pop() if len(channels) == 1 else "committee"  # 专委会搜: staff's own work
    return [OpinionReportsCombined(report_id=report_id, sources=list(cmd.sources), title=title,
                                   content=content, category=cmd.category, channel=channel,
                                   contributors=contributors, members=members)]


def mark_combined(state: OpinionReport, into: str) -> list[DomainEvent]:
    """The source's side of a combination, before the combined report is recorded (nothing if
    it is marked already)."""
    if state.status == COMBINED and state.combined_into == into:
        return []
    require_status(state, (SUBMITTED,), "combine_opinion_reports",
                   (f"report {state.report_id} changed meanwhile", f"信息 {state.report_id} 已有变化"))
    return [OpinionReportCombinedInto(report_id=state.report_id, into=into)]


def release_combined(state: OpinionReport, into: str) -> list[DomainEvent]:
    """Undo ``mark_combined`` when the combination could not be completed (nothing if the
    report is not marked for ``into``)."""
    if state.status != COMBINED or state.combined_into != into:
        return []
    return [OpinionReportCombinationReleased(report_id=state.report_id, into=into)]

