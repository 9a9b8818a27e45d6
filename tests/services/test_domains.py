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


def submitted(pid: str = "p1") -> proposals.Proposal:
    return proposals.fold(pid, proposals.submit_proposal(MEMBER, None, pid, **SUBMISSION))


def advance(state: proposals.Proposal, events) -> proposals.Proposal:
    for e in events:
        state = proposals.apply(state, e)
    return state


def test_a_proposal_goes_submitted_filed_assigned_replied():
    state = submitted()
    assert (state.status, state.proposer) == ("submitted", "m-001")
    state = advance(state, proposals.file_proposal(STAFF, state, "2024-015"))
    assert (state.status, state.case_number) == ("filed", "2024-015")
    assigned = proposals.assign_proposal(STAFF, state, lead_unit="mzj", co_units=["zjj"], today=TODAY)
    assert assigned[0].reply_deadline == "2024-06-01"  # three months by default
    state = advance(state, assigned)
    replied = proposals.reply_to_proposal(UNIT, state, reply_class="A", reply="已建成充电桩120个。",
                                          today=date(2024, 5, 20))
    assert replied[0].on_time and replied[0].unit == "mzj" and replied[0].proposer == "m-001"
    state = advance(state, replied)
    assert (state.status, state.reply_class, state.to_dict()["next_commands"]) == ("replied", "A", [])


def test_wrong_roles_are_refused_with_the_missing_right():
    with pytest.raises(NotAllowed, match="only a member submits"):
        proposals.submit_proposal(UNIT, None, "p1", **SUBMISSION)
    with pytest.raises(NotAllowed, match="only proposal committee staff file") as err:
        proposals.file_proposal(MEMBER, submitted(), "2024-001")
    assert err.value.to_dict()["code"] == "not_allowed"
    state = advance(submitted(), proposals.file_proposal(STAFF, submitted(), "2024-001"))
    state = advance(state, proposals.assign_proposal(STAFF, state, lead_unit="mzj", today=TODAY))
    with pytest.raises(NotAllowed, match="only the lead unit 'mzj'"):
        proposals.reply_to_proposal(OTHER_UNIT, state, reply_class="A", reply="答复内容", today=TODAY)


def test_staff_may_submit_on_a_members_behalf():
    [event] = proposals.submit_proposal(STAFF, "m-002", "p1", **SUBMISSION)
    assert event.proposer == "m-002"


def test_commands_out_of_order_say_what_is_allowed():
    with pytest.raises(WrongState) as err:
        proposals.assign_proposal(STAFF, submitted(), lead_unit="mzj", today=TODAY)
    assert err.value.allowed == ["file_proposal"] and err.value.state == "submitted"
    with pytest.raises(NotFound):
        proposals.file_proposal(STAFF, proposals.fold("nope", []), "2024-001")


def test_invalid_commands_name_each_field():
    with pytest.raises(InvalidCommand) as err:
        proposals.submit_proposal(MEMBER, None, "p1", title="", reasons="x", suggestions="建议内容",
                                  category="weather", co_signers=["m-001"])
    assert set(err.value.fields) == {"title", "reasons", "category", "co_signers"}
    state = advance(submitted(), proposals.file_proposal(STAFF, submitted(), "2024-001"))
    with pytest.raises(InvalidCommand) as err:
        proposals.assign_proposal(STAFF, state, lead_unit="mzj", reply_deadline="2024-02-01", today=TODAY)
    assert "reply_deadline" in err.value.fields


def test_a_case_number_is_held_by_one_proposal():
    [held] = proposals.reserve_case_number([], "2024-001", "p1")
    assert proposals.reserve_case_number([held], "2024-001", "p1") == []  # a retry of the same filing
    with pytest.raises(InvalidCommand, match="already used"):
        proposals.reserve_case_number([held], "2024-001", "p2")


def test_reply_after_the_deadline_is_recorded_as_late():
    state = advance(submitted(), proposals.file_proposal(STAFF, submitted(), "2024-001"))
    state = advance(state, proposals.assign_proposal(STAFF, state, lead_unit="mzj",
                                                     reply_deadline="2024-04-01", today=TODAY))
    [late] = proposals.reply_to_proposal(UNIT, state, reply_class="B", reply="正在推进。", today=date(2024, 4, 2))
    assert late.on_time is False


def test_add_months_keeps_to_the_month_end():
    assert proposals.add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    assert proposals.add_months(date(2024, 10, 15), 3) == date(2025, 1, 15)


def test_members_are_appointed_once_by_staff():
    new = members.Member("m-001")
    [appointed] = members.appoint_member(STAFF, new, name="王丽", sector="医药卫生界", term="第十届",
                                         roles=["standing_committee"])
    state = members.fold_member("m-001", [appointed])
    assert state.appointed and state.sector == "医药卫生界"
    with pytest.raises(WrongState):
        members.appoint_member(STAFF, state, name="王丽", sector="医药卫生界", term="第十届")
    with pytest.raises(NotAllowed):
        members.appoint_member(MEMBER, new, name="王丽", sector="医药卫生界", term="第十届")
    with pytest.raises(InvalidCommand) as err:
        members.appoint_member(STAFF, new, name="", sector="x", term="第十届", roles=["king"])
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
    assigned = {"proposal_id": "p1", "case_number": "2024-001", "title": "关于充电设施的提案",
                "proposer": "m-001", "lead_unit": "mzj", "co_units": ["zjj"], "reply_deadline": "2024-06-01"}
    queued = notify.notices_for(notify.NoticeLog(), event_type="ProposalAssigned", data=assigned,
                                subject="proposal-p1", source_event_id="e1")
    assert [n.recipient for n in queued] == ["mzj", "zjj", "m-001"]
    assert "2024-06-01" in queued[0].body and "主办" in queued[0].body
    assert notify.notices_for(notify.fold(queued), event_type="ProposalAssigned", data=assigned,
                              subject="proposal-p1", source_event_id="e1") == []
    assert notify.notices_for(notify.NoticeLog(), event_type="ProposalSubmitted", data=assigned,
                              subject="proposal-p1", source_event_id="e2") == []


def test_opinion_reports_come_from_members_and_informants():
    informant = Actor("i-007", "informant", "石嘴山市政协")
    [event] = feedback.submit_opinion_report(informant, "r1", title="关于提升食品安全治理水平的建议",
                                             content="百花市场部分摊位缺少冷链设施。", channel="activity")
    state = feedback.fold("r1", [event])
    assert (state.status, state.submitter_role, state.channel) == ("submitted", "informant", "activity")
    with pytest.raises(NotAllowed):
        feedback.submit_opinion_report(STAFF, "r2", title="标题", content="内容足够长的一段文字。")
    with pytest.raises(InvalidCommand) as err:
        feedback.submit_opinion_report(MEMBER, "r3", title="标题", content="短", channel="rumour")
    assert set(err.value.fields) == {"content", "channel"}


def test_every_event_is_a_registered_frozen_dataclass():
    for registry in (proposals.registry, members.registry, notify.registry, feedback.registry):
        assert registry.names()
    assert "ProposalFiled" in proposals.registry and "DutyPointsAwarded" in members.registry
