"""Consultations 协商议事 as pure decisions: the topic lists and their amendments, every one of
the eight steps and every refusal, who reads what, and the deadline timer's decision."""

from __future__ import annotations

import json
from datetime import date

import pytest

from xieshang.kernel.directory import DirectoryEntry
from xieshang.kernel.domain import InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor

from services.feedback.domain import consultations as cs
from services.feedback.domain import vocabulary as voc
from services.feedback.domain.events import (ConsultationMeetingDueSoon, FollowUpTaskDueSoon,
                                             FollowUpTaskOverdue, OpinionReportSubmitted, registry)

pytestmark = pytest.mark.unit

STAFF = Actor("s-cs-1", "staff", "office")
LEADER = Actor("l-cs-1", "leader", "party-committee")
LEADER2 = Actor("l-cs-2", "leader", "party-committee")
AUDITOR = Actor("a-cs-1", "auditor", "audit")
MEMBER = Actor("m-1", "member", "经济界")
OTHER_MEMBER = Actor("m-9", "member", "经济界")
MZJ = Actor("u-mzj", "unit", "mzj")
JTJ = Actor("u-jtj", "unit", "jtj")
TODAY = date(2024, 4, 1)
C = "c1"

DIRECTORY = {
    "m-1": DirectoryEntry("m-1", "member", "委员一", True),
    "m-2": DirectoryEntry("m-2", "member", "委员二", True),
    "m-3": DirectoryEntry("m-3", "member", "委员三", True),
    "m-gone": DirectoryEntry("m-gone", "member", "已离任", False),
    "mzj": DirectoryEntry("mzj", "handling_unit", "区民政局", True),
    "jtj": DirectoryEntry("jtj", "handling_unit", "区交通局", True),
    "old": DirectoryEntry("old", "handling_unit", "已撤销局", False),
    "tw-1": DirectoryEntry("tw-1", "township", "东街街道", True),
    "cm-1": DirectoryEntry("cm-1", "community", "东街社区", True, parent="tw-1"),
    "hall": DirectoryEntry("hall", "station", "东街民生议事堂", True, station_type="livelihood_hall",
                           location="tw-1"),
    "post": DirectoryEntry("post", "station", "东街社区协商驿站", True, station_type="consultation_post",
                           location="cm-1"),
    "reception": DirectoryEntry("reception", "station", "委员会客室", True, station_type="reception_room",
                                location="tw-1"),
    "shut": DirectoryEntry("shut", "station", "已撤销议事堂", False, station_type="livelihood_hall",
                           location="tw-1"),
}
LISTS = cs.TopicLists()


def refused(error, call, *args, **kwargs):
    with pytest.raises(error) as err:
        call(*args, **kwargs)
    return err.value


def stored(e):
    """The event as the service reads it back: its data through JSON, decoded by its class."""
    return type(e)(**json.loads(json.dumps(e.to_data())))


def state(events) -> cs.Consultation:
    return cs.fold(C, [stored(e) for e in events])


def propose(actor=STAFF, **changes) -> list:
    raw = dict(title="老旧小区加装电梯", description="东街片区老旧小区加装电梯的资金分摊和施工协调。",
               topic_kind="infrastructure", source="resident", township="tw-1")
    return cs.propose_consultation_topic(actor, C, cs.ProposeConsultationTopic.parse(**{**raw, **changes}),
                                         lists=LISTS, directory=DIRECTORY)


def decided(events=None, lists=LISTS) -> list:
    events = propose() if events is None else events
    return [*events, *cs.decide_consultation_topic(STAFF, state(events), cs.DecideConsultationTopic.parse(
        consultation_id=C), lists=lists)]


def approved() -> list:
    events = decided()
    return [*events, *cs.approve_consultation_topic(LEADER, state(events), cs.ApproveConsultationTopic.parse(
        consultation_id=C, note="同意"))]


def plan_cmd(**changes) -> cs.PlanConsultation:
    raw = dict(consultation_id=C, held_on="2024-04-10", place="hall", members=["m-1", "m-2"],
               departments=["mzj"], residents=12, stakeholders=["沿街商户"], agenda="听取方案，协商资金分摊。")
    return cs.PlanConsultation.parse(**{**raw, **changes})


