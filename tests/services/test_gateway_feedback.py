"""Opinion reports 社情民意 through the HTTP API, on the real RabbitMQ (issue 13, items 1-2): the
whole 征-编-报-督-复 loop, step by step, as the people who take each step (members and
informants submit; staff check, return, combine, adopt or not, report, forward and tell the
submitters; units feed back; leaders instruct), the lists each of them reads and the year's
figures, and one test per refusal: the wrong role, the wrong state, adoption with checks
pending, reporting twice to the same target, feedback from a unit the report was not forwarded
to, bad fields, an unknown report, an upper committee that is not linked.

Only HTTP: every step and every read goes through the gateway. Lists are read with
``wait_for`` set to the position of the command's answer (read your own writes)."""

from __future__ import annotations


import pytest

from services.feedback.service import FeedbackService
from services.gateway import api
from services.members.service import MembersService

from .conftest import store_of
from .test_gateway_http import Client, fuzz, ok, open_accounts, refused, start_gateway

START = "2024-03-01T09:00:00+08:00"   # the services' clock: every report is of 2024
EN = {"Accept-Language": "en-US,en;q=0.9"}
CHECKS = ("political", "facts", "content", "wording")
# this deployment (a county committee) and the one upper committee it is linked to
COMMITTEE, LEVEL = "640302", "county"
CITY = "640300"
LINKS = f"upper:{CITY}:city:吴忠市政协"

USERS = {  # role -> (user id, role, organisation)
    "staff": ("staff-01", "staff", "opinion-office"),
    "member": ("m-001", "member", "经济界"),
    "other member": ("m-002", "member", "教育界"),
    "informant": ("inf-01", "informant", "wuma"),
    "unit": ("u-mzj-01", "unit", "mzj"),
    "other unit": ("u-wjw-01", "unit", "wjw"),
    "leader": ("leader-01", "leader", "chairs-meeting"),
    "other leader": ("leader-02", "leader", "chairs-meeting"),
    "auditor": ("audit-01", "auditor", "inspection"),
}
REPORT = {"title": "关于老旧小区加装电梯的意见建议",
          "content": "群众反映老旧小区加装电梯审批环节多、费用分摊难，建议简化审批并出台分摊指导意见。",
          "category": "society"}


@pytest.fixture
def gateway(container_factory, config):
    """The members, feedback and gateway services on the test's own vhost, and one account
    (signed in) per person of USERS."""
    fixed = {**config, "XIESHANG_FIXED_TIME": START, "COMMITTEE_CODE": COMMITTEE,
             "COMMITTEE_LEVEL": LEVEL}
    members = container_factory(MembersService, fixed)
    members.start()
    feedback = container_factory(FeedbackService, {**fixed, "XIESHANG_LINKS": LINKS})
    feedback.start()
    client = start_gateway(container_factory, fixed)
    open_accounts(client, USERS)
    client.feedback, client.members = feedback, members
    return client


# -- steps ---------------------------------------------------------------------------------------


def submit(client: Client, role: str = "member", **fields) -> dict:
    return ok(client.call("POST", "/api/opinion-reports", role, json={**REPORT, **fields}), 201)


def command(client: Client, report_id: str, path: str, role: str = "staff", **body) -> dict:
    return ok(client.call("POST", f"/api/opinion-reports/{report_id}/{path}", role, json=body))


def check(client: Client, report_id: str, name: str, passed: bool = True, note: str = "经审核无问题") -> dict:
    return command(client, report_id, "checks", check=name, passed=passed, note=note)


def checked(client: Client, report_id: str) -> dict:
    for name in CHECKS:
        done = check(client, report_id, name)
    return done


def adopted(client: Client, role: str = "member", **fields) -> str:
    report_id = submit(client, role, **fields)["report_id"]
    checked(client, report_id)
    command(client, report_id, "adoption", note="内容翔实，予以采用")
    return report_id


def report(client: Client, report_id: str, role: str = "staff", **kw) -> dict:
    """The report as ``role`` may see it (folded from its stream: always current)."""
    return ok(client.call("GET", f"/api/opinion-reports/{report_id}", role, **kw))


def listed(client: Client, path: str, role: str, wait_for: int, **params) -> dict:
    return ok(client.call("GET", path, role, params={"wait_for": wait_for, **params}))


