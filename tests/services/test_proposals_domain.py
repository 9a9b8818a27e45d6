"""The proposals domain, pure: every transition of 提、立、交、办、督、评 and every refusal.

No broker, no database: decisions are called on folded state and their events applied.
"""

from __future__ import annotations

from datetime import date

import pytest

from services.proposals import domain as d
from services.proposals.domain import commands as C
from services.proposals.calendar import DeadlineRules, HolidayCalendar, china_2024_calendar
from xieshang.kernel.domain import InvalidCommand, NotAllowed, NotFound, NotYet, WrongState
from xieshang.kernel.envelope import Actor

MEMBER = Actor("m-001", "member", "经济界")
CO1 = Actor("m-002", "member", "教育界")
CO2 = Actor("m-003", "member", "科技界")
STRANGER = Actor("m-999", "member", "农业界")
STAFF = Actor("staff-001", "staff", "proposal-committee")
LEAD = Actor("u-mzj-1", "unit", "mzj")
CO_UNIT = Actor("u-zjj-1", "unit", "zjj")
OTHER_UNIT = Actor("u-wjw-1", "unit", "wjw")
LEADER = Actor("leader-01", "leader", "municipal-government")
OTHER_LEADER = Actor("leader-02", "leader", "municipal-government")
CITIZEN = Actor("pub-7788", "public", "public")

# The directory as the members service made it known (names for publication).
DIRECTORY = {m: d.DirectoryEntry(m, "member", name, True)
             for m, name in (("m-001", "王建国"), ("m-002", "李梅"), ("m-003", "张强"))}

CAL = china_2024_calendar()
DAY = date(2024, 3, 1)  # a Friday
T = d.Timing(today=DAY, calendar=CAL)

SUBMISSION = dict(title="关于住宅小区新能源汽车充电设施建设的提案",
                  reasons="老旧小区充电桩少，私拉电线隐患大。", suggestions="统筹规划，分步建设公共充电设施。",
                  category="society", session="2024")


def do(decision, actor, state, **fields):
    """Call ``decision`` as the service does: with its command, built from ``fields`` as given (not
    parsed, so that what is tested is the domain's own checks), and the inputs that are not the
    caller's (``today``, ``timing``, the ``case_number`` taken, the merge's ``survivor``)."""
    extras = {k: fields.pop(k) for k in ("today", "timing", "case_number", "survivor", "directory")
              if k in fields}
    command = getattr(C, "".join(w.title() for w in decision.__name__.split("_")))
    if "proposal_id" in command.__dataclass_fields__:
        fields.setdefault("proposal_id", state.proposal_id)
    if "survivor" in extras:
        fields.setdefault("into", extras["survivor"].proposal_id)
    return decision(actor, state, command(**fields), **extras)


def submit(actor, on_behalf_of, proposal_id, *, today, **fields):
    return d.submit_proposal(actor, on_behalf_of, proposal_id, C.SubmitProposal(**fields), today=today)


def at(day: date, rules: DeadlineRules | None = None) -> d.Timing:
    return d.Timing(today=day, rules=rules or DeadlineRules(), calendar=CAL)


def advance(state: d.Proposal, events) -> d.Proposal:
    for e in events:
        state = d.apply(state, e)
    return state


def submitted(pid: str = "p1", **kw) -> d.Proposal:
    return d.fold(pid, submit(MEMBER, None, pid, **{**SUBMISSION, **kw}, today=DAY))


def filed(pid: str = "p1", **kw) -> d.Proposal:
    s = submitted(pid, **kw)
    return advance(s, do(d.file_proposal, STAFF, s, case_number="2024-001", today=DAY))


def assigned(pid: str = "p1", timing: d.Timing = T, **kw) -> d.Proposal:
    s = filed(pid, **kw)
    return advance(s, do(d.assign_proposal, STAFF, s, lead_unit="mzj", co_units=["zjj"], timing=timing))


def replied(reply_class: str = "A", pid: str = "p1", **kw) -> d.Proposal:
    s = assigned(pid, **kw)
    return advance(s, do(d.reply_to_proposal, LEAD, s, reply_class=reply_class, reply="已建成充电桩120个。",
                                          today=date(2024, 5, 20)))


# -- 提: submission -----------------------------------------------------------------------------

def test_an_individual_proposal_is_submitted_with_its_session():
    s = submitted()
    assert (s.status, s.kind, s.proposer, s.session, s.proposers) == (
        "submitted", "individual", "m-001", "2024", ("m-001",))
    assert "file_proposal" in s.next_commands() and "rate_reply" not in s.next_commands()


def test_staff_may_submit_on_a_members_behalf_and_a_collective_names_its_body():
    [e] = submit(STAFF, "m-002", "p1", **SUBMISSION, today=DAY)
    assert e.proposer == "m-002" and e.kind == "individual"
    [c] = submit(MEMBER, None, "p2", **SUBMISSION, kind="collective",
                            body={"type": "sector", "name": "经济界"}, today=DAY)
    assert c.kind == "collective" and c.body == {"type": "sector", "name": "经济界"}


def test_who_may_not_submit_is_told_why():
    for actor in (LEAD, LEADER, CITIZEN):
        with pytest.raises(NotAllowed, match="only a member submits"):
            submit(actor, None, "p1", **SUBMISSION, today=DAY)
    with pytest.raises(NotAllowed):
        submit(STAFF, None, "p1", **SUBMISSION, today=DAY)  # staff must name the member