def planned(**changes) -> list:
    events = approved()
    return [*events, *cs.plan_consultation(STAFF, state(events), plan_cmd(**changes), today=TODAY,
                                           directory=DIRECTORY)]


def meeting_cmd(**changes) -> cs.RecordConsultationMeeting:
    raw = dict(consultation_id=C, held_on="2024-04-01", members=["m-1", "m-3"], departments=["mzj"],
               residents=15, stakeholders=["物业公司"], speakers=["m-1", "mzj"],
               opinions=["资金分摊按楼层"], outcomes=["按楼层分摊加装费用", "由街道统一招标", "设立施工协调小组"])
    return cs.RecordConsultationMeeting.parse(**{**raw, **changes})


def met() -> list:
    events = planned(held_on="2024-04-01")
    return [*events, *cs.record_consultation_meeting(STAFF, state(events), meeting_cmd(), today=TODAY,
                                                     directory=DIRECTORY)]


def published() -> list:
    events = met()
    return [*events, *cs.publish_consultation_results(STAFF, state(events), cs.PublishConsultationResults.parse(
        consultation_id=C, channel="notice_board", text="协商结果：按楼层分摊。", until="2024-04-15"), today=TODAY)]


def following_up(adopted=(1, 3), decider=LEADER2) -> list:
    events = published()
    return [*events, *cs.decide_consultation(decider, state(events), cs.DecideConsultation.parse(
        consultation_id=C, adopted_outcomes=list(adopted), text="同意按协商结果实施。"))]


def task(events, task_id="t1", unit="mzj", outcome=1, deadline="2024-04-20", actor=STAFF) -> list:
    return [*events, *cs.assign_follow_up_task(actor, state(events), cs.AssignFollowUpTask.parse(
        consultation_id=C, unit=unit, outcome=outcome, task="组织招标并公示结果。", deadline=deadline),
        task_id=task_id, today=TODAY, directory=DIRECTORY)]


def complete(events, task_id="t1", actor=MZJ, today=TODAY) -> list:
    return [*events, *cs.complete_follow_up_task(actor, state(events), cs.CompleteFollowUpTask.parse(
        consultation_id=C, task_id=task_id, report="已完成招标。"), today=today)]


def visit(events) -> list:
    return [*events, *cs.record_follow_up_visit(STAFF, state(events), cs.RecordFollowUpVisit.parse(
        consultation_id=C, visited_on="2024-04-01", members=["m-1"], findings="居民反映施工有序。"),
        today=TODAY, directory=DIRECTORY)]


def survey(events, **changes) -> list:
    raw = dict(consultation_id=C, respondents=20, satisfied=15, basically_satisfied=4, dissatisfied=1)
    return [*events, *cs.record_satisfaction_survey(STAFF, state(events), cs.RecordSatisfactionSurvey.parse(
        **{**raw, **changes}))]


def amend(lists, kind, listing, label, reason="常委会议修订议题清单") -> list:
    return cs.amend_topic_lists(STAFF, lists, cs.AmendTopicLists.parse(
        kind=kind, listing=listing, label=label, reason=reason), committee="640302")


# -- the topic lists ------------------------------------------------------------------------

def test_the_default_lists_are_the_vocabulary_s():
    d = LISTS.to_dict()
    assert d["version"] == 0
    assert [x["kind"] for x in d["allowed"]] == list(voc.DEFAULT_TOPIC_LISTS["allowed"])
    assert [x["label"] for x in d["forbidden"]] == list(voc.DEFAULT_TOPIC_LISTS["forbidden"].values())


def test_a_forbidden_kind_is_refused_at_once_with_the_rule_named():
    err = refused(InvalidCommand, propose, topic_kind="party_internal")
    label = voc.DEFAULT_TOPIC_LISTS["forbidden"]["party_internal"]
    assert err.fields["topic_kind"] == f"不可协商：{label} (forbidden: {label})"
    err = refused(InvalidCommand, propose, topic_kind="weather")
    assert "不在协商议题清单中" in err.fields["topic_kind"] and "version 0" in err.fields["topic_kind"]


