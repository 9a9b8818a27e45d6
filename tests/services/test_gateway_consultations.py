"""Consultations 协商议事 and democratic supervision groups 民主监督组 through the HTTP API, on the
real RabbitMQ (issue 17): the whole eight-step consultation (议题收集 → 确定议题 → 党组织批准 →
制定方案 at a 民生议事堂 set up through the members API → 议前调研 → 协商议事 → 公开公示 → 组织决定
→ 跟踪落实: a task to a unit, done by that unit, the visit, the survey → 办结) and a whole
supervision round (组建 → 监督调研 → 监督意见 → the department's handling report → 核验 → 办结),
each step as the person who takes it; a forbidden topic kind refused naming the rule; staff
refused the party organisation's approval.

Only HTTP: every step and every read goes through the gateway (the members service defines the
station, the members and the unit; the feedback service's directory follows it over the bus).
Reads name ``wait_for`` = the position of the command's answer (read your own writes). The
first test is pure: the gateway's written-out words equal the feedback service's."""

from __future__ import annotations

import time
import typing

import pytest

from services.feedback.domain import vocabulary as feedback
from services.feedback.service import FeedbackService
from services.gateway import api
from services.members.service import MembersService

from .test_gateway_http import Client, ok, open_accounts, refused, start_gateway

START = "2024-03-01T09:00:00+08:00"   # the services' clock: today is 2024-03-01
TODAY = "2024-03-01"
COMMITTEE, LEVEL = "640302", "county"

USERS = {  # name -> (user id, role, organisation)
    "staff": ("staff-01", "staff", "cppcc-office"),
    "member": ("m-101", "member", "经济界"),
    "unit": ("u-zjj-01", "unit", "zjj"),               # 住房和城乡建设局
    "other unit": ("u-jtj-01", "unit", "jtj"),
    "party": ("party-01", "leader", "party-committee"),  # the same-level party organisation 同级党组织
    "auditor": ("audit-01", "auditor", "inspection"),
}
TREE = [
    ("/api/organisations", {"org_id": "lw", "kind": "committee", "name": "利通区政协", "level": "county"}),
    ("/api/organisations", {"org_id": "s-jj", "kind": "sector", "name": "经济界", "parent": "lw"}),
    ("/api/organisations", {"org_id": "zjj", "kind": "handling_unit", "name": "区住房和城乡建设局", "parent": "lw"}),
    ("/api/organisations", {"org_id": "jtj", "kind": "handling_unit", "name": "区交通运输局", "parent": "lw"}),
    ("/api/organisations", {"org_id": "gcz", "kind": "township", "name": "古城镇", "parent": "lw"}),
    ("/api/organisations", {"org_id": "gcz-1", "kind": "community", "name": "古城村", "parent": "gcz"}),
    ("/api/stations", {"station_id": "hall-gcz", "name": "古城镇民生议事堂", "station_type": "livelihood_hall",
                       "level": "township", "location": "gcz", "communities": ["gcz-1"]}),
]
MEMBERS = [("m-101", "马建军"), ("m-102", "李红梅"), ("m-103", "王志刚")]
KNOWN = ["m-101", "m-102", "m-103", "zjj", "jtj", "gcz", "hall-gcz"]
TOPIC = {"title": "古城镇老旧小区雨污分流改造", "description": "雨季污水外溢，群众反映强烈，需协商改造方案和资金分担。",
         "topic_kind": "infrastructure", "source": "resident", "township": "gcz"}


# -- the words: the gateway's request models say what the feedback service says ---------------

def _values(annotation) -> set:
    args = typing.get_args(annotation)
    if args and typing.get_origin(annotation) is not typing.Literal:
        [literal] = [a for a in args if a is not type(None)]
        args = typing.get_args(literal)
    return set(args)