def test_a_bad_submission_names_every_field():
    with pytest.raises(InvalidCommand) as err:
        submit(MEMBER, None, "p1", title="", reasons="x", suggestions="建议内容",
                          category="weather", co_signers=["m-001"], session="2024/3", today=DAY)
    assert set(err.value.fields) == {"title", "reasons", "category", "co_signers", "session"}
    with pytest.raises(InvalidCommand) as err:
        submit(MEMBER, None, "p1", **SUBMISSION, kind="collective", today=DAY)
    assert "body" in err.value.fields
    with pytest.raises(InvalidCommand) as err:
        submit(MEMBER, None, "p1", **SUBMISSION, kind="joint", today=DAY)
    assert "co_signers" in err.value.fields
    with pytest.raises(InvalidCommand) as err:
        submit(MEMBER, None, "p1", **SUBMISSION, body={"type": "sector", "name": "x"}, today=DAY)
    assert "body" in err.value.fields
    with pytest.raises(InvalidCommand) as err:
        submit(MEMBER, None, "p1", **SUBMISSION, co_signers=["m-002", "m-002"], today=DAY)
    assert "repeated" in err.value.fields["co_signers"]


# -- joint proposals: co-signers confirm within a window ---------------------------------------

def joint() -> d.Proposal:
    return submitted(co_signers=["m-002", "m-003"])


def test_a_joint_proposal_waits_for_its_co_signers():
    s = joint()
    assert (s.kind, s.co_sign_deadline, s.pending_co_signers()) == ("joint", "2024-03-08",
                                                                    ("m-002", "m-003"))
    with pytest.raises(WrongState, match="waiting for co-signers m-002, m-003 until 2024-03-08"):
        d.check_fileable(STAFF, s, DAY)
    s = advance(s, do(d.confirm_co_signature, CO1, s, today=DAY))
    s = advance(s, do(d.decline_co_signature, CO2, s, today=date(2024, 3, 2)))
    assert (s.confirmed, s.declined, s.pending_co_signers(), s.proposers) == (
        ("m-002",), ("m-003",), (), ("m-001", "m-002"))
    [e] = do(d.file_proposal, STAFF, s, case_number="2024-001", today=DAY)
    assert e.co_signers == ["m-002"] and e.kind == "joint"


def test_after_the_window_the_silent_co_signers_lapse_and_it_can_be_filed():
    s = joint()
    s = advance(s, do(d.confirm_co_signature, CO1, s, today=DAY))
    with pytest.raises(WrongState, match="co-signing closed on 2024-03-08"):
        do(d.confirm_co_signature, CO2, s, today=date(2024, 3, 9))
    [e] = do(d.file_proposal, STAFF, s, case_number="2024-001", today=date(2024, 3, 9))
    assert e.co_signers == ["m-002"]


def test_only_named_co_signers_answer_and_only_once():
    s = joint()
    with pytest.raises(NotAllowed, match="'m-999' is not one"):
        do(d.confirm_co_signature, STRANGER, s, today=DAY)
    s = advance(s, do(d.confirm_co_signature, CO1, s, today=DAY))
    with pytest.raises(WrongState):
        do(d.decline_co_signature, CO1, s, today=DAY)


# -- 立: review ------------------------------------------------------------------------------------

def test_returned_for_revision_and_revised():
    s = submitted()
    s = advance(s, do(d.return_proposal, STAFF, s, reason="一事一案：请拆分为两件提案。"))
    assert (s.status, s.return_reason, s.next_commands()[0]) == ("returned", "一事一案：请拆分为两件提案。",
                                                                 "revise_proposal")
    with pytest.raises(WrongState) as err:
        do(d.file_proposal, STAFF, s, case_number="2024-001", today=DAY)
    assert err.value.state == "returned" and err.value.allowed[0] == "revise_proposal"
    with pytest.raises(NotAllowed, match="only the proposer 'm-001'"):
        do(d.revise_proposal, CO1, s, title="新标题", reasons="新案由", suggestions="新建议", category="society")
    with pytest.raises(InvalidCommand) as err:
        do(d.revise_proposal, MEMBER, s, title="x", reasons="新案由", suggestions="新建议", category="nope")
    assert set(err.value.fields) == {"title", "category"}
    s = advance(s, do(d.revise_proposal, MEMBER, s, title="关于老旧小区充电设施的提案", reasons="新案由内容",
                                     suggestions="新建议内容", category="economy"))
    assert (s.status, s.title, s.category, s.return_reason) == ("submitted", "关于老旧小区充电设施的提案",
                                                                "economy", None)
    with pytest.raises(WrongState):
        do(d.revise_proposal, MEMBER, s, title="再改", reasons="新案由", suggestions="新建议", category="society")


def test_return_needs_staff_a_reason_and_a_submitted_case():
    with pytest.raises(NotAllowed):
        do(d.return_proposal, MEMBER, submitted(), reason="理由充分")
    with pytest.raises(InvalidCommand) as err:
        do(d.return_proposal, STAFF, submitted(), reason=" ")
    assert "reason" in err.value.fields
    with pytest.raises(WrongState):
        do(d.return_proposal, STAFF, filed(), reason="理由充分")


def test_filing_gives_the_case_number_and_carries_the_proposers():
    s = filed()
    assert (s.status, s.case_number) == ("filed", "2024-001")
    with pytest.raises(NotAllowed, match="only proposal committee staff file"):
        d.check_fileable(MEMBER, submitted(), DAY)
    with pytest.raises(WrongState):
        d.check_fileable(STAFF, s, DAY)
    with pytest.raises(NotFound):
        d.check_fileable(STAFF, d.fold("nope", []), DAY)


def test_case_numbers_are_sequential_reused_on_retry_and_released_numbers_come_first():
    numbers = d.fold_case_numbers("2024", [])
    events = []
    for pid in ("a", "b", "c"):
        taken = d.assign_case_number(numbers, pid)
        events += taken
        numbers = d.fold_case_numbers("2024", events)
    assert [e.case_number for e in events] == ["2024-001", "2024-002", "2024-003"]
    assert d.assign_case_number(numbers, "b") == []       # a retried filing keeps its number
    assert numbers.of("b") == "2024-002"
    events += d.release_case_number(numbers, "b")           # b was not filed after all
    numbers = d.fold_case_numbers("2024", events)
    assert numbers.of("b") is None and numbers.released == {2}
    [again] = d.assign_case_number(numbers, "d")
    assert (again.sequence, again.case_number) == (2, "2024-002")  # no gap is left
    numbers = d.fold_case_numbers("2024", [*events, again])
    assert d.assign_case_number(numbers, "e")[0].case_number == "2024-004"
    assert d.release_case_number(numbers, "zzz") == []