def test_raising_a_topic_names_every_problem():
    err = refused(InvalidCommand, propose, title="x", description="", source="rumour", township="cm-1")
    assert set(err.fields) == {"title", "description", "source", "township"}
    assert cs.LAG in err.fields["township"]
    assert refused(NotAllowed, propose, actor=MZJ).command == "propose_consultation_topic"
    [e] = propose(actor=MEMBER, township=None)
    assert (e.proposer, e.proposer_role, e.township, e.source) == ("m-1", "member", None, "resident")


def test_amending_the_lists_is_an_event_with_its_reason_and_changes_what_is_refused():
    [forbid] = amend(LISTS, "infrastructure", "forbidden", "重大基础设施项目（由人大审议）", "改由人大审议")
    assert (forbid.version, forbid.listing, forbid.reason, forbid.committee) == (
        1, "forbidden", "改由人大审议", "640302")
    lists = cs.fold_topic_lists([forbid])
    assert lists.version == 1 and lists.listing_of("infrastructure") == ("forbidden", "重大基础设施项目（由人大审议）")
    err = refused(InvalidCommand, cs.propose_consultation_topic, STAFF, C, cs.ProposeConsultationTopic.parse(
        title="老旧小区加装电梯", description="东街片区老旧小区加装电梯。", topic_kind="infrastructure",
        source="resident"), lists=lists, directory=DIRECTORY)
    assert err.fields["topic_kind"] == "不可协商：重大基础设施项目（由人大审议） (forbidden: 重大基础设施项目（由人大审议）)"

    # a new kind allowed, then taken off both lists
    [add] = amend(lists, "night_market", "allowed", "夜市和街区经济")
    lists = cs.fold_topic_lists([forbid, add])
    assert lists.version == 2 and {"kind": "night_market", "label": "夜市和街区经济"} in lists.to_dict()["allowed"]
    [off] = amend(lists, "night_market", "unlisted", "夜市和街区经济")
    lists = cs.fold_topic_lists([forbid, add, off])
    assert lists.version == 3 and lists.listing_of("night_market") is None
    # a relabelled kind stays where it was in its list
    [relabel] = amend(LISTS, "development", "allowed", "本地经济社会发展重要事项")
    assert cs.fold_topic_lists([relabel]).to_dict()["allowed"][0] == {
        "kind": "development", "label": "本地经济社会发展重要事项"}


def test_amendments_that_change_nothing_or_are_malformed_are_refused():
    err = refused(InvalidCommand, amend, LISTS, "Bad Kind", "maybe", "x", "")
    assert set(err.fields) == {"kind", "listing", "label", "reason"}
    err = refused(InvalidCommand, amend, LISTS, "night_market", "unlisted", "夜市和街区经济")
    assert "neither list" in err.fields["listing"]
    label = voc.DEFAULT_TOPIC_LISTS["allowed"]["development"]
    assert "already" in refused(InvalidCommand, amend, LISTS, "development", "allowed", label).fields["listing"]
    assert refused(NotAllowed, cs.amend_topic_lists, LEADER, LISTS, cs.AmendTopicLists.parse(
        kind="x_y", listing="allowed", label="某事项", reason="理由理由"), committee="640302")


# -- 2 议题确定 --------------------------------------------------------------------------------

def test_deciding_checks_the_lists_again():
    events = propose()
    [e] = decided(events)[1:]
    assert (e.rule, e.lists_version, e.topic_kind) == (voc.DEFAULT_TOPIC_LISTS["allowed"]["infrastructure"],
                                                       0, "infrastructure")
    # the lists changed after the topic was raised: it may not be decided any more
    lists = cs.fold_topic_lists(amend(LISTS, "infrastructure", "forbidden", "重大基础设施项目"))
    err = refused(InvalidCommand, decided, events, lists)
    assert err.fields["topic_kind"] == "不可协商：重大基础设施项目 (forbidden: 重大基础设施项目)"
    lists = cs.fold_topic_lists(amend(LISTS, "night_market", "allowed", "夜市和街区经济"))
    [e] = decided(events, lists)[1:]
    assert e.lists_version == 1
    assert refused(NotAllowed, cs.decide_consultation_topic, MEMBER, state(events),
                   cs.DecideConsultationTopic.parse(consultation_id=C), lists=LISTS)


