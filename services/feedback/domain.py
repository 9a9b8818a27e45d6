"""Opinion reports 社情民意信息: the feedback service's published events and decisions.

Pure: no I/O, no framework. Stream ``opinion-<uuid>``: one report, from submission on
(editing under the four checks, adoption, reporting upward, forwarding, instructions and
feedback to the submitter come later: DOMAIN.md §3).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable

from xieshang.kernel.domain import DomainEvent, EventRegistry, InvalidCommand, NotAllowed, NotFound
from xieshang.kernel.envelope import Actor

registry = EventRegistry()

SUBMITTERS = ("member", "informant")  # 委员, 社情民意信息员 / 特邀信息员
# The six collection channels 六条渠道: 领导点、专委会搜、委员提、活动找、提案转、会议集.
CHANNELS = ("leader", "committee", "member", "activity", "proposal", "meeting")
CATEGORIES = ("economy", "politics", "culture", "society", "ecology", "other")


def opinion_stream(report_id: str) -> str:
    return f"opinion-{report_id}"


@registry.register
@dataclass(frozen=True)
class OpinionReportSubmitted(DomainEvent):
    """A member or an informant submitted an opinion report, collected through ``channel``
    (one of CHANNELS). ``submitter`` is a user id; ``submitter_role`` is member or informant."""

    report_id: str
    submitter: str
    submitter_role: str
    title: str
    content: str
    channel: str
    category: str
    source: str | None = None  # e.g. "proposal:<id>" for a proposal converted 提案转


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


def submit_opinion_report(actor: Actor, report_id: str, *, title: str, content: str,
                          channel: str = "member", category: str = "society") -> list[DomainEvent]:
    if actor.role not in SUBMITTERS:
        raise NotAllowed("submit_opinion_report", "only a member or a registered informant "
                                                  f"submits opinion reports; the actor's role is {actor.role!r}")
    problems: dict[str, str] = {}
    title = title.strip() if isinstance(title, str) else title
    content = content.strip() if isinstance(content, str) else content
    if not isinstance(title, str) or not 2 <= len(title) <= 200:
        problems["title"] = "text of 2 to 200 characters"
    if not isinstance(content, str) or not 10 <= len(content) <= 20_000:
        problems["content"] = "text of 10 to 20000 characters"
    if channel not in CHANNELS:
        problems["channel"] = f"one of {', '.join(CHANNELS)}"
    if category not in CATEGORIES:
        problems["category"] = f"one of {', '.join(CATEGORIES)}"
    if problems:
        raise InvalidCommand("the opinion report is incomplete or malformed", problems)
    return [OpinionReportSubmitted(report_id=report_id, submitter=actor.user_id,
                                   submitter_role=actor.role, title=title, content=content,
                                   channel=channel, category=category)]


def convert_proposal(state: OpinionReport, *, proposal_id: str, proposer: str, title: str,
                     content: str, category: str) -> list[DomainEvent]:
    """A proposal not filed and converted 提案转社情民意 becomes an opinion report of its proposer
    (once: nothing if the report exists already)."""
    if state.status is not None:
        return []
    return [OpinionReportSubmitted(report_id=state.report_id, submitter=proposer,
                                   submitter_role="member", title=title[:200], content=content,
                                   channel="proposal",
                                   category=category if category in CATEGORIES else "other",
                                   source=f"proposal:{proposal_id}")]


def require(state: OpinionReport) -> OpinionReport:
    if state.status is None:
        raise NotFound(f"no opinion report {state.report_id!r}")
    return state