def test_the_consultation_words_are_the_feedback_domains():
    assert _values(api.ConsultationStatus) == set(feedback.CONSULTATION_STATES) == set(feedback.CONSULTATION_COMMANDS)
    assert _values(api.TopicSource) == set(feedback.TOPIC_SOURCES)
    assert _values(api.TopicListing) == set(feedback.LISTINGS)
    assert _values(api.ResearchKind) == set(feedback.RESEARCH_KINDS)
    assert _values(api.PublicationChannel) == set(feedback.PUBLICATION_CHANNELS)
    assert _values(api.SupervisionStatus) == set(feedback.SUPERVISION_STATES) == set(feedback.SUPERVISION_COMMANDS)
    assert _values(api.FactFindingKind) == set(feedback.FACT_FINDING_KINDS)
    assert _values(api.Verdict) == set(feedback.VERDICTS)
    assert _values(api.ConsultationsQuery.model_fields["status"].annotation) == set(feedback.CONSULTATION_STATES)
    every_command = {c for cs in (*feedback.CONSULTATION_COMMANDS.values(), *feedback.SUPERVISION_COMMANDS.values())
                     for c in cs}
    routed = {r.rpc for r in api.ROUTES if r.service == "feedback" and r.is_command}
    assert every_command <= routed, every_command - routed
    assert every_command <= set(feedback.COMMAND_LABELS)
    # who takes which step: the party organisation's (a leader's account), the unit's, staff's
    roles = {r.rpc: r.roles for r in api.ROUTES if r.service == "feedback"}
    for rpc in ("approve_consultation_topic", "reject_consultation_topic", "decide_consultation"):
        assert roles[rpc] == {"leader"}, rpc
    for rpc in ("complete_follow_up_task", "report_supervision_handling"):
        assert roles[rpc] == {"unit"}, rpc
    assert roles["propose_consultation_topic"] == {"staff", "member"}
    assert {rpc for rpc, r in roles.items() if r == {"staff"}} >= every_command - {
        "approve_consultation_topic", "reject_consultation_topic", "decide_consultation",
        "complete_follow_up_task", "report_supervision_handling"}


# -- the stack ---------------------------------------------------------------------------------

@pytest.fixture
def gateway(container_factory, config):
    """The members, feedback and gateway services on the test's own vhost, an account per person
    of USERS, and the committee's tree, members and station set up through the API (the feedback
    service's directory caught up with them)."""
    fixed = {**config, "XIESHANG_FIXED_TIME": START, "COMMITTEE_CODE": COMMITTEE, "COMMITTEE_LEVEL": LEVEL}
    members = container_factory(MembersService, fixed)
    members.start()
    feedback_service = container_factory(FeedbackService, fixed)
    feedback_service.start()
    client = start_gateway(container_factory, fixed)
    open_accounts(client, USERS)
    for path, body in TREE:
        ok(client.call("POST", path, "staff", json=body), 201)
    for member_id, name in MEMBERS:
        ok(client.call("POST", "/api/members", "staff", json={
            "member_id": member_id, "name": name, "sector": "经济界", "term": "第十届"}), 201)
    _until(lambda: all(e.get("kind") and e.get("active") for e in ok(client.call(
        "GET", "/api/feedback/directory", "staff", params={"ids": ",".join(KNOWN)})).values()),
        "the feedback service's directory to follow the members service")
    return client