def test_setting_aside_and_the_party_organisation_s_approval():
    events = propose()
    [aside] = cs.set_aside_consultation_topic(STAFF, state(events), cs.SetAsideConsultationTopic.parse(
        consultation_id=C, reason="已列入年度民生实事"))
    s = state([*events, aside])
    assert (s.status, s.set_aside_reason, s.next_commands()) == ("topic_set_aside", "已列入年度民生实事", [])
    assert refused(WrongState, decided, [*events, aside])

    events = decided()
    assert state(events).next_commands() == ["approve_consultation_topic", "reject_consultation_topic"]
    err = refused(NotAllowed, cs.approve_consultation_topic, STAFF, state(events),
                  cs.ApproveConsultationTopic.parse(consultation_id=C))
    assert "leader" in err.missing and "领导" in err.missing_zh          # names who may
    refused(NotAllowed, cs.reject_consultation_topic, STAFF, state(events),
            cs.RejectConsultationTopic.parse(consultation_id=C, reason="不宜协商"))
    [rejected] = cs.reject_consultation_topic(LEADER, state(events), cs.RejectConsultationTopic.parse(
        consultation_id=C, reason="已由政府专题研究"))
    s = state([*events, rejected])
    assert (s.status, s.approver, s.organisation, s.rejection_reason) == (
        "topic_rejected", "l-cs-1", "party-committee", "已由政府专题研究")
    assert s.to_dict()["decisions"]["approval"]["approved"] is False

    s = state(approved())
    assert (s.status, s.approver, s.next_commands()) == ("topic_approved", "l-cs-1", ["plan_consultation"])
    assert s.to_dict()["decisions"]["approval"] == {"approved": True, "approver": "l-cs-1",
                                                    "organisation": "party-committee", "note": "同意"}
    assert refused(WrongState, cs.approve_consultation_topic, LEADER, s,
                   cs.ApproveConsultationTopic.parse(consultation_id=C)).allowed == ["plan_consultation"]


def test_a_consultation_that_does_not_exist():
    assert refused(NotFound, cs.decide_consultation_topic, STAFF, cs.Consultation(C),
                   cs.DecideConsultationTopic.parse(consultation_id=C), lists=LISTS)


# -- 3 制定方案, 4 议前调研 -------------------------------------------------------------------

def test_the_plan_and_its_township():
    e = planned()[-1]
    assert (e.place, e.place_name, e.place_type, e.township, e.revision) == (
        "hall", "东街民生议事堂", "livelihood_hall", "tw-1", 1)
    assert (e.members, e.departments, e.residents, e.stakeholders) == (["m-1", "m-2"], ["mzj"], 12, ["沿街商户"])
    # a community's station: the township is the community's parent
    assert planned(place="post")[-1].township == "tw-1"
    s = state(planned())
    assert s.status == "planned" and s.next_commands() == [
        "plan_consultation", "record_consultation_research", "record_consultation_meeting"]
    # again before the meeting: the next revision
    events = planned()
    again = cs.plan_consultation(STAFF, state(events), plan_cmd(held_on="2024-04-12"), today=TODAY,
                                 directory=DIRECTORY)
    assert again[0].revision == 2 and state([*events, *again]).plan.held_on == "2024-04-12"