def test_not_filed_with_a_reason_and_optionally_converted():
    s = submitted()
    [e] = do(d.not_file_proposal, STAFF, s, reason="不属于政协职能范围")
    assert e.conversion is None
    events = do(d.not_file_proposal, STAFF, s, reason="反映个案问题，转社情民意", conversion="opinion_report")
    assert [type(e).__name__ for e in events] == ["ProposalNotFiled", "ProposalConvertedToOpinionReport"]
    assert events[1].title == s.title and s.suggestions in events[1].content and events[1].proposer == "m-001"
    s = advance(s, events)
    assert (s.status, s.conversion, s.next_commands()) == ("not_filed", "opinion_report", [])
    with pytest.raises(InvalidCommand) as err:
        do(d.not_file_proposal, STAFF, submitted(), reason="", conversion="fax")
    assert set(err.value.fields) == {"reason", "conversion"}
    with pytest.raises(NotAllowed):
        do(d.not_file_proposal, LEAD, submitted(), reason="不予立案")
    with pytest.raises(WrongState):
        do(d.not_file_proposal, STAFF, filed(), reason="不予立案")


def test_merged_proposals_point_to_the_survivor_whose_proposers_keep_credit():
    survivor = filed("p1")
    merged = d.fold("p2", submit(CO1, None, "p2", **SUBMISSION, co_signers=["m-003"],
                                            today=DAY))
    merged = advance(merged, do(d.confirm_co_signature, CO2, merged, today=DAY))
    [m] = do(d.merge_proposal, STAFF, merged, survivor=survivor)
    assert (m.into, m.proposers) == ("p1", ["m-002", "m-003"])
    merged = advance(merged, [m])
    assert (merged.status, merged.merged_into, merged.next_commands()) == ("merged", "p1", [])
    assert do(d.merge_proposal, STAFF, merged, survivor=survivor) == []  # a retried merge
    survivor = advance(survivor, d.add_merged_proposal(survivor, m))
    assert d.add_merged_proposal(survivor, m) == []
    assert survivor.proposers == ("m-001", "m-002", "m-003") and survivor.merged_from == ("p2",)


def test_merge_refusals():
    with pytest.raises(NotAllowed):
        do(d.merge_proposal, MEMBER, submitted("p2"), survivor=filed("p1"))
    with pytest.raises(InvalidCommand, match="into itself"):
        do(d.merge_proposal, STAFF, submitted("p1"), survivor=submitted("p1"))
    with pytest.raises(InvalidCommand, match="state 'replied'"):
        do(d.merge_proposal, STAFF, submitted("p2"), survivor=replied(pid="p1"))
    with pytest.raises(InvalidCommand, match="same session"):
        do(d.merge_proposal, STAFF, submitted("p2", session="2025"), survivor=filed("p1"))
    with pytest.raises(WrongState):
        do(d.merge_proposal, STAFF, filed("p2"), survivor=filed("p1"))


# -- 交: assignment ------------------------------------------------------------------------------

def test_assignment_counts_the_deadline_by_the_rules():
    s = assigned()
    r = s.round
    # 90 calendar days from Fri 1 March 2024 is Thu 30 May (a working day)
    assert (s.status, r.number, r.lead_unit, r.co_units, r.deadline, r.fixed_deadline) == (
        "assigned", 1, "mzj", ("zjj",), "2024-05-30", False)
    [urgent] = do(d.assign_proposal, STAFF, filed(), lead_unit="mzj", urgent=True, timing=T)
    assert urgent.deadline == "2024-04-01" and urgent.period_days == 30  # 31 March is a Sunday
    [fixed] = do(d.assign_proposal, STAFF, filed(), lead_unit="mzj", deadline="2024-03-20", timing=T)
    assert (fixed.deadline, fixed.fixed_deadline) == ("2024-03-20", True)
    working = d.Timing(today=date(2024, 9, 27), rules=DeadlineRules(counting="working", reply_days=10),
                       calendar=CAL)
    [w] = do(d.assign_proposal, STAFF, filed(), lead_unit="mzj", timing=working)
    assert (w.deadline, w.counting) == ("2024-10-16", "working")  # across 国庆 and its 调休


def test_assignment_refusals_name_the_fields():
    with pytest.raises(InvalidCommand) as err:
        do(d.assign_proposal, STAFF, filed(), lead_unit="民政 局", co_units="zjj", deadline="2024-02-01", timing=T)
    assert set(err.value.fields) == {"lead_unit", "co_units", "deadline"}
    with pytest.raises(InvalidCommand) as err:  # an id with a trailing newline is not an id
        do(d.assign_proposal, STAFF, filed(), lead_unit="mzj\n", co_units=["zjj\n"], timing=T)
    assert set(err.value.fields) == {"lead_unit", "co_units"}
    with pytest.raises(InvalidCommand) as err:
        do(d.assign_proposal, STAFF, filed(), lead_unit="mzj", co_units=["mzj"], timing=T)
    assert "co_units" in err.value.fields
    with pytest.raises(InvalidCommand) as err:
        do(d.assign_proposal, STAFF, filed(), lead_unit="mzj", deadline="someday", timing=T)
    assert err.value.fields["deadline"].startswith("an ISO date")
    with pytest.raises(NotAllowed):
        do(d.assign_proposal, LEAD, filed(), lead_unit="mzj", timing=T)
    with pytest.raises(WrongState) as err:
        do(d.assign_proposal, STAFF, submitted(), lead_unit="mzj", timing=T)
    assert err.value.state == "submitted" and "file_proposal" in err.value.allowed


