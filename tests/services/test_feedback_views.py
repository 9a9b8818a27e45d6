"""The feedback read models (opinion reports 社情民意), fed with envelopes of the contract's
events through a MemoryEventStore and a ProjectionRunner, on SQLite and on PostgreSQL: the
desk's filters, each list, the year statistics against figures counted by hand, rebuilds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest

from services.feedback import views as v
from services.feedback.domain import events as ev
from services.feedback.domain.vocabulary import CHECKS, opinion_stream, received_report_id
from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.contracts import contract_of
from xieshang.kernel.domain import DomainEvent, InvalidCommand
from xieshang.kernel.envelope import Actor, Deployment, NewEvent
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.views import PageRequest

from ..support.views import call, dump

# This deployment: 吴忠市政协 (a city); it reports to the region and to the national committee,
# and receives from two counties.
HERE = Deployment("640300", "city")
REGION, NATIONAL, LITONG, QINGTONGXIA = "640000", "100000", "640302", "640381"
NAMES = {REGION: "宁夏回族自治区政协", NATIONAL: "全国政协"}

STAFF = Actor("staff-fb-01", "staff", "feedback-office")
SYSTEM = Actor("levels", "system", "xieshang")
M1, M2, M3 = (Actor(f"m{i}", "member", "经济界") for i in (1, 2, 3))
I1, I2 = (Actor(f"i{i}", "informant", "信息员") for i in (1, 2))
MZJ, JTJ = Actor("u-mzj-1", "unit", "mzj"), Actor("u-jtj-1", "unit", "jtj")
TODAY = date(2025, 5, 15)


def leader(name: str) -> Actor:
    return Actor(name, "leader", "party_committee")


@dataclass
class Log:
    """Appends the contract's events as the service would: each to its report's stream, at
    ``at`` (10:00 Beijing time of the day set by ``on``), by an actor with a role."""

    store: MemoryEventStore
    at: datetime = datetime(2025, 1, 2, 10, tzinfo=SHANGHAI)
    ids: dict[str, str] = field(default_factory=dict)

    def on(self, day: str, hour: int = 10, minute: int = 0) -> "Log":
        self.at = datetime.combine(date.fromisoformat(day), datetime.min.time(), SHANGHAI) \
            .replace(hour=hour, minute=minute)
        return self

    def rid(self, name: str) -> str:
        return self.ids.setdefault(name, f"{name}-{uuid.uuid4().hex[:8]}")

    def emit(self, actor: Actor, *events: DomainEvent) -> None:
        for e in events:
            stream = opinion_stream(e.report_id)
            self.store.append(stream, self.store.stream_version(stream), [
                NewEvent(type=e.type_name(), data=e.to_data(), actor=actor, occurred_at=self.at)])

    # -- one call per step of the loop ---------------------------------------------------
    def submit(self, who: Actor, name: str, channel: str = "member", category: str = "society",
               source: str | None = None) -> str:
        rid = self.rid(name)
        self.emit(who, ev.OpinionReportSubmitted(
            report_id=rid, submitter=who.user_id, submitter_role=who.role, title=f"关于{name}的情况反映",
            content="群众反映的情况和建议。" * 3, channel=channel, category=category, source=source))
        return rid

    def check(self, name: str, check: str, passed: bool = True) -> None:
        self.emit(STAFF, ev.OpinionCheckRecorded(report_id=self.rid(name), check=check, passed=passed,
                                                 note="已核实" if passed else "数据来源不明"))

    def all_checks(self, name: str) -> None:
        for c in CHECKS:
            self.check(name, c)

    def adopt(self, name: str, members: tuple[str, ...] = ()) -> None:
        self.emit(STAFF, ev.OpinionReportAdopted(report_id=self.rid(name), title=f"关于{name}的情况反映",
                                                 members=list(members)))

    def report(self, name: str, *, party: bool = False, government: bool = False,
               upper: tuple[str, ...] = (), leaders: tuple[str, ...] = (), role: str = "member") -> None:
        self.emit(STAFF, ev.OpinionReportReported(
            report_id=self.rid(name), party_committee=party, government=government, upper=list(upper),
            leaders=list(leaders), title=f"关于{name}的情况反映", content="内容" * 10,
            category="society", channel="member", submitter_role=role))

    def forward(self, name: str, units: tuple[str, ...], deadline: str) -> None:
        self.emit(STAFF, ev.OpinionReportForwarded(report_id=self.rid(name), units=list(units),
                                                   deadline=deadline, title=f"关于{name}的情况反映"))

    def feedback(self, unit: Actor, name: str, deadline: str) -> None:
        received = self.at.date().isoformat()
        self.emit(unit, ev.OpinionFeedbackReceived(
            report_id=self.rid(name), unit=unit.organisation, text="已研究办理。", deadline=deadline,
            received_on=received, on_time=received <= deadline))

    def instruct(self, name: str, who: str, office: str, *, by: Actor | None = None) -> None:
        self.emit(by or leader(who), ev.LeaderInstructionRecorded(
            report_id=self.rid(name), leader=who, leader_level="city", office=office,
            text="请有关部门研究办理。", members=[]))

    def inform(self, name: str, submitters: tuple[str, ...]) -> None:
        self.emit(STAFF, ev.SubmitterInformed(report_id=self.rid(name), submitters=list(submitters),
                                              text="您报送的信息已被采用。"))

    def from_below(self, name: str, committee: str, role: str, channel: str) -> str:
        origin = f"{name}-origin-{uuid.uuid4().hex[:6]}"
        rid = self.ids[name] = received_report_id(committee, origin)
        self.emit(SYSTEM, ev.OpinionReceivedFromBelow(
            report_id=rid, origin_committee=committee, origin_level="county", origin_report_id=origin,
            origin_event_id=uuid.uuid4().hex, origin_position=7, origin_hash="ab" * 32,
            title=f"关于{name}的情况反映", content="下级政协报送的内容。" * 2, category="economy",
            channel=channel, submitter_role=role))
        return rid

    def decided_above(self, name: str, committee: str, decision: str) -> None:
        self.emit(SYSTEM, ev.OpinionDecidedAbove(
            report_id=self.rid(name), upper_committee=committee, upper_level="province",
            upper_report_id=received_report_id(HERE.committee, self.rid(name)),
            upper_event_id=uuid.uuid4().hex, upper_position=11, upper_hash="cd" * 32,
            decision=decision, detail={"text": "已采用"}, members=[]))


def year_scenario(log: Log) -> Log:
    """The reports of 2025 (and one of 2024) that test_statistics_of_a_year counts by hand."""
    # Late on New Year's Eve in Beijing (still 2024): a report of 2024, adopted in 2025.
    log.on("2024-12-31", 23, 30).submit(M2, "r0")
    # Half an hour into 2025 in Beijing (16:30 UTC on 31 December): a report of 2025.
    log.on("2025-01-01", 0, 30).submit(M1, "r1", channel="member", category="economy")
    log.on("2025-01-05")
    log.all_checks("r0")
    log.adopt("r0", members=("m2",))

    log.on("2025-01-10").submit(I1, "r2", channel="activity")
    log.check("r2", "political")
    log.check("r2", "facts", passed=False)
    log.emit(STAFF, ev.OpinionReportReturned(report_id=log.rid("r2"), submitter="i1", reason="请补充数据来源"))
    log.on("2025-01-12").emit(I1, ev.OpinionReportRevised(report_id=log.rid("r2"), title="关于r2的情况反映（修改）",
                                                          content="补充了数据来源。" * 3, category="economy"))
    log.check("r2", "political")                    # the checks started again: only this one passed

    log.on("2025-01-15").submit(M2, "r3", channel="proposal", source="proposal:p-77")
    log.check("r3", "political")
    log.check("r3", "facts", passed=False)          # failed: still pending

    log.on("2025-02-01").submit(M1, "r4", channel="meeting")
    log.submit(I2, "r5", channel="leader")
    log.on("2025-02-03")
    c1 = log.rid("c1")
    log.emit(STAFF, ev.OpinionReportsCombined(
        report_id=c1, sources=[log.rid("r4"), log.rid("r5")], title="关于c1的综合反映", content="综合。" * 5,
        category="society", channel="meeting", contributors=["m1", "i2"], members=["m1"]))
    for name in ("r4", "r5"):
        log.emit(STAFF, ev.OpinionReportCombinedInto(report_id=log.rid(name), into=c1))

    log.on("2025-02-10").submit(M3, "r6", channel="member")
    log.emit(STAFF, ev.OpinionReportNotAdopted(report_id=log.rid("r6"), reason="所反映问题已解决"))
    log.inform("r6", ("m3",))

    log.on("2025-02-12").from_below("b1", LITONG, "informant", "member")
    log.from_below("b2", QINGTONGXIA, "member", "activity")

    # r1: adopted, reported to the party committee and the region, forwarded to two units.
    log.on("2025-03-01")
    log.all_checks("r1")
    log.adopt("r1", members=("m1",))
    log.report("r1", party=True, upper=(REGION,), leaders=("ld-a", "ld-b"))
    log.forward("r1", ("mzj", "jtj"), "2025-04-30")
    # c1: adopted, reported to the government, the region and the national committee.
    log.all_checks("c1")
    log.adopt("c1", members=("m1",))
    log.report("c1", government=True, upper=(REGION, NATIONAL), leaders=("ld-c",))
    log.forward("c1", ("mzj",), "2025-03-20")
    # b1 (from below): adopted and reported further up, then to the party committee as well.
    log.all_checks("b1")
    log.adopt("b1")
    log.report("b1", upper=(REGION,), role="informant")

    log.on("2025-03-05")
    log.report("b1", party=True, role="informant")
    log.instruct("r1", "ld-a", "party_committee")
    log.instruct("c1", "ld-c", "government")
    log.instruct("c1", "ld-z", "committee", by=STAFF)   # a paper instruction entered by staff
    log.on("2025-03-20")
    log.instruct("r1", "ld-a", "party_committee")       # the same leader again
    log.decided_above("r1", REGION, "adopted")
    log.decided_above("c1", REGION, "not_adopted")
    log.decided_above("c1", NATIONAL, "adopted")
    log.on("2025-04-02").decided_above("r1", REGION, "instructed")
    log.decided_above("r1", REGION, "instructed")       # told twice: still one report

    log.on("2025-04-20").feedback(MZJ, "r1", "2025-04-30")    # on time
    log.on("2025-05-10").feedback(JTJ, "r1", "2025-04-30")    # late
    log.inform("r1", ("m1",))
    return log


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore(HERE)


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




def ids(log: Log, rows: list[dict]) -> list[str]:
    back = {rid: name for name, rid in log.ids.items()}
    return [back[r["report_id"]] for r in rows]


# -- the desk --------------------------------------------------------------------------------

def test_the_desk_rows_and_their_checks(scenario, runner):
    rows = {r["report_id"]: r for r in call(runner, v.desk, year=2025)}
    log = scenario
    assert sorted(ids(log, rows.values())) == ["b1", "b2", "c1", "r1", "r2", "r3", "r4", "r5", "r6"]
    r2, r3 = rows[log.rid("r2")], rows[log.rid("r3")]
    # r2 was revised: the checks started again and only the political one passed since.
    assert (r2["status"], r2["title"], r2["category"]) == ("submitted", "关于r2的情况反映（修改）", "economy")
    assert (r2["pending_checks"], r2["failed_checks"]) == (["facts", "content", "wording"], [])
    # r3's failed facts check stays pending.
    assert (r3["pending_checks"], r3["failed_checks"]) == (["facts", "content", "wording"], ["facts"])
    assert (r3["channel"], r3["source"], r3["submitter"], r3["submitter_role"]) == (
        "proposal", "proposal:p-77", "m2", "member")
    assert not any(k.startswith("check_") for k in r3)

    r1 = rows[log.rid("r1")]
    assert (r1["status"], r1["year"], r1["submitted_at"]) == ("adopted", 2025, "2024-12-31T16:30:00+00:00")
    assert r1["pending_checks"] == [] and r1["failed_checks"] == []
    assert (r1["reported_party_committee"], r1["reported_government"], r1["reported_upper"]) == (
        True, False, [REGION])
    assert (r1["forwarded"], r1["units"], r1["feedback"], r1["instructions"], r1["informed"]) == (
        True, ["mzj", "jtj"], 2, 2, True)
    assert r1["decided_above"] == {REGION: ["adopted", "instructed"]}
    assert r1["decided_at"] == "2025-03-01T02:00:00+00:00"

    c1 = rows[log.rid("c1")]
    assert (c1["kind"], c1["submitter"], c1["submitter_role"], c1["sources"], c1["source_reports"]) == (
        "combined", None, "member", 2, [log.rid("r4"), log.rid("r5")])
    assert (c1["reported_government"], c1["reported_upper"], c1["instructions"], c1["informed"]) == (
        True, [REGION, NATIONAL], 2, False)
    assert c1["decided_above"] == {REGION: ["not_adopted"], NATIONAL: ["adopted"]}
    for name in ("r4", "r5"):
        assert (rows[log.rid(name)]["status"], rows[log.rid(name)]["combined_into"]) == ("combined", c1["report_id"])

    b1 = rows[log.rid("b1")]
    # reported twice: the targets add up
    assert (b1["kind"], b1["origin_committee"], b1["origin_level"], b1["submitter"], b1["submitter_role"]) == (
        "from_below", LITONG, "county", None, "informant")
    assert (b1["reported_party_committee"], b1["reported_upper"]) == (True, [REGION])
    assert b1["origin_report_id"].startswith("b1-origin-")

    # the 2024 report, adopted in 2025, stays in 2024
    assert ids(log, call(runner, v.desk, year=2024)) == ["r0"]
    assert call(runner, v.desk, year=2024)[0]["status"] == "adopted"


def test_the_desk_filters(scenario, runner):
    log = scenario

    def desk(**kw: Any) -> list[str]:
        return sorted(ids(log, call(runner, v.desk, year=2025, **kw)))

    assert desk(status="submitted") == ["b2", "r2", "r3"]
    assert desk(status=("combined", "not_adopted")) == ["r4", "r5", "r6"]
    assert desk(status="returned") == []
    assert desk(channel="member") == ["b1", "r1", "r6"]
    assert desk(from_below=True) == ["b1", "b2"]
    assert desk(from_below=False) == ["c1", "r1", "r2", "r3", "r4", "r5", "r6"]
    # check_pending: the reports in editing still lacking that check (failed counts as lacking)
    assert desk(check_pending="facts") == ["b2", "r2", "r3"]
    assert desk(check_pending="political") == ["b2"]
    assert desk(check_pending="wording", from_below=False) == ["r2", "r3"]
    # … or among those of another status, when asked: r4 and r5 were combined before any check
    assert desk(check_pending="content", status="combined") == ["r4", "r5"]
    assert desk(check_pending="political", status="adopted") == []
    assert desk(status="submitted", channel="activity", from_below=True) == ["b2"]
    with pytest.raises(InvalidCommand) as refused:
        call(runner, v.desk, check_pending="spelling")
    assert "check_pending" in refused.value.fields


def test_the_desk_pages_latest_activity_first(scenario, runner):
    log = scenario
    everything = call(runner, v.desk, year=2025)
    # r1 had the last event (the information after the late feedback)
    assert ids(log, everything)[0] == "r1"
    assert [r["position"] for r in everything] == sorted((r["position"] for r in everything), reverse=True)
    seen, cursor = [], None
    while True:
        page = call(runner, v.desk, PageRequest.parse("opinion_desk", 4, cursor), year=2025)
        assert page["total"] == 9 and len(page["items"]) <= 4
        seen += [r["report_id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r["report_id"] for r in everything]
    found = call(runner, v.desk, PageRequest("opinion_desk", 10, q="c1的情况"))
    assert (ids(log, found["items"]), found["total"]) == (["c1"], 1)
    by_submitter = call(runner, v.desk, PageRequest("opinion_desk", 10, q="i1"))
    assert ids(log, by_submitter["items"]) == ["r2"]


# -- the lists -------------------------------------------------------------------------------

def test_a_submitters_own_reports(scenario, runner):
    log = scenario
    mine = call(runner, v.submitter_reports, "m1")
    assert [(n, r["relation"], r["status"]) for n, r in zip(ids(log, mine), mine)] == [
        ("c1", "contributor", "adopted"), ("r4", "submitter", "combined"), ("r1", "submitter", "adopted")]
    assert mine[1]["combined_into"] == log.rid("c1")
    assert mine[2]["informed"] is True and mine[0]["informed"] is False
    # Only what concerns them: no other people, no units, no leaders.
    assert set(mine[0]) == {"report_id", "relation", "kind", "title", "status", "channel", "category",
                            "year", "submitted_at", "combined_into", "informed", "updated_at"}
    assert ids(log, call(runner, v.submitter_reports, "i2")) == ["c1", "r5"]
    assert ids(log, call(runner, v.submitter_reports, "m2")) == ["r3", "r0"]
    page = call(runner, v.submitter_reports, "m1", PageRequest("my_opinion_reports", 2))
    assert (len(page["items"]), page["total"]) == (2, 3) and page["next_cursor"]
    assert call(runner, v.submitter_reports, "nobody") == []


def test_a_units_forwarded_reports(scenario, runner):
    log = scenario
    waiting = call(runner, v.unit_reports, "mzj", today=TODAY)
    assert ids(log, waiting) == ["c1"]
    (c1,) = waiting
    assert (c1["deadline"], c1["forwarded_on"], c1["fed_back"], c1["due_in_days"], c1["overdue"]) == (
        "2025-03-20", "2025-03-01", False, -56, True)
    assert "submitter" not in c1
    everything = call(runner, v.unit_reports, "mzj", today=TODAY, open_only=False)
    assert ids(log, everything) == ["c1", "r1"]   # by deadline
    r1 = everything[1]
    assert (r1["fed_back"], r1["fed_back_on"], r1["on_time"], r1["due_in_days"], r1["overdue"]) == (
        True, "2025-04-20", True, None, False)
    late = call(runner, v.unit_reports, "jtj", today=TODAY, open_only=False)
    assert [(r["fed_back_on"], r["on_time"]) for r in late] == [("2025-05-10", False)]
    assert call(runner, v.unit_reports, "jtj", today=TODAY) == []
    # before the deadline it is not overdue
    early = call(runner, v.unit_reports, "mzj", today=date(2025, 3, 18))
    assert [(r["due_in_days"], r["overdue"]) for r in early] == [(2, False)]


def test_a_second_forward_to_a_unit_awaits_its_feedback_again(log, runner):
    log.submit(M1, "x")
    log.all_checks("x")
    log.adopt("x")
    log.forward("x", ("mzj",), "2025-02-01")
    log.on("2025-01-20").feedback(MZJ, "x", "2025-02-01")
    assert call(runner, v.unit_reports, "mzj", today=TODAY) == []
    log.on("2025-02-10").forward("x", ("mzj", "jtj"), "2025-03-01")
    again = call(runner, v.unit_reports, "mzj", today=date(2025, 2, 20))
    assert [(r["deadline"], r["forwarded_on"], r["fed_back"]) for r in again] == [("2025-03-01", "2025-02-10", False)]
    (row,) = call(runner, v.desk)
    assert (row["units"], row["feedback"]) == (["mzj", "jtj"], 1)


def test_a_leaders_reports_to_instruct(scenario, runner):
    log = scenario
    assert call(runner, v.leader_reports, "ld-a") == []
    (r1,) = call(runner, v.leader_reports, "ld-a", pending_only=False)
    assert (r1["report_id"], r1["reported_on"], r1["instructions"], r1["instructed"], r1["instructed_on"],
            r1["office"], r1["leader_level"]) == (log.rid("r1"), "2025-03-01", 2, True, "2025-03-20",
                                                   "party_committee", "city")
    (waiting,) = call(runner, v.leader_reports, "ld-b")
    assert (waiting["report_id"], waiting["instructed"], waiting["instructed_on"]) == (log.rid("r1"), False, None)
    # a paper instruction of a leader the report was not put before
    (paper,) = call(runner, v.leader_reports, "ld-z", pending_only=False)
    assert (paper["report_id"], paper["reported_on"], paper["instructions"], paper["office"]) == (
        log.rid("c1"), None, 1, "committee")
    assert ids(log, call(runner, v.leader_reports, "ld-c", pending_only=False)) == ["c1"]
    page = call(runner, v.leader_reports, "ld-b", PageRequest("leader_opinion_reports", 5, q="r1"))
    assert (page["total"], page["next_cursor"]) == (1, None)


def test_the_inbox_of_reports_from_below(scenario, runner):
    log = scenario
    received = call(runner, v.inbox)
    assert ids(log, received) == ["b2", "b1"]   # newest first
    assert received[1]["status"] == "adopted" and received[0]["pending_checks"] == list(CHECKS)
    assert ids(log, call(runner, v.inbox, committee=LITONG)) == ["b1"]
    page = call(runner, v.inbox, PageRequest("opinion_inbox", 1))
    assert (ids(log, page["items"]), page["total"]) == (["b2"], 2)


# -- the year's statistics -------------------------------------------------------------------

def test_statistics_of_a_year(scenario, runner):
    """Every figure counted by hand from year_scenario (its reports of 2025: r1 … r6, c1, b1, b2)."""
    stats = call(runner, v.statistics, 2025, names=NAMES)
    zero_outcomes = dict.fromkeys(("adopted", "not_adopted", "reported", "forwarded", "instructed",
                                   "fed_back"), 0)
    assert stats == {
        "year": 2025,
        "reports": 9,                       # 6 collected + c1 + b1, b2
        "collected": 6,                     # r1 … r6 (r3 converted from a proposal); r0 is of 2024
        "by_channel": {"leader": 1, "committee": 0, "member": 2, "activity": 1, "proposal": 1,
                       "meeting": 1},       # r5; -; r1, r6; r2; r3; r4
        "by_submitter_kind": {"member": 4, "informant": 2},   # r1, r3, r4, r6; r2, r5
        "received_from_below": {"total": 2, "by_committee": {LITONG: 1, QINGTONGXIA: 1}},
        "combined": {"reports": 1, "sources": 2},             # c1 of r4 and r5
        "adopted": 3,                       # r1, c1, b1
        "not_adopted": 1,                   # r6
        "reported": {"reports": 3, "party_committee": 2, "government": 1,   # r1, b1; c1
                     "upper": {NATIONAL: 1, REGION: 3}},                   # c1; r1, c1, b1
        "upper_outcomes": {
            NATIONAL: {**zero_outcomes, "adopted": 1},                     # c1
            REGION: {**zero_outcomes, "adopted": 1, "instructed": 1, "not_adopted": 1},  # r1, r1, c1
        },
        "forwarded": {"reports": 2, "assignments": 3},        # r1 (mzj, jtj), c1 (mzj)
        "fed_back": {"reports": 1, "assignments": 2},         # r1 by mzj and jtj
        "on_time": {"assignments": 1, "rate": 0.5},           # mzj's
        "instructed": 2,                                      # r1, c1
        "instructions": 4,                                    # ld-a twice on r1; ld-c, ld-z on c1
        "instructed_by_office": {"party_committee": 1, "government": 1, "committee": 1},
        "informed": 2,                                        # r1, r6
        "summary": "收集社情民意信息 6 篇，接收下级政协报送 2 篇，采用 3 篇，向党委报送 2 篇、向政府报送 1 篇、"
                   "向宁夏回族自治区政协报送 3 篇、向全国政协报送 1 篇，转交 2 篇，获领导批示 2 篇。",
    }
    # without names the codes stand for the committees, in code order
    plain = call(runner, v.statistics, 2025)
    assert "向100000报送 1 篇、向640000报送 3 篇，转交 2 篇" in plain["summary"]
    assert v.summary(plain, {REGION: "宁夏回族自治区政协"}).count("向100000报送 1 篇") == 1
    # 2024: r0 alone, adopted in 2025 but counted with its year
    old = call(runner, v.statistics, 2024)
    assert (old["reports"], old["collected"], old["adopted"], old["by_channel"]["member"]) == (1, 1, 1, 1)
    assert old["summary"] == "收集社情民意信息 1 篇，采用 1 篇，转交 0 篇。"
    empty = call(runner, v.statistics, 2023)
    assert (empty["reports"], empty["on_time"]["rate"], empty["upper_outcomes"]) == (0, None, {})


def test_the_statistics_count_the_year_in_beijing_time(log, runner):
    # 23:59 on 31 December 2025 in Beijing is 15:59 UTC; 00:00 on 1 January 2026 is 16:00 UTC.
    log.on("2025-12-31", 23, 59).submit(M1, "last")
    log.on("2026-01-01", 0, 0).submit(M1, "first")
    assert call(runner, v.statistics, 2025)["collected"] == 1
    assert call(runner, v.statistics, 2026)["collected"] == 1
    assert ids(log, call(runner, v.desk, year=2026)) == ["first"]


# -- rebuilds --------------------------------------------------------------------------------

def test_rebuild_equals_the_live_model(scenario, runner):
    live = dump(runner)
    # (the consultations', supervision's and directory's tables have their own rebuild tests)
    opinions = {name: rows for name, rows in live.items() if name.startswith("opinion")}
    assert len(opinions) >= 2 and all(opinions.values()), [name for name, rows in opinions.items() if not rows]
    runner.rebuild()
    assert dump(runner) == live


def test_small_batches_give_the_same_rows(scenario, runner, store, tmp_path):
    from xieshang.kernel.store.sql import sqlite_engine

    engine = sqlite_engine(str(tmp_path / "batched.sqlite"))
    try:
        batched = ProjectionRunner(store, engine, v.PROJECTIONS(), batch=3)
        batched.setup()
        batched.catch_up()
        assert dump(batched) == dump(runner)
    finally:
        engine.dispose()
