"""The opinion-report loop as pure decisions: no broker, no database."""

from __future__ import annotations

from datetime import date

import pytest

from xieshang.kernel.domain import InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor

from services.feedback import domain
from services.feedback.domain import access, commands as c, received_report_id
from services.feedback.domain.events import (OpinionDecidedAbove, OpinionReceivedFromBelow,
                                             OpinionReportCombinedInto, OpinionReportReported)

pytestmark = pytest.mark.unit

MEMBER = Actor("m-1", "member", "经济界")
INFORMANT = Actor("i-1", "informant", "信息员")
STAFF = Actor("s-1", "staff", "office")
UNIT = Actor("u-1", "unit", "mzj")
LEADER = Actor("l-1", "leader", "市委")
TODAY = date(2024, 5, 6)
TEXT = "社区养老服务网点覆盖不足，老人就近助餐难。"


def submitted(actor: Actor = MEMBER, rid: str = "r1") -> list:
    return domain.submit_opinion_report(actor, rid, c.SubmitOpinionReport(title="关于社区助餐的建议",
                                                                          content=TEXT))


def state(events) -> domain.OpinionReport:
    return domain.fold("r1", events)


def checked(events, *checks: str) -> list:
    s = state(events)
    for check in checks:
        events = [*events, *domain.record_opinion_check(STAFF, s, c.RecordOpinionCheck("r1", check, True, "通过审核"))]
        s = state(events)
    return events


def adopted() -> list:
    events = checked(submitted(), *domain.CHECKS)
    return [*events, *domain.adopt_opinion_report(STAFF, state(events), c.AdoptOpinionReport("r1"))]


def test_members_and_informants_submit_others_cannot():
    assert state(submitted()).status == "submitted"
    assert state(submitted(INFORMANT)).submitter_role == "informant"
    with pytest.raises(NotAllowed):
        submitted(STAFF)
    with pytest.raises(InvalidCommand) as refused:
        domain.submit_opinion_report(MEMBER, "r1", c.SubmitOpinionReport("x", "短", channel="mail"))
    assert set(refused.value.fields) == {"title", "content", "channel"}


def test_adoption_needs_all_four_checks_and_names_the_pending_ones():
    events = checked(submitted(), "political", "facts")
    with pytest.raises(WrongState) as refused:
        domain.adopt_opinion_report(STAFF, state(events), c.AdoptOpinionReport("r1"))
    assert "内容关" in refused.value.message_zh and "文字关" in refused.value.message_zh
    assert "adopt_opinion_report" in refused.value.allowed
    failed = [*events, *domain.record_opinion_check(STAFF, state(events), c.RecordOpinionCheck(
        "r1", "content", False, "数据来源不清"))]
    assert state(failed).pending_checks() == ("content", "wording")
    done = adopted()
    assert state(done).status == "adopted" and done[-1].members == ["m-1"]


def test_return_and_revision_restart_the_checks():
    events = checked(submitted(), "political")
    events += domain.return_opinion_report(STAFF, state(events), c.ReturnOpinionReport("r1", "请补充数据"))
    assert state(events).status == "returned"
    with pytest.raises(NotAllowed):
        domain.revise_opinion_report(INFORMANT, state(events), c.ReviseOpinionReport("r1", "新标题", TEXT, "society"))
    events += domain.revise_opinion_report(MEMBER, state(events), c.ReviseOpinionReport("r1", "新标题", TEXT, "society"))
    s = state(events)
    assert s.status == "submitted" and s.title == "新标题" and s.pending_checks() == domain.CHECKS
    with pytest.raises(WrongState) as refused:
        domain.revise_opinion_report(MEMBER, s, c.ReviseOpinionReport("r1", "再改", TEXT, "society"))
    assert refused.value.state == "submitted"


def test_combining_takes_the_sources_submitters_and_members():
    a = domain.fold("a", domain.submit_opinion_report(MEMBER, "a", c.SubmitOpinionReport("甲甲", TEXT)))
    b = domain.fold("b", domain.submit_opinion_report(INFORMANT, "b", c.SubmitOpinionReport("乙乙", TEXT)))
    [combined] = domain.combine_opinion_reports(STAFF, "n", [a, b], c.CombineOpinionReports(("a", "b"), "综合", TEXT, "society"))
    assert combined.contributors == ["m-1", "i-1"] and combined.members == ["m-1"]
    assert domain.mark_combined(a, "n") == [OpinionReportCombinedInto(report_id="a", into="n")]
    marked = domain.fold("a", [*domain.submit_opinion_report(MEMBER, "a", c.SubmitOpinionReport("甲甲", TEXT)),
                               OpinionReportCombinedInto(report_id="a", into="n")])
    assert domain.mark_combined(marked, "n") == []
    with pytest.raises(InvalidCommand) as refused:
        domain.combine_opinion_reports(STAFF, "n", [a], c.CombineOpinionReports(("a",), "综合", TEXT, "society"))
    assert "sources" in refused.value.fields
    with pytest.raises(WrongState):
        domain.combine_opinion_reports(STAFF, "n", [a, marked], c.CombineOpinionReports(("a", "b"), "综合", TEXT, "society"))