def test_a_unit_objects_within_the_period_and_staff_reassign_or_dismiss():
    s = assigned()
    with pytest.raises(NotAllowed, match="only a unit the case is assigned to"):
        do(d.object_to_assignment, OTHER_UNIT, s, reason="不属于本单位职责", timing=T)
    late = at(date(2024, 3, 7))  # 5 days from 1 March end on Wed 6 March
    with pytest.raises(WrongState, match="objection period over"):
        do(d.object_to_assignment, LEAD, s, reason="不属于本单位职责", timing=late)
    s = advance(s, do(d.object_to_assignment, LEAD, s, reason="不属于本单位职责", timing=at(date(2024, 3, 6))))
    assert s.round.objections == ("mzj",)
    with pytest.raises(WrongState, match="objection pending"):
        do(d.object_to_assignment, LEAD, s, reason="再次申请", timing=T)
    with pytest.raises(InvalidCommand) as err:
        do(d.reply_to_proposal, LEAD, s, reply_class="A", reply="已办理", today=DAY)
    assert "objections" in err.value.fields
    with pytest.raises(InvalidCommand, match="no pending objection"):
        do(d.dismiss_objection, STAFF, s, unit="zjj", reason="职责明确")
    kept = advance(s, do(d.dismiss_objection, STAFF, s, unit="mzj", reason="职责明确，维持交办"))
    assert kept.round.objections == () and kept.round.lead_unit == "mzj"
    [moved] = do(d.reassign_proposal, STAFF, s, lead_unit="wjw", co_units=["zjj"], timing=at(date(2024, 3, 8)))
    s = advance(s, [moved])
    assert (s.round.number, s.round.lead_unit, s.round.objections, s.round.deadline) == (
        1, "wjw", (), "2024-06-06")  # counted anew from the reassignment
    assert moved.previous_lead_unit == "mzj"
    with pytest.raises(InvalidCommand, match="incomplete") as err:
        do(d.reassign_proposal, STAFF, s, lead_unit="wjw", co_units=["zjj"], timing=T)
    assert "the same" in err.value.fields["lead_unit"]
    with pytest.raises(NotAllowed):
        do(d.reassign_proposal, LEAD, s, lead_unit="mzj", timing=T)


# -- 办: handling ---------------------------------------------------------------------------------

def test_contacts_before_during_after_and_co_unit_opinions():
    s = assigned()
    for stage in ("before", "during"):
        s = advance(s, do(d.record_contact, LEAD, s, stage=stage, summary="与提案人电话沟通办理思路"))
    s = advance(s, do(d.record_contact, CO_UNIT, s, stage="during", summary="会办单位现场走访"))
    assert s.round.contacts == ("before", "during", "during")
    with pytest.raises(InvalidCommand) as err:
        do(d.record_contact, LEAD, s, stage="someday", summary="")
    assert set(err.value.fields) == {"stage", "summary"}
    with pytest.raises(NotAllowed):
        do(d.record_contact, OTHER_UNIT, s, stage="before", summary="与提案人沟通")
    [o] = do(d.send_co_unit_opinion, CO_UNIT, s, opinion="建议结合老旧小区改造统筹推进。")
    assert (o.unit, o.lead_unit) == ("zjj", "mzj")
    s = advance(s, [o])
    assert s.round.opinions == ("zjj",)
    with pytest.raises(NotAllowed, match="co-handling unit"):
        do(d.send_co_unit_opinion, LEAD, s, opinion="主办单位意见")


def test_the_lead_unit_replies_on_time_or_late():
    s = assigned()
    [on_time] = do(d.reply_to_proposal, LEAD, s, reply_class="A", reply="已解决。", today=date(2024, 5, 30))
    [late] = do(d.reply_to_proposal, LEAD, s, reply_class="A", reply="已解决。", today=date(2024, 5, 31))
    assert (on_time.on_time, late.on_time, late.round, late.deadline) == (True, False, 1, "2024-05-30")
    s = advance(s, [on_time])
    assert (s.status, s.round.reply_class, s.round.replied_on) == ("replied", "A", "2024-05-30")
    with pytest.raises(WrongState):
        do(d.reply_to_proposal, LEAD, s, reply_class="B", reply="再次答复", today=DAY)


def test_only_the_lead_unit_replies_and_the_class_must_be_abc():
    s = assigned()
    for actor in (CO_UNIT, OTHER_UNIT, STAFF, MEMBER):
        with pytest.raises(NotAllowed, match="only the lead unit 'mzj' replies"):
            do(d.reply_to_proposal, actor, s, reply_class="A", reply="答复内容", today=DAY)
    with pytest.raises(InvalidCommand) as err:
        do(d.reply_to_proposal, LEAD, s, reply_class="D", reply="", today=DAY)
    assert set(err.value.fields) == {"reply_class", "reply"}


# -- deadlines: reminders, overdue, recount -------------------------------------------------------

def test_reminders_before_the_deadline_then_overdue_once_per_round():
    s = assigned()                                     # deadline Thu 30 May
    assert d.remind_or_escalate(s, at(date(2024, 5, 22))) == []
    [week] = d.remind_or_escalate(s, at(date(2024, 5, 23)))
    assert (week.days_before, week.unit, week.deadline) == (7, "mzj", "2024-05-30")
    s = advance(s, [week])
    assert d.remind_or_escalate(s, at(date(2024, 5, 24))) == []
    [day] = d.remind_or_escalate(s, at(date(2024, 5, 29)))
    s = advance(s, [day])
    assert day.days_before == 1 and d.remind_or_escalate(s, at(date(2024, 5, 30))) == []
    [overdue] = d.remind_or_escalate(s, at(date(2024, 6, 3)))
    assert (overdue.days_overdue, overdue.escalate_to, overdue.round) == (4, ["proposal-committee"], 1)
    s = advance(s, [overdue])
    assert s.round.overdue and d.remind_or_escalate(s, at(date(2024, 6, 4))) == []