def test_the_plan_refuses_what_the_directory_does_not_know_or_allow():
    events = approved()

    def plan(**changes):
        return cs.plan_consultation(STAFF, state(events), plan_cmd(**changes), today=TODAY, directory=DIRECTORY)
    err = refused(InvalidCommand, plan, held_on="2024-03-31", place="nowhere", members=["m-1", "m-x", "m-gone"],
                  departments=["old"], residents=-1, agenda="")
    assert set(err.fields) == {"held_on", "place", "members[1]", "members[2]", "departments[0]", "residents",
                               "agenda"}
    assert cs.LAG in err.fields["place"] and cs.LAG in err.fields["members[1]"]
    assert "不是协商议事平台" in refused(InvalidCommand, plan, place="reception").fields["place"]
    assert "已撤销" in refused(InvalidCommand, plan, place="shut").fields["place"]
    assert set(refused(InvalidCommand, plan, members=["mzj"], departments=["m-1"]).fields) == {
        "members[0]", "departments[0]"}
    assert "members" in refused(InvalidCommand, plan, members=[], departments=[], residents=0,
                                stakeholders=[]).fields
    assert refused(InvalidCommand, cs.PlanConsultation.parse, consultation_id=C, held_on="2024-04-10",
                   place="hall", residents="many").fields == {"residents": "an integer 整数"}
    assert refused(NotAllowed, cs.plan_consultation, LEADER, state(events), plan_cmd(), today=TODAY,
                   directory=DIRECTORY)
    assert refused(WrongState, cs.plan_consultation, STAFF, state(decided()), plan_cmd(), today=TODAY,
                   directory=DIRECTORY)


def test_research_before_the_meeting():
    events = planned()
    cmd = cs.RecordConsultationResearch.parse(consultation_id=C, kind="field_visit", held_on="2024-03-30",
                                              members=["m-1", "m-3"], summary="走访了三个小区。")
    [e] = cs.record_consultation_research(STAFF, state(events), cmd, research_id="r1", today=TODAY,
                                          directory=DIRECTORY)
    assert (e.research_id, e.members, e.kind) == ("r1", ["m-1", "m-3"], "field_visit")
    assert state([*events, e]).research[0].summary == "走访了三个小区。"
    bad = cs.RecordConsultationResearch.parse(consultation_id=C, kind="gossip", held_on="2024-04-02",
                                              members=[], summary="")
    err = refused(InvalidCommand, cs.record_consultation_research, STAFF, state(events), bad, research_id="r2",
                  today=TODAY, directory=DIRECTORY)
    assert set(err.fields) == {"kind", "held_on", "members", "summary"}
    assert refused(WrongState, cs.record_consultation_research, STAFF, state(approved()), cmd, research_id="r3",
                   today=TODAY, directory=DIRECTORY)


# -- 5 协商议事, 6 公开公示, 7 组织决定 ------------------------------------------------------------

def test_the_meeting_records_absences_and_outcomes():
    e = met()[-1]
    assert (e.members, e.absent_members, e.speakers, e.place, e.township) == (
        ["m-1", "m-3"], ["m-2"], ["m-1", "mzj"], "hall", "tw-1")
    s = state(met())
    assert s.status == "met" and s.next_commands() == ["publish_consultation_results",
                                                       "convert_consultation_result"]
    assert s.to_dict()["next_step"] == "publish_consultation_results"


def test_the_meeting_refuses_speakers_who_did_not_attend_and_no_outcome():
    events = planned(held_on="2024-04-01")

    def meet(**changes):
        return cs.record_consultation_meeting(STAFF, state(events), meeting_cmd(**changes), today=TODAY,
                                              directory=DIRECTORY)
    err = refused(InvalidCommand, meet, speakers=["m-1", "m-2", "jtj"], outcomes=[], held_on="2024-04-02")
    assert set(err.fields) == {"speakers[1]", "speakers[2]", "outcomes", "held_on"}
    assert set(refused(InvalidCommand, meet, members=["m-x"], speakers=["mzj"], outcomes=["", "好"]).fields) == {
        "members[0]", "outcomes[0]", "outcomes[1]"}
    assert refused(WrongState, cs.record_consultation_meeting, STAFF, state(approved()), meeting_cmd(),
                   today=TODAY, directory=DIRECTORY)


