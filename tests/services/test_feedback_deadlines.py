"""The forwards' deadlines 转交反馈期限: a unit owing feedback is reminded once before its
deadline and recorded overdue once after it. Pure decisions first (unit tier), then the
service's timer on the real RabbitMQ with a fixed clock moved forward."""

from __future__ import annotations

from datetime import date, datetime

import eventlet
import pytest
from nameko.testing.services import entrypoint_hook

from services.feedback import domain
from services.feedback.domain import commands as c
from services.feedback.domain.events import (OpinionFeedbackDueSoon, OpinionFeedbackOverdue,
                                             OpinionFeedbackReceived)
from services.feedback.service import FeedbackService
from xieshang.kernel.clock import ClockProvider, FixedClock
from xieshang.kernel.envelope import Actor

from .conftest import store_of

MEMBER = Actor("m-dl-1", "member", "经济界")
STAFF = Actor("s-dl-1", "staff", "feedback-office")
MZJ = Actor("u-mzj-dl", "unit", "mzj")
JTJ = Actor("u-jtj-dl", "unit", "jtj")
TEXT = "社区养老服务网点覆盖不足，老人就近助餐难。"
FORWARDED_ON = date(2024, 3, 1)
DEADLINE = "2024-03-20"


# -- pure decisions ----------------------------------------------------------------------------

def forwarded(units=("mzj", "jtj"), deadline: str = DEADLINE) -> list:
    events = domain.submit_opinion_report(MEMBER, "r1", c.SubmitOpinionReport(
        title="关于社区助餐的建议", content=TEXT))
    for check in domain.CHECKS:
        events += domain.record_opinion_check(STAFF, domain.fold("r1", events),
                                              c.RecordOpinionCheck("r1", check, True, "通过审核"))
    events += domain.adopt_opinion_report(STAFF, domain.fold("r1", events), c.AdoptOpinionReport("r1"))
    return events + domain.forward_opinion(STAFF, domain.fold("r1", events),
                                           c.ForwardOpinion("r1", list(units), deadline),
                                           today=FORWARDED_ON)


def on(day: str, events: list, **kwargs) -> list:
    """What the timer decides on ``day``, given ``events``."""
    return domain.remind_or_record_overdue(domain.fold("r1", events), today=date.fromisoformat(day),
                                           **kwargs)


def run(days: list[str], events: list) -> list:
    """The timer on each of ``days``, its events recorded as it goes."""
    for day in days:
        events = [*events, *on(day, events)]
    return events


def test_nothing_while_the_deadline_is_far():
    assert on("2024-03-01", forwarded()) == []
    assert on("2024-03-16", forwarded()) == []   # 4 days left


def test_each_unit_is_reminded_once_within_three_days_of_its_deadline():
    events = forwarded()
    reminders = on("2024-03-17", events)
    assert reminders == [
        OpinionFeedbackDueSoon(report_id="r1", unit=u, deadline=DEADLINE, days_before=3,
                               title="关于社区助餐的建议") for u in ("mzj", "jtj")]
    events += reminders
    assert on("2024-03-18", events) == [] and on("2024-03-20", events) == []
    assert domain.fold("r1", events).forward_to("mzj").reminded


def test_the_day_after_the_deadline_each_unit_without_feedback_is_overdue_once():
    events = run(["2024-03-17", "2024-03-20"], forwarded())
    overdue = on("2024-03-21", events)
    assert [(e.unit, e.days_overdue, e.deadline) for e in overdue] == [
        ("mzj", 1, DEADLINE), ("jtj", 1, DEADLINE)]
    assert all(isinstance(e, OpinionFeedbackOverdue) and e.title == "关于社区助餐的建议" for e in overdue)
    events += overdue
    assert on("2024-03-22", events) == [] and on("2024-06-01", events) == []
    assert domain.fold("r1", events).forward_to("jtj").overdue


def test_a_unit_that_fed_back_is_neither_reminded_nor_overdue():
    events = forwarded()
    events += domain.send_opinion_feedback(JTJ, domain.fold("r1", events),
                                           c.SendOpinionFeedback("r1", "已研究办理，增设助餐点三处。"),
                                           today=date(2024, 3, 10))
    events = run(["2024-03-17", "2024-03-25"], events)
    assert [(type(e).__name__, e.unit) for e in events
            if isinstance(e, (OpinionFeedbackDueSoon, OpinionFeedbackOverdue))] == [
        ("OpinionFeedbackDueSoon", "mzj"), ("OpinionFeedbackOverdue", "mzj")]
    # Late feedback after the overdue record is still received, not on time; nothing more follows.
    events += domain.send_opinion_feedback(MZJ, domain.fold("r1", events),
                                           c.SendOpinionFeedback("r1", "已办理。"), today=date(2024, 3, 26))
    assert isinstance(events[-1], OpinionFeedbackReceived) and events[-1].on_time is False
    assert on("2024-03-27", events) == []