def test_a_late_first_check_sends_one_reminder_and_overdue_goes_to_the_supervisors():
    s = assigned()
    [one] = d.remind_or_escalate(s, at(date(2024, 5, 29)))
    assert one.days_before == 1
    s = advance(s, [one])
    assert d.remind_or_escalate(s, at(date(2024, 5, 29))) == []
    key = advance(s, do(d.designate_key_proposal, STAFF, s, supervisors=["leader-01"],
                                              mode="party_government_leader"))
    [overdue] = d.remind_or_escalate(key, at(date(2024, 5, 31)))
    assert overdue.escalate_to == ["leader-01"]
    assert d.remind_or_escalate(replied(), at(date(2024, 12, 31))) == []


def test_a_calendar_amendment_moves_working_day_deadlines_but_not_fixed_ones():
    rules = DeadlineRules(counting="working", reply_days=5)
    s = assigned(timing=at(date(2024, 6, 6), rules))   # 5 working days across 端午 (10 June)
    assert s.round.deadline == "2024-06-14"
    no_dragon_boat = d.Timing(today=date(2024, 6, 7), rules=rules,
                              calendar=CAL.amended(remove_holidays=[date(2024, 6, 10)]))
    [moved] = d.recount_deadline(s, no_dragon_boat)
    assert (moved.previous, moved.deadline) == ("2024-06-14", "2024-06-13")
    s = advance(s, [moved])
    assert s.round.deadline == "2024-06-13" and d.recount_deadline(s, no_dragon_boat) == []
    fixed = filed()
    fixed = advance(fixed, do(d.assign_proposal, STAFF, fixed, lead_unit="mzj", deadline="2024-06-14",
                                             timing=at(date(2024, 6, 6), rules)))
    assert d.recount_deadline(fixed, no_dragon_boat) == []


# -- 督: key proposals and supervision -------------------------------------------------------------

def test_key_proposals_have_named_supervisors_who_record_supervision():
    s = assigned()
    with pytest.raises(WrongState, match="not a key proposal"):
        do(d.record_supervision, LEADER, s, kind="inspection", note="现场视察")
    with pytest.raises(InvalidCommand) as err:
        do(d.designate_key_proposal, STAFF, s, supervisors=[], mode="whim")
    assert set(err.value.fields) == {"supervisors", "mode"}
    with pytest.raises(NotAllowed):
        do(d.designate_key_proposal, LEADER, s, supervisors=["leader-01"], mode="chairs_meeting")
    with pytest.raises(WrongState):
        do(d.designate_key_proposal, STAFF, submitted(), supervisors=["leader-01"], mode="chairs_meeting")
    s = advance(s, do(d.designate_key_proposal, STAFF, s, supervisors=["leader-01"], mode="chairs_meeting"))
    assert (s.key, s.supervisors) == (True, ("leader-01",))
    assert do(d.designate_key_proposal, STAFF, s, supervisors=["leader-01"], mode="chairs_meeting") == []
    s = advance(s, do(d.record_supervision, LEADER, s, kind="inspection", note="视察充电设施建设现场"))
    s = advance(s, do(d.record_supervision, STAFF, s, kind="meeting", note="召开督办协商会"))
    assert s.supervisions == 2 and "record_supervision" in s.next_commands()
    with pytest.raises(NotAllowed, match="leader-01"):
        do(d.record_supervision, OTHER_LEADER, s, kind="inspection", note="视察")
    with pytest.raises(InvalidCommand) as err:
        do(d.record_supervision, LEADER, s, kind="party", note="")
    assert set(err.value.fields) == {"kind", "note"}


# -- 评: ratings, rehandling, follow-up, closing ------------------------------------------------------

def test_a_satisfied_proposer_lets_staff_close_the_case():
    s = replied("A")
    with pytest.raises(WrongState, match="waiting for the rating of m-001"):
        do(d.close_proposal, STAFF, s)
    [rating] = do(d.rate_reply, MEMBER, s, reply_rating="satisfied", attitude_rating="basically_satisfied",
                            timing=T)
    assert (rating.rater, rating.unit, rating.round) == ("m-001", "mzj", 1)
    s = advance(s, [rating])
    with pytest.raises(WrongState, match="in state 'replied'.*already rated the reply of round") as err:
        do(d.rate_reply, MEMBER, s, reply_rating="satisfied", attitude_rating="satisfied", timing=T)
    assert err.value.state == "replied"  # the case's real state, the reason beside it
    stranger = Actor("m-999", "member", "教育界")
    with pytest.raises(NotAllowed) as err:  # never says who the proposers are
        do(d.rate_reply, stranger, s, reply_rating="satisfied", attitude_rating="satisfied", timing=T)
    assert "m-001" not in str(err.value) + err.value.message_zh
    [closed] = do(d.close_proposal, STAFF, s)
    assert (closed.rounds, closed.reply_class) == (1, "A")
    s = advance(s, [closed])
    assert s.status == "closed" and "rate_reply" not in s.next_commands()


def test_only_proposers_rate_with_known_values():
    s = replied()
    for actor in (STRANGER, LEAD, STAFF):
        with pytest.raises(NotAllowed, match="only the case's proposers"):
            do(d.rate_reply, actor, s, reply_rating="satisfied", attitude_rating="satisfied", timing=T)
    with pytest.raises(InvalidCommand) as err:
        do(d.rate_reply, MEMBER, s, reply_rating="meh", attitude_rating="great", timing=T)
    assert set(err.value.fields) == {"reply_rating", "attitude_rating"}
    with pytest.raises(WrongState):
        do(d.rate_reply, MEMBER, assigned(), reply_rating="satisfied", attitude_rating="satisfied", timing=T)