def test_publishing_and_the_organisation_s_decision():
    events = met()
    bad = cs.PublishConsultationResults.parse(consultation_id=C, channel="radio", text="", until="2024-03-31")
    err = refused(InvalidCommand, cs.publish_consultation_results, STAFF, state(events), bad, today=TODAY)
    assert set(err.fields) == {"channel", "text", "until"}
    s = state(published())
    assert (s.status, s.publication["published_on"]) == ("results_published", "2024-04-01")

    events = published()

    def decide(actor=LEADER, adopted=(1,)):
        return cs.decide_consultation(actor, state(events), cs.DecideConsultation.parse(
            consultation_id=C, adopted_outcomes=list(adopted), text="同意实施。"))
    assert refused(NotAllowed, decide, STAFF).command == "decide_consultation"
    for adopted in ((), (1, 1), (0,), (4,)):
        assert "adopted_outcomes" in refused(InvalidCommand, decide, adopted=adopted).fields
    [e] = decide(adopted=(3, 1))
    assert e.adopted_outcomes == ["按楼层分摊加装费用", "设立施工协调小组"] and e.decider == "l-cs-1"
    s = state(following_up())
    assert s.status == "following_up" and s.adopted_outcomes == ("按楼层分摊加装费用", "设立施工协调小组")
    assert s.to_dict()["decisions"]["organisation"]["adopted_outcomes"] == list(s.adopted_outcomes)
    assert s.to_dict()["next_step"] == "assign_follow_up_task"


# -- 8 跟踪落实 -------------------------------------------------------------------------------

def test_follow_up_tasks_by_adopted_outcome_done_by_their_unit_once():
    events = task(following_up(), outcome=2)
    assert events[-1].outcome == "设立施工协调小组" and events[-1].deadline == "2024-04-20"

    def assign(**changes):
        return task(following_up(), **changes)
    err = refused(InvalidCommand, assign, unit="old", outcome=3, deadline="2024-04-01")
    assert set(err.fields) == {"unit", "outcome", "deadline"}
    assert cs.LAG in refused(InvalidCommand, assign, unit="nobody").fields["unit"]
    assert refused(NotAllowed, assign, actor=LEADER)
    assert refused(WrongState, task, published())

    assert refused(NotAllowed, complete, events, actor=JTJ).command == "complete_follow_up_task"
    assert refused(NotAllowed, complete, events, actor=STAFF)
    assert refused(NotFound, complete, events, task_id="t-none")
    done = complete(events, today=date(2024, 4, 21))
    t = state(done).task("t1")
    assert (t.completed_on, t.on_time, t.done) == ("2024-04-21", False, True)
    assert refused(WrongState, complete, done)
    assert state(complete(events)).task("t1").on_time is True


def test_the_visit_the_survey_and_closing():
    events = complete(task(following_up()))
    close = cs.CloseConsultation.parse(consultation_id=C, summary="各项任务均已落实。")
    err = refused(WrongState, cs.close_consultation, STAFF, state(task(events, task_id="t2")), close)
    assert "t2" in err.why[0] and "回访" in err.why[1] and "满意度测评" in err.why[1]
    assert "close_consultation" not in state(events).next_commands()

    bad = cs.RecordFollowUpVisit.parse(consultation_id=C, visited_on="2024-04-05", members=["m-gone"],
                                       findings="")
    err = refused(InvalidCommand, cs.record_follow_up_visit, STAFF, state(events), bad, today=TODAY,
                  directory=DIRECTORY)
    assert set(err.fields) == {"visited_on", "members[0]", "findings"}
    events = visit(events)
    assert set(refused(InvalidCommand, survey, events, satisfied=16).fields) == {"respondents"}
    assert set(refused(InvalidCommand, survey, events, respondents=0, satisfied=0, basically_satisfied=0,
                       dissatisfied=0).fields) == {"respondents"}
    assert "dissatisfied" in refused(InvalidCommand, survey, events, dissatisfied=-1).fields
    events = survey(events)
    assert state(events).survey["satisfied"] == 15
    assert refused(WrongState, survey, events)
    s = state(events)
    assert s.next_commands()[-1] == "close_consultation" and s.to_dict()["next_step"] == "close_consultation"
    [closed] = cs.close_consultation(STAFF, s, close)
    s = state([*events, closed])
    assert (s.status, s.next_commands(), s.to_dict()["next_step"]) == ("closed", [], None)
    assert refused(WrongState, visit, [*events, closed])


