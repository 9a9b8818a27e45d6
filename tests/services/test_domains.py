"""The services' pure domains: decisions and folds, no broker, no database."""

from __future__ import annotations

from datetime import date

import pytest

from services.feedback import domain as feedback
from services.members import domain as members
from services.notify import domain as notify
from services.proposals import domain as proposals
from xieshang.kernel.domain import InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor

MEMBER = Actor("m-001", "member", "经济界")
STAFF = Actor("staff-001", "staff", "proposal-committee")
UNIT = Actor("u-mzj-1", "unit", "mzj")
OTHER_UNIT = Actor("u-wjw-1", "unit", "wjw")
TODAY = date(2024, 3, 1)

SUBMISSION = dict(title="关于住宅小区新能源汽车充电设施建设的提案",
                  reasons="老旧小区充电桩少，私拉电线隐患大。", suggestions="统筹规划，分步建设公共充电设施。",
                  category="society")


def test_members_are_appointed_once_by_staff():
    new = members.Member("m-001")

    def appoint(**fields):
        return members.commands.AppointMember(member_id="m-001", **fields)

    [appointed] = members.appoint_member(STAFF, new, appoint(name="王丽", sector="医药卫生界", term="第十届",
                                                             roles=("standing_committee",)))
    state = members.fold_member("m-001", [appointed])
    assert state.appointed and state.sector == "医药卫生界"
    with pytest.raises(WrongState):
        members.appoint_member(STAFF, state, appoint(name="王丽", sector="医药卫生界", term="第十届"))
    with pytest.raises(NotAllowed):
        members.appoint_member(MEMBER, new, appoint(name="王丽", sector="医药卫生界", term="第十届"))
    with pytest.raises(InvalidCommand) as err:
        members.appoint_member(STAFF, new, appoint(name="", sector="x", term="第十届", roles=("king",)))
    assert set(err.value.fields) == {"name", "roles"}


def test_points_are_credited_once_per_source_event():
    ledger = members.fold_ledger("m-001", [])
    [award] = members.award_points(ledger, activity="proposal_filed", source_service="proposals",
                                   source_event_id="e1", source_stream="proposal-p1")
    assert award.points == members.DEFAULT_POINT_RULES["proposal_filed"]
    ledger = members.fold_ledger("m-001", [award])
    assert members.award_points(ledger, activity="proposal_filed", source_service="proposals",
                                source_event_id="e1", source_stream="proposal-p1") == []
    assert members.award_points(ledger, activity="unknown", source_service="proposals",
                                source_event_id="e2", source_stream="proposal-p2") == []
    rules = {"proposal_filed": 2}
    [other] = members.award_points(ledger, activity="proposal_filed", source_service="proposals",
                                   source_event_id="e3", source_stream="proposal-p3", rules=rules)
    assert members.fold_ledger("m-001", [award, other]).total == award.points + 2


def test_notices_go_to_the_people_concerned_once():
    from datetime import datetime, timezone

    assigned = {"proposal_id": "p1", "case_number": "2024-001", "title": "关于充电设施的提案",
                "proposer": "m-001", "lead_unit": "mzj", "co_units": ["zjj"], "deadline": "2024-06-01"}
    context = dict(subject="proposal-p1", office="proposal-committee", now=datetime.now(timezone.utc),
                   names={"mzj": "民政局", "zjj": "住建局", "m-001": "王建国"}.get,
                   preference=lambda recipient, kind: notify.Preference())
    recorded = notify.notices_for(notify.NoticeLog(), service="proposals", event_type="ProposalAssigned",
                                  data=assigned, source_event_id="e1", **context)
    queued = [e for e in recorded if type(e).__name__ == "NotificationQueued"]
    assert [n.recipient for n in queued] == ["mzj", "zjj", "m-001"]
    assert "2024年6月1日" in queued[0].body and "主办" in queued[0].body
    assert notify.notices_for(notify.fold(recorded), service="proposals", event_type="ProposalAssigned",
                              data=assigned, source_event_id="e1", **context) == []
    assert notify.notices_for(notify.NoticeLog(), service="proposals", event_type="ProposalRevised",
                              data=assigned, source_event_id="e2", **context) == []


def test_opinion_reports_come_from_members_and_informants():
    informant = Actor("i-007", "informant", "石嘴山市政协")
    submit = feedback.SubmitOpinionReport.parse
    [event] = feedback.submit_opinion_report(informant, "r1", submit(
        title="关于提升食品安全治理水平的建议", content="百花市场部分摊位缺少冷链设施。", channel="activity"))
    state = feedback.fold("r1", [event])
    assert (state.status, state.submitter_role, state.channel) == ("submitted", "informant", "activity")
    with pytest.raises(NotAllowed):
        feedback.submit_opinion_report(STAFF, "r2", submit(title="标题", content="内容足够长的一段文字。"))
    with pytest.raises(InvalidCommand) as err:
        feedback.submit_opinion_report(MEMBER, "r3", submit(title="标题", content="短", channel="rumour"))
    assert set(err.value.fields) == {"content", "channel"}
    with pytest.raises(InvalidCommand) as err:   # the shape is refused at the edge, field by field
        submit(title=["标题"], content="内容足够长的一段文字。", colour="red")
    assert set(err.value.fields) == {"title", "colour"}


def test_a_converted_proposal_becomes_one_report():
    take_up = feedback.TakeUpConvertedProposal.parse(
        proposal_id="p-1", proposer="m-001", title="关于加强社区养老服务的提案", content="老年人口增多。",
        category="welfare")
    [event] = feedback.convert_proposal(feedback.OpinionReport("r-1"), take_up)
    assert (event.submitter, event.channel, event.category, event.source) == \
        ("m-001", "proposal", "other", "proposal:p-1")
    assert feedback.convert_proposal(feedback.fold("r-1", [event]), take_up) == []


def test_inboxes_are_read_by_their_owners_staff_and_auditors():
    assert notify.may_read_inbox(MEMBER, "m-001") and notify.may_read_inbox(UNIT, "mzj")
    assert notify.may_read_inbox(STAFF, "m-001")
    assert not notify.may_read_inbox(OTHER_UNIT, "mzj") and not notify.may_read_inbox(MEMBER, "m-002")


def test_every_event_is_a_registered_frozen_dataclass():
    for registry in (proposals.registry, members.registry, notify.registry, feedback.registry):
        assert registry.names()
    assert "ProposalFiled" in proposals.registry and "DutyPointsAwarded" in members.registry