def ids(page: dict) -> list[str]:
    return [item["report_id"] for item in page["items"]]


def events_of(client: Client, report_id: str) -> list:
    return store_of(client.feedback).read_stream(f"opinion-{report_id}")


def refused_in_both(client: Client, method: str, path: str, role: str, status: int, **kw) -> tuple[dict, dict]:
    """The same refusal asked for in Chinese (the default) and in English."""
    zh = refused(client.call(method, path, role, **kw), status)
    en = client.call(method, path, role, headers=EN, **kw)
    assert en.status_code == status, en.text
    en = en.json()
    assert en["detail"] == en["detail_en"] == zh["detail_en"] and en["detail_zh"] == zh["detail_zh"]
    assert zh["detail_zh"] != zh["detail_en"]
    return zh, en


def invalid(answer, *fields: str) -> dict:
    """A 422 naming exactly ``fields``."""
    problem = refused(answer, 422)
    assert {p["name"] for p in problem["invalid_params"]} == set(fields), problem
    return problem


# -- 征: submission -------------------------------------------------------------------------------

def test_a_member_and_an_informant_submit_and_each_reads_their_own(gateway):
    by_member = submit(gateway, "member")
    assert by_member["events"] == ["OpinionReportSubmitted"] and by_member["report_id"]
    assert by_member["stream"] == f"opinion-{by_member['report_id']}"
    by_informant = submit(gateway, "informant", channel="activity", category="economy",
                          title="关于农贸市场周边交通拥堵的反映")
    seen = report(gateway, by_member["report_id"], "member")
    assert (seen["status"], seen["submitter"], seen["submitter_role"], seen["channel"]) == (
        "submitted", "m-001", "member", "member")
    assert seen["pending_checks"] == list(CHECKS) and "record_opinion_check" in seen["next_commands"]
    theirs = report(gateway, by_informant["report_id"], "informant")
    assert (theirs["submitter_role"], theirs["channel"], theirs["category"]) == (
        "informant", "activity", "economy")
    [event] = events_of(gateway, by_informant["report_id"])
    assert (event.type, event.actor.user_id, event.actor.role) == ("OpinionReportSubmitted", "inf-01", "informant")

    mine = listed(gateway, "/api/opinion-reports/mine", "member", by_informant["position"])
    assert ids(mine) == [by_member["report_id"]] and mine["total"] == 1
    assert ids(listed(gateway, "/api/opinion-reports/mine", "informant", by_informant["position"])) == [
        by_informant["report_id"]]
    # another submitter does not read it; staff, leaders and auditors read every report
    refused(gateway.call("GET", f"/api/opinion-reports/{by_member['report_id']}", "informant"), 403)
    refused(gateway.call("GET", f"/api/opinion-reports/{by_member['report_id']}", "other member"), 403)
    for role in ("staff", "leader", "auditor"):
        assert report(gateway, by_member["report_id"], role)["title"] == REPORT["title"]


