"""Who reads which report and which lists: staff, auditors and leaders read all; a submitter
(or a combined report's contributor) their own; a unit what was forwarded to it."""

from __future__ import annotations

from xieshang.kernel.domain import NotAllowed
from xieshang.kernel.envelope import Actor

from .state import OpinionReport
from .vocabulary import READERS, UNIT


def may_read(actor: Actor, state: OpinionReport) -> bool:
    if actor.role in READERS:
        return True
    if actor.role == UNIT:
        return state.forward_to(actor.organisation) is not None
    return actor.user_id in state.submitters


def require_reader(actor: Actor, state: OpinionReport) -> OpinionReport:
    if not may_read(actor, state):
        raise NotAllowed("read this report", (
            "staff, leaders, auditors, the report's submitters and the units it was forwarded to "
            f"read it; the actor is {actor.role!r} {actor.user_id!r}",
            f"只有工作人员、领导、审计人员、报送人和转交的承办单位可以查看；当前用户是 {actor.role!r} {actor.user_id!r}"))
    return state


UNIT_FIELDS = ("report_id", "status", "title", "content", "channel", "category")


def report_as_seen_by(actor: Actor, state: OpinionReport) -> dict:
    """The report as ``actor`` may read it (``require_reader`` first): all of it for staff,
    leaders, auditors and its submitters; for a unit it was forwarded to only the report itself
    and its own forwarding, never who submitted it, the editors' notes, the other units or the
    leaders."""
    whole = state.to_dict()
    if actor.role in READERS or actor.role != UNIT:
        return whole
    forward = state.forward_to(actor.organisation)
    return {**{k: whole[k] for k in UNIT_FIELDS},
            "forward": None if forward is None else {"unit": forward.unit, "deadline": forward.deadline,
                                                      "fed_back_on": forward.fed_back_on,
                                                      "on_time": forward.on_time},
            "next_commands": [c for c in whole["next_commands"] if c == "send_opinion_feedback"
                              and forward is not None and forward.fed_back_on is None]}


def require_list_reader(actor: Actor, what: str, *, unit: str | None = None,
                        leader: str | None = None) -> None:
    """The desk, the inbox and the statistics: staff, leaders and auditors; a unit's list: the
    unit itself too; a leader's list: that leader too."""
    if actor.role in READERS and (leader is None or actor.role != "leader" or actor.user_id == leader):
        return
    if unit is not None and actor.role == UNIT and actor.organisation == unit:
        return
    if leader is not None and actor.role == "leader" and actor.user_id == leader:
        return
    raise NotAllowed(what, (f"the actor ({actor.role!r} {actor.user_id!r}) may not read this list",
                            f"当前用户（{actor.role!r} {actor.user_id!r}）无权查看此清单"))
