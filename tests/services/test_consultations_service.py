"""A consultation's eight steps 八步议事法 through the feedback service on the real RabbitMQ: the
township, the community, the stations (a 民生议事堂 and a 协商驿站), the members and the handling
units come from the members service (the feedback service's directory follows it over the bus);
then the topic lists and their amendments, raising, deciding and approving the topic, the plan
and its revision, research, the meeting, publishing, the organisation's decision, the follow-up
tasks (only their unit completes them), the visit, the survey, a result turned into an opinion
report (linked both ways) and into a proposal, closing; the deadline timer, run by two
instances at once with a fixed clock moved forward, reminds of the meeting and of a task and
records the task overdue, once each."""

from __future__ import annotations

from datetime import datetime

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook

from services.feedback.domain.consultations import LAG
from services.feedback.domain.vocabulary import DEFAULT_TOPIC_LISTS
from services.feedback.service import FeedbackService
from services.members.service import MembersService
from xieshang.kernel.clock import ClockProvider, FixedClock
from xieshang.kernel.envelope import Actor

from .conftest import store_of, wait_until

START = "2024-03-01T09:00:00+08:00"
STAFF = Actor("s-cs-1", "staff", "office")
LEADER = Actor("l-cs-1", "leader", "party-committee")      # the same-level party organisation
LEADER2 = Actor("l-cs-2", "leader", "party-committee")
AUDITOR = Actor("a-cs-1", "auditor", "audit")
MZJ = Actor("u-mzj-cs", "unit", "mzj")
JTJ = Actor("u-jtj-cs", "unit", "jtj")
M1 = Actor("m-cs-1", "member", "经济界")
M9 = Actor("m-cs-9", "member", "经济界")
TOPIC = dict(title="老旧小区加装电梯", description="东街片区老旧小区加装电梯的资金分摊和施工协调。",
             topic_kind="infrastructure", source="resident", township="tw-cs")
FORBIDDEN_LABEL = DEFAULT_TOPIC_LISTS["forbidden"]["party_internal"]


def _report_exists(staff, report_id: str) -> bool:
    try:
        staff.get_opinion_report(report_id)
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            return False
        raise
    return True


def refusal(call, *args, **kwargs) -> RemoteError:
    with pytest.raises(RemoteError) as err:
        call(*args, **kwargs)
    return err.value


def clock_of(container) -> FixedClock:
    return next(d for d in container.dependencies if isinstance(d, ClockProvider)).clock


@pytest.fixture
def stack(container_factory, config, rpc_as):
    first = container_factory(FeedbackService, {**config, "XIESHANG_FIXED_TIME": START})
    second = container_factory(FeedbackService, {**config, "XIESHANG_FIXED_TIME": START,
                                                 "XIESHANG_RELAY": "0"})
    members = container_factory(MembersService, {**config, "XIESHANG_FIXED_TIME": START})
    for container in (first, second, members):
        container.start()
    staff = rpc_as(STAFF).members
    staff.register_organisation("lw", "committee", "龙湾区政协", level="county")
    staff.register_organisation("s-jjj-cs", "sector", "经济界", parent="lw")
    staff.register_organisation("mzj", "handling_unit", "区民政局", parent="lw")
    staff.register_organisation("jtj", "handling_unit", "区交通局", parent="lw")
    staff.register_organisation("tw-cs", "township", "永中街道", parent="lw")
    staff.register_organisation("cm-cs", "community", "永中社区", parent="tw-cs")
    staff.define_station("hall-cs", "永中街道民生议事堂", "livelihood_hall", "township", location="tw-cs")
    staff.define_station("post-cs", "永中社区协商驿站", "consultation_post", "community", location="cm-cs")
    staff.define_station("room-cs", "永中委员会客室", "reception_room", "township", location="tw-cs")
    for member_id, name in (("m-cs-1", "王委员"), ("m-cs-2", "李委员"), ("m-cs-3", "张委员"), ("m-cs-9", "赵委员")):
        staff.appoint_member(member_id, name, "经济界", "第十届")
    wanted = ["m-cs-1", "m-cs-2", "m-cs-3", "m-cs-9", "mzj", "jtj", "tw-cs", "cm-cs", "hall-cs", "post-cs",
              "room-cs"]
    wait_until(lambda: all(e["kind"] for e in rpc_as(STAFF).feedback.directory(wanted).values()), timeout=30,
               what="the feedback directory to follow the members service")
    return first, second, members