def test_reporting_never_twice_to_the_same_target_and_only_to_linked_committees():
    events = adopted()
    cmd = c.ReportOpinion("r1", party_committee=True, upper=("640300",), leaders=("l-1",))
    events += domain.report_opinion(STAFF, state(events), cmd, linked_upper=("640300", "640000"))
    assert events[-1].upper == ["640300"] and events[-1].content == TEXT
    with pytest.raises(WrongState) as again:
        domain.report_opinion(STAFF, state(events), c.ReportOpinion("r1", upper=("640300",)),
                              linked_upper=("640300",))
    assert "不能重复报送" in again.value.message_zh
    with pytest.raises(InvalidCommand) as unlinked:
        domain.report_opinion(STAFF, state(events), c.ReportOpinion("r1", upper=("110000",)),
                              linked_upper=("640300",))
    assert "upper" in unlinked.value.fields
    with pytest.raises(WrongState):
        domain.report_opinion(STAFF, state(submitted()), cmd, linked_upper=("640300",))


def test_forwarding_feedback_on_time_and_by_the_forwarded_unit_only():
    events = adopted()
    events += domain.forward_opinion(STAFF, state(events), c.ForwardOpinion("r1", ("mzj",), "2024-06-30"), today=TODAY)
    with pytest.raises(NotAllowed):
        domain.send_opinion_feedback(Actor("u-2", "unit", "wjw"), state(events), c.SendOpinionFeedback("r1", "已办理"), today=TODAY)
    events += domain.send_opinion_feedback(UNIT, state(events), c.SendOpinionFeedback("r1", "已新增助餐点三处"),
                                           today=date(2024, 7, 1))
    assert events[-1].on_time is False and state(events).forward_to("mzj").fed_back_on == "2024-07-01"
    with pytest.raises(WrongState):
        domain.send_opinion_feedback(UNIT, state(events), c.SendOpinionFeedback("r1", "再反馈"), today=TODAY)
    with pytest.raises(InvalidCommand) as bad:
        domain.forward_opinion(STAFF, state(events), c.ForwardOpinion("r1", ("wjw",), "2024-01-01"), today=TODAY)
    assert "deadline" in bad.value.fields


def test_instructions_need_a_reporting_and_credit_the_members():
    events = adopted()
    instruction = c.RecordLeaderInstruction("r1", "请民政局牵头研究", "city", "party_committee")
    with pytest.raises(WrongState):
        domain.record_leader_instruction(LEADER, state(events), instruction)
    events += domain.report_opinion(STAFF, state(events), c.ReportOpinion("r1", party_committee=True),
                                    linked_upper=())
    [recorded] = domain.record_leader_instruction(LEADER, state(events), instruction)
    assert recorded.leader == "l-1" and recorded.members == ["m-1"]
    with pytest.raises(InvalidCommand) as unnamed:
        domain.record_leader_instruction(STAFF, state(events), instruction)
    assert "leader" in unnamed.value.fields
    with pytest.raises(NotAllowed):
        domain.record_leader_instruction(MEMBER, state(events), instruction)


def test_the_submitter_is_informed_after_a_decision():
    with pytest.raises(WrongState):
        domain.inform_submitter(STAFF, state(submitted()), c.InformSubmitter("r1", "已采用"))
    [informed] = domain.inform_submitter(STAFF, state(adopted()), c.InformSubmitter("r1", "您的信息已被采用"))
    assert informed.submitters == ["m-1"]


