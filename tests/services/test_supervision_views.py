"""The supervision groups' read models 民主监督组, fed with envelopes of the contract's events
through a MemoryEventStore and a ProjectionRunner, on SQLite and on PostgreSQL: the groups
list, a department's opinions with deadlines and the overdue flag, the timer's candidates, the
year's statistics against figures counted by hand, rebuilds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest

from services.feedback import supervision_views as sv
from services.feedback import views as v
from services.feedback.domain import events as ev
from services.feedback.domain.vocabulary import supervision_stream
from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.contracts import contract_of
from xieshang.kernel.domain import DomainEvent
from xieshang.kernel.envelope import Actor, Deployment, NewEvent
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.views import PageRequest

from ..support.views import call, dump

STAFF = Actor("staff-sv-01", "staff", "office")
SYSTEM = Actor("timer", "system", "xieshang")
MZJ, JTJ = Actor("u-mzj-1", "unit", "mzj"), Actor("u-jtj-1", "unit", "jtj")
TODAY = date(2024, 6, 1)


@dataclass
class Log:
    store: MemoryEventStore
    at: datetime = datetime(2024, 1, 5, 10, tzinfo=SHANGHAI)

    def on(self, day: str) -> "Log":
        self.at = datetime.combine(date.fromisoformat(day), datetime.min.time(), SHANGHAI).replace(hour=10)
        return self

    def emit(self, actor: Actor, *events: DomainEvent) -> None:
        for e in events:
            stream = supervision_stream(e.group_id)
            self.store.append(stream, self.store.stream_version(stream), [
                NewEvent(type=e.type_name(), data=e.to_data(), actor=actor, occurred_at=self.at)])

    def form(self, gid: str, department: str, year: int = 2024, name: str | None = None,
             topic: str = "养老服务设施建设") -> None:
        self.emit(STAFF, ev.SupervisionGroupFormed(
            group_id=gid, name=name or f"{gid}民主监督组", year=year, leader=f"lead-{gid}",
            members=["m1", "m2"], department=department, topic=topic, basis="年度民生实事项目"))

    def find(self, gid: str, aid: str) -> None:
        self.emit(STAFF, ev.SupervisionFactFindingRecorded(
            group_id=gid, activity_id=aid, kind="site_visit", held_on=self.at.date().isoformat(),
            members=["m1"], findings="走访社区，约谈了有关人员。"))

    def issue(self, gid: str, oid: str, department: str, deadline: str, text: str = "加快建设站点。") -> None:
        self.emit(STAFF, ev.SupervisionOpinionIssued(
            group_id=gid, opinion_id=oid, department=department, text=text, deadline=deadline,
            issued_on=self.at.date().isoformat(), title=f"{gid}民主监督组"))

    def report(self, unit: Actor, gid: str, oid: str, deadline: str) -> None:
        on = self.at.date().isoformat()
        self.emit(unit, ev.SupervisionHandlingReported(
            group_id=gid, opinion_id=oid, department=unit.organisation, report="已办理。",
            deadline=deadline, reported_on=on, on_time=on <= deadline))

    def due_soon(self, gid: str, oid: str, department: str, deadline: str) -> None:
        self.emit(SYSTEM, ev.SupervisionHandlingDueSoon(
            group_id=gid, opinion_id=oid, department=department, deadline=deadline, days_before=3,
            title=f"{gid}民主监督组"))

    def overdue(self, gid: str, oid: str, department: str, deadline: str) -> None:
        self.emit(SYSTEM, ev.SupervisionHandlingOverdue(
            group_id=gid, opinion_id=oid, department=department, deadline=deadline, days_overdue=1,
            title=f"{gid}民主监督组", escalate_to=[f"lead-{gid}"]))

    def verify(self, gid: str, oid: str, department: str, verdict: str) -> None:
        self.emit(STAFF, ev.SupervisionEffectVerified(group_id=gid, opinion_id=oid, department=department,
                                                      verdict=verdict, note="实地核验。"))

    def close(self, gid: str) -> None:
        self.emit(STAFF, ev.SupervisionGroupClosed(group_id=gid, name=f"{gid}民主监督组", summary="办结。"))


def year_scenario(log: Log) -> Log:
    """2024: g1 (mzj) closed, two opinions: o1 on time carried out, o2 late (overdue recorded)
    partly carried out; g2 (jtj) one opinion handled on time not verified, one open and overdue
    (recorded), one open and due later; g3 (mzj) no opinion yet. 2023: g0 (jtj) closed, one
    opinion, not carried out."""
    log.on("2023-03-01").form("g0", "jtj", year=2023)
    log.issue("g0", "o0", "jtj", "2023-04-01")
    log.on("2023-03-20").report(JTJ, "g0", "o0", "2023-04-01")
    log.verify("g0", "o0", "jtj", "not_carried_out")
    log.close("g0")

    log.on("2024-02-01").form("g1", "mzj", topic="社区养老")
    log.find("g1", "a1")
    log.issue("g1", "o1", "mzj", "2024-03-01")
    log.issue("g1", "o2", "mzj", "2024-03-10")
    log.on("2024-02-25").report(MZJ, "g1", "o1", "2024-03-01")
    log.on("2024-03-07").due_soon("g1", "o2", "mzj", "2024-03-10")
    log.on("2024-03-11").overdue("g1", "o2", "mzj", "2024-03-10")
    log.on("2024-03-15").report(MZJ, "g1", "o2", "2024-03-10")
    log.verify("g1", "o1", "mzj", "carried_out")
    log.verify("g1", "o2", "mzj", "partly_carried_out")
    log.on("2024-03-20").close("g1")

    log.on("2024-04-01").form("g2", "jtj", topic="交通拥堵治理")
    log.issue("g2", "o3", "jtj", "2024-05-01", text="优化公交线路。")
    log.issue("g2", "o4", "jtj", "2024-05-20", text="增设停车位。")
    log.issue("g2", "o5", "jtj", "2024-06-03", text="整治占道经营。")
    log.on("2024-04-20").report(JTJ, "g2", "o3", "2024-05-01")
    log.on("2024-05-21").overdue("g2", "o4", "jtj", "2024-05-20")

    log.on("2024-05-01").form("g3", "mzj", topic="养老机构安全")
    return log


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore(Deployment("640300", "city"))


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




# -- the groups ------------------------------------------------------------------------------

def test_the_groups_with_their_counts_and_next_step(scenario, runner):
    rows = {r["group_id"]: r for r in call(runner, sv.groups)}
    assert set(rows) == {"g0", "g1", "g2", "g3"}
    g1, g2, g3 = rows["g1"], rows["g2"], rows["g3"]
    assert (g1["status"], g1["opinions"], g1["handled"], g1["verified"], g1["fact_findings"]) == (
        "closed", 2, 2, 2, 1)
    assert g1["next_step"] is None and g1["closed_at"] == "2024-03-20T02:00:00+00:00"
    assert (g2["status"], g2["opinions"], g2["handled"], g2["verified"]) == ("formed", 3, 1, 0)
    assert g2["next_step"] == "report_supervision_handling"
    assert g3["next_step"] == "issue_supervision_opinion" and g3["members"] == ["m1", "m2"]
    assert (g3["leader"], g3["department"], g3["year"]) == ("lead-g3", "mzj", 2024)


def test_the_groups_filters_and_pages_latest_activity_first(scenario, runner):
    assert [r["group_id"] for r in call(runner, sv.groups)] == ["g3", "g2", "g1", "g0"]
    assert [r["group_id"] for r in call(runner, sv.groups, year=2024, department="mzj")] == ["g3", "g1"]
    assert [r["group_id"] for r in call(runner, sv.groups, status="closed")] == ["g1", "g0"]
    first = call(runner, sv.groups, PageRequest("supervision_groups", 3))
    assert first["total"] == 4 and [r["group_id"] for r in first["items"]] == ["g3", "g2", "g1"]
    rest = call(runner, sv.groups, PageRequest.parse("supervision_groups", 3, first["next_cursor"]))
    assert [r["group_id"] for r in rest["items"]] == ["g0"] and rest["next_cursor"] is None
    found = call(runner, sv.groups, PageRequest.parse("supervision_groups", 10, q="交通"))
    assert [r["group_id"] for r in found["items"]] == ["g2"]


def test_the_next_step_goes_through_verification_to_closing(log, runner):
    log.form("g", "mzj")
    log.issue("g", "o", "mzj", "2024-02-01")
    log.report(MZJ, "g", "o", "2024-02-01")
    [row] = call(runner, sv.groups)
    assert row["next_step"] == "verify_supervision_effect"
    log.verify("g", "o", "mzj", "carried_out")
    [row] = call(runner, sv.groups)
    assert row["next_step"] == "close_supervision_group"


# -- a department's opinions, the timer's candidates ---------------------------------------

def test_a_departments_open_opinions_with_deadline_and_overdue_flag(scenario, runner):
    rows = call(runner, sv.department_opinions, "jtj", today=TODAY)
    assert [(r["opinion_id"], r["deadline"], r["due_in_days"], r["overdue"], r["handled"]) for r in rows] == [
        ("o4", "2024-05-20", -12, True, False), ("o5", "2024-06-03", 2, False, False)]
    assert rows[0]["group_name"] == "g2民主监督组" and rows[0]["topic"] == "交通拥堵治理"
    every = call(runner, sv.department_opinions, "jtj", today=TODAY, open_only=False)
    assert [r["opinion_id"] for r in every] == ["o0", "o3", "o4", "o5"]
    o3 = every[1]
    assert (o3["handled"], o3["on_time"], o3["due_in_days"], o3["overdue"], o3["reported_on"]) == (
        True, True, None, False, "2024-04-20")
    assert every[0]["verdict"] == "not_carried_out"
    assert call(runner, sv.department_opinions, "mzj", today=TODAY) == []
    page = call(runner, sv.department_opinions, "jtj", PageRequest.parse("x", 10, q="停车"), today=TODAY)
    assert [r["opinion_id"] for r in page["items"]] == ["o4"] and page["total"] == 1


def test_the_timers_candidates_are_groups_at_work_with_an_opinion_due(scenario, runner):
    assert call(runner, sv.groups_awaiting_handling, due_by=date(2024, 5, 19)) == []   # o3 handled
    assert call(runner, sv.groups_awaiting_handling, due_by=date(2024, 5, 20)) == ["g2"]
    assert call(runner, sv.groups_awaiting_handling, due_by=date(2024, 6, 4)) == ["g2"]
    scenario.report(JTJ, "g2", "o4", "2024-05-20")
    scenario.report(JTJ, "g2", "o5", "2024-06-03")
    assert call(runner, sv.groups_awaiting_handling, due_by=date(2024, 12, 31)) == []


# -- statistics ------------------------------------------------------------------------------

def test_statistics_of_a_year_equal_the_hand_counts(scenario, runner):
    assert call(runner, sv.statistics, 2024) == {
        "year": 2024, "groups": 3, "departments": 2, "opinions": 5,
        "handled": 3,            # o1, o2, o3
        "handled_on_time": 2,    # o1, o3
        "verified": 2,           # o1, o2
        "verdicts": {"carried_out": 1, "partly_carried_out": 1, "not_carried_out": 0},
        "closed": 1,             # g1
        "overdue": 2,            # o2 (recorded, then late), o4 (recorded)
    }
    assert call(runner, sv.statistics, 2023) == {
        "year": 2023, "groups": 1, "departments": 1, "opinions": 1, "handled": 1,
        "handled_on_time": 1, "verified": 1,
        "verdicts": {"carried_out": 0, "partly_carried_out": 0, "not_carried_out": 1},
        "closed": 1, "overdue": 0}
    empty = call(runner, sv.statistics, 2020)
    assert empty["groups"] == 0 and empty["verdicts"] == {"carried_out": 0, "partly_carried_out": 0,
                                                          "not_carried_out": 0}


def test_a_group_counts_in_the_year_it_was_formed_for(log, runner):
    log.on("2024-12-30").form("late", "mzj", year=2025)   # formed in December for next year
    log.on("2025-01-10").issue("late", "ox", "mzj", "2025-02-01")
    assert call(runner, sv.statistics, 2025)["groups"] == 1
    assert call(runner, sv.statistics, 2025)["opinions"] == 1
    assert call(runner, sv.statistics, 2024)["groups"] == 0


# -- rebuilds --------------------------------------------------------------------------------

def test_rebuild_equals_the_live_model(scenario, runner):
    live = dump(runner)
    mine = {name: rows for name, rows in live.items() if name.startswith("supervision")}
    assert set(mine) == {"supervision_groups", "supervision_opinions"} and all(mine.values())
    assert "约谈" not in str(mine)   # the fact-finding notes are in no table
    runner.rebuild()
    assert dump(runner) == live


def test_small_batches_give_the_same_rows(scenario, runner, store, tmp_path):
    from xieshang.kernel.store.sql import sqlite_engine

    engine = sqlite_engine(str(tmp_path / "batched.sqlite"))
    try:
        batched = ProjectionRunner(store, engine, sv.PROJECTIONS(), batch=3)
        batched.setup()
        batched.catch_up()
        mine = {k: rows for k, rows in dump(runner).items() if k.startswith("supervision")}
        assert dump(batched) == mine
    finally:
        engine.dispose()