def test_the_eight_steps_and_the_timer(stack, rpc_as):
    first, second, _ = stack
    staff, leader, leader2 = rpc_as(STAFF).feedback, rpc_as(LEADER).feedback, rpc_as(LEADER2).feedback
    member, other, mzj, jtj = rpc_as(M1).feedback, rpc_as(M9).feedback, rpc_as(MZJ).feedback, rpc_as(JTJ).feedback

    def set_clocks(at: str) -> None:
        for container in (first, second):
            clock_of(container).set(datetime.fromisoformat(at))

    def tick() -> list[dict]:
        def check(container):
            with entrypoint_hook(container, "check_consultation_deadlines") as hook:
                return hook()
        return list(eventlet.GreenPool().imap(check, (first, second)))

    # -- the topic lists: anyone signed in reads them; a forbidden kind refused, the rule named
    lists = member.consultation_topic_lists()
    assert lists["version"] == 0 and lists["committee"] == staff.levels()["committee"]
    assert {"kind": "party_internal", "label": FORBIDDEN_LABEL} in lists["forbidden"]
    err = refusal(member.propose_consultation_topic, **{**TOPIC, "topic_kind": "party_internal"})
    assert err.exc_type == "InvalidCommand"
    assert err.details["fields"]["topic_kind"] == f"不可协商：{FORBIDDEN_LABEL} (forbidden: {FORBIDDEN_LABEL})"
    err = refusal(staff.propose_consultation_topic, **{**TOPIC, "topic_kind": "weather", "township": "tw-none"})
    assert set(err.details["fields"]) == {"topic_kind", "township"} and LAG in err.details["fields"]["township"]
    assert refusal(mzj.propose_consultation_topic, **TOPIC).exc_type == "NotAllowed"

    # -- 1 议题收集 by a member; only they (and staff, leaders, auditors) read it before approval
    raised = member.propose_consultation_topic(**TOPIC)
    cid = raised["consultation_id"]
    assert raised["events"] == ["ConsultationTopicProposed"] and raised["stream"] == f"consultation-{cid}"
    assert member.get_consultation(cid)["proposer"] == "m-cs-1"
    assert refusal(other.get_consultation, cid).exc_type == "NotAllowed"
    assert refusal(staff.get_consultation, "no-such-consultation").exc_type == "NotFound"

    # -- amending the lists changes what is refused: infrastructure forbidden, then allowed again
    assert refusal(member.amend_topic_lists, "infrastructure", "forbidden", "重大基础设施", "理由").exc_type == "NotAllowed"
    amended = staff.amend_topic_lists("infrastructure", "forbidden", "重大基础设施项目", "改由人大审议")
    assert amended["events"] == ["ConsultationTopicListAmended"] and amended["lists_version"] == 1
    err = refusal(staff.decide_consultation_topic, cid)
    assert err.details["fields"]["topic_kind"] == "不可协商：重大基础设施项目 (forbidden: 重大基础设施项目)"
    assert refusal(staff.amend_topic_lists, "infrastructure", "forbidden", "重大基础设施项目", "再改一次").exc_type == (
        "InvalidCommand")
    staff.amend_topic_lists("infrastructure", "allowed", "基础设施建设和管理", "常委会议恢复原清单")
    [change] = [e for e in store_of(first).read_stream("consultation-topic-lists")][:1]
    assert change.data["reason"] == "改由人大审议" and change.actor.user_id == "s-cs-1"
    assert member.consultation_topic_lists()["version"] == 2

    # -- 2 议题确定: staff decide, the party organisation approves (staff may not)
    assert refusal(member.decide_consultation_topic, cid).exc_type == "NotAllowed"
    decided = staff.decide_consultation_topic(cid, note="列入第一季度协商计划")
    assert decided["events"] == ["ConsultationTopicDecided"]
    assert staff.get_consultation(cid)["decisions"]["topic"] == {
        "rule": "基础设施建设和管理", "lists_version": 2, "note": "列入第一季度协商计划"}
    err = refusal(staff.approve_consultation_topic, cid)
    assert err.exc_type == "NotAllowed" and "领导" in str(err.details)        # names who may
    assert refusal(staff.decide_consultation_topic, cid).exc_type == "WrongState"
    leader.approve_consultation_topic(cid, note="同意")
    seen = other.get_consultation(cid)                               # approved: every member reads it
    assert seen["status"] == "topic_approved" and seen["proposer"] is None
    assert seen["next_commands"] == [] and staff.get_consultation(cid)["next_commands"] == ["plan_consultation"]

    # -- 3 制定方案: at a 协商驿站 (its community's township), then revised to the 民生议事堂
    err = refusal(staff.plan_consultation, cid, "2024-02-28", "room-cs", members=["m-cs-1", "m-nobody"],
                  departments=["m-cs-2"], agenda="议程")
    assert set(err.details["fields"]) == {"held_on", "place", "members[1]", "departments[0]"}
    assert "不是协商议事平台" in err.details["fields"]["place"] and LAG in err.details["fields"]["members[1]"]
    assert refusal(staff.plan_consultation, cid, "2024-03-05", "nowhere", members=["m-cs-1"],
                   agenda="议程").details["fields"]["place"].endswith(LAG)
    assert set(refusal(staff.plan_consultation, cid, "2024-03-05", "post-cs", members=["m-cs-1"])
               .details["fields"]) == {"agenda"}
    plan = dict(members=["m-cs-1", "m-cs-2", "m-cs-3"], departments=["mzj", "jtj"], residents=15,
                stakeholders=["沿街商户", "物业公司"], agenda="听取方案，协商资金分摊和施工安排。")
    first_plan = staff.plan_consultation(cid, "2024-03-05", "post-cs", **plan)
    assert first_plan["events"] == ["ConsultationPlanned"]
    assert staff.get_consultation(cid)["plan"]["township"] == "tw-cs"
    staff.plan_consultation(cid, "2024-03-03", "hall-cs", **plan)
    state = staff.get_consultation(cid)
    assert (state["plan"]["revision"], state["plan"]["place_name"], state["plan"]["place_type"]) == (
        2, "永中街道民生议事堂", "livelihood_hall")

    # -- 4 议前调研
    assert refusal(staff.record_consultation_research, cid, "field_visit", "2024-03-02", ["m-cs-1"],
                   "走访三个小区。").details["fields"] == {
        "held_on": "not after today (2024-03-01): record it once it took place 不能晚于今天（2024-03-01），发生后再记录"}
    research = staff.record_consultation_research(cid, "field_visit", "2024-02-29", ["m-cs-1", "m-cs-2"],
                                                  "走访三个小区，听取了居民意见。")
    assert research["research_id"] and research["events"] == ["ConsultationResearchRecorded"]
    assert "summary" not in other.get_consultation(cid)["research"][0]

    # -- the timer reminds the participants of the meeting once (the plan's revision)
    [due_meeting] = [n["meetings_reminded"] for n in tick() if n["meetings_reminded"]]
    assert due_meeting == 1 and tick() == [{"meetings_reminded": 0, "reminded": 0, "overdue": 0}] * 2
    [reminder] = [e for e in store_of(first).read_stream(f"consultation-{cid}")
                  if e.type == "ConsultationMeetingDueSoon"]
    assert (reminder.data["revision"], reminder.data["days_before"], reminder.data["members"]) == (
        2, 2, ["m-cs-1", "m-cs-2", "m-cs-3"]) and reminder.actor.role == "system"

    # -- 5 协商议事 on the day
    set_clocks("2024-03-03T15:00:00+08:00")
    meeting = dict(members=["m-cs-1", "m-cs-3"], departments=["mzj"], residents=18, stakeholders=["沿街商户"],
                   speakers=["m-cs-1", "mzj"], opinions=["资金按楼层分摊", "施工避开高峰"],
                   outcomes=["按楼层分摊加装费用", "由街道统一招标", "设立施工协调小组"])
    err = refusal(staff.record_consultation_meeting, cid, "2024-03-03", **{**meeting, "speakers": ["m-cs-2", "jtj"],
                                                                          "outcomes": []})
    assert set(err.details["fields"]) == {"speakers[0]", "speakers[1]", "outcomes"}
    staff.record_consultation_meeting(cid, "2024-03-03", **meeting)
    state = staff.get_consultation(cid)
    assert state["status"] == "met" and state["meeting"]["absent_members"] == ["m-cs-2"]
    assert refusal(staff.plan_consultation, cid, "2024-03-09", "hall-cs", **plan).exc_type == "WrongState"

    # -- 6 公开公示, 7 组织决定 (leaders only)
    assert refusal(leader2.decide_consultation, cid, [1], "同意。").exc_type == "WrongState"   # not published
    staff.publish_consultation_results(cid, "notice_board", "协商结果：按楼层分摊，街道统一招标。", "2024-03-13")
    assert staff.get_consultation(cid)["publication"]["published_on"] == "2024-03-03"
    assert refusal(staff.decide_consultation, cid, [1], "同意。").exc_type == "NotAllowed"
    assert set(refusal(leader2.decide_consultation, cid, [1, 4], "同意。").details["fields"]) == {"adopted_outcomes"}
    leader2.decide_consultation(cid, [3, 1], "同意按协商结果组织实施。")
    assert staff.get_consultation(cid)["adopted_outcomes"] == ["按楼层分摊加装费用", "设立施工协调小组"]

    # -- 8 跟踪落实: tasks to units by adopted outcome; only the task's unit completes it, once
    assert set(refusal(staff.assign_follow_up_task, cid, "m-cs-1", 3, "组织招标。", "2024-03-03")
               .details["fields"]) == {"unit", "outcome", "deadline"}
    t1 = staff.assign_follow_up_task(cid, "mzj", 1, "制定分摊细则并公示。", "2024-03-10")["task_id"]
    t2 = staff.assign_follow_up_task(cid, "jtj", 2, "组建施工协调小组。", "2024-03-20")["task_id"]
    assert refusal(jtj.complete_follow_up_task, cid, t1, "已完成。").exc_type == "NotAllowed"
    assert refusal(staff.complete_follow_up_task, cid, t1, "已完成。").exc_type == "NotAllowed"
    assert refusal(mzj.complete_follow_up_task, cid, "no-such-task", "已完成。").exc_type == "NotFound"
    set_clocks("2024-03-05T10:00:00+08:00")
    done = mzj.complete_follow_up_task(cid, t1, "分摊细则已公示。")
    assert done["events"] == ["FollowUpTaskCompleted"] and done["task_id"] == t1
    assert refusal(mzj.complete_follow_up_task, cid, t1, "再次报告。").exc_type == "WrongState"
    seen = mzj.get_consultation(cid)
    assert [t["task_id"] for t in seen["tasks"]] == [t1] and seen["plan"] is None and "description" not in seen
    assert refusal(rpc_as(Actor("u-zjj", "unit", "zjj")).feedback.get_consultation, cid).exc_type == "NotAllowed"

    # -- the timer: t2 reminded, then overdue (escalated to who approved and who decided), once each
    set_clocks("2024-03-17T09:00:00+08:00")
    assert sorted(n["reminded"] for n in tick()) == [0, 1]
    tick()
    set_clocks("2024-03-21T00:01:00+08:00")
    assert sorted(n["overdue"] for n in tick()) == [0, 1]
    for container in (first, second):
        clock_of(container).advance(days=3)
    assert tick() == [{"meetings_reminded": 0, "reminded": 0, "overdue": 0}] * 2
    log = store_of(first).read_stream(f"consultation-{cid}")
    [due] = [e for e in log if e.type == "FollowUpTaskDueSoon"]
    [overdue] = [e for e in log if e.type == "FollowUpTaskOverdue"]
    assert (due.data["task_id"], due.data["days_before"], due.data["unit"]) == (t2, 3, "jtj")
    assert (overdue.data["task_id"], overdue.data["days_overdue"]) == (t2, 1)
    assert overdue.data["escalate_to"] == ["l-cs-1", "l-cs-2"]

    listed = jtj.unit_follow_up_tasks("jtj", after_position=overdue.position)
    assert [(t["task_id"], t["overdue"], t["due_in_days"]) for t in listed["items"]] == [(t2, True, -4)]
    assert refusal(mzj.unit_follow_up_tasks, "jtj").exc_type == "NotAllowed"
    late = jtj.complete_follow_up_task(cid, t2, "协调小组已成立。")
    assert jtj.unit_follow_up_tasks("jtj", after_position=late["position"])["items"] == []

    # -- a result into an opinion report (linked both ways) and into a collective proposal
    report = staff.convert_consultation_result(cid, "opinion_report", "关于加快老旧小区加装电梯的建议",
                                               "协商议事形成共识：按楼层分摊加装费用，由街道统一招标。", "society")
    rid = report["report_id"]
    assert report["events"] == ["ConsultationResultConverted"]
    # the report is recorded as the reaction to the conversion, once
    wait_until(lambda: _report_exists(staff, rid), timeout=30, what="the report the result became")
    opinion = staff.get_opinion_report(rid)
    assert (opinion["source"], opinion["channel"], opinion["submitter"], opinion["submitter_role"]) == (
        f"consultation:{cid}", "meeting", "s-cs-1", "staff")
    assert opinion["status"] == "submitted" and "adopt_opinion_report" in opinion["next_commands"]
    assert staff.get_consultation(cid)["conversions"][0]["target_id"] == rid
    staff.record_opinion_check(rid, "political", True, "政治关通过。")                # the usual loop
    assert set(refusal(staff.convert_consultation_result, cid, "proposal", "关于加装电梯的提案",
                       "协商议事形成共识：按楼层分摊加装费用。", "society").details["fields"]) == {"body"}
    proposal = staff.convert_consultation_result(cid, "proposal", "关于加装电梯的提案",
                                                 "协商议事形成共识：按楼层分摊加装费用。", "society",
                                                 body={"type": "sector", "name": "经济界"})
    assert proposal["events"] == ["ConsultationResultConverted"] and "report_id" not in proposal

    # -- the visit, the survey, closing
    assert refusal(staff.close_consultation, cid, "各项任务均已落实。").exc_type == "WrongState"
    staff.record_follow_up_visit(cid, "2024-03-24", ["m-cs-1"], "居民反映施工有序。")
    assert set(refusal(staff.record_satisfaction_survey, cid, 20, 15, 4, 2).details["fields"]) == {"respondents"}
    staff.record_satisfaction_survey(cid, 20, 15, 4, 1, note="现场测评")
    closed = staff.close_consultation(cid, "各项任务均已落实，群众满意。")
    assert closed["events"] == ["ConsultationClosed"]
    assert staff.get_consultation(cid)["next_commands"] == []
    assert refusal(staff.record_follow_up_visit, cid, "2024-03-24", ["m-cs-1"], "再访。").exc_type == "WrongState"

    # -- the lists, the calendar and the year's figures
    after = closed["position"]
    [row] = rpc_as(AUDITOR).feedback.consultations(year=2024, after_position=after)["items"]
    assert (row["consultation_id"], row["status"], row["next_step"], row["township"], row["place"]) == (
        cid, "closed", None, "tw-cs", "hall-cs")
    assert staff.consultations(status="planned", after_position=after)["total"] == 0
    assert refusal(member.consultations).exc_type == "NotAllowed"
    assert refusal(staff.consultations, status="open").exc_type == "InvalidCommand"
    cal = leader.consultation_calendar("2024-03-01", "2024-03-31", township="tw-cs", after_position=after)
    assert [(d["date"], [m["consultation_id"] for m in d["meetings"]]) for d in cal["days"]] == [("2024-03-03", [cid])]
    assert set(refusal(staff.consultation_calendar, "2024-03-31", "2024-03-01").details["fields"]) == {"date_to"}
    stats = staff.consultation_statistics(2024, after_position=after)
    assert stats == {
        "year": 2024, "held": 1,
        "held_by_place_type": {"livelihood_hall": 1, "consultation_post": 0, "studio": 0, "consultation_room": 0,
                               "work_station": 0, "liaison_station": 0},
        "held_by_place": {"hall-cs": 1}, "held_by_township": {"tw-cs": 1}, "topics": 1,
        "topics_by_source": {"party_government": 0, "member": 0, "resident": 1, "department": 0},
        "outcomes_agreed": 3, "outcomes_adopted": 2, "tasks": 2, "tasks_completed": 2, "tasks_on_time": 1,
        "closed": 1, "survey": {"respondents": 20, "satisfied": 15, "basically_satisfied": 4, "dissatisfied": 1,
                                "satisfaction_rate": 19 / 20}}
    assert refusal(member.consultation_statistics, 2024).exc_type == "NotAllowed"


