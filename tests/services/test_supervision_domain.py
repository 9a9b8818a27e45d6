"""Democratic supervision groups 民主监督组 as pure decisions: every step and every refusal, the
state each opinion goes through, who reads what, and the deadline timer's decision."""

from __future__ import annotations

from datetime import date

import pytest

from xieshang.kernel.directory import DirectoryEntry
from xieshang.kernel.domain import InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor

from services.feedback import directory
from services.feedback.domain import supervision as sv
from services.feedback.domain import vocabulary
from services.feedback.domain.events import (SupervisionEffectVerified, SupervisionGroupClosed,
                                             SupervisionHandlingDueSoon, SupervisionHandlingOverdue,
                                             SupervisionHandlingReported, registry)

pytestmark = pytest.mark.unit

STAFF = Actor("s-sv-1", "staff", "office")
LEADER_ACCOUNT = Actor("l-sv-1", "leader", "party-committee")
AUDITOR = Actor("a-sv-1", "auditor", "audit")
MZJ = Actor("u-mzj-sv", "unit", "mzj")        # the department supervised
JTJ = Actor("u-jtj-sv", "unit", "jtj")
GROUP_LEADER = Actor("m-lead", "member", "经济界")
M1 = Actor("m-1", "member", "经济界")
OUTSIDER = Actor("m-9", "member", "经济界")
TODAY = date(2024, 4, 1)
G = "g1"

DIRECTORY = {
    "m-lead": DirectoryEntry("m-lead", "member", "王组长", True),
    "m-1": DirectoryEntry("m-1", "member", "委员一", True),
    "m-2": DirectoryEntry("m-2", "member", "委员二", True),
    "m-gone": DirectoryEntry("m-gone", "member", "已离任", False),
    "mzj": DirectoryEntry("mzj", "handling_unit", "市民政局", True),
    "old": DirectoryEntry("old", "handling_unit", "已撤销局", False),
    "st-1": DirectoryEntry("st-1", "station", "协商驿站", True),
}


def form_cmd(**changes) -> sv.FormSupervisionGroup:
    raw = dict(name="2024年民政局民主监督组", year=2024, leader="m-lead", members=["m-1", "m-2"],
               department="mzj", topic="养老服务设施建设", basis="《养老服务条例》和年度民生实事项目")
    return sv.FormSupervisionGroup.parse(**{**raw, **changes})


def formed() -> list:
    return sv.form_supervision_group(STAFF, G, form_cmd(), directory=DIRECTORY)


def state(events) -> sv.SupervisionGroup:
    return sv.fold(G, events)


def issue(events, oid: str, deadline: str = "2024-04-30", today: date = TODAY) -> list:
    return [*events, *sv.issue_supervision_opinion(
        STAFF, state(events), sv.IssueSupervisionOpinion(G, "加快建设社区养老服务站点。", deadline),
        opinion_id=oid, today=today)]


def report(events, oid: str, today: date = date(2024, 4, 20), actor: Actor = MZJ) -> list:
    return [*events, *sv.report_supervision_handling(
        actor, state(events), sv.ReportSupervisionHandling(G, oid, "已新建站点三处，年底前再建两处。"),
        today=today)]


def verify(events, oid: str, verdict: str = "carried_out") -> list:
    return [*events, *sv.verify_supervision_effect(
        STAFF, state(events), sv.VerifySupervisionEffect(G, oid, verdict, "实地核验，站点已运营。"))]


# -- forming -----------------------------------------------------------------------------------

def test_staff_form_a_group_of_known_members_for_a_known_department():
    [e] = formed()
    assert (e.group_id, e.year, e.leader, e.members, e.department) == (G, 2024, "m-lead", ["m-1", "m-2"], "mzj")
    s = state([e])
    assert s.status == "formed" and s.people == ("m-lead", "m-1", "m-2")
    assert s.next_commands() == ["record_fact_finding", "issue_supervision_opinion"]
    d = s.to_dict()
    assert d["status"] == "formed" and d["opinions"] == [] and d["activities"] == []
    assert d["next_commands"] == ["record_fact_finding", "issue_supervision_opinion"]