def test_reports_from_below_are_received_once_and_decisions_go_back():
    upper = domain.fold("x", [])
    payload = {"report_id": "r1", "title": "关于社区助餐的建议", "content": TEXT, "category": "society",
               "channel": "member", "submitter_role": "member"}
    [received] = domain.receive_from_below(upper, origin_committee="640302", origin_level="county",
                                           origin_event_id="e1", origin_position=7, origin_hash="h7",
                                           payload=payload)
    assert isinstance(received, OpinionReceivedFromBelow) and received.origin_hash == "h7"
    taken = domain.fold("x", [received])
    assert taken.from_below and domain.receive_from_below(
        taken, origin_committee="640302", origin_level="county", origin_event_id="e1",
        origin_position=7, origin_hash="h7", payload=payload) == []
    assert "return_opinion_report" not in taken.next_commands()
    with pytest.raises(InvalidCommand):
        domain.receive_from_below(upper, origin_committee="640302", origin_level="county",
                                  origin_event_id="e1", origin_position=7, origin_hash="h7",
                                  payload={**payload, "channel": "mail"})
    # the lower side records the decision only for a report it did report there
    lower = state(adopted())
    with pytest.raises(NotAllowed):
        domain.record_decision_from_above(lower, own_committee="640302", upper_committee="640300",
                                          upper_level="city",
                                          upper_report_id="x", upper_event_id="e9", upper_position=3,
                                          upper_hash="h3", decision="adopted", detail={})
    reported = domain.fold("r1", [*adopted(), OpinionReportReported(
        report_id="r1", party_committee=False, government=False, upper=["640300"], leaders=[],
        title="t", content=TEXT, category="society", channel="member", submitter_role="member")])
    with pytest.raises(NotAllowed):  # a decision on another of the upper committee's reports
        domain.record_decision_from_above(reported, own_committee="640302", upper_committee="640300",
                                          upper_level="city", upper_report_id="x", upper_event_id="e9",
                                          upper_position=3, upper_hash="h3", decision="adopted", detail={})
    copy = received_report_id("640302", "r1")
    [decided] = domain.record_decision_from_above(reported, own_committee="640302", upper_committee="640300",
                                                  upper_level="city", upper_report_id=copy, upper_event_id="e9",
                                                  upper_position=3, upper_hash="h3",
                                                  decision="instructed", detail={"text": "同意"})
    assert isinstance(decided, OpinionDecidedAbove) and decided.members == ["m-1"]
    assert domain.decision_for_below(adopted()[-1]) == ("adopted", {"note": ""})


def test_who_reads_a_report():
    s = state(adopted())
    assert access.may_read(STAFF, s) and access.may_read(MEMBER, s) and access.may_read(LEADER, s)
    assert not access.may_read(INFORMANT, s) and not access.may_read(UNIT, s)
    with pytest.raises(NotAllowed):
        access.require_reader(INFORMANT, s)
    with pytest.raises(NotFound):
        domain.require_report(domain.fold("nothing", []))


def test_a_unit_reads_the_report_and_its_own_forwarding_only():
    events = adopted()
    events += domain.report_opinion(STAFF, state(events), c.ReportOpinion("r1", party_committee=True,
                                                                          leaders=("l-1",)), linked_upper=())
    events += domain.forward_opinion(STAFF, state(events), c.ForwardOpinion("r1", ("mzj", "wjw"), "2024-06-30"),
                                     today=TODAY)
    seen = access.report_as_seen_by(UNIT, state(events))
    assert seen["forward"]["unit"] == "mzj" and seen["next_commands"] == ["send_opinion_feedback"]
    assert not {"submitter", "members", "checks", "leaders", "forwards", "instructions"} & set(seen)
    assert "submitter" in access.report_as_seen_by(STAFF, state(events))


def test_a_combination_marks_and_releases_its_sources():
    a = domain.fold("a", domain.submit_opinion_report(MEMBER, "a", c.SubmitOpinionReport("甲甲", TEXT)))
    [marked] = domain.mark_combined(a, "n")
    combined = domain.fold("a", [*domain.submit_opinion_report(MEMBER, "a", c.SubmitOpinionReport("甲甲", TEXT)), marked])
    assert combined.status == "combined" and domain.release_combined(a, "n") == []
    [released] = domain.release_combined(combined, "n")
    assert domain.fold("a", [*domain.submit_opinion_report(MEMBER, "a", c.SubmitOpinionReport("甲甲", TEXT)),
                             marked, released]).status == "submitted"
    adopted_source = state(adopted())
    with pytest.raises(WrongState):  # it changed between the check and the marking
        domain.mark_combined(adopted_source, "n")
    below = domain.fold("x", domain.receive_from_below(
        domain.fold("x", []), origin_committee="640302", origin_level="county", origin_event_id="e",
        origin_position=1, origin_hash="h", payload={"report_id": "r", "title": "标题标题", "content": TEXT,
                                                     "category": "society", "channel": "member",
                                                     "submitter_role": "member"}))
    with pytest.raises(NotAllowed):
        domain.combine_opinion_reports(STAFF, "n", [a, below], c.CombineOpinionReports(("a", "x"), "综合", TEXT, "society"))