def test_topics_set_aside_or_not_approved(stack, rpc_as):
    staff, leader, member = rpc_as(STAFF).feedback, rpc_as(LEADER).feedback, rpc_as(M1).feedback
    aside = staff.propose_consultation_topic(**{**TOPIC, "source": "party_government"})["consultation_id"]
    assert refusal(member.set_aside_consultation_topic, aside, "已列入民生实事").exc_type == "NotAllowed"
    staff.set_aside_consultation_topic(aside, "已列入年度民生实事")
    state = staff.get_consultation(aside)
    assert (state["status"], state["set_aside_reason"], state["next_commands"]) == (
        "topic_set_aside", "已列入年度民生实事", [])
    assert refusal(staff.decide_consultation_topic, aside).exc_type == "WrongState"

    rejected = member.propose_consultation_topic(**{**TOPIC, "source": "member"})["consultation_id"]
    staff.decide_consultation_topic(rejected)
    assert refusal(staff.reject_consultation_topic, rejected, "不宜协商").exc_type == "NotAllowed"
    done = leader.reject_consultation_topic(rejected, "已由政府专题研究")
    state = member.get_consultation(rejected)                       # their own topic
    assert (state["status"], state["decisions"]["approval"]["approved"]) == ("topic_rejected", False)
    assert refusal(rpc_as(M9).feedback.get_consultation, rejected).exc_type == "NotAllowed"
    rows = staff.consultations(after_position=done["position"])["items"]
    assert {(r["consultation_id"], r["status"], r["next_step"]) for r in rows} == {
        (aside, "topic_set_aside", None), (rejected, "topic_rejected", None)}
    stats = staff.consultation_statistics(2024, after_position=done["position"])
    assert (stats["topics"], stats["topics_by_source"]["member"], stats["held"]) == (2, 1, 0)