def test_converting_a_result_into_an_opinion_report_or_a_proposal():
    events = met()

    def convert(into="opinion_report", body=None, actor=STAFF, at=events, **changes):
        raw = dict(consultation_id=C, into=into, title="关于加快老旧小区加装电梯的建议",
                   content="协商议事形成共识：按楼层分摊加装费用，由街道统一招标。", category="society", body=body)
        return cs.convert_consultation_result(actor, state(at), cs.ConvertConsultationResult.parse(
            **{**raw, **changes}), report_id="r-new" if into == "opinion_report" else None)
    [e] = convert()
    assert (e.into, e.target_id, e.body) == ("opinion_report", "r-new", None)
    [report] = cs.opinion_report_events(STAFF, e)
    assert isinstance(report, OpinionReportSubmitted)
    assert (report.report_id, report.submitter, report.submitter_role, report.channel, report.source) == (
        "r-new", "s-cs-1", "staff", "meeting", f"consultation:{C}")
    [p] = convert("proposal", body={"type": "sector", "name": "经济界"})
    assert (p.into, p.target_id, p.body) == ("proposal", None, {"type": "sector", "name": "经济界"})
    assert state([*events, e, p]).conversions[0]["target_id"] == "r-new"

    assert set(refused(InvalidCommand, convert, "proposal").fields) == {"body"}
    assert set(refused(InvalidCommand, convert, "proposal", body={"type": "club", "name": ""}).fields) == {
        "body.type", "body.name"}
    assert set(refused(InvalidCommand, convert, body={"type": "sector", "name": "经济界"}).fields) == {"body"}
    assert set(refused(InvalidCommand, convert, "leaflet", title="", content="短", category="x").fields) == {
        "into", "title", "content", "category"}
    assert refused(NotAllowed, convert, actor=MEMBER)
    assert refused(WrongState, convert, at=planned())


# -- the deadline timer --------------------------------------------------------------------

def test_the_meeting_reminded_once_per_plan_revision():
    events = planned()                                       # held on 2024-04-10
    assert cs.remind_or_record_overdue(state(events), today=date(2024, 4, 7)) == []
    [due] = cs.remind_or_record_overdue(state(events), today=date(2024, 4, 8))
    assert isinstance(due, ConsultationMeetingDueSoon)
    assert (due.days_before, due.revision, due.members, due.departments, due.place_name) == (
        2, 1, ["m-1", "m-2"], ["mzj"], "东街民生议事堂")
    events = [*events, due]
    assert cs.remind_or_record_overdue(state(events), today=date(2024, 4, 9)) == []
    # re-planned: the new revision is reminded again
    events = [*events, *cs.plan_consultation(STAFF, state(events), plan_cmd(held_on="2024-04-09"),
                                             today=date(2024, 4, 8), directory=DIRECTORY)]
    [again] = cs.remind_or_record_overdue(state(events), today=date(2024, 4, 8))
    assert (again.revision, again.days_before) == (2, 1)


def test_tasks_reminded_then_overdue_escalated_once_each():
    events = task(task(following_up()), task_id="t2", deadline="2024-04-10")   # t1 due 04-20
    assert cs.remind_or_record_overdue(state(events), today=date(2024, 4, 6)) == []
    [due] = cs.remind_or_record_overdue(state(events), today=date(2024, 4, 7))
    assert isinstance(due, FollowUpTaskDueSoon) and (due.task_id, due.days_before) == ("t2", 3)
    events = [*events, due]
    assert cs.remind_or_record_overdue(state(events), today=date(2024, 4, 10)) == []
    [over] = cs.remind_or_record_overdue(state(events), today=date(2024, 4, 11))
    assert isinstance(over, FollowUpTaskOverdue)
    assert (over.task_id, over.days_overdue, over.unit) == ("t2", 1, "mzj")
    assert over.escalate_to == ["l-cs-1", "l-cs-2"]        # who approved, who decided
    events = [*events, over]
    assert cs.remind_or_record_overdue(state(events), today=date(2024, 4, 12)) == []
    # a timer that missed the reminder's days records only the overdue event; a done task nothing
    late = cs.remind_or_record_overdue(state(events), today=date(2024, 4, 30))
    assert [(type(e).__name__, e.task_id) for e in late] == [("FollowUpTaskOverdue", "t1")]
    assert cs.remind_or_record_overdue(state(complete(events)), today=date(2024, 4, 30)) == late[:0]


