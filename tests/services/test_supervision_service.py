"""A democratic supervision group's round 民主监督组 through the feedback service on the real
RabbitMQ: the group's leader, members and department come from the members service (the
feedback service's directory follows it over the bus), then fact finding, opinions, the
department's handling reports (only that unit may), verification and closing; a late report is
reminded and escalated once each by the deadline timer, run by two instances at once with a
fixed clock moved forward."""

from __future__ import annotations

from datetime import datetime

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook

from services.feedback.domain.supervision import LAG
from services.feedback.service import FeedbackService
from services.members.service import MembersService
from xieshang.kernel.clock import ClockProvider, FixedClock
from xieshang.kernel.envelope import Actor

from .conftest import store_of, wait_until

START = "2024-03-01T09:00:00+08:00"
STAFF = Actor("s-sv-1", "staff", "office")
LEADER = Actor("l-sv-1", "leader", "party-committee")
MZJ = Actor("u-mzj-sv", "unit", "mzj")
JTJ = Actor("u-jtj-sv", "unit", "jtj")
GROUP_LEADER = Actor("m-sv-lead", "member", "经济界")
M1 = Actor("m-sv-1", "member", "经济界")
OUTSIDER = Actor("m-sv-9", "member", "经济界")
GROUP = dict(name="2024年市民政局民主监督组", year=2024, leader="m-sv-lead", members=["m-sv-1", "m-sv-2"],
             department="mzj", topic="养老服务设施建设", basis="《养老服务条例》和年度民生实事项目")


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
    staff = rpc_as(STAFF)
    staff.members.register_organisation("szs", "committee", "石嘴山市政协", level="city")
    staff.members.register_organisation("s-jjj", "sector", "经济界", parent="szs")
    staff.members.register_organisation("mzj", "handling_unit", "市民政局", parent="szs")
    staff.members.register_organisation("jtj", "handling_unit", "市交通局", parent="szs")
    for member_id, name in (("m-sv-lead", "王组长"), ("m-sv-1", "李委员"), ("m-sv-2", "张委员"),
                            ("m-sv-9", "赵委员")):
        staff.members.appoint_member(member_id, name, "经济界", "第十届")
    wanted = ["m-sv-lead", "m-sv-1", "m-sv-2", "m-sv-9", "mzj", "jtj"]
    wait_until(lambda: all(e["kind"] for e in staff.feedback.directory(wanted).values()), timeout=30,
               what="the feedback directory to follow the members service")
    return first, second, members