@pytest.mark.parametrize("actor", [M1, MZJ, LEADER_ACCOUNT, AUDITOR])
def test_only_staff_form_a_group(actor):
    with pytest.raises(NotAllowed) as refused:
        sv.form_supervision_group(actor, G, form_cmd(), directory=DIRECTORY)
    assert "工作人员" in refused.value.message_zh


def test_forming_names_every_unknown_or_inactive_id_and_bad_text():
    with pytest.raises(InvalidCommand) as refused:
        sv.form_supervision_group(STAFF, G, form_cmd(
            name="x", topic="", basis="  ", year=1999, leader="m-nobody",
            members=["m-1", "m-gone", "st-1", "m-who"], department="old"), directory=DIRECTORY)
    fields = refused.value.fields
    assert set(fields) == {"name", "topic", "basis", "year", "leader", "members[1]", "members[2]",
                           "members[3]", "department"}
    assert sv.LAG in fields["leader"] and sv.LAG in fields["members[3]"]
    assert sv.LAG == directory.LAG   # the same words as the rest of the service
    assert "已不在任" in fields["members[1]"] and "已撤销" in fields["department"]
    with pytest.raises(InvalidCommand) as refused:   # a member is not a unit
        sv.form_supervision_group(STAFF, G, form_cmd(department="m-1"), directory=DIRECTORY)
    assert set(refused.value.fields) == {"department"}


def test_the_leader_is_not_among_the_members_and_members_are_not_repeated_or_missing():
    for members, why in ((["m-1", "m-lead"], "组长"), (["m-1", "m-1"], "重复"), ([], "1 至")):
        with pytest.raises(InvalidCommand) as refused:
            sv.form_supervision_group(STAFF, G, form_cmd(members=members), directory=DIRECTORY)
        assert set(refused.value.fields) == {"members"} and why in refused.value.fields["members"]


def test_the_command_shape_is_checked_at_the_edge():
    with pytest.raises(InvalidCommand) as refused:
        sv.FormSupervisionGroup.parse(name="组", year="2024", leader="bad id!", members="m-1",
                                      department="mzj", topic="议题", basis="依据")
    assert {"year", "leader"} <= set(refused.value.fields)


# -- fact finding --------------------------------------------------------------------------------

def test_fact_finding_by_members_of_the_group_held_by_today():
    events = formed()
    [e] = sv.record_fact_finding(STAFF, state(events), sv.RecordFactFinding(
        G, "site_visit", "2024-03-28", ["m-lead", "m-1"], "走访三个社区养老服务站。"),
        activity_id="a1", today=TODAY)
    assert (e.activity_id, e.kind, e.held_on, e.members) == ("a1", "site_visit", "2024-03-28", ["m-lead", "m-1"])
    s = state([*events, e])
    assert s.to_dict()["activities"] == [{"activity_id": "a1", "kind": "site_visit", "held_on": "2024-03-28",
                                          "members": ["m-lead", "m-1"], "findings": "走访三个社区养老服务站。"}]
    with pytest.raises(InvalidCommand) as refused:
        sv.record_fact_finding(STAFF, s, sv.RecordFactFinding(G, "party", "2024-04-02", ["m-1", "m-9"], ""),
                               activity_id="a2", today=TODAY)
    assert set(refused.value.fields) == {"kind", "held_on", "members[1]", "findings"}
    with pytest.raises(InvalidCommand) as refused:
        sv.record_fact_finding(STAFF, s, sv.RecordFactFinding(G, "forum", "1 April", [], "座谈了解情况。"),
                               activity_id="a2", today=TODAY)
    assert set(refused.value.fields) == {"held_on", "members"}
    with pytest.raises(NotAllowed):
        sv.record_fact_finding(GROUP_LEADER, s, sv.RecordFactFinding(
            G, "forum", "2024-03-30", ["m-1"], "座谈了解情况。"), activity_id="a2", today=TODAY)


