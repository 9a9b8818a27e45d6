"""The consultations' read models 协商议事, fed with envelopes of the contract's events through a
MemoryEventStore and a ProjectionRunner, on SQLite and on PostgreSQL: the list with the next
step, the calendar, a unit's follow-up tasks, the timer's candidates, the year's statistics
against figures counted by hand, rebuilds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest

from services.feedback import consultation_views as cv
from services.feedback import views as v
from services.feedback.domain import events as ev
from services.feedback.domain.vocabulary import consultation_stream
from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.contracts import contract_of
from xieshang.kernel.domain import DomainEvent
from xieshang.kernel.envelope import Actor, Deployment, NewEvent
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.views import PageRequest

from ..support.views import call, dump

STAFF = Actor("staff-cv-01", "staff", "office")
LEADER = Actor("l-cv-01", "leader", "party-committee")
MEMBER = Actor("m-cv-01", "member", "经济界")
SYSTEM = Actor("timer", "system", "xieshang")
MZJ, JTJ = Actor("u-mzj-1", "unit", "mzj"), Actor("u-jtj-1", "unit", "jtj")
PLACES = {"hall": ("东街民生议事堂", "livelihood_hall", "tw-1"), "post": ("东街社区协商驿站", "consultation_post", "tw-1"),
          "studio-1": ("李委员工作室", "studio", "tw-2"), "room": ("无归属议事室", "consultation_room", None)}


@dataclass
class Log:
    store: MemoryEventStore
    at: datetime = datetime(2024, 1, 5, 10, tzinfo=SHANGHAI)

    def on(self, day: str, hour: int = 10, minute: int = 0) -> "Log":
        self.at = datetime.combine(date.fromisoformat(day), datetime.min.time(), SHANGHAI).replace(
            hour=hour, minute=minute)
        return self

    def emit(self, actor: Actor, *events: DomainEvent) -> "Log":
        for e in events:
            stream = consultation_stream(e.consultation_id)
            self.store.append(stream, self.store.stream_version(stream), [
                NewEvent(type=e.type_name(), data=e.to_data(), actor=actor, occurred_at=self.at)])
        return self

    def propose(self, cid: str, source: str, title: str | None = None, township: str | None = None) -> "Log":
        return self.emit(MEMBER if source == "member" else STAFF, ev.ConsultationTopicProposed(
            consultation_id=cid, title=title or f"{cid} 议题", description="议题说明。", topic_kind="infrastructure",
            source=source, proposer=(MEMBER if source == "member" else STAFF).user_id,
            proposer_role="member" if source == "member" else "staff", township=township))

    def approve(self, cid: str) -> "Log":
        self.emit(STAFF, ev.ConsultationTopicDecided(consultation_id=cid, title=f"{cid} 议题", topic_kind="infrastructure",
                                                     rule="基础设施建设和管理", lists_version=0))
        return self.emit(LEADER, ev.ConsultationTopicApproved(consultation_id=cid, title=f"{cid} 议题",
                                                              approver=LEADER.user_id, organisation=LEADER.organisation))

    def plan(self, cid: str, place: str, held_on: str, revision: int = 1) -> "Log":
        name, type_, township = PLACES[place]
        return self.emit(STAFF, ev.ConsultationPlanned(
            consultation_id=cid, title=f"{cid} 议题", held_on=held_on, place=place, place_name=name,
            place_type=type_, township=township, members=["m1", "m2"], departments=["mzj"], residents=10,
            stakeholders=["沿街商户"], agenda="议程。", revision=revision))

    def meet(self, cid: str, place: str, held_on: str, outcomes: int) -> "Log":
        _, type_, township = PLACES[place]
        return self.emit(STAFF, ev.ConsultationMeetingHeld(
            consultation_id=cid, title=f"{cid} 议题", held_on=held_on, place=place, place_type=type_,
            township=township, members=["m1"], absent_members=["m2"], departments=["mzj"], residents=12,
            stakeholders=[], speakers=["m1"], opinions=["意见"], outcomes=[f"成果{i}" for i in range(1, outcomes + 1)]))

    def publish(self, cid: str) -> "Log":
        return self.emit(STAFF, ev.ConsultationResultsPublished(
            consultation_id=cid, title=f"{cid} 议题", channel="notice_board", text="公示。",
            published_on=self.at.date().isoformat(), until="2024-12-31"))

    def decide(self, cid: str, adopted: int) -> "Log":
        return self.emit(LEADER, ev.ConsultationDecided(
            consultation_id=cid, title=f"{cid} 议题", decider=LEADER.user_id, organisation=LEADER.organisation,
            adopted_outcomes=[f"成果{i}" for i in range(1, adopted + 1)], text="同意。"))

    def task(self, cid: str, tid: str, unit: str, deadline: str, task: str = "落实任务。") -> "Log":
        return self.emit(STAFF, ev.FollowUpTaskAssigned(
            consultation_id=cid, task_id=tid, unit=unit, outcome="成果1", task=task, deadline=deadline,
            title=f"{cid} 议题"))

    def complete(self, unit: Actor, cid: str, tid: str, deadline: str) -> "Log":
        day = self.at.date()
        return self.emit(unit, ev.FollowUpTaskCompleted(
            consultation_id=cid, task_id=tid, unit=unit.organisation, report="已落实。", deadline=deadline,
            completed_on=day.isoformat(), on_time=day <= date.fromisoformat(deadline)))

    def visit(self, cid: str) -> "Log":
        return self.emit(STAFF, ev.ConsultationFollowUpVisited(
            consultation_id=cid, visited_on=self.at.date().isoformat(), members=["m1"], findings="回访情况。"))

    def survey(self, cid: str, respondents: int, satisfied: int, basically: int, dissatisfied: int) -> "Log":
        return self.emit(STAFF, ev.ConsultationSurveyRecorded(
            consultation_id=cid, respondents=respondents, satisfied=satisfied, basically_satisfied=basically,
            dissatisfied=dissatisfied))

    def close(self, cid: str) -> "Log":
        return self.emit(STAFF, ev.ConsultationClosed(consultation_id=cid, title=f"{cid} 议题", summary="办结。"))


def year_scenario(log: Log) -> Log:
    # c6: raised in 2023, held in 2024 (counts as held in 2024, its topic in 2023); closed with no task
    log.on("2023-12-20").propose("c6", "resident", township="tw-1").approve("c6").plan("c6", "hall", "2024-01-15")
    log.on("2024-01-15").meet("c6", "hall", "2024-01-15", outcomes=1).publish("c6")
    log.on("2024-01-20").decide("c6", adopted=1).visit("c6").survey("c6", 10, 5, 5, 0).close("c6")
    # c1: the whole way, two tasks (one on time, one late), converted into a report and a proposal
    log.on("2024-02-01").propose("c1", "resident").approve("c1")
    log.on("2024-02-05").plan("c1", "hall", "2024-03-10")
    log.on("2024-03-10").meet("c1", "hall", "2024-03-10", outcomes=3).publish("c1")
    log.on("2024-03-15").decide("c1", adopted=2).task("c1", "t1", "mzj", "2024-04-10").task("c1", "t2", "jtj", "2024-04-10")
    log.emit(STAFF, ev.ConsultationResultConverted(consultation_id="c1", into="opinion_report", title="建议",
                                                   content="建议内容建议内容。", category="society", target_id="r-1"),
             ev.ConsultationResultConverted(consultation_id="c1", into="proposal", title="提案", content="提案内容提案内容。",
                                            category="society", body={"type": "sector", "name": "经济界"}))
    log.on("2024-03-16").emit(SYSTEM, ev.ConsultationLinkedToProposal(consultation_id="c1", proposal_id="p-1",
                                                                      source_event_id="e-1"))
    log.on("2024-04-01").complete(MZJ, "c1", "t1", "2024-04-10")
    log.on("2024-04-12").complete(JTJ, "c1", "t2", "2024-04-10")
    log.on("2024-04-20").visit("c1").survey("c1", 20, 15, 4, 1).close("c1")
    # c2: held at a community's post, one task open and recorded overdue
    log.on("2024-04-01").propose("c2", "member").approve("c2").plan("c2", "post", "2024-05-02")
    log.on("2024-05-02").meet("c2", "post", "2024-05-02", outcomes=2).publish("c2")
    log.on("2024-05-05").decide("c2", adopted=1).task("c2", "t3", "mzj", "2024-05-20", task="修缮道路。")
    log.on("2024-05-21").emit(SYSTEM, ev.FollowUpTaskOverdue(consultation_id="c2", task_id="t3", unit="mzj",
                                                             deadline="2024-05-20", days_overdue=1, title="c2 议题",
                                                             escalate_to=[LEADER.user_id]))
    # c3: met in another township's studio, nothing after
    log.on("2024-05-10").propose("c3", "party_government").approve("c3").plan("c3", "studio-1", "2024-06-01")
    log.on("2024-06-01").meet("c3", "studio-1", "2024-06-01", outcomes=1)
    # c4: set aside
    log.on("2024-06-02").propose("c4", "member").emit(STAFF, ev.ConsultationTopicSetAside(consultation_id="c4",
                                                                                          reason="已列入民生实事"))
    # c5: planned, re-planned, the second revision reminded
    log.on("2024-06-10").propose("c5", "department").approve("c5").plan("c5", "hall", "2024-07-01")
    log.on("2024-06-20").plan("c5", "hall", "2024-07-03", revision=2)
    log.on("2024-07-01").emit(SYSTEM, ev.ConsultationMeetingDueSoon(
        consultation_id="c5", title="c5 议题", held_on="2024-07-03", place_name="东街民生议事堂", days_before=2,
        members=["m1", "m2"], departments=["mzj"], revision=2))
    # c7: raised at 00:30 on New Year's day in Beijing (still 2024 in UTC): a 2025 topic
    log.on("2025-01-01", hour=0, minute=30).propose("c7", "resident")
    return log


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore(Deployment("640302", "county"))


@pytest.fixture
def log(store) -> Log:
    return Log(store)


@pytest.fixture
def runner(store, views_engine):
    engine, schema = views_engine
    r = ProjectionRunner(store, engine, v.PROJECTIONS(), schema=schema, registry=contract_of("feedback"))
    r.setup()
    return r


@pytest.fixture
def scenario(log, runner) -> Log:
    year_scenario(log)
    runner.catch_up()
    return log




# -- the list ------------------------------------------------------------------------------

def test_the_consultations_with_their_state_and_next_step(scenario, runner):
    rows = {r["consultation_id"]: r for r in call(runner, cv.consultations)}
    assert set(rows) == {"c1", "c2", "c3", "c4", "c5", "c6", "c7"}
    assert {cid: (r["status"], r["next_step"]) for cid, r in rows.items()} == {
        "c1": ("closed", None), "c2": ("following_up", "complete_follow_up_task"),
        "c3": ("met", "publish_consultation_results"), "c4": ("topic_set_aside", None),
        "c5": ("planned", "record_consultation_meeting"), "c6": ("closed", None),
        "c7": ("topic_proposed", "decide_consultation_topic")}
    c1, c5 = rows["c1"], rows["c5"]
    assert (c1["title"], c1["place"], c1["place_type"], c1["township"], c1["held_on"], c1["met"]) == (
        "c1 议题", "hall", "livelihood_hall", "tw-1", "2024-03-10", True)
    assert (c1["outcomes_agreed"], c1["outcomes_adopted"], c1["tasks"], c1["tasks_completed"], c1["tasks_on_time"]) == (
        3, 2, 2, 2, 1)
    assert (c1["reports"], c1["proposal_conversions"], c1["proposals"], c1["respondents"]) == (["r-1"], 1, ["p-1"], 20)
    assert c1["members"] == ["m1"] and c1["closed_at"] == "2024-04-20T02:00:00+00:00"
    assert (c5["held_on"], c5["revision"], c5["reminded_revision"], c5["met"]) == ("2024-07-03", 2, 2, False)
    assert rows["c7"]["year"] == 2025 and rows["c6"]["year"] == 2023


def test_the_list_filters_and_pages_latest_activity_first(scenario, runner):
    ids = lambda rows: [r["consultation_id"] for r in rows]          # noqa: E731
    assert ids(call(runner, cv.consultations)) == ["c7", "c5", "c4", "c3", "c2", "c1", "c6"]
    assert ids(call(runner, cv.consultations, status="closed")) == ["c1", "c6"]
    assert ids(call(runner, cv.consultations, township="tw-2")) == ["c3"]
    assert ids(call(runner, cv.consultations, place="hall")) == ["c5", "c1", "c6"]
    assert ids(call(runner, cv.consultations, year=2023)) == ["c6"]
    page = call(runner, cv.consultations, PageRequest("consultations", 3))
    assert ids(page["items"]) == ["c7", "c5", "c4"] and page["total"] == 7 and page["next_cursor"]
    rest = call(runner, cv.consultations, PageRequest.parse("consultations", 10, page["next_cursor"]))
    assert ids(rest["items"]) == ["c3", "c2", "c1", "c6"] and rest["next_cursor"] is None
    assert ids(call(runner, cv.consultations, PageRequest.parse("consultations", 10, None, "c1 议"))["items"]) == ["c1"]


def test_the_next_step_goes_through_the_follow_up(log, runner):
    log.on("2024-02-01").propose("c1", "resident").approve("c1").plan("c1", "hall", "2024-03-10")
    log.meet("c1", "hall", "2024-03-10", 2).publish("c1").decide("c1", 1)
    step = lambda: call(runner, cv.consultations)[0]["next_step"]    # noqa: E731
    assert step() == "assign_follow_up_task"
    log.task("c1", "t1", "mzj", "2024-04-10")
    assert step() == "complete_follow_up_task"
    log.complete(MZJ, "c1", "t1", "2024-04-10")
    assert step() == "record_follow_up_visit"
    log.visit("c1")
    assert step() == "record_satisfaction_survey"
    log.survey("c1", 5, 5, 0, 0)
    assert step() == "close_consultation"


# -- the calendar --------------------------------------------------------------------------

def test_the_calendar_of_meetings_planned_and_held(scenario, runner):
    cal = call(runner, cv.calendar, date_from=date(2024, 3, 1), date_to=date(2024, 7, 31))
    assert cal["total"] == 4 and (cal["date_from"], cal["date_to"]) == ("2024-03-01", "2024-07-31")
    assert [(d["date"], [m["consultation_id"] for m in d["meetings"]]) for d in cal["days"]] == [
        ("2024-03-10", ["c1"]), ("2024-05-02", ["c2"]), ("2024-06-01", ["c3"]), ("2024-07-03", ["c5"])]
    c5 = cal["days"][-1]["meetings"][0]
    assert (c5["met"], c5["status"], c5["place_name"], c5["revision"]) == (False, "planned", "东街民生议事堂", 2)
    assert cal["days"][0]["meetings"][0]["met"] is True
    by_place = call(runner, cv.calendar, date_from=date(2024, 1, 1), date_to=date(2024, 12, 31), place="hall")
    assert [d["date"] for d in by_place["days"]] == ["2024-01-15", "2024-03-10", "2024-07-03"]
    by_township = call(runner, cv.calendar, date_from=date(2024, 1, 1), date_to=date(2024, 12, 31), township="tw-2")
    assert [d["date"] for d in by_township["days"]] == ["2024-06-01"]
    assert call(runner, cv.calendar, date_from=date(2024, 8, 1), date_to=date(2024, 8, 31)) == {
        "date_from": "2024-08-01", "date_to": "2024-08-31", "total": 0, "days": []}


# -- a unit's tasks, the timer's candidates ------------------------------------------------

def test_a_units_follow_up_tasks(scenario, runner):
    today = date(2024, 5, 25)
    [open_] = call(runner, cv.unit_tasks, "mzj", today=today)
    assert (open_["task_id"], open_["overdue"], open_["due_in_days"], open_["done"]) == ("t3", True, -5, False)
    every = call(runner, cv.unit_tasks, "mzj", today=today, open_only=False)
    assert [(t["task_id"], t["done"], t["on_time"], t["due_in_days"]) for t in every] == [
        ("t1", True, True, None), ("t3", False, None, -5)]
    assert [t["task_id"] for t in call(runner, cv.unit_tasks, "jtj", today=today, open_only=False)] == ["t2"]
    assert call(runner, cv.unit_tasks, "jtj", today=today) == []
    assert [t["task_id"] for t in call(runner, cv.unit_tasks, "mzj", PageRequest.parse("unit_follow_up_tasks", 10, None, "道路"), today=today,
                                       open_only=False)["items"]] == ["t3"]


def test_the_timer_s_candidates(log, runner):
    log.on("2024-03-01").propose("c1", "resident").approve("c1").plan("c1", "hall", "2024-03-10")
    log.propose("c2", "member").approve("c2").plan("c2", "post", "2024-03-01")
    log.meet("c2", "post", "2024-03-01", 1).publish("c2").decide("c2", 1).task("c2", "t1", "mzj", "2024-03-20")
    due = lambda day: call(runner, cv.consultations_due, today=date.fromisoformat(day))  # noqa: E731
    assert due("2024-03-01") == []
    assert due("2024-03-08") == ["c1"]                                # the meeting in 2 days
    log.emit(SYSTEM, ev.ConsultationMeetingDueSoon(consultation_id="c1", title="c1 议题", held_on="2024-03-10",
                                                   place_name="东街民生议事堂", days_before=2, members=[],
                                                   departments=[], revision=1))
    assert due("2024-03-09") == []                                    # reminded of this revision
    log.plan("c1", "hall", "2024-03-11", revision=2)
    assert due("2024-03-09") == ["c1"]                                # a new revision
    assert due("2024-03-17") == ["c2"]                                # the task due in 3 days
    log.emit(SYSTEM, ev.FollowUpTaskDueSoon(consultation_id="c2", task_id="t1", unit="mzj", deadline="2024-03-20",
                                            days_before=3, title="c2 议题"))
    assert due("2024-03-18") == []
    assert due("2024-03-21") == ["c2"]                                # past its deadline
    log.emit(SYSTEM, ev.FollowUpTaskOverdue(consultation_id="c2", task_id="t1", unit="mzj", deadline="2024-03-20",
                                            days_overdue=1, title="c2 议题"))
    assert due("2024-03-22") == []


# -- the statistics ------------------------------------------------------------------------

def test_statistics_of_a_year_equal_the_figures_counted_by_hand(scenario, runner):
    # held in 2024: c6 (hall, tw-1), c1 (hall, tw-1), c2 (post, tw-1), c3 (studio-1, tw-2)
    # topics raised in 2024: c1 resident, c2 member, c3 party_government, c4 member, c5 department
    # outcomes agreed 1 + 3 + 2 + 1, adopted 1 + 2 + 1 (c3 not decided); tasks t1 (on time), t2
    # (late), t3 (open); closed c6, c1; surveys c6 10 = 5 + 5 + 0, c1 20 = 15 + 4 + 1
    assert call(runner, cv.statistics, 2024) == {
        "year": 2024, "held": 4,
        "held_by_place_type": {"livelihood_hall": 2, "consultation_post": 1, "studio": 1, "consultation_room": 0,
                               "work_station": 0, "liaison_station": 0},
        "held_by_place": {"hall": 2, "post": 1, "studio-1": 1},
        "held_by_township": {"tw-1": 3, "tw-2": 1},
        "topics": 5,
        "topics_by_source": {"party_government": 1, "member": 2, "resident": 1, "department": 1},
        "outcomes_agreed": 7, "outcomes_adopted": 4,
        "tasks": 3, "tasks_completed": 2, "tasks_on_time": 1, "closed": 2,
        "survey": {"respondents": 30, "satisfied": 20, "basically_satisfied": 9, "dissatisfied": 1,
                   "satisfaction_rate": 29 / 30},
    }
    s2023 = call(runner, cv.statistics, 2023)
    assert (s2023["held"], s2023["topics"], s2023["topics_by_source"]["resident"]) == (0, 1, 1)
    s2025 = call(runner, cv.statistics, 2025)
    assert (s2025["topics"], s2025["held"], s2025["survey"]["satisfaction_rate"]) == (1, 0, None)


def test_a_meeting_at_a_place_of_no_township_counts_but_not_by_township(log, runner):
    log.on("2024-02-01").propose("c1", "resident").approve("c1").plan("c1", "room", "2024-03-10")
    log.meet("c1", "room", "2024-03-10", 1)
    stats = call(runner, cv.statistics, 2024)
    assert (stats["held"], stats["held_by_place"], stats["held_by_township"]) == (1, {"room": 1}, {})


# -- rebuilds --------------------------------------------------------------------------------

def test_rebuild_equals_the_live_model(scenario, runner):
    live = dump(runner)
    assert live["consultations"] and live["consultation_tasks"]
    runner.rebuild()
    assert dump(runner) == live


def test_small_batches_give_the_same_rows(scenario, runner, store, tmp_path):
    from xieshang.kernel.store.sql import sqlite_engine

    engine = sqlite_engine(str(tmp_path / "batched.sqlite"))
    try:
        batched = ProjectionRunner(store, engine, v.PROJECTIONS(), batch=3)
        batched.setup()
        batched.catch_up()
        ours = ("consultations", "consultation_tasks")
        assert {k: rows for k, rows in dump(batched).items() if k in ours} == {
            k: rows for k, rows in dump(runner).items() if k in ours}
    finally:
        engine.dispose()