def test_a_timer_that_missed_the_reminder_days_records_only_the_overdue():
    events = run(["2024-03-10", "2024-03-23"], forwarded())
    late = [e for e in events if isinstance(e, (OpinionFeedbackDueSoon, OpinionFeedbackOverdue))]
    assert [(type(e).__name__, e.days_overdue) for e in late] == [("OpinionFeedbackOverdue", 3)] * 2


def test_a_deadline_sooner_than_the_reminder_window_is_reminded_at_once():
    events = forwarded(units=("mzj",), deadline="2024-03-02")
    assert [(e.unit, e.days_before) for e in on("2024-03-01", events)] == [("mzj", 1)]
    assert [(e.unit, e.days_before) for e in on("2024-03-02", events)] == [("mzj", 0)]


def test_units_forwarded_later_get_their_own_reminders_and_the_window_is_a_parameter():
    events = forwarded(units=("mzj",))
    events = run(["2024-03-17"], events)
    events += domain.forward_opinion(STAFF, domain.fold("r1", events),
                                     c.ForwardOpinion("r1", ["wjw"], "2024-03-30"), today=date(2024, 3, 17))
    assert on("2024-03-18", events) == []
    assert [e.unit for e in on("2024-03-20", events, days_before=10)] == ["wjw"]
    assert [type(e).__name__ for e in on("2024-03-27", events)] == ["OpinionFeedbackOverdue",
                                                                    "OpinionFeedbackDueSoon"]


def test_nothing_for_a_report_without_forwards_or_not_adopted():
    events = forwarded()[:1]   # submitted only
    assert on("2024-04-01", events) == []
    assert domain.remind_or_record_overdue(domain.fold("nope", []), today=date(2024, 4, 1)) == []


def test_the_events_are_in_the_contract_and_say_what_they_mean():
    for cls in (OpinionFeedbackDueSoon, OpinionFeedbackOverdue):
        assert cls.type_name() in domain.registry and "once per unit" in cls.__doc__


# -- the service's timer, on the broker --------------------------------------------------------

START = "2024-03-01T09:00:00+08:00"


def clock_of(container) -> FixedClock:
    return next(d for d in container.dependencies if isinstance(d, ClockProvider)).clock


@pytest.mark.rabbit
def test_the_timer_reminds_then_records_overdue_once_each(container_factory, config, rpc_as):
    first = container_factory(FeedbackService, {**config, "XIESHANG_FIXED_TIME": START})
    second = container_factory(FeedbackService, {**config, "XIESHANG_FIXED_TIME": START,
                                                 "XIESHANG_RELAY": "0"})
    first.start()
    second.start()  # another instance on the same store folder: both run the timer
    staff = rpc_as(STAFF).feedback
    rid = rpc_as(MEMBER).feedback.submit_opinion_report("关于社区助餐的建议", TEXT)["report_id"]
    for check in domain.CHECKS:
        staff.record_opinion_check(rid, check, True, "通过审核")
    staff.adopt_opinion_report(rid)
    staff.forward_opinion(rid, ["mzj", "jtj"], DEADLINE)

    def set_clocks(at: str) -> None:
        for container in (first, second):
            clock_of(container).set(datetime.fromisoformat(at))

    def tick() -> list[dict]:
        """The timer on both instances at once; what each counted."""
        def check(container):
            with entrypoint_hook(container, "check_deadlines") as hook:
                return hook()
        return list(eventlet.GreenPool().imap(check, (first, second)))

    def recorded(type_: str) -> list:
        return [e for e in store_of(first).read_stream(f"opinion-{rid}") if e.type == type_]

    assert tick() == [{"reminded": 0, "overdue": 0}] * 2
    set_clocks("2024-03-10T10:00:00+08:00")
    rpc_as(JTJ).feedback.send_opinion_feedback(rid, "已研究办理，增设助餐点三处。")
    set_clocks("2024-03-17T09:00:00+08:00")                                # 3 days before
    assert sorted(n["reminded"] for n in tick()) == [0, 1]
    tick()
    set_clocks("2024-03-20T23:59:00+08:00")                                # the deadline's last minute
    tick()
    assert recorded("OpinionFeedbackOverdue") == []
    set_clocks("2024-03-21T00:01:00+08:00")                                # 21 March: overdue
    assert sorted(n["overdue"] for n in tick()) == [0, 1]
    for container in (first, second):
        clock_of(container).advance(days=5)
    tick()

    [due] = recorded("OpinionFeedbackDueSoon")
    [overdue] = recorded("OpinionFeedbackOverdue")
    assert (due.data["unit"], due.data["days_before"], due.data["deadline"]) == ("mzj", 3, DEADLINE)
    assert (overdue.data["unit"], overdue.data["days_overdue"]) == ("mzj", 1)
    assert overdue.data["title"] == "关于社区助餐的建议"
    assert {due.actor.role, overdue.actor.role} == {"system"}
    seen = staff.get_opinion_report(rid)["forwards"]
    assert {(f["unit"], f["reminded"], f["overdue"]) for f in seen} == {("mzj", True, True),
                                                                        ("jtj", False, False)}