def test_nothing_on_a_group_that_does_not_exist():
    nothing = state([])
    with pytest.raises(NotFound):
        sv.record_fact_finding(STAFF, nothing, sv.RecordFactFinding(G, "forum", "2024-03-30", ["m-1"], "座谈。。"),
                               activity_id="a", today=TODAY)
    with pytest.raises(NotFound):
        sv.issue_supervision_opinion(STAFF, nothing, sv.IssueSupervisionOpinion(G, "意见内容", "2024-05-01"),
                                     opinion_id="o", today=TODAY)
    with pytest.raises(NotFound):
        sv.report_supervision_handling(MZJ, nothing, sv.ReportSupervisionHandling(G, "o", "已办理。"), today=TODAY)
    with pytest.raises(NotFound):
        sv.verify_supervision_effect(STAFF, nothing, sv.VerifySupervisionEffect(G, "o", "carried_out", "核验"))
    with pytest.raises(NotFound):
        sv.close_supervision_group(STAFF, nothing, sv.CloseSupervisionGroup(G, "工作总结"))
    assert sv.remind_or_record_overdue(nothing, today=TODAY) == []
    with pytest.raises(NotFound):
        sv.require_group(nothing)


# -- opinions, handling, verification ------------------------------------------------------------

def test_an_opinion_goes_issued_handled_verified():
    events = issue(formed(), "o1")
    e = events[-1]
    assert (e.opinion_id, e.department, e.deadline, e.issued_on, e.title) == (
        "o1", "mzj", "2024-04-30", "2024-04-01", "2024年民政局民主监督组")
    s = state(events)
    assert s.opinion("o1").state == "issued"
    assert s.next_commands() == ["record_fact_finding", "issue_supervision_opinion",
                                 "report_supervision_handling"]
    events = report(events, "o1")
    assert isinstance(events[-1], SupervisionHandlingReported) and events[-1].on_time is True
    s = state(events)
    assert s.opinion("o1").state == "handled"
    assert s.next_commands() == ["record_fact_finding", "issue_supervision_opinion",
                                 "verify_supervision_effect"]
    events = verify(events, "o1", "partly_carried_out")
    assert events[-1] == SupervisionEffectVerified(group_id=G, opinion_id="o1", department="mzj",
                                                   verdict="partly_carried_out", note="实地核验，站点已运营。")
    s = state(events)
    [o] = s.to_dict()["opinions"]
    assert (o["state"], o["verdict"], o["reported_on"], o["on_time"]) == ("verified", "partly_carried_out",
                                                                          "2024-04-20", True)
    assert s.next_commands() == ["record_fact_finding", "issue_supervision_opinion", "close_supervision_group"]


def test_issuing_needs_text_and_a_deadline_after_today_within_a_year():
    events = formed()
    for deadline in ("2024-04-01", "2024-03-31", "2025-04-02", "soon"):
        with pytest.raises(InvalidCommand) as refused:
            sv.issue_supervision_opinion(STAFF, state(events), sv.IssueSupervisionOpinion(G, "意见", deadline),
                                         opinion_id="o", today=TODAY)
        assert set(refused.value.fields) == {"deadline"}
    with pytest.raises(InvalidCommand) as refused:
        sv.issue_supervision_opinion(STAFF, state(events), sv.IssueSupervisionOpinion(G, "x", "2024-04-02"),
                                     opinion_id="o", today=TODAY)
    assert set(refused.value.fields) == {"text"}
    with pytest.raises(NotAllowed):
        sv.issue_supervision_opinion(GROUP_LEADER, state(events), sv.IssueSupervisionOpinion(
            G, "意见内容", "2024-04-20"), opinion_id="o", today=TODAY)


def test_only_the_department_reports_and_only_once():
    events = issue(formed(), "o1")
    for actor in (JTJ, STAFF, M1, Actor("x", "member", "mzj")):
        with pytest.raises(NotAllowed) as refused:
            report(events, "o1", actor=actor)
        assert "mzj" in refused.value.message_zh
    with pytest.raises(NotFound):
        report(events, "o-other")
    with pytest.raises(InvalidCommand) as refused:
        sv.report_supervision_handling(MZJ, state(events), sv.ReportSupervisionHandling(G, "o1", " "), today=TODAY)
    assert set(refused.value.fields) == {"report"}
    events = report(events, "o1")
    with pytest.raises(WrongState) as refused:
        report(events, "o1")
    assert "2024-04-20" in refused.value.message_zh


