"""An opinion report's state and the decisions on it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed, NotFound
from xieshang.kernel.envelope import Actor

from .commands import SubmitOpinionReport, TakeUpConvertedProposal
from .events import OpinionReportSubmitted
from .vocabulary import CATEGORIES, CHANNELS, CONTENT_LENGTH, SUBMITTERS, TITLE_LENGTH


@dataclass(frozen=True)
class OpinionReport:
    report_id: str
    status: str | None = None
    submitter: str = ""
    submitter_role: str = ""
    title: str = ""
    content: str = ""
    channel: str = ""
    category: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def fold(report_id: str, events: Iterable[DomainEvent]) -> OpinionReport:
    state = OpinionReport(report_id)
    for e in events:
        if isinstance(e, OpinionReportSubmitted):
            state = OpinionReport(report_id, "submitted", e.submitter, e.submitter_role, e.title,
                                  e.content, e.channel, e.category)
    return state


def submit_opinion_report(actor: Actor, report_id: str, cmd: SubmitOpinionReport) -> list[DomainEvent]:
    if actor.role not in SUBMITTERS:
        raise NotAllowed("submit_opinion_report", ("only a member or a registered informant "
                                                   f"submits opinion reports; the actor's role is {actor.role!r}",
                                                   "只有委员或登记的信息员可以报送社情民意信息；"
                                                   f"当前用户的身份是 {actor.role!r}"))
    problems: dict[str, str] = {}
    title, content = cmd.title.strip(), cmd.content.strip()
    if not TITLE_LENGTH[0] <= len(title) <= TITLE_LENGTH[1]:
        problems["title"] = "text of 2 to 200 characters 标题 2 至 200 字"
    if not CONTENT_LENGTH[0] <= len(content) <= CONTENT_LENGTH[1]:
        problems["content"] = "text of 10 to 20000 characters 内容 10 至 20000 字"
    if cmd.channel not in CHANNELS:
        problems["channel"] = f"one of {', '.join(CHANNELS)}"
    if cmd.category not in CATEGORIES:
        problems["category"] = f"one of {', '.join(CATEGORIES)}"
    if problems:
        raise InvalidCommand(("the opinion report is incomplete or malformed", "社情民意信息不完整或格式有误"), problems)
    return [OpinionReportSubmitted(report_id=report_id, submitter=actor.user_id,
                                   submitter_role=actor.role, title=title, content=content,
                                   channel=cmd.channel, category=cmd.category)]


def convert_proposal(state: OpinionReport, cmd: TakeUpConvertedProposal) -> list[DomainEvent]:
    """A proposal not filed and converted 提案转社情民意 becomes an opinion report of its proposer
    (once: nothing if the report exists already)."""
    if state.status is not None:
        return []
    return [OpinionReportSubmitted(report_id=state.report_id, submitter=cmd.proposer,
                                   submitter_role="member", title=cmd.title[:200], content=cmd.content,
                                   channel="proposal",
                                   category=cmd.category if cmd.category in CATEGORIES else "other",
                                   source=f"proposal:{cmd.proposal_id}")]


def require(state: OpinionReport) -> OpinionReport:
    if state.status is None:
        raise NotFound((f"no opinion report {state.report_id!r}", f"未找到社情民意信息 {state.report_id!r}"))
    return state