def test_a_submission_sent_again_with_its_idempotency_key_is_recorded_once(gateway):
    key = {"Idempotency-Key": "opinion-submit-0001"}
    first = gateway.call("POST", "/api/opinion-reports", "member", json=REPORT, headers=key)
    again = gateway.call("POST", "/api/opinion-reports", "member", json=REPORT, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["report_id"] == first.json()["report_id"]
    mine = listed(gateway, "/api/opinion-reports/mine", "member", first.json()["position"])
    assert ids(mine) == [first.json()["report_id"]]


# -- 编: the four checks, return and revision, combining, adoption --------------------------------

def test_each_of_the_four_checks_is_recorded_with_its_note_and_may_be_recorded_again(gateway):
    report_id = submit(gateway)["report_id"]
    failed = check(gateway, report_id, "facts", passed=False, note="数据来源需要核实")
    assert failed["events"] == ["OpinionCheckRecorded"]
    desk = listed(gateway, "/api/opinion-desk", "staff", failed["position"], check_pending="facts")
    assert report_id in ids(desk)
    for name in ("political", "content", "wording"):
        check(gateway, report_id, name, note=f"{name} 通过")
    seen = report(gateway, report_id)
    assert seen["pending_checks"] == ["facts"]
    assert {c["check"]: (c["passed"], c["note"]) for c in seen["checks"]}["facts"] == (False, "数据来源需要核实")
    again = check(gateway, report_id, "facts", note="已核实统计局公开数据")
    seen = report(gateway, report_id)
    assert seen["pending_checks"] == [] and len(seen["checks"]) == 4
    assert {c["check"]: c["note"] for c in seen["checks"]}["facts"] == "已核实统计局公开数据"
    assert report_id not in ids(listed(gateway, "/api/opinion-desk", "staff", again["position"],
                                       check_pending="facts"))
    recorded = [e for e in events_of(gateway, report_id) if e.type == "OpinionCheckRecorded"]
    assert len(recorded) == 5 and all(e.actor.user_id == "staff-01" for e in recorded)


def test_staff_return_a_report_and_its_submitter_revises_it_the_checks_start_again(gateway):
    report_id = submit(gateway)["report_id"]
    check(gateway, report_id, "political")
    returned = command(gateway, report_id, "return", reason="请补充具体小区名称和群众诉求")
    assert returned["events"] == ["OpinionReportReturned"]
    seen = report(gateway, report_id, "member")
    assert (seen["status"], seen["return_reason"]) == ("returned", "请补充具体小区名称和群众诉求")
    assert seen["next_commands"] == ["revise_opinion_report"]
    event = events_of(gateway, report_id)[-1]
    assert (event.data["reason"], event.reason) == ("请补充具体小区名称和群众诉求",) * 2
    assert ids(listed(gateway, "/api/opinion-desk", "staff", returned["position"], status="returned")) == [report_id]

    revised = command(gateway, report_id, "revision", "member", title="关于五马街道老旧小区加装电梯的意见建议",
                      content=REPORT["content"] + "涉及五马东门社区12个小区。", category="society")
    assert revised["events"] == ["OpinionReportRevised"]
    seen = report(gateway, report_id)
    assert seen["status"] == "submitted" and seen["title"].startswith("关于五马街道")
    assert seen["checks"] == [] and seen["pending_checks"] == list(CHECKS)  # checked again from the start


def test_staff_combine_reports_into_a_new_one_its_sources_marked_combined(gateway):
    first = submit(gateway, "member")["report_id"]
    second = submit(gateway, "informant", title="关于加装电梯费用分摊的反映")["report_id"]
    combined = ok(gateway.call("POST", "/api/opinion-reports/combinations", "staff", json={
        "sources": [first, second], "title": "关于推进老旧小区加装电梯的综合建议",
        "content": "综合委员和信息员反映：审批环节多、费用分摊难，建议简化审批、明确分摊办法。",
        "category": "society"}), 201)
    new = combined["report_id"]
    assert combined["events"] == ["OpinionReportsCombined"] and new not in (first, second)
    seen = report(gateway, new)
    assert (seen["status"], seen["sources"], seen["contributors"]) == (
        "submitted", [first, second], ["m-001", "inf-01"])
    for source in (first, second):
        assert (report(gateway, source)["status"], report(gateway, source)["combined_into"]) == ("combined", new)
    # each contributor reads the combined report and finds it among their own
    assert report(gateway, new, "informant")["report_id"] == new
    position = events_of(gateway, second)[-1].position
    mine = listed(gateway, "/api/opinion-reports/mine", "member", position)
    assert {i["report_id"]: i["relation"] for i in mine["items"]} == {new: "contributor", first: "submitter"}
    assert {i["report_id"]: i["status"] for i in mine["items"]}[first] == "combined"
    desk = listed(gateway, "/api/opinion-desk", "staff", position, status="combined")
    assert set(ids(desk)) == {first, second}


def test_staff_adopt_a_report_that_passed_every_check_or_decide_not_to_adopt_one(gateway):
    report_id = submit(gateway)["report_id"]
    checked(gateway, report_id)
    done = command(gateway, report_id, "adoption", note="内容翔实，予以采用")
    assert done["events"] == ["OpinionReportAdopted"]
    seen = report(gateway, report_id, "member")
    assert seen["status"] == "adopted" and "report_opinion" in seen["next_commands"]
    assert events_of(gateway, report_id)[-1].data["note"] == "内容翔实，予以采用"
    without_note = submit(gateway)["report_id"]   # the note is optional
    checked(gateway, without_note)
    command(gateway, without_note, "adoption")

    other = submit(gateway, "informant")["report_id"]
    not_adopted = command(gateway, other, "non-adoption", reason="反映的问题已在解决中")
    assert not_adopted["events"] == ["OpinionReportNotAdopted"]
    seen = report(gateway, other, "informant")
    assert (seen["status"], seen["not_adopted_reason"]) == ("not_adopted", "反映的问题已在解决中")
    assert seen["next_commands"] == ["inform_submitter"]
    desk = listed(gateway, "/api/opinion-desk", "auditor", not_adopted["position"], status="adopted")
    assert set(ids(desk)) == {report_id, without_note}


# -- 报、督、复 ------------------------------------------------------------------------------------

def test_the_loop_report_with_a_leader_forward_feedback_instruction_and_notice(gateway):
    report_id = adopted(gateway)
    reported = command(gateway, report_id, "reporting", party_committee=True, government=True,
                       leaders=["leader-01"])
    assert reported["events"] == ["OpinionReportReported"]
    event = events_of(gateway, report_id)[-1]
    assert (event.data["party_committee"], event.data["government"], event.data["upper"],
            event.data["leaders"]) == (True, True, [], ["leader-01"])
    # the leader finds it among the reports to instruct; another leader does not
    before = listed(gateway, "/api/leaders/leader-01/opinion-reports", "leader", reported["position"])
    assert ids(before) == [report_id] and before["items"][0]["instructed"] is False
    assert ids(listed(gateway, "/api/leaders/leader-02/opinion-reports", "staff", reported["position"])) == []

    instructed = command(gateway, report_id, "instructions", "leader", text="请住建局牵头研究，简化审批流程。",
                         leader_level="county", office="party_committee")
    assert instructed["events"] == ["LeaderInstructionRecorded"]
    assert ids(listed(gateway, "/api/leaders/leader-01/opinion-reports", "leader",
                      instructed["position"])) == []
    done = listed(gateway, "/api/leaders/leader-01/opinion-reports", "leader", instructed["position"],
                  pending_only="false")
    assert ids(done) == [report_id]
    # staff enter a paper instruction, naming the leader who gave it
    paper = command(gateway, report_id, "instructions", text="同意，请抓好落实。", leader_level="city",
                    office="government", leader="leader-02")
    assert paper["events"] == ["LeaderInstructionRecorded"]
    assert events_of(gateway, report_id)[-1].data["leader"] == "leader-02"

    forwarded = command(gateway, report_id, "forwarding", units=["mzj"], deadline="2024-03-31")
    assert forwarded["events"] == ["OpinionReportForwarded"]
    inbox = listed(gateway, "/api/units/mzj/opinion-reports", "unit", forwarded["position"])
    assert ids(inbox) == [report_id]
    item = inbox["items"][0]
    assert (item["deadline"], item["forwarded_on"], item["due_in_days"], item["overdue"], item["fed_back"]) == (
        "2024-03-31", "2024-03-01", 30, False, False)
    as_unit = report(gateway, report_id, "unit")   # the report and its own forwarding only
    assert as_unit["forward"] == {"unit": "mzj", "deadline": "2024-03-31", "fed_back_on": None,
                                  "on_time": None}
    assert as_unit["next_commands"] == ["send_opinion_feedback"]
    assert not {"submitter", "members", "checks", "forwards", "leaders"} & set(as_unit)

    fed_back = command(gateway, report_id, "feedback", "unit", text="已会同相关部门制定加装电梯审批简化方案。")
    assert fed_back["events"] == ["OpinionFeedbackReceived"]
    assert events_of(gateway, report_id)[-1].data["on_time"] is True
    assert ids(listed(gateway, "/api/units/mzj/opinion-reports", "unit", fed_back["position"])) == []
    all_of_them = listed(gateway, "/api/units/mzj/opinion-reports", "staff", fed_back["position"],
                         open_only="false")
    assert ids(all_of_them) == [report_id]

    told = command(gateway, report_id, "notice", text="您报送的信息已被采用，县委领导作出批示，住建局已反馈。")
    assert told["events"] == ["SubmitterInformed"]
    assert events_of(gateway, report_id)[-1].data["submitters"] == ["m-001"]
    seen = report(gateway, report_id, "member")
    assert (seen["party_committee"], seen["government"], seen["leaders"], seen["informed"]) == (
        True, True, ["leader-01"], 1)
    assert [(i["leader"], i["leader_level"], i["office"]) for i in seen["instructions"]] == [
        ("leader-01", "county", "party_committee"), ("leader-02", "city", "government")]
    assert seen["forwards"][0]["fed_back_on"] == "2024-03-01"


def test_reporting_to_a_linked_upper_committee(gateway):
    report_id = adopted(gateway)
    reported = command(gateway, report_id, "reporting", upper=[CITY])
    assert reported["events"] == ["OpinionReportReported"]
    seen = report(gateway, report_id)
    assert (seen["upper"], seen["party_committee"], seen["government"]) == ([CITY], False, False)
    row = next(i for i in listed(gateway, "/api/opinion-desk", "staff", reported["position"],
                                 status="adopted")["items"] if i["report_id"] == report_id)
    assert row["reported_upper"] == [CITY]


def test_the_desk_filters_and_pages(gateway):
    adopted_id = adopted(gateway, "informant", channel="meeting")
    pending = submit(gateway, channel="activity", category="economy", title="关于夜间经济街区建设的建议")
    position = pending["position"]
    every = listed(gateway, "/api/opinion-desk", "leader", position)
    assert ids(every) == [pending["report_id"], adopted_id] and every["total"] == 2  # latest first
    row = every["items"][0]
    assert (row["status"], row["channel"], row["category"], row["submitter"], row["year"]) == (
        "submitted", "activity", "economy", "m-001", 2024)
    assert (row["pending_checks"], row["failed_checks"]) == (list(CHECKS), [])
    assert ids(listed(gateway, "/api/opinion-desk", "staff", position, status="adopted")) == [adopted_id]
    assert ids(listed(gateway, "/api/opinion-desk", "staff", position, channel="activity")) == [pending["report_id"]]
    assert ids(listed(gateway, "/api/opinion-desk", "staff", position, check_pending="wording")) == [
        pending["report_id"]]
    assert ids(listed(gateway, "/api/opinion-desk", "staff", position, from_below="true")) == []
    assert set(ids(listed(gateway, "/api/opinion-desk", "staff", position, from_below="false"))) == {
        adopted_id, pending["report_id"]}
    assert len(ids(listed(gateway, "/api/opinion-desk", "staff", position, year=2024))) == 2
    assert ids(listed(gateway, "/api/opinion-desk", "staff", position, year=2023)) == []
    assert ids(listed(gateway, "/api/opinion-desk", "staff", position, q="夜间经济")) == [pending["report_id"]]
    first = listed(gateway, "/api/opinion-desk", "staff", position, limit=1)
    assert first["total"] == 2 and first["next_cursor"]
    second = listed(gateway, "/api/opinion-desk", "staff", position, limit=1, cursor=first["next_cursor"])
    assert set(ids(first) + ids(second)) == {adopted_id, pending["report_id"]} and second["next_cursor"] is None
    assert ids(listed(gateway, "/api/opinion-inbox", "staff", position)) == []  # nothing from below here


def test_the_years_statistics_are_the_figures_counted_by_hand(gateway):
    first = adopted(gateway)                     # a member's: reported, instructed, forwarded, fed back
    command(gateway, first, "reporting", party_committee=True, upper=[CITY], leaders=["leader-01"])
    command(gateway, first, "instructions", "leader", text="请抓好落实。", leader_level="county",
            office="party_committee")
    command(gateway, first, "forwarding", units=["mzj", "wjw"], deadline="2024-03-31")
    command(gateway, first, "feedback", "unit", text="已按期办理并书面反馈。")
    second = submit(gateway, "informant", channel="activity")["report_id"]   # not adopted, told so
    command(gateway, second, "non-adoption", reason="与已采用信息重复")
    command(gateway, second, "notice", text="您报送的信息与已采用信息重复，未予采用。")
    sources = [submit(gateway, "member", channel="meeting")["report_id"],
               submit(gateway, "informant", channel="meeting")["report_id"]]
    combined = ok(gateway.call("POST", "/api/opinion-reports/combinations", "staff", json={
        **REPORT, "sources": sources}), 201)["report_id"]
    checked(gateway, combined)
    last = command(gateway, combined, "adoption")
    figures = ok(gateway.call("GET", "/api/opinion-statistics/2024", "leader",
                              params={"wait_for": last["position"]}))
    assert figures["year"] == 2024
    assert (figures["reports"], figures["collected"]) == (5, 4)    # four submitted, one combined
    assert figures["by_channel"] == {"leader": 0, "committee": 0, "member": 1, "activity": 1,
                                     "proposal": 0, "meeting": 2}
    assert figures["by_submitter_kind"] == {"member": 2, "informant": 2}
    assert figures["combined"] == {"reports": 1, "sources": 2}
    assert (figures["adopted"], figures["not_adopted"]) == (2, 1)
    assert figures["reported"] == {"reports": 1, "party_committee": 1, "government": 0, "upper": {CITY: 1}}
    assert figures["forwarded"] == {"reports": 1, "assignments": 2}
    assert figures["fed_back"] == {"reports": 1, "assignments": 1}
    assert figures["on_time"] == {"assignments": 1, "rate": 1.0}
    assert (figures["instructed"], figures["instructions"]) == (1, 1)
    assert figures["instructed_by_office"] == {"party_committee": 1, "government": 0, "committee": 0}
    assert figures["informed"] == 1 and figures["received_from_below"] == {"total": 0, "by_committee": {}}
    assert figures["summary"] == ("收集社情民意信息 4 篇，采用 2 篇，向党委报送 1 篇、向吴忠市政协报送 1 篇，"
                                  "转交 1 篇，获领导批示 1 篇。")
    for role in ("staff", "auditor"):
        assert ok(gateway.call("GET", "/api/opinion-statistics/2024", role))["collected"] == 4
    empty = ok(gateway.call("GET", "/api/opinion-statistics/2023", "auditor"))
    assert (empty["collected"], empty["adopted"]) == (0, 0)


def test_the_levels_are_read_by_anyone_signed_in(gateway):
    for role in ("member", "informant", "staff", "unit", "leader", "auditor"):
        assert ok(gateway.call("GET", "/api/levels", role)) == {
            "committee": COMMITTEE, "level": LEVEL, "lower": [],
            "upper": [{"direction": "upper", "committee": CITY, "level": "city", "name": "吴忠市政协"}]}
    refused(gateway.call("GET", "/api/levels"), 401)


# -- refusals -------------------------------------------------------------------------------------

def test_the_wrong_role_is_refused_naming_the_right_one(gateway):
    report_id = submit(gateway)["report_id"]
    zh, en = refused_in_both(gateway, "POST", f"/api/opinion-reports/{report_id}/checks", "member", 403,
                             json={"check": "facts", "passed": True, "note": "自己审核"})
    assert zh["missing"] == "one of the roles staff" and "工作人员" in zh["detail_zh"]
    assert en["detail"] == "A member may not record a check of an opinion report: only staff may."
    for role, method, path, body in (
            ("staff", "POST", "/api/opinion-reports", REPORT),
            ("unit", "POST", f"/api/opinion-reports/{report_id}/adoption", {}),
            ("leader", "POST", f"/api/opinion-reports/{report_id}/notice", {"text": "通报"}),
            ("informant", "GET", "/api/opinion-desk", None),
            ("member", "GET", "/api/opinion-statistics/2024", None),
            ("unit", "GET", "/api/leaders/leader-01/opinion-reports", None)):
        problem = refused(gateway.call(method, path, role, json=body), 403)
        assert problem["missing"].startswith("one of the roles"), (role, path)
    # the service's own checks: another unit's list, another leader's list, another's revision
    command(gateway, report_id, "return", reason="请补充具体情况")
    for role, method, path, body in (
            ("other unit", "GET", "/api/units/mzj/opinion-reports", None),
            ("other leader", "GET", "/api/leaders/leader-01/opinion-reports", None),
            ("other member", "POST", f"/api/opinion-reports/{report_id}/revision", REPORT)):
        problem = refused(gateway.call(method, path, role, json=body), 403)
        assert problem["code"] == "not_allowed" and problem["detail_en"] != problem["detail_zh"], problem


def test_the_wrong_state_is_refused_naming_the_state_and_the_allowed_commands(gateway):
    report_id = submit(gateway)["report_id"]
    command(gateway, report_id, "non-adoption", reason="反映的问题已在解决中")
    zh, en = refused_in_both(gateway, "POST", f"/api/opinion-reports/{report_id}/adoption", "staff", 409, json={})
    assert (zh["state"], zh["allowed"], zh["code"]) == ("not_adopted", ["inform_submitter"], "wrong_state")
    assert "未采用" in zh["detail_zh"] and "采用社情民意信息" in zh["detail_zh"]
    assert "not adopted" in en["detail"] and "tell the submitters" in en["detail"]
    revise = refused(gateway.call("POST", f"/api/opinion-reports/{report_id}/revision", "member", json=REPORT), 409)
    assert revise["state"] == "not_adopted"
    submitted = submit(gateway)["report_id"]
    forward = refused(gateway.call("POST", f"/api/opinion-reports/{submitted}/forwarding", "staff",
                                   json={"units": ["mzj"], "deadline": "2024-03-31"}), 409)
    assert forward["state"] == "submitted" and "adopt_opinion_report" in forward["allowed"]
    assert "待编辑" in forward["detail_zh"]
    # an instruction before the report was put before anyone
    early = adopted(gateway)
    before = refused(gateway.call("POST", f"/api/opinion-reports/{early}/instructions", "leader",
                                  json={"text": "请研究", "leader_level": "county", "office": "party_committee"}), 409)
    assert before["state"] == "adopted" and "record_leader_instruction" not in before["allowed"]


def test_adoption_with_checks_pending_is_refused_naming_them(gateway):
    report_id = submit(gateway)["report_id"]
    check(gateway, report_id, "political")
    check(gateway, report_id, "facts", passed=False, note="数据需要核实")
    zh, en = refused_in_both(gateway, "POST", f"/api/opinion-reports/{report_id}/adoption", "staff", 409,
                             json={"note": "予以采用"})
    assert zh["state"] == "submitted" and "adopt_opinion_report" in zh["allowed"]
    assert "事实关" in zh["detail_zh"] and "内容关" in zh["detail_zh"] and "文字关" in zh["detail_zh"]
    assert "政治关" not in zh["detail_zh"]
    assert "facts check" in en["detail"] and "wording check" in en["detail"]
    assert report(gateway, report_id)["status"] == "submitted"


def test_reporting_twice_to_the_same_target_is_refused(gateway):
    report_id = adopted(gateway)
    command(gateway, report_id, "reporting", party_committee=True, upper=[CITY])
    for body, zh_word, en_word in (({"party_committee": True}, "党委", "party committee"),
                                   ({"upper": [CITY]}, CITY, CITY)):
        zh, en = refused_in_both(gateway, "POST", f"/api/opinion-reports/{report_id}/reporting", "staff",
                                 409, json=body)
        assert zh["state"] == "adopted" and "已报送过" in zh["detail_zh"] and zh_word in zh["detail_zh"]
        assert "already reported to" in en["detail"] and en_word in en["detail"]
    # another target is no repetition
    assert command(gateway, report_id, "reporting", government=True)["events"] == ["OpinionReportReported"]
    reported = [e for e in events_of(gateway, report_id) if e.type == "OpinionReportReported"]
    assert len(reported) == 2


def test_feedback_by_a_unit_the_report_was_not_forwarded_to_is_refused(gateway):
    report_id = adopted(gateway)
    command(gateway, report_id, "forwarding", units=["mzj"], deadline="2024-03-31")
    zh, en = refused_in_both(gateway, "POST", f"/api/opinion-reports/{report_id}/feedback", "other unit", 403,
                             json={"text": "我单位已办理。"})
    assert zh["code"] == "not_allowed" and "mzj" in zh["detail_zh"] and "mzj" in en["detail"]
    # nor does that unit read the report; the unit it was forwarded to does, and feeds back once
    refused(gateway.call("GET", f"/api/opinion-reports/{report_id}", "other unit"), 403)
    command(gateway, report_id, "feedback", "unit", text="已办理并书面反馈。")
    twice = refused(gateway.call("POST", f"/api/opinion-reports/{report_id}/feedback", "unit",
                                 json={"text": "再次反馈。"}), 409)
    assert twice["state"] == "adopted"
    assert [e.type for e in events_of(gateway, report_id)].count("OpinionFeedbackReceived") == 1


def test_bad_fields_are_refused_naming_each_field(gateway):
    report_id = adopted(gateway)
    path = f"/api/opinion-reports/{report_id}"
    # the gateway's validation: the request models
    invalid(gateway.call("POST", "/api/opinion-reports", "member",
                         json={**REPORT, "content": "太短", "channel": "wechat"}), "content", "channel")
    invalid(gateway.call("POST", "/api/opinion-reports", "member", json={"title": REPORT["title"]}), "content")
    invalid(gateway.call("POST", f"{path}/checks", "staff",
                         json={"check": "grammar", "passed": "perhaps", "note": ""}), "check", "passed", "note")
    invalid(gateway.call("POST", f"{path}/return", "staff", json={}), "reason")
    invalid(gateway.call("POST", "/api/opinion-reports/combinations", "staff",
                         json={**REPORT, "sources": [report_id]}), "sources")
    invalid(gateway.call("POST", f"{path}/reporting", "staff", json={"upper": ["吴忠 市"], "leaders": ["a b"]}),
            "upper.0", "leaders.0")
    invalid(gateway.call("POST", f"{path}/forwarding", "staff", json={"units": [], "deadline": "下个月"}),
            "units", "deadline")
    invalid(gateway.call("POST", f"{path}/instructions", "leader",
                         json={"text": "请研究", "leader_level": "township"}), "leader_level", "office")
    invalid(gateway.call("POST", f"{path}/notice", "staff", json={"text": "x", "extra": 1}), "text", "extra")
    invalid(gateway.call("GET", "/api/opinion-desk", "staff", params={"status": "filed", "year": "1999"}),
            "status", "year")
    # the service's own checks, through the same problem shape
    past = invalid(gateway.call("POST", f"{path}/forwarding", "staff",
                                json={"units": ["mzj"], "deadline": "2024-02-01"}), "deadline")
    assert past["code"] == "invalid_command" and "2024-03-01" in past["invalid_params"][0]["reason"]
    invalid(gateway.call("POST", f"{path}/reporting", "staff", json={}), "party_committee")
    command(gateway, report_id, "reporting", government=True)
    invalid(gateway.call("POST", f"{path}/instructions", "staff",
                         json={"text": "请研究", "leader_level": "county", "office": "government"}), "leader")
    invalid(gateway.call("GET", "/api/opinion-statistics/1999", "staff"), "year")
    assert [e.type for e in events_of(gateway, report_id)].count("OpinionReportForwarded") == 0


def test_an_unknown_report_is_not_found(gateway):
    for method, path, body in (("GET", "/api/opinion-reports/no-such-report", None),
                               ("POST", "/api/opinion-reports/no-such-report/adoption", {}),
                               ("POST", "/api/opinion-reports/no-such-report/checks",
                                {"check": "facts", "passed": True, "note": "通过"})):
        zh, en = refused_in_both(gateway, method, path, "staff", 404, json=body)
        assert zh["code"] == "not_found" and "no-such-report" in en["detail"]
    known = submit(gateway)["report_id"]
    refused(gateway.call("POST", "/api/opinion-reports/combinations", "staff",
                         json={**REPORT, "sources": [known, "no-such-report"]}), 404)
    assert report(gateway, known)["status"] == "submitted"  # nothing was combined


def test_reporting_to_an_upper_committee_that_is_not_linked_is_refused_naming_upper(gateway):
    report_id = adopted(gateway)
    problem = invalid(gateway.call("POST", f"/api/opinion-reports/{report_id}/reporting", "staff",
                                   json={"party_committee": True, "upper": ["640000"]}), "upper")
    reason = problem["invalid_params"][0]["reason"]
    assert "640000" in reason and CITY in reason and "上级政协" in reason
    assert [e.type for e in events_of(gateway, report_id)].count("OpinionReportReported") == 0
    assert report(gateway, report_id)["party_committee"] is False  # nothing of it was recorded


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_on_the_opinion_routes(gateway):
    """Generated requests against the opinion report routes (and the levels), with a forwarded
    report in the store, as the two kinds of caller test_gateway_http's run over every route
    leaves out (informants, leaders): no 5xx, and every answer as the OpenAPI document says."""
    report_id = adopted(gateway)
    command(gateway, report_id, "forwarding", units=["mzj"], deadline="2024-03-31")
    operations = [r for r in api.ROUTES if r.tag in ("opinion-reports", "levels")]
    for role in ("informant", "leader"):
        fuzz(gateway, role, len(operations), "--include-tag", "opinion-reports", "--include-tag", "levels")