def test_a_late_report_is_not_on_time():
    events = report(issue(formed(), "o1"), "o1", today=date(2024, 5, 1))
    assert events[-1].on_time is False and events[-1].deadline == "2024-04-30"


def test_verification_after_the_report_once_with_a_known_verdict():
    events = issue(formed(), "o1")
    with pytest.raises(WrongState) as refused:
        verify(events, "o1")
    assert "尚未报告" in refused.value.message_zh
    events = report(events, "o1")
    with pytest.raises(InvalidCommand) as refused:
        sv.verify_supervision_effect(STAFF, state(events), sv.VerifySupervisionEffect(G, "o1", "great", ""))
    assert set(refused.value.fields) == {"verdict", "note"}
    with pytest.raises(NotAllowed):
        sv.verify_supervision_effect(MZJ, state(events), sv.VerifySupervisionEffect(G, "o1", "carried_out", "核验"))
    with pytest.raises(NotFound):
        verify(events, "o-none")
    events = verify(events, "o1")
    with pytest.raises(WrongState) as refused:
        verify(events, "o1")
    assert "已核验" in refused.value.message_zh


def test_closing_needs_an_opinion_and_every_one_verified():
    events = formed()
    with pytest.raises(WrongState) as refused:
        sv.close_supervision_group(STAFF, state(events), sv.CloseSupervisionGroup(G, "监督工作总结。"))
    assert "尚未提出" in refused.value.message_zh
    events = verify(report(issue(events, "o1"), "o1"), "o1")
    events = issue(events, "o2")
    with pytest.raises(WrongState) as refused:
        sv.close_supervision_group(STAFF, state(events), sv.CloseSupervisionGroup(G, "监督工作总结。"))
    assert "o2" in refused.value.message_zh
    events = verify(report(events, "o2"), "o2", "not_carried_out")
    with pytest.raises(NotAllowed):
        sv.close_supervision_group(LEADER_ACCOUNT, state(events), sv.CloseSupervisionGroup(G, "监督工作总结。"))
    with pytest.raises(InvalidCommand) as refused:
        sv.close_supervision_group(STAFF, state(events), sv.CloseSupervisionGroup(G, ""))
    assert set(refused.value.fields) == {"summary"}
    events = [*events, *sv.close_supervision_group(STAFF, state(events), sv.CloseSupervisionGroup(G, "监督工作总结。"))]
    assert events[-1] == SupervisionGroupClosed(group_id=G, name="2024年民政局民主监督组", summary="监督工作总结。")
    closed = state(events)
    assert closed.status == "closed" and closed.next_commands() == [] and closed.summary == "监督工作总结。"
    # nothing more once closed
    with pytest.raises(WrongState):
        issue(events, "o3")
    with pytest.raises(WrongState):
        sv.record_fact_finding(STAFF, closed, sv.RecordFactFinding(G, "forum", "2024-03-30", ["m-1"], "座谈了解。"),
                               activity_id="a", today=TODAY)
    with pytest.raises(WrongState):
        sv.close_supervision_group(STAFF, closed, sv.CloseSupervisionGroup(G, "再次办结。"))


# -- the deadline timer --------------------------------------------------------------------------

def on(day: str, events: list, **kwargs) -> list:
    return sv.remind_or_record_overdue(state(events), today=date.fromisoformat(day), **kwargs)


def run(days: list[str], events: list) -> list:
    for day in days:
        events = [*events, *on(day, events)]
    return events