def test_unsatisfied_starts_a_new_round_and_every_round_is_kept():
    s = replied("C")
    rated = do(d.rate_reply, MEMBER, s, reply_rating="unsatisfied", attitude_rating="satisfied",
               timing=at(date(2024, 6, 3)))
    assert [type(e).__name__ for e in rated] == ["ReplyRated"]  # the person's decision alone
    s = advance(s, rated)
    assert d.rehandling_due(s)
    with pytest.raises(WrongState, match="handled again"):
        do(d.close_proposal, STAFF, s)
    events = d.start_rehandling(s, at(date(2024, 6, 3)))  # the system's reaction to it
    assert [type(e).__name__ for e in events] == ["RehandlingStarted"]
    again = events[0]
    assert (again.round, again.lead_unit, again.co_units, again.deadline) == (2, "mzj", ["zjj"],
                                                                               "2024-07-03")
    s = advance(s, events)
    assert d.start_rehandling(s, T) == []  # once started, nothing more is due
    assert (s.status, len(s.rounds), s.round.number, s.rounds[0].reply_class) == ("assigned", 2, 2, "C")
    s = advance(s, do(d.reply_to_proposal, LEAD, s, reply_class="A", reply="重新办理，已解决。",
                                       today=date(2024, 7, 1)))
    s = advance(s, do(d.rate_reply, MEMBER, s, reply_rating="satisfied", attitude_rating="satisfied", timing=T))
    [closed] = do(d.close_proposal, STAFF, s)
    assert closed.rounds == 2 and [r.ratings[0][1] for r in s.rounds] == ["unsatisfied", "satisfied"]


def test_with_several_proposers_rehandling_waits_until_all_have_rated():
    s = submitted(co_signers=["m-002"])
    s = advance(s, do(d.confirm_co_signature, CO1, s, today=DAY))
    s = advance(s, do(d.file_proposal, STAFF, s, case_number="2024-001", today=DAY))
    s = advance(s, do(d.assign_proposal, STAFF, s, lead_unit="mzj", timing=T))
    s = advance(s, do(d.reply_to_proposal, LEAD, s, reply_class="B", reply="列入计划", today=DAY))
    first = do(d.rate_reply, MEMBER, s, reply_rating="unsatisfied", attitude_rating="satisfied", timing=T)
    assert len(first) == 1
    s = advance(s, first)
    assert d.start_rehandling(s, T) == []  # the co-signer has not rated yet
    second = do(d.rate_reply, CO1, s, reply_rating="satisfied", attitude_rating="satisfied", timing=T)
    assert [type(e).__name__ for e in second] == ["ReplyRated"]
    assert [type(e).__name__ for e in d.start_rehandling(advance(s, second), T)] == ["RehandlingStarted"]


def test_a_b_reply_is_followed_up_until_kept_before_closing():
    s = replied("B")
    s = advance(s, do(d.rate_reply, MEMBER, s, reply_rating="basically_satisfied",
                                attitude_rating="satisfied", timing=T))
    with pytest.raises(WrongState, match="B reply not yet kept"):
        do(d.close_proposal, STAFF, s)
    s = advance(s, do(d.record_follow_up, LEAD, s, note="充电桩建设已开工", kept=False))
    with pytest.raises(WrongState):
        do(d.close_proposal, STAFF, s)
    with pytest.raises(NotAllowed):
        do(d.record_follow_up, OTHER_UNIT, s, note="跟踪", kept=True)
    with pytest.raises(InvalidCommand) as err:
        do(d.record_follow_up, STAFF, s, note="", kept="yes")
    assert set(err.value.fields) == {"note", "kept"}
    s = advance(s, do(d.record_follow_up, STAFF, s, note="120个充电桩已建成投用", kept=True))
    with pytest.raises(WrongState, match="promise already kept"):
        do(d.record_follow_up, STAFF, s, note="再跟踪", kept=True)
    assert do(d.close_proposal, STAFF, s)[0].reply_class == "B"
    with pytest.raises(WrongState, match="only B replies"):
        do(d.record_follow_up, STAFF, replied("A"), note="跟踪", kept=True)


def test_close_refusals():
    with pytest.raises(NotAllowed):
        do(d.close_proposal, MEMBER, replied())
    with pytest.raises(WrongState) as err:
        do(d.close_proposal, STAFF, assigned())
    assert err.value.state == "assigned" and "reply_to_proposal" in err.value.allowed


# -- publication and public comments -------------------------------------------------------------

def published() -> d.Proposal:
    s = replied("A", publish_consent=True)
    return advance(s, do(d.publish_proposal, STAFF, s, directory=DIRECTORY))


def test_publication_needs_the_proposers_consent():
    s = replied("A")
    with pytest.raises(WrongState, match="no consent") as err:
        do(d.publish_proposal, STAFF, s, directory=DIRECTORY)
    assert err.value.allowed == ["set_publication_consent"]
    with pytest.raises(NotAllowed):
        do(d.set_publication_consent, CO1, s, consent=True)  # not a co-signer of this case
    s = advance(s, do(d.set_publication_consent, MEMBER, s, consent=True))
    assert do(d.set_publication_consent, MEMBER, s, consent=True) == []
    with pytest.raises(NotAllowed):
        do(d.publish_proposal, MEMBER, s, directory=DIRECTORY)
    s = advance(s, do(d.publish_proposal, STAFF, s, directory=DIRECTORY))
    assert (s.published, s.proposer_names) == (True, ("王建国",))
    with pytest.raises(WrongState):
        do(d.publish_proposal, STAFF, s, directory=DIRECTORY)
    with pytest.raises(WrongState):
        do(d.publish_proposal, STAFF, submitted(publish_consent=True), directory=DIRECTORY)