def test_escalation_is_deduplicated_when_one_leader_approved_and_decided():
    events = task(following_up(decider=LEADER))
    [over] = cs.remind_or_record_overdue(state(events), today=date(2024, 4, 30))
    assert over.escalate_to == ["l-cs-1"]


# -- who reads what ------------------------------------------------------------------------

def test_who_reads_a_consultation():
    raised = state(propose(actor=MEMBER))
    assert cs.may_read(MEMBER, raised) and not cs.may_read(OTHER_MEMBER, raised)
    assert all(cs.may_read(a, raised) for a in (STAFF, LEADER, AUDITOR))
    assert not cs.may_read(MZJ, raised)
    refused(NotAllowed, cs.require_reader, OTHER_MEMBER, raised)

    s = state(research_then_tasks())
    assert cs.may_read(OTHER_MEMBER, s) and cs.may_read(MZJ, s) and cs.may_read(JTJ, s)
    assert not cs.may_read(Actor("u-zjj", "unit", "zjj"), s)            # no task of its own
    whole = cs.consultation_as_seen_by(STAFF, s)
    assert whole["proposer"] == "s-cs-1" and whole["research"][0]["summary"] == "走访了三个小区。"
    seen = cs.consultation_as_seen_by(OTHER_MEMBER, s)
    assert seen["proposer"] is None and "summary" not in seen["research"][0] and seen["next_commands"] == []
    unit = cs.consultation_as_seen_by(MZJ, s)
    assert set(unit) == {"consultation_id", "status", "title", "plan", "meeting", "tasks", "next_commands"}
    assert [t["task_id"] for t in unit["tasks"]] == ["t1"] and unit["next_commands"] == ["complete_follow_up_task"]
    assert [t["task_id"] for t in cs.consultation_as_seen_by(JTJ, s)["tasks"]] == ["t2"]


def research_then_tasks() -> list:
    events = planned(held_on="2024-04-01")
    events = [*events, *cs.record_consultation_research(STAFF, state(events), cs.RecordConsultationResearch.parse(
        consultation_id=C, kind="field_visit", held_on="2024-03-30", members=["m-1"], summary="走访了三个小区。"),
        research_id="r1", today=TODAY, directory=DIRECTORY)]
    events = [*events, *cs.record_consultation_meeting(STAFF, state(events), meeting_cmd(), today=TODAY,
                                                       directory=DIRECTORY)]
    events = [*events, *cs.publish_consultation_results(STAFF, state(events), cs.PublishConsultationResults.parse(
        consultation_id=C, channel="wechat", text="协商结果公示。", until="2024-04-15"), today=TODAY)]
    events = [*events, *cs.decide_consultation(LEADER, state(events), cs.DecideConsultation.parse(
        consultation_id=C, adopted_outcomes=[1], text="同意。"))]
    return task(task(events), task_id="t2", unit="jtj")


def test_the_state_round_trips_through_the_registry_and_its_dict_is_plain():
    events = research_then_tasks()
    assert all(registry.event_class(type(e).__name__) is type(e) for e in events)
    assert cs.fold(C, [stored(e) for e in events]) == cs.fold(C, events)
    d = cs.fold(C, events).to_dict()
    json.dumps(d)
    assert d["plan"]["members"] == ["m-1", "m-2"] and d["meeting"]["outcomes"][0] == "按楼层分摊加装费用"
    assert d["decisions"]["topic"]["rule"] == voc.DEFAULT_TOPIC_LISTS["allowed"]["infrastructure"]