def test_reminded_once_within_three_days_then_overdue_once_escalated_to_the_leader():
    events = issue(issue(formed(), "o1"), "o2", deadline="2024-05-10")
    assert on("2024-04-26", events) == []                      # 4 days left
    reminders = on("2024-04-27", events)
    assert reminders == [SupervisionHandlingDueSoon(group_id=G, opinion_id="o1", department="mzj",
                                                    deadline="2024-04-30", days_before=3,
                                                    title="2024年民政局民主监督组")]
    events += reminders
    assert on("2024-04-28", events) == [] and on("2024-04-30", events) == []
    overdue = on("2024-05-01", events)
    assert overdue == [SupervisionHandlingOverdue(group_id=G, opinion_id="o1", department="mzj",
                                                  deadline="2024-04-30", days_overdue=1,
                                                  title="2024年民政局民主监督组", escalate_to=["m-lead"])]
    events += overdue
    assert on("2024-05-02", events) == []
    s = state(events)
    assert (s.opinion("o1").reminded, s.opinion("o1").overdue) == (True, True)
    assert s.to_dict()["opinions"][0]["overdue"] is True


def test_a_handled_opinion_is_neither_reminded_nor_overdue_and_a_late_one_still_reported():
    events = issue(issue(formed(), "o1"), "o2")
    events = report(events, "o2", today=date(2024, 4, 10))
    events = run(["2024-04-28", "2024-05-03"], events)
    assert [(type(e).__name__, e.opinion_id) for e in events
            if isinstance(e, (SupervisionHandlingDueSoon, SupervisionHandlingOverdue))] == [
        ("SupervisionHandlingDueSoon", "o1"), ("SupervisionHandlingOverdue", "o1")]
    events = report(events, "o1", today=date(2024, 5, 4))
    assert events[-1].on_time is False
    assert on("2024-05-20", events) == []


def test_a_timer_that_missed_the_reminder_days_records_only_the_overdue_and_the_window_is_a_parameter():
    events = run(["2024-04-02", "2024-05-03"], issue(formed(), "o1"))
    late = [e for e in events if isinstance(e, (SupervisionHandlingDueSoon, SupervisionHandlingOverdue))]
    assert [(type(e).__name__, e.days_overdue) for e in late] == [("SupervisionHandlingOverdue", 3)]
    assert [e.days_before for e in on("2024-04-20", issue(formed(), "o1"), days_before=10)] == [10]


def test_no_timer_events_on_a_closed_group():
    events = verify(report(issue(formed(), "o1"), "o1"), "o1")
    events += sv.close_supervision_group(STAFF, state(events), sv.CloseSupervisionGroup(G, "总结。。"))
    assert on("2024-06-01", events) == []


def test_the_events_are_in_the_contract():
    for cls in (SupervisionHandlingDueSoon, SupervisionHandlingOverdue):
        assert cls.type_name() in registry and "once per opinion" in cls.__doc__
    assert set(vocabulary.SUPERVISION_COMMANDS[vocabulary.FORMED]) >= set(state(formed()).next_commands())


# -- who reads what ----------------------------------------------------------------------------

def test_who_reads_a_group_and_what_the_department_sees():
    events = formed()
    events += sv.record_fact_finding(STAFF, state(events), sv.RecordFactFinding(
        G, "briefing", "2024-03-30", ["m-1"], "听取民政局汇报，约谈了张某。"), activity_id="a1", today=TODAY)
    events = report(issue(events, "o1"), "o1")
    events = issue(events, "o2")
    s = state(events)
    for actor in (STAFF, LEADER_ACCOUNT, AUDITOR, GROUP_LEADER, M1):
        assert sv.group_as_seen_by(actor, sv.require_reader(actor, s)) == s.to_dict()
    for actor in (OUTSIDER, JTJ, Actor("i-1", "informant", "信息员"), Actor("p", "public", "")):
        with pytest.raises(NotAllowed):
            sv.require_reader(actor, s)
    seen = sv.group_as_seen_by(MZJ, sv.require_reader(MZJ, s))
    assert set(seen) == {*sv.DEPARTMENT_FIELDS, "opinions", "next_commands"}
    assert "activities" not in seen and "members" not in seen and "约谈" not in str(seen)
    assert [o["state"] for o in seen["opinions"]] == ["handled", "issued"]
    assert seen["opinions"][0]["report"] == "已新建站点三处，年底前再建两处。"
    assert seen["next_commands"] == ["report_supervision_handling"]