def test_names_cannot_be_typed_in_at_publication():
    s = replied("A", publish_consent=True)
    with pytest.raises(InvalidCommand) as err:
        do(d.publish_proposal, STAFF, s, proposer_names=("随便谁",), directory=DIRECTORY)
    assert "proposer_names" in err.value.fields


def test_published_names_are_the_proposer_and_the_co_signers_who_each_consented():
    s = submitted(co_signers=["m-002", "m-003"], publish_consent=True)
    s = advance(s, do(d.confirm_co_signature, CO1, s, today=DAY))
    s = advance(s, do(d.confirm_co_signature, CO2, s, today=DAY))
    s = advance(s, do(d.file_proposal, STAFF, s, case_number="2024-001", today=DAY))
    # Only the co-signer who consented themselves: m-003 never did, and nobody else can for them.
    with pytest.raises(NotAllowed):
        do(d.set_publication_consent, STRANGER, s, consent=True)
    [consent] = do(d.set_publication_consent, CO1, s, consent=True)
    assert (consent.proposer, consent.consent) == ("m-002", True)
    s = advance(s, [consent])
    assert s.publish_consent and s.published_people == ("m-001", "m-002")
    [published] = do(d.publish_proposal, STAFF, s, directory=DIRECTORY)
    assert published.proposer_names == ["王建国", "李梅"]
    s = advance(s, [published])
    # A co-signer withdrawing their consent takes the case off the public pages.
    withdrawn = do(d.set_publication_consent, CO1, s, consent=False)
    assert [type(e).__name__ for e in withdrawn] == ["PublicationConsentChanged", "ProposalUnpublished"]
    s = advance(s, withdrawn)
    assert (s.published, s.publish_consent, s.published_people) == (False, True, ("m-001",))
    # A name the directory does not have yet: not now, rather than a wrong name.
    with pytest.raises(NotYet):
        do(d.publish_proposal, STAFF, s, directory={})


def test_the_directory_refuses_unknown_ids_naming_the_field():
    known = {**DIRECTORY, "mzj": d.DirectoryEntry("mzj", "handling_unit", "市民政局", True),
             "old": d.DirectoryEntry("old", "handling_unit", "原市文化局", False),
             "m-009": d.DirectoryEntry("m-009", "member", "赵六", False)}
    d.check_assignment_units(known, "mzj", [])
    with pytest.raises(InvalidCommand) as err:
        d.check_assignment_units(known, "u-nonexistent-unit", ["mzj", "old", "m-001"])
    assert set(err.value.fields) == {"lead_unit", "co_units[1]", "co_units[2]"}
    assert "u-nonexistent-unit" in err.value.fields["lead_unit"]
    with pytest.raises(InvalidCommand) as err:
        d.check_submission_refs(known, co_signers=["m-002", "nobody-123", "m-009"],
                                on_behalf_of="nobody-9", body_name="不存在的界别", body_found=False)
    assert set(err.value.fields) == {"co_signers[1]", "co_signers[2]", "on_behalf_of", "body.name"}
    assert "不在任" in err.value.fields["co_signers[2]"] or "no longer" in err.value.fields["co_signers[2]"]
    with pytest.raises(InvalidCommand) as err:
        d.check_supervisors(known, ["m-001", "nobody-x"])
    assert set(err.value.fields) == {"supervisors[1]"}


def test_the_directory_folds_in_the_members_log_order_and_notes_each_event_once():
    registered = d.facts_of("OrganisationRegistered", {"org_id": "mzj", "kind": "handling_unit",
                                                       "name": "市民政局"}, event_id="e1", position=5)
    renamed = d.facts_of("OrganisationRenamed", {"org_id": "mzj", "name": "市民政和社会事务局",
                                                 "previous_name": "市民政局"}, event_id="e2", position=9)
    # Delivered out of order: the rename first.
    entry = d.fold_entry("mzj", [*renamed, *registered])
    assert (entry.kind, entry.name, entry.active) == ("handling_unit", "市民政和社会事务局", True)
    assert d.note_fact(entry, registered) == []  # a redelivery notes nothing
    assert d.facts_of("OrganisationRegistered", {"org_id": "szs", "kind": "committee", "name": "政协"},
                      event_id="e3", position=1) == []
    closed = d.facts_of("OrganisationClosed", {"org_id": "mzj", "reason": "机构改革"}, event_id="e4",
                        position=12)
    assert d.fold_entry("mzj", [*registered, *closed, *renamed]).active is False


def test_unpublished_by_staff_or_by_withdrawn_consent():
    s = published()
    with pytest.raises(InvalidCommand):
        do(d.unpublish_proposal, STAFF, s, reason="")
    hidden = advance(s, do(d.unpublish_proposal, STAFF, s, reason="涉及个人信息，暂停公开"))
    assert not hidden.published
    with pytest.raises(WrongState):
        do(d.unpublish_proposal, STAFF, hidden, reason="再次撤下")
    withdrawn = do(d.set_publication_consent, MEMBER, s, consent=False)
    assert [type(e).__name__ for e in withdrawn] == ["PublicationConsentChanged", "ProposalUnpublished"]
    assert not advance(s, withdrawn).published