def _until(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        time.sleep(0.1)


def step(client: Client, consultation_id: str, path: str, role: str = "staff", status: int = 200,
         **body) -> dict:
    return ok(client.call("POST", f"/api/consultations/{consultation_id}/{path}", role, json=body), status)


def consultation(client: Client, consultation_id: str, role: str = "staff", **params) -> dict:
    return ok(client.call("GET", f"/api/consultations/{consultation_id}", role, params=params or None))


def listed(client: Client, path: str, role: str, wait_for: int, **params) -> dict:
    return ok(client.call("GET", path, role, params={"wait_for": wait_for, **params}))


# -- the eight steps ---------------------------------------------------------------------------

def test_a_consultation_goes_through_the_eight_steps(gateway):
    c = gateway
    lists = ok(c.call("GET", "/api/consultation-topic-lists", "member"))
    assert {"kind": "infrastructure", "label": feedback.DEFAULT_TOPIC_LISTS["allowed"]["infrastructure"]} \
        in lists["allowed"]

    # 1 议题收集: residents' topic, entered by staff; a member raises one too (it waits)
    raised = ok(c.call("POST", "/api/consultations", "staff", json=TOPIC), 201)
    cid = raised["consultation_id"]
    assert raised["events"] == ["ConsultationTopicProposed"] and raised["stream"] == f"consultation-{cid}"
    seen = consultation(c, cid)
    assert (seen["status"], seen["next_commands"]) == ("topic_proposed", list(
        feedback.CONSULTATION_COMMANDS["topic_proposed"]))
    by_member = ok(c.call("POST", "/api/consultations", "member", json={
        **TOPIC, "title": "古城村道路照明改造", "source": "member"}), 201)
    assert consultation(c, by_member["consultation_id"], "member")["status"] == "topic_proposed"

    # 2 确定议题 (checked against the lists), then the party organisation approves
    step(c, cid, "topic-decision", note="属于基础设施建设事项，可以协商")
    seen = consultation(c, cid)
    assert seen["status"] == "topic_decided" and seen["next_commands"] == [
        "approve_consultation_topic", "reject_consultation_topic"]
    step(c, cid, "approval", "party", note="同意开展协商")
    assert consultation(c, cid)["status"] == "topic_approved"

    # 3 制定方案 at the 民生议事堂; a station of the wrong kind or a member unknown is refused
    plan = {"held_on": TODAY, "place": "hall-gcz", "members": ["m-101", "m-102", "m-103"],
            "departments": ["zjj"], "residents": 12, "stakeholders": ["沿街商户代表"],
            "agenda": "一、通报改造方案；二、各方发言；三、形成协商成果。"}
    unknown = refused(c.call("POST", f"/api/consultations/{cid}/plan", "staff",
                             json={**plan, "members": ["m-101", "m-999"]}), 422)
    assert any(p["name"].startswith("members") for p in unknown["invalid_params"]), unknown
    planned = step(c, cid, "plan", **plan)
    seen = consultation(c, cid)
    assert seen["status"] == "planned"
    assert (seen["plan"]["place"], seen["plan"]["place_type"], seen["plan"]["township"]) == (
        "hall-gcz", "livelihood_hall", "gcz")
    assert seen["plan"]["place_name"] == "古城镇民生议事堂"
    calendar = listed(c, "/api/consultation-calendar", "staff", planned["position"],
                      date_from=TODAY, date_to="2024-03-31")
    assert cid in str(calendar), calendar

    # 4 议前调研
    research = step(c, cid, "research", status=201, kind="field_visit", held_on="2024-02-28",
                    members=["m-101", "m-102"], summary="实地查看了 3 个小区的排水管网，走访住户 40 户。")
    assert research["research_id"]

    # 5 协商议事: m-103 did not come; the outcomes agreed
    met = step(c, cid, "meeting", held_on=TODAY, members=["m-101", "m-102"], departments=["zjj"],
               residents=10, stakeholders=["沿街商户代表"], speakers=["m-101", "zjj"],
               opinions=["资金由区财政和产权单位共同分担"],
               outcomes=["年内完成 3 个小区雨污分流改造", "建立管网日常巡查机制"])
    seen = consultation(c, cid)
    assert seen["status"] == "met" and seen["meeting"]["absent_members"] == ["m-103"]

    # 6 公开公示; 7 组织决定 by the party organisation (staff may not)
    step(c, cid, "publication", channel="notice_board", text="协商结果：年内完成 3 个小区雨污分流改造。",
         until="2024-03-10")
    assert consultation(c, cid)["status"] == "results_published"
    decision = {"adopted_outcomes": [1, 2], "text": "同意协商成果，由区住建局牵头落实。"}
    refused(c.call("POST", f"/api/consultations/{cid}/decision", "staff", json=decision), 403)
    step(c, cid, "decision", "party", **decision)
    seen = consultation(c, cid)
    assert seen["status"] == "following_up"
    assert list(seen["adopted_outcomes"]) == ["年内完成 3 个小区雨污分流改造", "建立管网日常巡查机制"]

    # 8 跟踪落实: a task to the unit, which sees it and reports it done (another unit may not)
    task = step(c, cid, "follow-up-tasks", status=201, unit="zjj", outcome=1,
                task="完成 3 个小区雨污分流改造", deadline="2024-06-30")
    task_id = task["task_id"]
    tasks = listed(c, "/api/units/zjj/follow-up-tasks", "unit", task["position"])
    assert [t["task_id"] for t in tasks["items"]] == [task_id]
    assert refused(c.call("GET", "/api/units/zjj/follow-up-tasks", "other unit"), 403)
    as_unit = consultation(c, cid, "unit")
    assert [t["task_id"] for t in as_unit["tasks"]] == [task_id]
    assert "complete_follow_up_task" in as_unit["next_commands"]
    completion = f"/api/consultations/{cid}/follow-up-tasks/{task_id}/completion"
    refused(c.call("POST", completion, "other unit", json={"report": "不是本单位的任务"}), 403)
    refused(c.call("POST", f"/api/consultations/{cid}/close", "staff", json={"summary": "尚未落实"}), 409)
    done = ok(c.call("POST", completion, "unit", json={"report": "3 个小区改造已完工并通过验收。"}))
    assert done["events"] == ["FollowUpTaskCompleted"]
    assert listed(c, "/api/units/zjj/follow-up-tasks", "unit", done["position"])["items"] == []
    step(c, cid, "follow-up-visits", visited_on=TODAY, members=["m-101"], findings="住户反映雨季不再外溢。")
    step(c, cid, "survey", respondents=20, satisfied=15, basically_satisfied=4, dissatisfied=1,
         note="现场测评")
    closed = step(c, cid, "close", summary="改造完成，群众满意。")
    seen = consultation(c, cid)
    assert (seen["status"], seen["next_commands"]) == ("closed", [])

    # the lists and the year's figures
    rows = listed(c, "/api/consultations", "staff", closed["position"], status="closed")
    assert [r.get("consultation_id") for r in rows["items"]] == [cid]
    assert listed(c, "/api/consultations", "party",
                  closed["position"], q="雨污分流")["total"] == 1
    figures = listed(c, "/api/consultation-statistics/2024", "auditor", closed["position"])
    assert (figures["held"], figures["topics"], figures["outcomes_agreed"], figures["outcomes_adopted"],
            figures["tasks"], figures["tasks_completed"], figures["tasks_on_time"], figures["closed"]) == (
        1, 2, 2, 2, 1, 1, 1, 1)
    counted = {name: {k: n for k, n in figures[name].items() if n}
               for name in ("held_by_place_type", "held_by_place", "held_by_township", "topics_by_source")}
    assert counted == {"held_by_place_type": {"livelihood_hall": 1}, "held_by_place": {"hall-gcz": 1},
                       "held_by_township": {"gcz": 1}, "topics_by_source": {"resident": 1, "member": 1}}
    assert figures["survey"]["satisfaction_rate"] == pytest.approx(19 / 20)
    # the history: every step as its own event, in order
    history = ok(c.call("GET", f"/api/audit/feedback/streams/consultation-{cid}", "auditor"))
    types = [e["type"] for e in history["events"]]
    assert types == ["ConsultationTopicProposed", "ConsultationTopicDecided", "ConsultationTopicApproved",
                     "ConsultationPlanned", "ConsultationResearchRecorded", "ConsultationMeetingHeld",
                     "ConsultationResultsPublished", "ConsultationDecided", "FollowUpTaskAssigned",
                     "FollowUpTaskCompleted", "ConsultationFollowUpVisited", "ConsultationSurveyRecorded",
                     "ConsultationClosed"], types
    assert met["recorded"] is True


def test_a_forbidden_topic_is_refused_naming_the_rule_and_staff_may_not_approve(gateway):
    c = gateway
    label = feedback.DEFAULT_TOPIC_LISTS["forbidden"]["party_internal"]
    answer = c.call("POST", "/api/consultations", "member", json={**TOPIC, "topic_kind": "party_internal"})
    problem = refused(answer, 422)
    reasons = {p["name"]: p["reason"] for p in problem["invalid_params"]}
    assert label in reasons["topic_kind"] and "不可协商" in reasons["topic_kind"], problem
    assert "forbidden" in reasons["topic_kind"]
    unlisted = refused(c.call("POST", "/api/consultations", "staff", json={**TOPIC, "topic_kind": "weather"}), 422)
    assert {p["name"] for p in unlisted["invalid_params"]} == {"topic_kind"}
    assert refused(c.call("POST", "/api/consultations", "staff", json={**TOPIC, "source": "rumour"}), 422)[
        "invalid_params"][0]["name"] == "source"   # the gateway's own check of the words

    raised = ok(c.call("POST", "/api/consultations", "staff", json=TOPIC), 201)
    cid = raised["consultation_id"]
    step(c, cid, "topic-decision")
    # staff are turned away by the gateway, naming who may (the party organisation's leaders)
    problem = refused(c.call("POST", f"/api/consultations/{cid}/approval", "staff", json={}), 403)
    assert "leader" in problem["missing"] and "批准" in problem["detail_zh"], problem
    assert consultation(c, cid)["status"] == "topic_decided"
    # the lists amended: the kind now forbidden, a decided topic cannot be approved past it
    amended = ok(c.call("POST", "/api/consultation-topic-lists/amendments", "staff", json={
        "kind": "infrastructure", "listing": "forbidden", "label": "涉及征地拆迁补偿的个案",
        "reason": "本年度由专门程序处理"}), 201)
    assert amended["events"] == ["ConsultationTopicListAmended"]
    lists = ok(c.call("GET", "/api/consultation-topic-lists", "staff"))
    assert lists["version"] == 1 and "infrastructure" in {k["kind"] for k in lists["forbidden"]}
    again = refused(c.call("POST", "/api/consultations", "member", json=TOPIC), 422)
    assert "涉及征地拆迁补偿的个案" in str(again["invalid_params"])
    # the party organisation rejects it, saying why
    step(c, cid, "rejection", "party", reason="议题清单已调整，本议题不再协商")
    seen = consultation(c, cid)
    assert (seen["status"], seen["next_commands"]) == ("topic_rejected", [])


# -- a supervision round -----------------------------------------------------------------------

def group_step(client: Client, group_id: str, path: str, role: str = "staff", status: int = 200, **body) -> dict:
    return ok(client.call("POST", f"/api/supervision-groups/{group_id}/{path}", role, json=body), status)


def test_a_supervision_group_goes_round(gateway):
    c = gateway
    formed = ok(c.call("POST", "/api/supervision-groups", "staff", json={
        "name": "老旧小区改造民主监督组", "year": 2024, "leader": "m-101", "members": ["m-102", "m-103"],
        "department": "zjj", "topic": "老旧小区改造工程质量和进度",
        "basis": "区政协年度协商计划和民主监督工作方案"}), 201)
    gid = formed["group_id"]
    group = ok(c.call("GET", f"/api/supervision-groups/{gid}", "staff"))
    assert (group["status"], group["department"], group["leader"]) == ("formed", "zjj", "m-101")

    found = group_step(c, gid, "fact-finding", status=201, kind="site_visit", held_on=TODAY,
                       members=["m-101", "m-102"], findings="抽查 5 个小区，2 个小区进度滞后。")
    assert found["activity_id"]
    issued = group_step(c, gid, "opinions", status=201, text="请加快滞后小区的施工进度，并公开工程计划。",
                        deadline="2024-04-15")
    opinion_id = issued["opinion_id"]
    # the department sees it among its opinions, and the group without the fact finding
    opinions = listed(c, "/api/units/zjj/supervision-opinions", "unit", issued["position"])
    assert [(o["opinion_id"], o["overdue"]) for o in opinions["items"]] == [(opinion_id, False)]
    as_department = ok(c.call("GET", f"/api/supervision-groups/{gid}", "unit"))
    assert "activities" not in as_department and "members" not in as_department
    assert as_department["next_commands"] == ["report_supervision_handling"]
    refused(c.call("GET", "/api/units/zjj/supervision-opinions", "other unit"), 403)
    handling = f"/api/supervision-groups/{gid}/opinions/{opinion_id}/handling"
    refused(c.call("POST", handling, "staff", json={"report": "代为报告"}), 403)
    # verifying before the handling report, or closing before the verdict: refused
    refused(c.call("POST", f"/api/supervision-groups/{gid}/opinions/{opinion_id}/verification", "staff",
                   json={"verdict": "carried_out", "note": "尚未报告"}), 409)
    reported = ok(c.call("POST", handling, "unit", json={"report": "已调整施工计划，4 月底前完工，计划已公开。"}))
    assert reported["events"] == ["SupervisionHandlingReported"]
    assert listed(c, "/api/units/zjj/supervision-opinions", "unit", reported["position"])["items"] == []
    refused(c.call("POST", f"/api/supervision-groups/{gid}/close", "staff", json={"summary": "未核验"}), 409)
    ok(c.call("POST", f"/api/supervision-groups/{gid}/opinions/{opinion_id}/verification", "staff",
              json={"verdict": "carried_out", "note": "复查确认已按期完工"}))
    closed = group_step(c, gid, "close", summary="监督意见均已落实到位。")
    group = ok(c.call("GET", f"/api/supervision-groups/{gid}", "auditor"))
    assert (group["status"], group["next_commands"]) == ("closed", [])
    assert group["opinions"][0]["state"] == "verified" and group["opinions"][0]["on_time"] is True

    listed_groups = listed(c, "/api/supervision-groups", "staff", closed["position"], year=2024)
    assert [g["group_id"] for g in listed_groups["items"]] == [gid]
    assert listed(c, "/api/supervision-groups", "unit", closed["position"], department="zjj")["total"] == 1
    figures = listed(c, "/api/supervision-statistics/2024", "party", closed["position"])
    assert {k: figures[k] for k in ("groups", "departments", "opinions", "handled", "handled_on_time",
                                    "verified", "closed", "overdue")} == {
        "groups": 1, "departments": 1, "opinions": 1, "handled": 1, "handled_on_time": 1, "verified": 1,
        "closed": 1, "overdue": 0}
    assert figures["verdicts"]["carried_out"] == 1