def test_a_whole_round_and_a_late_report_escalated_once(stack, rpc_as):
    first, second, _ = stack
    staff, mzj, jtj = rpc_as(STAFF).feedback, rpc_as(MZJ).feedback, rpc_as(JTJ).feedback

    # -- forming: only staff; every id the directory does not know is named -------------------
    err = refusal(rpc_as(M1).feedback.form_supervision_group, **GROUP)
    assert err.exc_type == "NotAllowed"
    err = refusal(staff.form_supervision_group, **{**GROUP, "members": ["m-sv-1", "m-nobody"],
                                                   "department": "m-sv-2", "leader": "m-sv-1"})
    assert err.exc_type == "InvalidCommand"
    assert set(err.details["fields"]) == {"members", "department"}       # the leader among the members
    err = refusal(staff.form_supervision_group, **{**GROUP, "members": ["m-sv-1", "m-nobody"],
                                                   "department": "zjj"})
    assert set(err.details["fields"]) == {"members[1]", "department"}
    assert LAG in err.details["fields"]["members[1]"]
    formed = staff.form_supervision_group(**GROUP)
    gid = formed["group_id"]
    assert formed["recorded"] and formed["events"] == ["SupervisionGroupFormed"]
    assert formed["stream"] == f"supervision-{gid}"

    # -- fact finding by the group's members ------------------------------------------------
    err = refusal(staff.record_fact_finding, gid, "site_visit", "2024-02-28", ["m-sv-1", "m-sv-9"], "走访养老站点。")
    assert set(err.details["fields"]) == {"members[1]"}
    found = staff.record_fact_finding(gid, "site_visit", "2024-02-28", ["m-sv-lead", "m-sv-1"],
                                      "走访五个养老站点，约谈了站点负责人。")
    assert found["activity_id"] and found["events"] == ["SupervisionFactFindingRecorded"]

    # -- opinions to the department, with deadlines ----------------------------------------
    err = refusal(staff.issue_supervision_opinion, gid, "加快建设社区养老服务站点。", "2024-03-01")
    assert set(err.details["fields"]) == {"deadline"}
    o1 = staff.issue_supervision_opinion(gid, "加快建设社区养老服务站点。", "2024-03-20")["opinion_id"]
    o2 = staff.issue_supervision_opinion(gid, "完善养老服务补贴发放。", "2024-03-10")["opinion_id"]

    # -- only the department reports, once ---------------------------------------------------
    err = refusal(jtj.report_supervision_handling, gid, o1, "已办理。")
    assert err.exc_type == "NotAllowed" and "mzj" in str(err.details)
    assert refusal(staff.report_supervision_handling, gid, o1, "已办理。").exc_type == "NotAllowed"
    assert refusal(staff.verify_supervision_effect, gid, o1, "carried_out", "核验。").exc_type == "WrongState"
    reported = mzj.report_supervision_handling(gid, o1, "已新建站点三处。")
    assert reported["events"] == ["SupervisionHandlingReported"] and reported["opinion_id"] == o1
    err = refusal(mzj.report_supervision_handling, gid, o1, "再次报告。")
    assert err.exc_type == "WrongState"
    assert refusal(mzj.report_supervision_handling, gid, "no-such-opinion", "已办理。").exc_type == "NotFound"

    # -- who reads the group -------------------------------------------------------------------
    whole = staff.get_supervision_group(gid)
    assert [o["state"] for o in whole["opinions"]] == ["handled", "issued"]
    assert whole["next_commands"] == ["record_fact_finding", "issue_supervision_opinion",
                                      "report_supervision_handling", "verify_supervision_effect"]
    assert rpc_as(GROUP_LEADER).feedback.get_supervision_group(gid)["activities"] == whole["activities"]
    assert rpc_as(LEADER).feedback.get_supervision_group(gid)["members"] == ["m-sv-1", "m-sv-2"]
    seen = mzj.get_supervision_group(gid)
    assert "activities" not in seen and "members" not in seen and "约谈" not in str(seen)
    assert seen["opinions"][0]["report"] == "已新建站点三处。" and seen["topic"] == GROUP["topic"]
    for outsider in (rpc_as(OUTSIDER).feedback, jtj):
        assert refusal(outsider.get_supervision_group, gid).exc_type == "NotAllowed"
    assert refusal(staff.get_supervision_group, "no-such-group").exc_type == "NotFound"

    verified = staff.verify_supervision_effect(gid, o1, "carried_out", "实地核验，站点已运营。")
    assert verified["events"] == ["SupervisionEffectVerified"]
    err = refusal(staff.close_supervision_group, gid, "监督工作总结。")
    assert err.exc_type == "WrongState" and o2 in str(err.details)

    # -- the deadline timer on both instances: o2 reminded, then overdue, once each ---------
    def set_clocks(at: str) -> None:
        for container in (first, second):
            clock_of(container).set(datetime.fromisoformat(at))

    def tick() -> list[dict]:
        def check(container):
            with entrypoint_hook(container, "check_supervision_deadlines") as hook:
                return hook()
        return list(eventlet.GreenPool().imap(check, (first, second)))

    def recorded(type_: str) -> list:
        return [e for e in store_of(first).read_stream(f"supervision-{gid}") if e.type == type_]

    assert tick() == [{"reminded": 0, "overdue": 0}] * 2
    set_clocks("2024-03-07T09:00:00+08:00")                         # 3 days before o2's deadline
    assert sorted(n["reminded"] for n in tick()) == [0, 1]
    tick()
    set_clocks("2024-03-10T23:59:00+08:00")                         # the deadline's last minute
    tick()
    assert recorded("SupervisionHandlingOverdue") == []
    set_clocks("2024-03-11T00:01:00+08:00")
    assert sorted(n["overdue"] for n in tick()) == [0, 1]
    for container in (first, second):
        clock_of(container).advance(days=3)
    assert tick() == [{"reminded": 0, "overdue": 0}] * 2

    [due] = recorded("SupervisionHandlingDueSoon")
    [overdue] = recorded("SupervisionHandlingOverdue")
    assert (due.data["opinion_id"], due.data["days_before"], due.data["deadline"]) == (o2, 3, "2024-03-10")
    assert (overdue.data["opinion_id"], overdue.data["days_overdue"]) == (o2, 1)
    assert overdue.data["escalate_to"] == ["m-sv-lead"] and overdue.data["department"] == "mzj"
    assert {due.actor.role, overdue.actor.role} == {"system"}

    # -- the department's list, the late report, verification, closing ----------------------
    listed = mzj.department_supervision_opinions("mzj", after_position=verified["position"])
    assert [(o["opinion_id"], o["overdue"], o["due_in_days"]) for o in listed["items"]] == [(o2, True, -4)]
    assert refusal(jtj.department_supervision_opinions, "mzj").exc_type == "NotAllowed"
    late = mzj.report_supervision_handling(gid, o2, "补贴已全部发放到位。")
    staff.verify_supervision_effect(gid, o2, "partly_carried_out", "部分补贴发放滞后。")
    assert rpc_as(GROUP_LEADER).feedback.get_supervision_group(gid)["opinions"][1]["on_time"] is False
    closed = staff.close_supervision_group(gid, "监督工作总结：两条意见均已核验。")
    assert closed["events"] == ["SupervisionGroupClosed"]
    assert staff.get_supervision_group(gid)["next_commands"] == []
    assert refusal(staff.issue_supervision_opinion, gid, "再提意见。", "2024-04-30").exc_type == "WrongState"

    after = closed["position"]
    assert mzj.department_supervision_opinions("mzj", after_position=after)["items"] == []
    [row] = staff.supervision_groups(year=2024, after_position=after)["items"]
    assert (row["group_id"], row["status"], row["opinions"], row["verified"], row["next_step"]) == (
        gid, "closed", 2, 2, None)
    assert mzj.supervision_groups(department="mzj", after_position=after)["total"] == 1
    [own] = mzj.supervision_groups(after_position=after)["items"]           # its own by default
    assert not {"leader", "members", "fact_findings"} & set(own) and "leader" in row
    assert jtj.supervision_groups(after_position=after)["total"] == 0
    assert refusal(jtj.supervision_groups, department="mzj").exc_type == "NotAllowed"
    assert refusal(rpc_as(M1).feedback.supervision_groups).exc_type == "NotAllowed"
    assert refusal(staff.supervision_groups, status="open").exc_type == "InvalidCommand"
    assert staff.supervision_statistics(2024, after_position=after) == {
        "year": 2024, "groups": 1, "departments": 1, "opinions": 2, "handled": 2,
        "handled_on_time": 1, "verified": 2,
        "verdicts": {"carried_out": 1, "partly_carried_out": 1, "not_carried_out": 0},
        "closed": 1, "overdue": 1}
    assert late["position"] < after
    assert refusal(rpc_as(M1).feedback.supervision_statistics, 2024).exc_type == "NotAllowed"