def test_comments_are_moderated_and_answered_by_the_lead_unit():
    s = published()
    with pytest.raises(WrongState, match="not published"):
        do(d.submit_comment, CITIZEN, replied(), comment_id="c1", display_name="网友甲", text="希望尽快落实")
    with pytest.raises(NotAllowed):
        do(d.submit_comment, LEAD, s, comment_id="c1", display_name="民政局", text="自我评论")
    [c] = do(d.submit_comment, CITIZEN, s, comment_id="c1", display_name="网友甲", text="希望小区也能装上")
    assert (c.author, c.display_name) == ("pub-7788", "网友甲")
    s = advance(s, [c])
    assert do(d.submit_comment, CITIZEN, s, comment_id="c1", display_name="网友甲", text="重复提交") == []
    with pytest.raises(WrongState, match="comment pending"):
        do(d.answer_comment, LEAD, s, comment_id="c1", answer="已纳入计划")
    with pytest.raises(NotAllowed):
        do(d.moderate_comment, LEAD, s, comment_id="c1", approve=True)
    with pytest.raises(NotFound):
        do(d.moderate_comment, STAFF, s, comment_id="c9", approve=True)
    s = advance(s, do(d.moderate_comment, STAFF, s, comment_id="c1", approve=True))
    with pytest.raises(WrongState, match="comment approved"):
        do(d.moderate_comment, STAFF, s, comment_id="c1", approve=False, reason="重复")
    with pytest.raises(NotAllowed, match="only the lead unit"):
        do(d.answer_comment, CO_UNIT, s, comment_id="c1", answer="会办意见")
    s = advance(s, do(d.answer_comment, LEAD, s, comment_id="c1", answer="已纳入2024年建设计划"))
    assert s.comment("c1").answer == "已纳入2024年建设计划"
    with pytest.raises(WrongState, match="answered"):
        do(d.answer_comment, LEAD, s, comment_id="c1", answer="再答")
    s = advance(s, do(d.submit_comment, MEMBER, s, comment_id="c2", display_name="委员", text="广告内容"))
    with pytest.raises(InvalidCommand) as err:
        do(d.moderate_comment, STAFF, s, comment_id="c2", approve=False)
    assert "reason" in err.value.fields
    s = advance(s, do(d.moderate_comment, STAFF, s, comment_id="c2", approve=False, reason="与提案无关"))
    assert s.comment("c2").status == "rejected"
    with pytest.raises(InvalidCommand) as err:
        do(d.submit_comment, CITIZEN, s, comment_id="bad id", display_name="", text="")
    assert set(err.value.fields) == {"comment_id", "display_name", "text"}


# -- handling rules and the holiday calendar ------------------------------------------------------

def test_rules_and_calendar_are_data_staff_amend():
    [rules] = d.set_handling_rules(STAFF, C.SetHandlingRules(rules={"counting": "working", "reply_days": 60}))
    with pytest.raises(InvalidCommand, match="bad deadline rules"):
        d.set_handling_rules(STAFF, C.SetHandlingRules(rules={"counting": "lunar"}))
    with pytest.raises(NotAllowed):
        d.set_handling_rules(MEMBER, C.SetHandlingRules(rules={"counting": "working"}))
    current = d.fold_rules([rules], CAL)
    assert (current.rules.counting, current.rules.reply_days) == ("working", 60)
    [amended] = do(d.amend_holiday_calendar, STAFF, current, add_holidays=["2024-12-31"])
    after = d.fold_rules([rules, amended], CAL)
    assert not after.calendar.is_working_day(date(2024, 12, 31))
    with pytest.raises(InvalidCommand) as err:
        do(d.amend_holiday_calendar, STAFF, current)
    assert "changes nothing" in err.value.fields["add_holidays"]
    with pytest.raises(InvalidCommand) as err:
        do(d.amend_holiday_calendar, STAFF, current, add_holidays=["31/12/2024"], add_workdays="2024-12-28")
    assert set(err.value.fields) == {"add_holidays", "add_workdays"}
    with pytest.raises(InvalidCommand, match="contradicts"):
        do(d.amend_holiday_calendar, STAFF, current, add_workdays=["2024-10-01"])
    with pytest.raises(NotAllowed):
        do(d.amend_holiday_calendar, LEAD, current, add_holidays=["2024-12-31"])


def test_state_serialises_with_the_commands_it_allows():
    s = published()
    case = s.to_dict()
    assert case["status"] == "replied" and case["proposers"] == ["m-001"]
    assert case["rounds"][0]["co_units"] == ["zjj"] and case["rounds"][0]["deadline"] == "2024-05-30"
    assert {"rate_reply", "unpublish_proposal", "submit_comment"} <= set(case["next_commands"])


def test_every_event_is_registered_and_round_trips_through_its_data():
    import dataclasses

    from xieshang.kernel.envelope import Envelope
    for name in d.registry.names():
        cls = d.registry.event_class(name)
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    s = replied("B")
    events = do(d.rate_reply, MEMBER, s, reply_rating="unsatisfied", attitude_rating="satisfied", timing=T)
    for e in events:
        env = Envelope.__new__(Envelope)
        object.__setattr__(env, "type", e.type_name())
        object.__setattr__(env, "data", e.to_data())
        object.__setattr__(env, "schema_version", 1)
        assert d.registry.decode(env) == e


def test_commands_are_parsed_once_for_shape_and_the_domain_checks_meaning():
    cmd = C.AssignProposal.parse(proposal_id="p1", lead_unit="mzj", co_units=["zjj"])
    assert cmd == C.AssignProposal(proposal_id="p1", lead_unit="mzj", co_units=("zjj",))
    with pytest.raises(InvalidCommand) as err:
        C.AssignProposal.parse(proposal_id="p 1", lead_unit="mzj\n", co_units="zjj", urgent="yes")
    assert set(err.value.fields) == {"proposal_id", "lead_unit", "co_units", "urgent"}
    with pytest.raises(InvalidCommand) as err:
        C.ReturnProposal.parse(proposal_id="p1", why="理由")
    assert set(err.value.fields) == {"reason", "why"}
    command = C.ReturnProposal.parse(proposal_id="p1", reason=" ")   # the right shape ...
    with pytest.raises(InvalidCommand) as err:                        # ... but no reason
        d.return_proposal(STAFF, submitted(), command)
    assert "reason" in err.value.fields
